// Router's presence (RFC 6121 §4) and subscriptions (§3): presence broadcast
// and probes, directed presence, subscription requests and answers with the
// roster pushes they bring.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fake_server/router.h"
#include "fake_server/router_impl.h"
#include "xmpp/namespaces.h"

namespace talkcheck::fake_server {
namespace {

using xmpp::Element;
using xmpp::Jid;
namespace ns = xmpp::ns;

// Subscription-management presence types (RFC 6121 §3): routed, never stored.
bool IsSubscriptionType(absl::string_view type) {
  return type == "subscribe" || type == "subscribed" || type == "unsubscribe" ||
         type == "unsubscribed";
}

}  // namespace

// ---------------------------------------------------------------------------
// Presence

void Router::Resource::Dispatch::RoutePresence(const Jid& sender,
                                               Element presence) {
  const std::string type = presence.AttrOr("type", "");
  const std::string* to_text = presence.Attr("to");
  if (to_text == nullptr || to_text->empty()) {
    if (type.empty()) {
      auto it = r_.resources_.find(sender);
      const bool initial = !it->second->presence.has_value();
      it->second->presence = presence;
      BroadcastPresence(sender, presence);
      // RFC 6121 §4.2.2: a newly available resource learns who is online, as
      // the answers to the probes a real server would send. Its own other
      // resources are included: they have just been told about this one.
      if (initial) {
        for (const Jid& contact : PresenceSources(sender)) {
          auto contact_it = r_.resources_.find(contact);
          if (contact_it == r_.resources_.end() ||
              !contact_it->second->presence.has_value()) {
            continue;
          }
          Element copy = *contact_it->second->presence;
          copy.RemoveAttr("to");
          DeliverTo(sender, std::move(copy));
        }
        // RFC 6121 §3.1.3: subscription requests that came while the
        // account was offline (or unanswered at an earlier login).
        for (Element& request : r_.rosters_.PendingRequests(sender.Bare())) {
          DeliverTo(sender, std::move(request));
        }
      }
    } else if (type == "unavailable") {
      auto it = r_.resources_.find(sender);
      it->second->presence.reset();
      BroadcastPresence(sender, presence);
    }
    // Anything else without `to` (a probe of nobody, errors, subscriptions) has
    // no addressee; RFC 6121 lets the server drop it.
    return;
  }

  absl::StatusOr<Jid> to = Jid::Parse(*to_text);
  if (!to.ok() || to->domain() != r_.domain() || to->local().empty() ||
      !r_.passwords_.contains(to->local())) {
    return;  // presence is never answered with errors about its address
  }
  if (IsSubscriptionType(type)) {
    RouteSubscription(sender, *to, type, std::move(presence));
    return;
  }
  if (type == "probe") {
    const Jid bare = to->Bare();
    // RFC 6121 §4.3.2: presence only for a subscriber (or the account itself).
    const RosterItem* item = r_.rosters_.Find(bare, sender.Bare());
    if (!bare.BareEquals(sender) &&
        (item == nullptr || !HasFrom(item->subscription))) {
      Element unsubscribed(ns::kClient, "presence");
      unsubscribed.SetAttr("type", "unsubscribed");
      unsubscribed.SetAttr("from", bare.ToString());
      DeliverTo(sender, std::move(unsubscribed));
      return;
    }
    const std::vector<Jid> available =
        ResourcesOf(bare, /*available_only=*/true);
    if (available.empty()) {
      Element unavailable(ns::kClient, "presence");
      unavailable.SetAttr("type", "unavailable");
      unavailable.SetAttr("from", bare.ToString());
      DeliverTo(sender, std::move(unavailable));
      return;
    }
    for (const Jid& jid : available) {
      auto it = r_.resources_.find(jid);
      if (it == r_.resources_.end() || !it->second->presence.has_value())
        continue;
      Element copy = *it->second->presence;
      copy.RemoveAttr("to");
      DeliverTo(sender, std::move(copy));
    }
    return;
  }

  // Directed presence and presence errors: delivered as addressed; the
  // sender's stored presence is not touched.
  std::vector<Jid> recipients;
  if (!to->is_bare() && r_.resources_.contains(*to)) {
    recipients.push_back(*to);
  } else if (to->is_bare()) {
    recipients = ResourcesOf(to->Bare(), /*available_only=*/true);
  }
  for (const Jid& recipient : recipients) DeliverTo(recipient, presence);
}

void Router::Resource::Dispatch::RouteSubscription(const Jid& sender,
                                                   const Jid& to,
                                                   absl::string_view type,
                                                   Element presence) {
  // RFC 6121 §3: subscriptions concern accounts, not resources. The server
  // stamps the sender's bare JID (§3.1.2, §3.1.5, §3.2.2, §3.3.2) and
  // addresses the contact's bare JID.
  const Jid user = sender.Bare();
  const Jid contact = to.Bare();
  if (user == contact) return;
  presence.SetAttr("from", user.ToString());
  presence.SetAttr("to", contact.ToString());
  const SubscriptionOutcome outcome =
      r_.rosters_.ApplySubscription(user, contact, type, presence);
  for (const SubscriptionOutcome::Change& change : outcome.changes) {
    PushRosterItem(change.owner, change.item);
  }
  if (outcome.deliver) {
    for (const Jid& recipient : ResourcesOf(contact, /*available_only=*/true))
      DeliverTo(recipient, presence);
  }
  if (outcome.auto_subscribed) {
    Element subscribed(ns::kClient, "presence");
    subscribed.SetAttr("type", "subscribed");
    subscribed.SetAttr("from", contact.ToString());
    subscribed.SetAttr("to", user.ToString());
    for (const Jid& recipient : ResourcesOf(user, /*available_only=*/true))
      DeliverTo(recipient, subscribed);
  }
  if (outcome.presence != PresenceChange::kNone) {
    SharePresence(outcome.presence_from, outcome.presence_to,
                  outcome.presence == PresenceChange::kStarts);
  }
}

void Router::Resource::Dispatch::SharePresence(const Jid& from, const Jid& to,
                                               bool available) {
  const std::vector<Jid> recipients = ResourcesOf(to, /*available_only=*/true);
  for (const Jid& source : ResourcesOf(from, /*available_only=*/true)) {
    Element presence(ns::kClient, "presence");
    if (available) {
      auto it = r_.resources_.find(source);
      if (it == r_.resources_.end() || !it->second->presence.has_value())
        continue;
      presence = *it->second->presence;
    } else {
      presence.SetAttr("type", "unavailable");
      presence.SetAttr("from", source.ToString());
    }
    presence.RemoveAttr("to");
    for (const Jid& recipient : recipients) DeliverTo(recipient, presence);
  }
}

void Router::Resource::Dispatch::PushRosterItem(const Jid& owner,
                                                const RosterItem& item) {
  for (const Jid& recipient : ResourcesOf(owner, /*available_only=*/false)) {
    auto it = r_.resources_.find(recipient);
    if (it == r_.resources_.end() || !it->second->interested) continue;
    // RFC 6121 §2.1.6: no `from` (the account's own bare JID is implied).
    Element push(ns::kClient, "iq");
    push.SetAttr("type", "set");
    push.SetAttr("id", absl::StrCat("push", r_.next_push_id_++));
    push.AddChild(ns::kRoster, "query").AddChild(item.ToElement());
    DeliverTo(recipient, std::move(push));
  }
}

}  // namespace talkcheck::fake_server

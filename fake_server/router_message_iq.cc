// Router's messages and iqs (RFC 6120 §8, RFC 6121 §8.5): routing them to
// resources, the errors for undeliverable ones, and the iqs the server answers
// itself (disco, ping, roster get and set, session, google:jingleinfo).
#include <optional>
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

// What disco#info on the server lists, in this order.
constexpr const char* kServerFeatures[] = {
    ns::kDiscoInfo,  ns::kDiscoItems, ns::kPing,
    ns::kJingleInfo, ns::kSession,    ns::kRoster,
};

// An RFC 6120 §8.3 error reply to `original`: the original (payload included)
// with `type='error'`, `from` = what it was addressed to (`error_from`; none
// when empty), `to` = `sender`, and the `<error/>` appended.
Element ErrorReply(const Element& original, const Jid& sender,
                   const std::string& error_from, absl::string_view error_type,
                   absl::string_view condition) {
  Element reply = original;
  reply.SetAttr("type", "error");
  reply.RemoveAttr("from");
  if (!error_from.empty()) reply.SetAttr("from", error_from);
  reply.SetAttr("to", sender.ToString());
  Element& error = reply.AddChild(ns::kClient, "error");
  error.SetAttr("type", error_type);
  error.AddChild(ns::kStanzas, condition);
  return reply;
}

// An empty `<iq type='result'/>` answering `request`; `from` as for ErrorReply.
Element ResultReply(const Element& request, const Jid& sender,
                    const std::string& result_from) {
  Element reply(ns::kClient, "iq");
  reply.SetAttr("type", "result");
  if (const std::string* id = request.Attr("id")) reply.SetAttr("id", *id);
  if (!result_from.empty()) reply.SetAttr("from", result_from);
  reply.SetAttr("to", sender.ToString());
  return reply;
}

}  // namespace

// ---------------------------------------------------------------------------
// Messages

void Router::Resource::Dispatch::RouteMessage(const Jid& sender,
                                              Element message) {
  const bool is_error = message.AttrOr("type", "") == "error";
  const std::string* to_text = message.Attr("to");
  Jid to;
  if (to_text == nullptr || to_text->empty()) {
    // RFC 6120 §10.3.1: as if addressed to the sender's bare JID.
    to = sender.Bare();
  } else {
    absl::StatusOr<Jid> parsed = Jid::Parse(*to_text);
    if (!parsed.ok()) {
      if (!is_error) {
        DeliverTo(sender,
                  ErrorReply(message, sender, "", "modify", "jid-malformed"));
      }
      return;
    }
    to = *std::move(parsed);
  }

  const char* condition = "service-unavailable";
  if (to.domain() != r_.domain()) {
    condition = "remote-server-not-found";
  } else if (!to.local().empty() && r_.passwords_.contains(to.local())) {
    std::vector<Jid> recipients;
    if (!to.is_bare() && r_.resources_.contains(to)) {
      recipients.push_back(to);
    } else {
      recipients = MessageRecipients(to.Bare());
    }
    if (!recipients.empty()) {
      for (const Jid& recipient : recipients) DeliverTo(recipient, message);
      return;
    }
  }
  // Nobody to take it (or the server itself, which has no use for messages).
  if (!is_error) {
    DeliverTo(sender,
              ErrorReply(message, sender, to.ToString(), "cancel", condition));
  }
}

// ---------------------------------------------------------------------------
// iq

void Router::Resource::Dispatch::RouteIq(const Jid& sender, Element iq) {
  const std::string type = iq.AttrOr("type", "");
  const bool is_request = type == "get" || type == "set";
  const std::string* to_text = iq.Attr("to");
  const bool has_to = to_text != nullptr && !to_text->empty();
  absl::StatusOr<Jid> to =
      has_to ? Jid::Parse(*to_text) : absl::StatusOr<Jid>(Jid());
  // Errors about the request come from whoever it was addressed to.
  const std::string reply_from = has_to && to.ok() ? to->ToString() : "";

  // RFC 6120 §8.2.3: an id, a known type, and exactly one payload for get/set.
  // Errors are never answered, whatever is wrong with them.
  if (type == "error") {
    if (!has_to || !to.ok() || to->domain() != r_.domain() ||
        to->local().empty() || to->is_bare() || !r_.resources_.contains(*to)) {
      return;
    }
  } else {
    // The payload count is checked only where the server answers: an iq routed
    // to a client passes with several children, as Google's servers passed the
    // hybrid <jingle> + <session> initiates of libjingle >= 0.5 (PROTOCOL.md
    // §8.16); judging them is the scenario's job, not the server's.
    const bool routed_to_client =
        has_to && to.ok() && to->domain() == r_.domain() &&
        !to->local().empty() && !to->is_bare() && r_.resources_.contains(*to);
    const bool bad_shape =
        iq.Attr("id") == nullptr || !(is_request || type == "result") ||
        (is_request && !routed_to_client && iq.Children().size() != 1);
    if (bad_shape) {
      DeliverTo(sender,
                ErrorReply(iq, sender, reply_from, "modify", "bad-request"));
      return;
    }
  }

  auto refuse = [&](absl::string_view condition) {
    if (is_request) {
      DeliverTo(sender,
                ErrorReply(iq, sender, reply_from, "cancel", condition));
    }
    // Results and errors nobody takes are dropped: answering them may loop.
  };

  if (!has_to) {
    AnswerIq(sender, iq, /*account=*/std::nullopt);
    return;
  }
  if (!to.ok()) {
    if (is_request) {
      DeliverTo(sender, ErrorReply(iq, sender, "", "modify", "jid-malformed"));
    }
    return;
  }
  if (to->domain() != r_.domain()) {
    refuse("remote-server-not-found");
    return;
  }
  if (to->local().empty()) {
    // The server itself (with or without a resource).
    AnswerIq(sender, iq, std::nullopt);
    return;
  }
  if (!r_.passwords_.contains(to->local())) {
    refuse("service-unavailable");
    return;
  }
  if (to->is_bare()) {
    // RFC 6121 §8.5.2.1.3 / §8.5.1: the server answers for the account.
    AnswerIq(sender, iq, *to);
    return;
  }
  if (r_.resources_.contains(*to)) {
    DeliverTo(*to, std::move(iq));
    return;
  }
  refuse("service-unavailable");
}

void Router::Resource::Dispatch::AnswerIq(const Jid& sender, const Element& iq,
                                          const std::optional<Jid>& account) {
  const std::string type = iq.AttrOr("type", "");
  if (type != "get" && type != "set")
    return;  // results to the server: nothing to do
  const std::string* to_text = iq.Attr("to");
  const std::string reply_from =
      to_text != nullptr && !to_text->empty() ? *to_text : "";
  // Roster, jingleinfo and the like serve only the sender's own account.
  const bool own_account = !account.has_value() || account->BareEquals(sender);
  const Element* query = iq.FirstChild();
  const bool get = type == "get";

  Element reply = ResultReply(iq, sender, reply_from);
  if (query->Is(ns::kDiscoInfo, "query") && get) {
    Element& info = reply.AddChild(ns::kDiscoInfo, "query");
    if (const std::string* node = query->Attr("node"))
      info.SetAttr("node", *node);
    Element& identity = info.AddChild(ns::kDiscoInfo, "identity");
    if (account.has_value()) {
      identity.SetAttr("category", "account").SetAttr("type", "registered");
      info.AddChild(ns::kDiscoInfo, "feature").SetAttr("var", ns::kDiscoInfo);
    } else {
      identity.SetAttr("category", r_.config_.identity().category())
          .SetAttr("type", r_.config_.identity().type())
          .SetAttr("name", r_.config_.identity().name());
      for (const char* feature : kServerFeatures) {
        info.AddChild(ns::kDiscoInfo, "feature").SetAttr("var", feature);
      }
    }
  } else if (query->Is(ns::kPing, "ping") && get) {
    // XEP-0199: the empty result is the answer.
  } else if (own_account && query->Is(ns::kDiscoItems, "query") && get) {
    Element& items = reply.AddChild(ns::kDiscoItems, "query");
    if (const std::string* node = query->Attr("node"))
      items.SetAttr("node", *node);
  } else if (own_account && query->Is(ns::kRoster, "query")) {
    if (!get) {
      RosterSet(sender, iq, *query, reply_from);
      return;
    }
    // From now on this resource gets roster pushes (RFC 6121 §2.1.6).
    if (auto it = r_.resources_.find(sender); it != r_.resources_.end())
      it->second->interested = true;
    reply.AddChild(RosterFor(sender));
  } else if (own_account && query->Is(ns::kSession, "session") && !get) {
    // RFC 3921 session establishment: a no-op kept for old clients.
  } else if (own_account && query->Is(ns::kJingleInfo, "query") && get) {
    reply.AddChild(JingleInfoQuery());
  } else {
    reply = ErrorReply(iq, sender, reply_from, "cancel", "service-unavailable");
  }
  DeliverTo(sender, std::move(reply));
}

void Router::Resource::Dispatch::RosterSet(const Jid& sender, const Element& iq,
                                           const Element& query,
                                           const std::string& reply_from) {
  const Jid owner = sender.Bare();
  // RFC 6121 §2.5.2: removing a contact cancels the subscriptions both ways
  // first (unsubscribe and unsubscribed to the contact).
  const std::vector<const Element*> items =
      query.FindChildren(ns::kRoster, "item");
  if (items.size() == 1 && query.Children().size() == 1 &&
      items.front()->AttrOr("subscription", "") == "remove") {
    absl::StatusOr<Jid> contact = Jid::Parse(items.front()->AttrOr("jid", ""));
    if (contact.ok() && contact->is_bare() && !contact->BareEquals(owner) &&
        contact->domain() == r_.domain() &&
        r_.passwords_.contains(contact->local())) {
      for (const char* type : {"unsubscribe", "unsubscribed"}) {
        const RosterItem* item = r_.rosters_.Find(owner, *contact);
        if (item == nullptr) break;
        const bool cancels = std::string(type) == "unsubscribe"
                                 ? HasTo(item->subscription) || item->ask
                                 : HasFrom(item->subscription);
        if (!cancels) continue;
        Element presence(ns::kClient, "presence");
        presence.SetAttr("type", type);
        RouteSubscription(sender, *contact, type, std::move(presence));
      }
    }
  }
  const RosterSetOutcome outcome = r_.rosters_.ApplyRosterSet(owner, query);
  if (!outcome.error_condition.empty()) {
    const bool modify = outcome.error_condition != "item-not-found";
    DeliverTo(sender,
              ErrorReply(iq, sender, reply_from, modify ? "modify" : "cancel",
                         outcome.error_condition));
    return;
  }
  DeliverTo(sender, ResultReply(iq, sender, reply_from));
  PushRosterItem(owner, outcome.pushed);
}

Element Router::Resource::Dispatch::RosterFor(const Jid& owner) const {
  Element query(ns::kRoster, "query");
  for (const RosterItem& item : r_.rosters_.Items(owner.Bare())) {
    query.AddChild(item.ToElement());
  }
  return query;
}

Element Router::Resource::Dispatch::JingleInfoQuery() const {
  const JingleInfo& info = r_.config_.jingle_info();
  Element query(ns::kJingleInfo, "query");
  if (info.stun_size() > 0) {
    Element& stun = query.AddChild(ns::kJingleInfo, "stun");
    for (const StunServer& server : info.stun()) {
      Element& entry = stun.AddChild(ns::kJingleInfo, "server");
      entry.SetAttr("host", server.host());
      if (server.udp() != 0) entry.SetAttr("udp", absl::StrCat(server.udp()));
    }
  }
  if (!info.relay_token().empty() || info.relay_size() > 0) {
    Element& relay = query.AddChild(ns::kJingleInfo, "relay");
    if (!info.relay_token().empty()) {
      relay.AddChild(ns::kJingleInfo, "token").AddText(info.relay_token());
    }
    for (const RelayServer& server : info.relay()) {
      Element& entry = relay.AddChild(ns::kJingleInfo, "server");
      entry.SetAttr("host", server.host());
      if (server.udp() != 0) entry.SetAttr("udp", absl::StrCat(server.udp()));
      if (server.tcp() != 0) entry.SetAttr("tcp", absl::StrCat(server.tcp()));
      if (server.tcpssl() != 0) {
        entry.SetAttr("tcpssl", absl::StrCat(server.tcpssl()));
      }
    }
  }
  return query;
}

}  // namespace talkcheck::fake_server

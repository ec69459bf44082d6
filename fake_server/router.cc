#include "fake_server/router.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "fake_server/config.h"
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

// Subscription-management presence types (RFC 6121 §3): routed, never stored.
bool IsSubscriptionType(absl::string_view type) {
  return type == "subscribe" || type == "subscribed" || type == "unsubscribe" ||
         type == "unsubscribed";
}

// A presence's `<priority/>`, 0 when absent or unreadable (RFC 6121 §4.7.2.3).
int PriorityOf(const Element& presence) {
  const Element* priority = presence.FindChild(ns::kClient, "priority");
  int value = 0;
  if (priority == nullptr ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(priority->Text()), &value)) {
    return 0;
  }
  return value;
}

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

struct Router::Resource {
  Endpoint* endpoint = nullptr;
  // The last available presence (stamped `from`), empty while unavailable.
  std::optional<Element> presence;
  // Has asked for the roster, so gets roster pushes (RFC 6121 §2.1.6).
  bool interested = false;

  class Dispatch;
};

// The routing logic behind Router's public methods. router.h declares no
// private helpers, only `Resource`; a class nested in it is a member of Router
// and so may use Router's private state. Every helper that delivers re-reads
// `resources_` afterwards: endpoints and observers may call back into the
// router while a stanza is delivered.
class Router::Resource::Dispatch {
 public:
  explicit Dispatch(Router& router) : r_(router) {}

  void Notify(const RoutedStanza& routed);
  // Stamps `to` when absent, tells the observers, hands the stanza over. A
  // no-op for an unbound recipient.
  void DeliverTo(const Jid& recipient, Element stanza);

  // Sorted (repeatable) lists of resources.
  std::vector<Jid> ResourcesOf(const Jid& bare, bool available_only) const;
  // Who receives `sender`'s broadcast presence: its other available
  // resources and those of the contacts subscribed to it.
  std::vector<Jid> PresenceAudience(const Jid& sender) const;
  // Whose presence a newly available `sender` learns: its other available
  // resources and those of the contacts it is subscribed to.
  std::vector<Jid> PresenceSources(const Jid& sender) const;
  std::vector<Jid> MessageRecipients(const Jid& bare) const;

  void BroadcastPresence(const Jid& sender, const Element& presence);
  void RoutePresence(const Jid& sender, Element presence);
  void RouteSubscription(const Jid& sender, const Jid& to,
                         absl::string_view type, Element presence);
  // Each available resource of `from` (bare) sends its current presence (or
  // `unavailable`) to each available resource of `to` (bare).
  void SharePresence(const Jid& from, const Jid& to, bool available);
  // A roster push of `item` to every interested resource of `owner`.
  void PushRosterItem(const Jid& owner, const RosterItem& item);
  void RosterSet(const Jid& sender, const Element& iq, const Element& query,
                 const std::string& reply_from);
  void RouteMessage(const Jid& sender, Element message);
  void RouteIq(const Jid& sender, Element iq);
  // Answers a well-formed iq addressed to the server (`account` empty) or to
  // the bare JID `account`.
  void AnswerIq(const Jid& sender, const Element& iq,
                const std::optional<Jid>& account);
  Element RosterFor(const Jid& owner) const;
  Element JingleInfoQuery() const;

 private:
  Router& r_;
};

std::string DescribeLoginEvent(const LoginEvent& e) {
  using Kind = LoginEvent::Kind;
  switch (e.kind) {
    case Kind::kConnected:
      return "connected";
    case Kind::kStreamHeader:
      return "opened a stream";
    case Kind::kStartTls:
      return e.detail == "proceed" ? "STARTTLS" : "STARTTLS refused";
    case Kind::kTlsEstablished:
      return "TLS established";
    case Kind::kAuth:
      return absl::StrCat("SASL ", e.detail);
    case Kind::kAuthFailed:
      return absl::StrCat("SASL failed: ", e.detail);
    case Kind::kAuthenticated:
      return absl::StrCat("authenticated as ", e.detail);
    case Kind::kBound:
      return absl::StrCat("bound ", e.detail);
    case Kind::kBindFailed:
      return absl::StrCat("bind refused: ", e.detail);
    case Kind::kStreamError:
      return absl::StrCat("server ended the stream: ", e.detail);
    case Kind::kClosed:
      return absl::StrCat("connection closed (", e.detail, ")");
  }
  return "?";
}

void Router::NoteLogin(int stream, LoginEvent::Kind kind, std::string detail) {
  if (login_log_.size() >= kMaxLoginEvents)
    login_log_.erase(login_log_.begin());
  login_log_.push_back(
      LoginEvent{clock_.Now(), stream, kind, std::move(detail)});
  if (login_listener_) login_listener_(login_log_.back());
}

Router::Router(const ServerConfig& config, Clock& clock)
    : config_(config), clock_(clock) {
  // Routing compares normalised JIDs, so keep the normalised forms of the
  // domain and the usernames (ValidateServerConfig() insists on them anyway).
  if (absl::StatusOr<Jid> domain = Jid::Parse(config_.domain()); domain.ok()) {
    config_.set_domain(domain->domain());
  }
  for (const Account& account : config_.accounts()) {
    AddAccount(account.username(), account.password());
  }
  LoadConfiguredRosters();
}

void Router::LoadConfiguredRosters() {
  // The items as listed, then the mirror items of local contacts that do not
  // list their owner themselves.
  std::vector<std::pair<Jid, RosterItem>> listed;
  absl::flat_hash_set<std::pair<Jid, Jid>> pairs;
  for (const Account& account : config_.accounts()) {
    absl::StatusOr<Jid> owner = Jid::Create(account.username(), domain(), "");
    if (!owner.ok()) continue;  // ValidateServerConfig() reports these
    for (const ConfiguredRosterItem& configured : account.roster()) {
      absl::StatusOr<Jid> contact = RosterContact(configured, domain());
      if (!contact.ok() || contact->BareEquals(*owner)) continue;
      RosterItem item;
      item.jid = *contact;
      item.name = configured.name();
      item.groups.assign(configured.group().begin(), configured.group().end());
      switch (configured.subscription()) {
        case ConfiguredRosterItem::TO:
          item.subscription = Subscription::kTo;
          break;
        case ConfiguredRosterItem::FROM:
          item.subscription = Subscription::kFrom;
          break;
        case ConfiguredRosterItem::NONE:
          item.subscription = Subscription::kNone;
          break;
        case ConfiguredRosterItem::BOTH:
          item.subscription = Subscription::kBoth;
          break;
      }
      rosters_.Put(*owner, item);
      pairs.insert({*owner, *contact});
      listed.emplace_back(*owner, std::move(item));
    }
  }
  for (const auto& [owner, item] : listed) {
    const Jid& contact = item.jid;
    if (contact.domain() != domain() || !passwords_.contains(contact.local()) ||
        pairs.contains({contact, owner}) ||
        item.subscription == Subscription::kNone) {
      continue;
    }
    RosterItem mirror;
    mirror.jid = owner;
    mirror.subscription =
        item.subscription == Subscription::kTo     ? Subscription::kFrom
        : item.subscription == Subscription::kFrom ? Subscription::kTo
                                                   : Subscription::kBoth;
    rosters_.Put(contact, std::move(mirror));
  }
}

Router::~Router() = default;

std::optional<std::string> Router::PasswordOf(
    absl::string_view username) const {
  absl::StatusOr<Jid> jid = Jid::Create(username, domain(), "");
  if (!jid.ok()) return std::nullopt;
  auto it = passwords_.find(jid->local());
  if (it == passwords_.end()) return std::nullopt;
  return it->second;
}

void Router::AddAccount(absl::string_view username,
                        absl::string_view password) {
  absl::StatusOr<Jid> jid = Jid::Create(username, domain(), "");
  // No JID could name such an account; ValidateServerConfig() reports it.
  if (!jid.ok() || jid->local().empty()) return;
  passwords_[jid->local()] = std::string(password);
}

absl::Status Router::AddContacts(const Jid& a, const Jid& b) {
  for (const Jid* jid : {&a, &b}) {
    if (jid->local().empty() || jid->domain() != domain()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "AddContacts: ", jid->ToString(), " is no account of ", domain()));
    }
  }
  if (a.BareEquals(b)) {
    return absl::InvalidArgumentError(
        absl::StrCat("AddContacts: ", a.Bare().ToString(), " is one account"));
  }
  const Jid bare_a = a.Bare();
  const Jid bare_b = b.Bare();
  const std::vector<SubscriptionOutcome::Change> changes =
      rosters_.Link(bare_a, bare_b);
  if (changes.empty()) return absl::OkStatus();
  Resource::Dispatch dispatch(*this);
  for (const SubscriptionOutcome::Change& change : changes) {
    dispatch.PushRosterItem(change.owner, change.item);
  }
  dispatch.SharePresence(bare_a, bare_b, /*available=*/true);
  dispatch.SharePresence(bare_b, bare_a, /*available=*/true);
  return absl::OkStatus();
}

std::vector<RosterItem> Router::RosterOf(const Jid& bare) const {
  return rosters_.Items(bare.Bare());
}

absl::Status Router::Bind(const Jid& full_jid, Endpoint* endpoint) {
  if (full_jid.is_bare() || full_jid.local().empty()) {
    return absl::InvalidArgumentError("bind needs a full JID with a localpart");
  }
  if (full_jid.domain() != domain() || !passwords_.contains(full_jid.local())) {
    return absl::NotFoundError(
        absl::StrCat("no account for ", full_jid.Bare().ToString()));
  }
  auto it = resources_.find(full_jid);
  if (it != resources_.end()) {
    if (config_.bind_conflict() != ServerConfig::REPLACE_EXISTING) {
      return absl::AlreadyExistsError(
          absl::StrCat(full_jid.ToString(), " is already bound"));
    }
    Endpoint* old_endpoint = it->second->endpoint;
    old_endpoint->Kick("replaced by a new session for the same resource");
    // Kick() may have unbound (and others may have reacted); look again. An
    // endpoint that unbinds "later" is unbound here so that the new session can
    // start now.
    it = resources_.find(full_jid);
    if (it != resources_.end() && it->second->endpoint == old_endpoint) {
      Unbind(full_jid);
    }
  }
  // Whoever reacted to the unbind may have taken the resource in the meantime.
  auto [slot, inserted] = resources_.try_emplace(full_jid, nullptr);
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat(
        full_jid.ToString(), " was bound again while replacing it"));
  }
  slot->second = std::make_unique<Resource>();
  slot->second->endpoint = endpoint;
  std::vector<Jid>& online = accounts_online_[full_jid.Bare()];
  online.insert(std::upper_bound(online.begin(), online.end(), full_jid),
                full_jid);
  return absl::OkStatus();
}

void Router::Unbind(const Jid& full_jid) {
  auto it = resources_.find(full_jid);
  if (it == resources_.end()) return;
  const bool was_available = it->second->presence.has_value();
  resources_.erase(it);
  auto online = accounts_online_.find(full_jid.Bare());
  if (online != accounts_online_.end()) {
    std::vector<Jid>& jids = online->second;
    jids.erase(std::remove(jids.begin(), jids.end(), full_jid), jids.end());
    if (jids.empty()) accounts_online_.erase(online);
  }
  if (!was_available) return;
  Element unavailable(ns::kClient, "presence");
  unavailable.SetAttr("type", "unavailable");
  unavailable.SetAttr("from", full_jid.ToString());
  Resource::Dispatch(*this).BroadcastPresence(full_jid, unavailable);
}

void Router::RouteFromClient(const Jid& sender, Element stanza) {
  // Other top-level elements (SM, stream errors, ...) belong to the stream.
  if (stanza.ns() != ns::kClient) return;
  if (stanza.name() != "iq" && stanza.name() != "message" &&
      stanza.name() != "presence") {
    return;
  }
  // Replies and broadcasts need somewhere to go back to.
  if (!resources_.contains(sender)) return;

  stanza.SetAttr("from", sender.ToString());
  Resource::Dispatch(*this).Notify(RoutedStanza{
      clock_.Now(), RoutedStanza::Direction::kFromEndpoint, sender, stanza});
  if (!resources_.contains(sender)) return;  // an observer ended the session

  if (stanza.name() == "presence") {
    Resource::Dispatch(*this).RoutePresence(sender, std::move(stanza));
  } else if (stanza.name() == "message") {
    Resource::Dispatch(*this).RouteMessage(sender, std::move(stanza));
  } else {
    Resource::Dispatch(*this).RouteIq(sender, std::move(stanza));
  }
}

void Router::SendFromServer(Element stanza) {
  if (stanza.Attr("from") == nullptr) stanza.SetAttr("from", domain());
  const std::string* to_text = stanza.Attr("to");
  if (to_text == nullptr) return;
  absl::StatusOr<Jid> to = Jid::Parse(*to_text);
  if (!to.ok() || to->domain() != domain() || to->local().empty()) return;
  std::vector<Jid> recipients;
  if (!to->is_bare()) {
    recipients.push_back(*to);
  } else if (stanza.name() == "message") {
    recipients = Resource::Dispatch(*this).MessageRecipients(*to);
  } else {
    // Pushes (roster, jingleinfo) concern every session of the account.
    recipients = Resource::Dispatch(*this).ResourcesOf(
        *to, /*available_only=*/stanza.name() == "presence");
  }
  for (const Jid& recipient : recipients)
    Resource::Dispatch(*this).DeliverTo(recipient, stanza);
}

std::optional<Element> Router::PresenceOf(const Jid& full_jid) const {
  auto it = resources_.find(full_jid);
  if (it == resources_.end()) return std::nullopt;
  return it->second->presence;
}

bool Router::IsBound(const Jid& full_jid) const {
  return resources_.contains(full_jid);
}

std::vector<Jid> Router::BoundResources() const {
  std::vector<Jid> jids;
  jids.reserve(resources_.size());
  for (const auto& [jid, resource] : resources_) jids.push_back(jid);
  // Hash order varies between runs; sorted order keeps runs repeatable.
  std::sort(jids.begin(), jids.end());
  return jids;
}

int Router::AddObserver(Observer observer) {
  const int id = next_observer_id_++;
  observers_.emplace_back(id, std::move(observer));
  return id;
}

void Router::RemoveObserver(int id) {
  observers_.erase(
      std::remove_if(observers_.begin(), observers_.end(),
                     [id](const auto& entry) { return entry.first == id; }),
      observers_.end());
}

// ---------------------------------------------------------------------------
// Delivery

void Router::Resource::Dispatch::Notify(const RoutedStanza& routed) {
  if (r_.observers_.empty()) return;
  // Observers may add or remove observers (themselves included) while running.
  std::vector<int> ids;
  ids.reserve(r_.observers_.size());
  for (const auto& [id, observer] : r_.observers_) ids.push_back(id);
  for (int id : ids) {
    auto it =
        std::find_if(r_.observers_.begin(), r_.observers_.end(),
                     [id](const auto& entry) { return entry.first == id; });
    if (it == r_.observers_.end()) continue;
    Observer observer = it->second;  // the entry may go away while it runs
    observer(routed);
  }
}

void Router::Resource::Dispatch::DeliverTo(const Jid& recipient,
                                           Element stanza) {
  if (!r_.resources_.contains(recipient)) return;
  if (stanza.Attr("to") == nullptr) stanza.SetAttr("to", recipient.ToString());
  Notify(RoutedStanza{r_.clock_.Now(), RoutedStanza::Direction::kToEndpoint,
                      recipient, stanza});
  // An observer may have unbound the recipient.
  auto it = r_.resources_.find(recipient);
  if (it == r_.resources_.end()) return;
  it->second->endpoint->Deliver(stanza);
}

std::vector<Jid> Router::Resource::Dispatch::ResourcesOf(
    const Jid& bare, bool available_only) const {
  std::vector<Jid> jids;
  auto online = r_.accounts_online_.find(bare.Bare());
  if (online == r_.accounts_online_.end()) return jids;
  for (const Jid& jid : online->second) {
    auto it = r_.resources_.find(jid);
    if (it != r_.resources_.end() &&
        (!available_only || it->second->presence.has_value())) {
      jids.push_back(jid);
    }
  }
  return jids;  // sorted, as accounts_online_ keeps them
}

std::vector<Jid> Router::Resource::Dispatch::PresenceAudience(
    const Jid& sender) const {
  // Sorted by contact, then resource: repeatable. The cost is the sender's
  // roster, not the number of resources on the server (issue 13).
  std::vector<Jid> jids;
  for (const Jid& own : ResourcesOf(sender.Bare(), /*available_only=*/true)) {
    if (own != sender) jids.push_back(own);
  }
  for (const Jid& contact : r_.rosters_.Subscribers(sender.Bare())) {
    for (const Jid& jid : ResourcesOf(contact, /*available_only=*/true)) {
      jids.push_back(jid);
    }
  }
  return jids;
}

std::vector<Jid> Router::Resource::Dispatch::PresenceSources(
    const Jid& sender) const {
  std::vector<Jid> jids;
  for (const Jid& own : ResourcesOf(sender.Bare(), /*available_only=*/true)) {
    if (own != sender) jids.push_back(own);
  }
  for (const Jid& contact : r_.rosters_.Subscriptions(sender.Bare())) {
    for (const Jid& jid : ResourcesOf(contact, /*available_only=*/true)) {
      jids.push_back(jid);
    }
  }
  return jids;
}

std::vector<Jid> Router::Resource::Dispatch::MessageRecipients(
    const Jid& bare) const {
  // RFC 6121 §8.5.2.1.1: the available resources with the highest non-negative
  // priority, all of them on a tie.
  std::vector<Jid> best;
  int best_priority = 0;
  for (const Jid& jid : ResourcesOf(bare, /*available_only=*/true)) {
    const int priority = PriorityOf(*r_.resources_.at(jid)->presence);
    if (priority < 0) continue;
    if (best.empty() || priority > best_priority) {
      best.clear();
      best_priority = priority;
    }
    if (priority == best_priority) best.push_back(jid);
  }
  return best;
}

void Router::Resource::Dispatch::BroadcastPresence(const Jid& sender,
                                                   const Element& presence) {
  for (const Jid& recipient : PresenceAudience(sender)) {
    DeliverTo(recipient, presence);
  }
}

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

#include "fake_server/router.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "fake_server/config.h"
#include "fake_server/router_impl.h"
#include "xmpp/namespaces.h"

namespace talkcheck::fake_server {
namespace {

using xmpp::Element;
using xmpp::Jid;
namespace ns = xmpp::ns;

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

}  // namespace

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
  it->second->endpoint->Deliver(std::move(stanza));
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

}  // namespace talkcheck::fake_server

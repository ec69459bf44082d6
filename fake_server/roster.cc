#include "fake_server/roster.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "xmpp/namespaces.h"

namespace talkcheck::fake_server {
namespace {

using xmpp::Element;
using xmpp::Jid;
namespace ns = xmpp::ns;

// Longest `name` and group name a roster set may carry (RFC 6121 §2.3.3
// leaves the limit to the server).
constexpr size_t kMaxNameBytes = 1024;

Subscription With(Subscription s, bool to, bool from) {
  to = to || HasTo(s);
  from = from || HasFrom(s);
  if (to && from) return Subscription::kBoth;
  if (to) return Subscription::kTo;
  if (from) return Subscription::kFrom;
  return Subscription::kNone;
}

Subscription Without(Subscription s, bool to, bool from) {
  const bool keep_to = HasTo(s) && !to;
  const bool keep_from = HasFrom(s) && !from;
  return With(Subscription::kNone, keep_to, keep_from);
}

}  // namespace

absl::string_view SubscriptionName(Subscription subscription) {
  switch (subscription) {
    case Subscription::kTo:
      return "to";
    case Subscription::kFrom:
      return "from";
    case Subscription::kBoth:
      return "both";
    case Subscription::kNone:
      break;
  }
  return "none";
}

Element RosterItem::ToElement() const {
  Element item(ns::kRoster, "item");
  item.SetAttr("jid", jid.ToString());
  if (removed) {
    item.SetAttr("subscription", "remove");
    return item;
  }
  if (!name.empty()) item.SetAttr("name", name);
  item.SetAttr("subscription", SubscriptionName(subscription));
  if (ask) item.SetAttr("ask", "subscribe");
  for (const std::string& group : groups) {
    item.AddChild(ns::kRoster, "group").SetText(group);
  }
  return item;
}

const RosterItem* RosterStore::Find(const Jid& owner,
                                    const Jid& contact) const {
  auto roster = rosters_.find(owner);
  if (roster == rosters_.end()) return nullptr;
  auto item = roster->second.find(contact);
  return item == roster->second.end() ? nullptr : &item->second;
}

std::vector<RosterItem> RosterStore::Items(const Jid& owner) const {
  std::vector<RosterItem> items;
  auto roster = rosters_.find(owner);
  if (roster == rosters_.end()) return items;
  for (const auto& [jid, item] : roster->second) items.push_back(item);
  return items;
}

void RosterStore::Put(const Jid& owner, RosterItem item) {
  Jid contact = item.jid;
  rosters_[owner][contact] = std::move(item);
}

RosterItem& RosterStore::ItemFor(const Jid& owner, const Jid& contact) {
  auto [it, inserted] = rosters_[owner].try_emplace(contact);
  if (inserted) it->second.jid = contact;
  return it->second;
}

std::vector<SubscriptionOutcome::Change> RosterStore::Link(const Jid& a,
                                                           const Jid& b) {
  std::vector<SubscriptionOutcome::Change> changes;
  for (const auto& [owner, contact] : {std::pair(a, b), std::pair(b, a)}) {
    RosterItem& item = ItemFor(owner, contact);
    if (item.subscription == Subscription::kBoth && !item.ask) continue;
    item.subscription = Subscription::kBoth;
    item.ask = false;
    changes.push_back({owner, item});
  }
  return changes;
}

std::vector<Jid> RosterStore::Subscribers(const Jid& owner) const {
  std::vector<Jid> jids;
  auto roster = rosters_.find(owner);
  if (roster == rosters_.end()) return jids;
  for (const auto& [jid, item] : roster->second) {
    if (HasFrom(item.subscription)) jids.push_back(jid);
  }
  return jids;  // std::map: already sorted
}

std::vector<Jid> RosterStore::Subscriptions(const Jid& owner) const {
  std::vector<Jid> jids;
  auto roster = rosters_.find(owner);
  if (roster == rosters_.end()) return jids;
  for (const auto& [jid, item] : roster->second) {
    if (HasTo(item.subscription)) jids.push_back(jid);
  }
  return jids;
}

RosterSetOutcome RosterStore::ApplyRosterSet(const Jid& owner,
                                             const Element& query) {
  RosterSetOutcome out;
  // RFC 6121 §2.3.3: exactly one item, with a JID.
  const std::vector<const Element*> items =
      query.FindChildren(ns::kRoster, "item");
  if (items.size() != 1 || query.Children().size() != 1) {
    out.error_condition = "bad-request";
    return out;
  }
  const Element& set = *items.front();
  absl::StatusOr<Jid> jid = Jid::Parse(set.AttrOr("jid", ""));
  if (!jid.ok() || !jid->is_bare() || jid->BareEquals(owner)) {
    out.error_condition = "bad-request";
    return out;
  }
  if (set.AttrOr("subscription", "") == "remove") {
    auto roster = rosters_.find(owner);
    auto it = roster == rosters_.end() ? decltype(roster->second.end())()
                                       : roster->second.find(*jid);
    if (roster == rosters_.end() || it == roster->second.end()) {
      out.error_condition = "item-not-found";  // RFC 6121 §2.5.3
      return out;
    }
    out.previous = it->second.subscription;
    roster->second.erase(it);
    out.pushed.jid = *jid;
    out.pushed.removed = true;
    return out;
  }
  // Any other `subscription` and `ask` are the server's business: ignored
  // (RFC 6121 §2.1.2.2, §2.1.2.5).
  const std::string name = set.AttrOr("name", "");
  std::vector<std::string> groups;
  absl::flat_hash_set<std::string> seen;
  for (const Element* group : set.FindChildren(ns::kRoster, "group")) {
    std::string text = group->Text();
    if (text.empty() || text.size() > kMaxNameBytes) {
      out.error_condition = "not-acceptable";
      return out;
    }
    if (!seen.insert(text).second) {
      out.error_condition = "bad-request";  // duplicate group
      return out;
    }
    groups.push_back(std::move(text));
  }
  if (name.size() > kMaxNameBytes) {
    out.error_condition = "not-acceptable";
    return out;
  }
  RosterItem& item = ItemFor(owner, *jid);
  item.name = name;
  item.groups = std::move(groups);
  out.pushed = item;
  return out;
}

SubscriptionOutcome RosterStore::ApplySubscription(const Jid& user,
                                                   const Jid& contact,
                                                   absl::string_view type,
                                                   const Element& stanza) {
  SubscriptionOutcome out;
  auto pending_of = [this](const Jid& to, const Jid& from) {
    std::vector<std::pair<Jid, Element>>& list = pending_[to];
    return std::find_if(list.begin(), list.end(),
                        [&](const auto& entry) { return entry.first == from; });
  };
  auto change = [&](const Jid& owner, const Jid& about, auto&& edit) {
    RosterItem& item = ItemFor(owner, about);
    const Subscription before = item.subscription;
    const bool ask_before = item.ask;
    edit(item);
    if (item.subscription != before || item.ask != ask_before) {
      out.changes.push_back({owner, item});
    }
  };

  if (type == "subscribe") {
    const RosterItem* theirs = Find(contact, user);
    if (theirs != nullptr && HasFrom(theirs->subscription)) {
      // Already approved: the server answers for the contact (§3.1.3).
      out.deliver = false;
      out.auto_subscribed = true;
      change(user, contact, [](RosterItem& item) {
        item.subscription = With(item.subscription, true, false);
        item.ask = false;
      });
      return out;
    }
    change(user, contact, [](RosterItem& item) { item.ask = true; });
    auto it = pending_of(contact, user);
    if (it != pending_[contact].end()) {
      it->second = stanza;
    } else {
      pending_[contact].emplace_back(user, stanza);
    }
    return out;
  }

  // `user` answers (or cancels) `contact`'s subscription to `user`.
  if (type == "subscribed" || type == "unsubscribed") {
    auto it = pending_of(user, contact);
    const bool was_pending = it != pending_[user].end();
    if (was_pending) pending_[user].erase(it);
    const RosterItem* mine = Find(user, contact);
    const bool approved = mine != nullptr && HasFrom(mine->subscription);
    if (type == "subscribed") {
      // Nothing asked, or already approved: not routed (§3.1.5; no
      // pre-approval support).
      if (!was_pending || approved) {
        out.deliver = false;
        return out;
      }
      change(user, contact, [](RosterItem& item) {
        item.subscription = With(item.subscription, false, true);
      });
      change(contact, user, [](RosterItem& item) {
        item.subscription = With(item.subscription, true, false);
        item.ask = false;
      });
      out.presence_from = user;
      out.presence_to = contact;
      out.presence = PresenceChange::kStarts;
      return out;
    }
    const RosterItem* theirs = Find(contact, user);
    const bool asked = theirs != nullptr && theirs->ask;
    if (!was_pending && !approved && !asked) {
      out.deliver = false;  // nothing to deny or cancel (§3.2.2)
      return out;
    }
    if (mine != nullptr) {
      change(user, contact, [](RosterItem& item) {
        item.subscription = Without(item.subscription, false, true);
      });
    }
    change(contact, user, [](RosterItem& item) {
      item.subscription = Without(item.subscription, true, false);
      item.ask = false;
    });
    if (approved) {
      out.presence_from = user;
      out.presence_to = contact;
      out.presence = PresenceChange::kStops;
    }
    return out;
  }

  if (type == "unsubscribe") {
    auto it = pending_of(contact, user);
    const bool was_pending = it != pending_[contact].end();
    if (was_pending) pending_[contact].erase(it);
    const RosterItem* mine = Find(user, contact);
    const bool subscribed = mine != nullptr && HasTo(mine->subscription);
    if (!was_pending && !subscribed && (mine == nullptr || !mine->ask)) {
      out.deliver = false;  // nothing to cancel (§3.3.2)
      return out;
    }
    change(user, contact, [](RosterItem& item) {
      item.subscription = Without(item.subscription, true, false);
      item.ask = false;
    });
    if (Find(contact, user) != nullptr) {
      change(contact, user, [](RosterItem& item) {
        item.subscription = Without(item.subscription, false, true);
      });
    }
    if (subscribed) {
      out.presence_from = contact;
      out.presence_to = user;
      out.presence = PresenceChange::kStops;
    }
  }
  return out;
}

std::vector<Element> RosterStore::PendingRequests(const Jid& contact) const {
  std::vector<Element> requests;
  auto it = pending_.find(contact);
  if (it == pending_.end()) return requests;
  for (const auto& [user, request] : it->second) requests.push_back(request);
  return requests;
}

}  // namespace talkcheck::fake_server

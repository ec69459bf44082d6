// Rosters and presence subscriptions of the fake server's accounts (RFC 6121
// §2 and §3), as plain data: who is on whose roster, with which subscription
// state, and which inbound subscription requests wait for an answer. The
// router (router.h) consults it to decide who receives presence and applies
// roster sets and subscription stanzas through it; delivering anything is the
// router's job.
//
// Rosters come from the configuration (`Account.roster`) and from the harness
// (Router::AddContacts: the client under test and its peers); nobody is on a
// roster by default, so presence fan-out costs (resources × roster size), not
// (resources²).
//
// Example:
//   RosterStore rosters;
//   rosters.Link(cut, peer);                 // both ways, subscription both
//   rosters.Subscribers(cut);                // {peer}: receives cut's presence
//   rosters.Find(cut, peer)->ToElement();    // <item jid='peer@...' .../>
#ifndef TALKCHECK_FAKE_SERVER_ROSTER_H_
#define TALKCHECK_FAKE_SERVER_ROSTER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::fake_server {

// RFC 6121 §2.1.2.5.
enum class Subscription { kNone, kTo, kFrom, kBoth };
absl::string_view SubscriptionName(Subscription subscription);
// The owner receives the contact's presence.
inline bool HasTo(Subscription s) {
  return s == Subscription::kTo || s == Subscription::kBoth;
}
// The contact receives the owner's presence.
inline bool HasFrom(Subscription s) {
  return s == Subscription::kFrom || s == Subscription::kBoth;
}

// One contact on a roster (RFC 6121 §2.1.2). `jid` is bare.
struct RosterItem {
  xmpp::Jid jid;
  std::string name;  // empty: no `name` attribute
  std::vector<std::string> groups;
  Subscription subscription = Subscription::kNone;
  bool ask = false;      // pending out: the owner asked to subscribe
  bool removed = false;  // only in pushes: `subscription='remove'`

  // `<item xmlns='jabber:iq:roster' jid=... subscription=.../>`.
  xmpp::Element ToElement() const;
};

// The result of a roster set (RFC 6121 §2.3): the item to push, or the stanza
// error condition that refuses it.
struct RosterSetOutcome {
  std::string error_condition;  // "bad-request", "not-acceptable"; "" if ok
  RosterItem pushed;            // the stored item, or the removal
  Subscription previous = Subscription::kNone;  // before a removal
};

enum class PresenceChange { kNone, kStarts, kStops };

// What an outbound subscription stanza did to the rosters of both parties
// (RFC 6121 §3): the items that changed (to push to their owners' interested
// resources), and whether the stanza is delivered to the contact.
struct SubscriptionOutcome {
  struct Change {
    xmpp::Jid owner;
    RosterItem item;
  };
  std::vector<Change> changes;
  bool deliver = true;
  // The server answers `subscribed` on the contact's behalf (the user already
  // had a subscription approved): RFC 6121 §3.1.3.
  bool auto_subscribed = false;
  // Whether presence now flows (or stops flowing) from `presence_from` to
  // `presence_to`: the router then sends the current presence (or
  // `unavailable`) of the one's available resources to the other's.
  PresenceChange presence = PresenceChange::kNone;
  xmpp::Jid presence_from;
  xmpp::Jid presence_to;
};

class RosterStore {
 public:
  // The item for `contact` on `owner`'s roster (both bare), nullptr if none.
  const RosterItem* Find(const xmpp::Jid& owner,
                         const xmpp::Jid& contact) const;
  // `owner`'s roster, sorted by JID.
  std::vector<RosterItem> Items(const xmpp::Jid& owner) const;
  // Adds or replaces `item` on `owner`'s roster.
  void Put(const xmpp::Jid& owner, RosterItem item);

  // Puts `a` and `b` on each other's roster with subscription both, keeping
  // names and groups already there; returns the items that changed (for
  // pushes), none when they already were mutual contacts.
  std::vector<SubscriptionOutcome::Change> Link(const xmpp::Jid& a,
                                                const xmpp::Jid& b);

  // Contacts whose items on `owner`'s roster have subscription from or both:
  // those that receive `owner`'s presence, sorted.
  std::vector<xmpp::Jid> Subscribers(const xmpp::Jid& owner) const;
  // Contacts `owner` is subscribed to (to or both), sorted.
  std::vector<xmpp::Jid> Subscriptions(const xmpp::Jid& owner) const;

  // Applies a roster set's `<query/>` from `owner` (RFC 6121 §2.3, §2.5):
  // adds or updates one item's name and groups, or removes it. Subscription
  // states change only through subscription stanzas.
  RosterSetOutcome ApplyRosterSet(const xmpp::Jid& owner,
                                  const xmpp::Element& query);

  // Applies an outbound subscription stanza of `type` from `user` to
  // `contact` (bare JIDs; both on this server) to both rosters, and keeps
  // `request` (a `subscribe`) as pending until the contact answers it.
  SubscriptionOutcome ApplySubscription(const xmpp::Jid& user,
                                        const xmpp::Jid& contact,
                                        absl::string_view type,
                                        const xmpp::Element& stanza);

  // Inbound subscription requests to `contact` not answered yet, oldest
  // first: delivered at each of its logins (RFC 6121 §3.1.3).
  std::vector<xmpp::Element> PendingRequests(const xmpp::Jid& contact) const;

 private:
  RosterItem& ItemFor(const xmpp::Jid& owner, const xmpp::Jid& contact);

  absl::flat_hash_map<xmpp::Jid, std::map<xmpp::Jid, RosterItem>> rosters_;
  // contact -> (user -> the user's `subscribe`), in arrival order.
  absl::flat_hash_map<xmpp::Jid,
                      std::vector<std::pair<xmpp::Jid, xmpp::Element>>>
      pending_;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_ROSTER_H_

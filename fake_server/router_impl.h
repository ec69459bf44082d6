// Router's private parts, shared by router.cc (the public methods, accounts,
// binding, delivery and observers), router_presence.cc (presence,
// subscriptions and roster pushes) and router_message_iq.cc (messages, iqs and
// the iqs the server answers itself). Internal to fake_server: include
// router.h instead.
#ifndef TALKCHECK_FAKE_SERVER_ROUTER_IMPL_H_
#define TALKCHECK_FAKE_SERVER_ROUTER_IMPL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "fake_server/roster.h"
#include "fake_server/router.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::fake_server {

struct Router::Resource {
  Endpoint* endpoint = nullptr;
  // The last available presence (stamped `from`), empty while unavailable.
  std::optional<xmpp::Element> presence;
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
  void DeliverTo(const xmpp::Jid& recipient, xmpp::Element stanza);

  // Sorted (repeatable) lists of resources.
  std::vector<xmpp::Jid> ResourcesOf(const xmpp::Jid& bare,
                                     bool available_only) const;
  // Who receives `sender`'s broadcast presence: its other available
  // resources and those of the contacts subscribed to it.
  std::vector<xmpp::Jid> PresenceAudience(const xmpp::Jid& sender) const;
  // Whose presence a newly available `sender` learns: its other available
  // resources and those of the contacts it is subscribed to.
  std::vector<xmpp::Jid> PresenceSources(const xmpp::Jid& sender) const;
  std::vector<xmpp::Jid> MessageRecipients(const xmpp::Jid& bare) const;

  void BroadcastPresence(const xmpp::Jid& sender,
                         const xmpp::Element& presence);
  void RoutePresence(const xmpp::Jid& sender, xmpp::Element presence);
  void RouteSubscription(const xmpp::Jid& sender, const xmpp::Jid& to,
                         absl::string_view type, xmpp::Element presence);
  // Each available resource of `from` (bare) sends its current presence (or
  // `unavailable`) to each available resource of `to` (bare).
  void SharePresence(const xmpp::Jid& from, const xmpp::Jid& to,
                     bool available);
  // A roster push of `item` to every interested resource of `owner`.
  void PushRosterItem(const xmpp::Jid& owner, const RosterItem& item);
  void RosterSet(const xmpp::Jid& sender, const xmpp::Element& iq,
                 const xmpp::Element& query, const std::string& reply_from);
  void RouteMessage(const xmpp::Jid& sender, xmpp::Element message);
  void RouteIq(const xmpp::Jid& sender, xmpp::Element iq);
  // Answers a well-formed iq addressed to the server (`account` empty) or to
  // the bare JID `account`.
  void AnswerIq(const xmpp::Jid& sender, const xmpp::Element& iq,
                const std::optional<xmpp::Jid>& account);
  xmpp::Element RosterFor(const xmpp::Jid& owner) const;
  xmpp::Element JingleInfoQuery() const;

 private:
  Router& r_;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_ROUTER_IMPL_H_

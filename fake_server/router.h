// The fake server's hub: accounts, rosters, presence, routing, and the iqs the
// server answers itself. Protocol-neutral: it sees bound resources as
// `Endpoint`s, whether a c2s stream over TCP/TLS or a virtual session attached
// in-process (the simulated peer).
//
// Everything a client sends reaches `RouteFromClient()` after the stream has
// checked it; the router stamps `from` with the sender's full JID (a client's
// own `from` is never trusted), then:
//   - presence: initial/updated presence without `to` goes to the sender's
//     other resources and to every contact's available resources; `probe` is
//     answered with the prober's contacts' current presence; directed
//     presence goes where it is addressed; caps elements pass through
//     untouched.
//   - iq/message/presence to a full JID go to that resource; to a bare JID:
//     messages to the highest-priority resource(s), presence to all
//     resources, iqs are answered by the server on the account's behalf
//     (RFC 6121 §8.5.2.1.3).
//   - iqs to the server (no `to`, the domain, or the sender's own bare JID):
//     roster get, disco#info / disco#items for the server, XEP-0199 ping,
//     legacy session, `google:jingleinfo`; anything else service-unavailable.
//   - iq get/set to an unknown or unavailable JID: service-unavailable error.
// Observers see every stanza the router delivers or receives, with a timestamp.
#ifndef TALKCHECK_FAKE_SERVER_ROUTER_H_
#define TALKCHECK_FAKE_SERVER_ROUTER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "fake_server/config.pb.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::fake_server {

// A bound resource the router can deliver stanzas to.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // Hands over one stanza addressed to this resource (already stamped
  // `from`/`to`).
  virtual void Deliver(const xmpp::Element& stanza) = 0;
  // Ends the session from the server side (REPLACE_EXISTING bind conflicts).
  // The endpoint must call Router::Unbind() itself, synchronously or later.
  virtual void Kick(absl::string_view reason) = 0;
};

// One stanza as the router saw it.
struct RoutedStanza {
  enum class Direction {
    kFromEndpoint,  // a client (or virtual session) sent it; `endpoint` is the
                    // sender
    kToEndpoint,    // the router delivered it; `endpoint` is the receiver
  };
  absl::Duration time;  // Clock::Now() when routed
  Direction direction;
  xmpp::Jid endpoint;
  xmpp::Element stanza;
};

class Router {
 public:
  // Does not take ownership of `clock`, which must outlive the router.
  Router(const ServerConfig& config, Clock& clock);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  const std::string& domain() const { return config_.domain(); }

  // Password of `username`, nullopt for an unknown account.
  std::optional<std::string> PasswordOf(absl::string_view username) const;
  // Adds (or replaces the password of) an account at run time; every roster
  // then lists it. Used by the harness to create the simulated peer's account.
  void AddAccount(absl::string_view username, absl::string_view password);

  // Binds `full_jid` to `endpoint` (not owned; must stay valid until Unbind()).
  // kAlreadyExists when the resource is taken and the policy is REFUSE_NEW;
  // with REPLACE_EXISTING the old endpoint is kicked and unbound first.
  // kNotFound for an unknown account.
  absl::Status Bind(const xmpp::Jid& full_jid, Endpoint* endpoint);
  // Forgets the resource; if it had sent available presence, its contacts and
  // other resources get `unavailable`. Safe to call for an unbound JID.
  void Unbind(const xmpp::Jid& full_jid);

  // A stanza sent by bound resource `sender` (whatever `from` it carries is
  // replaced).
  void RouteFromClient(const xmpp::Jid& sender, xmpp::Element stanza);

  // Sends a stanza on the server's own behalf (`from` = the domain unless set).
  void SendFromServer(xmpp::Element stanza);

  // The current available presence stanza of a resource (nullopt when
  // unavailable).
  std::optional<xmpp::Element> PresenceOf(const xmpp::Jid& full_jid) const;
  bool IsBound(const xmpp::Jid& full_jid) const;
  std::vector<xmpp::Jid> BoundResources() const;

  // Observers run synchronously for every routed stanza, in registration order.
  // The returned id removes it.
  using Observer = std::function<void(const RoutedStanza&)>;
  int AddObserver(Observer observer);
  void RemoveObserver(int id);

 private:
  // See router.cc.
  struct Resource;
  ServerConfig config_;
  Clock& clock_;
  absl::flat_hash_map<std::string, std::string>
      passwords_;  // username -> password
  absl::flat_hash_map<xmpp::Jid, std::unique_ptr<Resource>> resources_;
  std::vector<std::pair<int, Observer>> observers_;
  int next_observer_id_ = 1;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_ROUTER_H_

// The fake server's hub: accounts, rosters, presence, routing, and the iqs the
// server answers itself. Protocol-neutral: it sees bound resources as
// `Endpoint`s, whether a c2s stream over TCP/TLS or a virtual session attached
// in-process (the simulated peer).
//
// Everything a client sends reaches `RouteFromClient()` after the stream has
// checked it; the router stamps `from` with the sender's full JID (a client's
// own `from` is never trusted), then:
//   - presence: initial/updated presence without `to` goes to the sender's
//     other resources and to the available resources of the contacts
//     subscribed to it (roster.h: from the configuration and AddContacts(),
//     never all-to-all); initial presence also brings the sender the presence
//     of the contacts it is subscribed to and the subscription requests
//     waiting for it; `probe` is answered with the contact's current presence
//     when the prober is subscribed (`unsubscribed` otherwise); directed
//     presence goes where it is addressed; caps elements pass through
//     untouched.
//   - subscription presence (`subscribe`, `subscribed`, `unsubscribe`,
//     `unsubscribed`; RFC 6121 §3) goes out from the sender's bare JID to the
//     contact's available resources and updates both rosters (with roster
//     pushes); a `subscribe` is kept until answered and delivered again at
//     each of the contact's logins.
//   - iq/message/presence to a full JID go to that resource; to a bare JID:
//     messages to the highest-priority resource(s), presence to all
//     resources, iqs are answered by the server on the account's behalf
//     (RFC 6121 §8.5.2.1.3).
//   - iqs to the server (no `to`, the domain, or the sender's own bare JID):
//     roster get and set (stored, pushed to every resource of the account
//     that has asked for the roster; RFC 6121 §2), disco#info / disco#items for
//     the server, XEP-0199 ping, legacy session, `google:jingleinfo`; anything
//     else service-unavailable.
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
#include "fake_server/roster.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::fake_server {

// A bound resource the router can deliver stanzas to.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // Hands over one stanza addressed to this resource (already stamped
  // `from`/`to`); the endpoint's to keep, without a copy.
  virtual void Deliver(xmpp::Element stanza) = 0;
  // Ends the session from the server side (REPLACE_EXISTING bind conflicts).
  // The endpoint must call Router::Unbind() itself, synchronously or later.
  virtual void Kick(absl::string_view reason) = 0;
};

// One stanza as the router saw it, valid while the observer runs: an observer
// that keeps it copies what it needs (the router notifies for every stanza, and
// copying each one for observers that only look was a tenth of a fuzz
// schedule's XMPP work).
struct RoutedStanza {
  enum class Direction {
    kFromEndpoint,  // a client (or virtual session) sent it; `endpoint` is the
                    // sender
    kToEndpoint,    // the router delivered it; `endpoint` is the receiver
  };
  absl::Duration time;  // Clock::Now() when routed
  Direction direction;
  const xmpp::Jid& endpoint;
  const xmpp::Element& stanza;
};

// One step of a client stream's login (negotiation before stanzas), for
// reports on a client that never logged in: how far did it get?
struct LoginEvent {
  enum class Kind {
    kConnected,     // a client stream opened (TCP accepted, or in memory)
    kStreamHeader,  // its stream header was accepted; features offered
    kStartTls,      // <starttls/>: detail "proceed" or "failure"
    kTlsEstablished,
    kAuth,           // <auth>: detail is the mechanism
    kAuthFailed,     // <failure>: detail is the condition (and text)
    kAuthenticated,  // detail is the username
    kBound,          // detail is the full JID
    kBindFailed,     // detail is the error condition
    kStreamError,    // the server ended the stream: condition and text
    kClosed,         // the connection is gone
  };
  absl::Duration time;  // Clock::Now()
  int stream = 0;       // numbers the client streams of this router from 1
  Kind kind;
  std::string detail;
};

// "connected", "SASL PLAIN", "SASL failed: not-authorized (...)", "bound
// JID", ...: a login step in words, for reports and logs.
std::string DescribeLoginEvent(const LoginEvent& event);

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
  // Adds (or replaces the password of) an account at run time, on nobody's
  // roster. Used by the harness to create the simulated peer's account.
  void AddAccount(absl::string_view username, absl::string_view password);

  // Puts the accounts `a` and `b` (bare or full JIDs of this server; the
  // accounts need not exist yet) on each other's roster with subscription
  // both, as an approved mutual subscription would: roster pushes to their
  // interested resources, and each one's available resources get the other's
  // current presence. The harness calls it for the client under test and each
  // of its peers. kInvalidArgument for JIDs without a localpart, of another
  // domain, or of the same account.
  absl::Status AddContacts(const xmpp::Jid& a, const xmpp::Jid& b);
  // The roster of the account `bare`, sorted by JID.
  std::vector<RosterItem> RosterOf(const xmpp::Jid& bare) const;

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

  // The login log of client streams (read-only for the harness), the newest
  // kMaxLoginEvents kept. Streams note their steps through NoteLogin().
  static constexpr size_t kMaxLoginEvents = 256;
  int NewLoginStream() { return ++login_streams_; }
  void NoteLogin(int stream, LoginEvent::Kind kind, std::string detail = "");
  const std::vector<LoginEvent>& login_log() const { return login_log_; }
  // Called with every login event as it is noted (e.g. fake_xmpp_server's
  // log); null: none.
  void set_login_listener(std::function<void(const LoginEvent&)> listener) {
    login_listener_ = std::move(listener);
  }

 private:
  // See router_impl.h.
  struct Resource;
  // Fills rosters_ from config_ (constructor).
  void LoadConfiguredRosters();
  ServerConfig config_;
  Clock& clock_;
  absl::flat_hash_map<std::string, std::string>
      passwords_;  // username -> password
  absl::flat_hash_map<xmpp::Jid, std::unique_ptr<Resource>> resources_;
  // Bare JID -> its bound resources (keys of resources_), sorted.
  absl::flat_hash_map<xmpp::Jid, std::vector<xmpp::Jid>> accounts_online_;
  RosterStore rosters_;
  int next_push_id_ = 1;
  std::vector<std::pair<int, Observer>> observers_;
  int next_observer_id_ = 1;
  int login_streams_ = 0;
  std::vector<LoginEvent> login_log_;
  std::function<void(const LoginEvent&)> login_listener_;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_ROUTER_H_

// The Google Talk relay as libjingle 0.4 used it (PROTOCOL.md §5.2): an HTTP
// front door that hands out relay sessions, and a STUN-framed, pre-TURN UDP
// relay.
//
// HTTP. `GET /create_session` with both `X-Talk-Google-Relay-Auth` and
// `X-Google-Relay-Auth` equal to the configured token answers 200 text/plain,
// one `key=value` per line (LF), in the order of the real capture quoted in
// gabble's `google-relay.py` test: relay.ip, relay.udp_port, stun.ip and
// stun.port (when a STUN server is configured), username, password,
// magic_cookie. relay.tcp_port and relay.ssltcp_port are omitted: there is no
// TCP relay, and libjingle 0.4 would try to connect to any port it is given.
// A missing or wrong header gets 403 with a text body naming the header; other
// paths 404, other methods 405. The username and password are 16 random
// base64 characters each (libjingle's relay server `USERNAME_LENGTH`).
//
// magic_cookie. How Google encoded it is not recorded (the capture is
// censored). libjingle 0.4 copies the text verbatim into its MAGIC-COOKIE
// attribute and looks for those same bytes at offset 24 of every packet from
// the relay; libnice and libjingle >= 0.5 ignore the text and always send the
// four bytes 72 c6 4b c6. `MagicCookieEncoding::kHex` (the default) advertises
// the printable "72c64bc6"; `kRaw` the four bytes themselves. Either way the
// relay accepts both the four bytes and the advertised text as a request's
// cookie, and answers each client connection with the cookie that client sent,
// so every one of those clients finds its own cookie at offset 24.
//
// UDP (relay.udp_port), after libjingle's `relayport.cc` (client) and
// `relayserver.cc` (server); a "client connection" is one client address:
//  * ALLOCATE (0x0003) with MAGIC-COOKIE and USERNAME: binds the sender's
//    address to the session and answers 0x0103 with MAGIC-COOKIE,
//    MAPPED-ADDRESS = the session's external address and LIFETIME. Each
//    session has its own UDP socket on `external_address` (port 0), opened at
//    the first ALLOCATE; libjingle 0.4 opens one client socket per destination
//    and ALLOCATEs from each with the same username, so a session may have
//    several client connections sharing one external address. A repeated
//    ALLOCATE is the keep-alive (libjingle sends one every 10 min).
//  * SEND (0x0004) with MAGIC-COOKIE, USERNAME, DESTINATION-ADDRESS, optional
//    OPTIONS and DATA: DATA leaves the external socket for the destination.
//    With OPTIONS bit 0 the client connection is locked to that destination
//    and gets a 0x0104 with MAGIC-COOKIE and OPTIONS=1; an unlocked SEND gets
//    no response (libjingle does not wait for one).
//  * Peer datagrams arriving at the external socket go to the client
//    connection locked to that peer (else the session's first): raw when it is
//    locked to that peer, otherwise as DATA-INDICATION (0x0115, transaction id
//    "0000000000000000") with MAGIC-COOKIE, SOURCE-ADDRESS2 and DATA. A locked
//    client's datagrams without the cookie at offset 24 go raw to its peer.
//  * Errors (0x0113/0x0114/0x0111) carry MAGIC-COOKIE and ERROR-CODE: 432 for a
//    request without USERNAME, 430 Stale Credentials for an unknown or expired
//    username (or one that does not own the sending address), 400 for a SEND
//    without DESTINATION-ADDRESS or DATA, 600 for other requests and for a SEND
//    from an address that never ALLOCATEd. `ErrorCodeEncoding::kGice` (the
//    default) writes class = code / 256, number = code % 256, which libjingle
//    0.4's `error_code()` reads back as the code; libjingle's own relay server
//    wrote class = code / 100 (`kStandard`).
//  * DATA, the last attribute of every message that carries it, is written
//    unpadded, as libjingle 0.4 writes and reads it.
// A session that nothing uses (no request, no relayed packet either way) for
// `session_idle_timeout` expires: its socket closes and its username is
// forgotten, so later requests get 430.
//
// Single-threaded on the io_context that also runs `clock`.
#ifndef TALKCHECK_MEDIA_SIM_RELAY_SERVER_H_
#define TALKCHECK_MEDIA_SIM_RELAY_SERVER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {

// How the HTTP answer spells magic_cookie (see the file comment).
enum class MagicCookieEncoding {
  kHex,  // "72c64bc6"
  kRaw,  // the four bytes 72 c6 4b c6
};

// How ERROR-CODE values are written (PROTOCOL.md §4.2, §8 item 11).
enum class ErrorCodeEncoding {
  kGice,      // class = code / 256, number = code % 256 (430 -> 0x000001AE)
  kStandard,  // class = code / 100, number = code % 100 (430 -> 0x0000041E)
};

struct RelayServerOptions {
  // The HTTP listener. Port 0 picks a free port; `http_endpoint()` reports it.
  std::string http_address = "127.0.0.1";
  uint16_t http_port = 0;
  // The relay socket clients send ALLOCATE and SEND to (relay.udp_port).
  std::string udp_address = "127.0.0.1";
  uint16_t udp_port = 0;
  // Where each session's external socket binds (always port 0).
  std::string external_address = "127.0.0.1";
  // relay.ip in the HTTP answer; empty means the relay socket's bound address.
  std::string advertised_ip;
  // Both auth headers must carry exactly this.
  std::string token = "talkcheck-relay-token";
  // stun.ip / stun.port in the HTTP answer; omitted when unset.
  std::optional<boost::asio::ip::udp::endpoint> stun_server;

  MagicCookieEncoding magic_cookie_encoding = MagicCookieEncoding::kHex;
  ErrorCodeEncoding error_code_encoding = ErrorCodeEncoding::kGice;
  // libjingle's relay server forwarded a SEND only to a peer that had already
  // sent to the external address (a permission, in TURN terms). Off: every
  // SEND is forwarded.
  bool forward_only_to_peers_that_sent = false;

  // A session unused this long expires (libjingle relayserver MAX_LIFETIME,
  // 15 min; libjingle clients re-ALLOCATE every 10 min). Also the LIFETIME
  // sent in ALLOCATE responses, in whole seconds.
  absl::Duration session_idle_timeout = absl::Minutes(15);
  // An HTTP connection that does not complete a request this long after
  // connecting (or after the previous response) is closed.
  absl::Duration http_timeout = absl::Seconds(10);
  size_t max_http_request_bytes = 8192;  // header and body together
  size_t max_sessions = 1000;            // beyond: 503
  size_t max_http_connections = 64;      // beyond: closed at once
  // Largest datagram relayed whole; longer ones are counted and dropped.
  size_t max_datagram_bytes = 4096;

  // Receives one line per rejected HTTP request and per dropped or refused
  // relay packet. May be empty.
  std::function<void(absl::string_view)> log;
};

// Counters for findings and for tests.
struct RelayServerStats {
  // HTTP.
  uint64_t http_requests = 0;     // complete requests parsed
  uint64_t sessions_created = 0;  // 200 answers
  uint64_t http_forbidden = 0;    // 403: a missing or wrong auth header
  uint64_t http_not_found = 0;    // 404 / 405
  uint64_t http_malformed = 0;    // unparseable or too large: 400, closed
  uint64_t http_unavailable = 0;  // 503: max_sessions reached
  uint64_t http_connections_refused = 0;  // max_http_connections reached
  // Relay requests.
  uint64_t allocate_requests = 0;   // answered with 0x0103
  uint64_t allocate_refreshes = 0;  // of which from an existing connection
  uint64_t send_requests = 0;       // accepted SENDs
  uint64_t locks = 0;               // SENDs with OPTIONS lock (0x0104 sent)
  uint64_t error_responses = 0;     // 0x0113 / 0x0114 / 0x0111 sent
  uint64_t unknown_username = 0;    // of which 430
  uint64_t missing_username = 0;    // of which 432
  uint64_t malformed = 0;           // unparseable datagrams from clients
  uint64_t unsupported = 0;  // other message types (requests among them: 600)
  uint64_t without_magic_cookie = 0;     // requests lacking MAGIC-COOKIE
  uint64_t unexpected_magic_cookie = 0;  // neither 72c64bc6 nor advertised
  // Relayed traffic.
  uint64_t sent_to_peers = 0;          // SEND DATA forwarded
  uint64_t raw_to_peers = 0;           // locked, unframed client packets
  uint64_t data_indications = 0;       // peer packets wrapped for the client
  uint64_t raw_to_clients = 0;         // peer packets to a client locked to it
  uint64_t dropped_unlocked = 0;       // unframed client packet, not locked
  uint64_t dropped_no_permission = 0;  // forward_only_to_peers_that_sent
  uint64_t oversized_datagrams = 0;
  uint64_t send_errors = 0;
  uint64_t sessions_expired = 0;
};

// What one `create_session` handed out.
struct RelayCredentials {
  std::string username;
  std::string password;
};

class RelayServer {
 public:
  // Binds the HTTP listener and the relay socket and starts serving. Does not
  // own `io`, `clock` or `bitgen`; all must outlive the server. `clock` must
  // run its callbacks on the thread that runs `io`.
  static absl::StatusOr<std::unique_ptr<RelayServer>> Create(
      boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
      RelayServerOptions options);
  // Closes every socket and connection; queued handlers then do nothing.
  ~RelayServer();

  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  boost::asio::ip::tcp::endpoint http_endpoint() const { return http_local_; }
  boost::asio::ip::udp::endpoint udp_endpoint() const { return udp_local_; }
  const RelayServerStats& stats() const { return stats_; }
  size_t session_count() const { return sessions_.size(); }

  // Makes a session as `create_session` does, without HTTP (kUnavailable at
  // max_sessions). For harness code that configures a client directly.
  absl::StatusOr<RelayCredentials> CreateSession();
  // The external address of `username`'s session once it has ALLOCATEd.
  std::optional<boost::asio::ip::udp::endpoint> ExternalEndpoint(
      absl::string_view username) const;
  // The create_session body for `credentials` (what a 200 carries).
  std::string SessionBody(const RelayCredentials& credentials) const;
  // The magic_cookie value as the HTTP answer spells it.
  std::string AdvertisedMagicCookie() const;

 private:
  class HttpConnection;
  struct Receiver;
  struct ClientConnection;
  struct Session;

  RelayServer(boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
              RelayServerOptions options);

  // HTTP.
  void DoAccept();
  // Status, content type and body for one parsed request.
  struct HttpAnswer {
    unsigned status = 200;
    std::string body;
  };
  HttpAnswer AnswerHttp(absl::string_view method, absl::string_view target,
                        const std::optional<std::string>& talk_auth,
                        const std::optional<std::string>& google_auth,
                        const std::string& peer);
  void Log(absl::string_view line);

  // Relay socket.
  void DoReceiveClient();
  void OnClientDatagram(absl::string_view datagram,
                        const boost::asio::ip::udp::endpoint& from);
  void HandleRequest(absl::string_view datagram,
                     const boost::asio::ip::udp::endpoint& from);
  void HandleAllocate(const StunMessage& request, absl::string_view cookie,
                      const boost::asio::ip::udp::endpoint& from);
  void HandleSend(const StunMessage& request, absl::string_view cookie,
                  Session& session, ClientConnection& connection);
  void SendError(const StunMessage& request, absl::string_view cookie, int code,
                 absl::string_view reason,
                 const boost::asio::ip::udp::endpoint& to);
  // The cookie to answer `request` with, counting a missing or odd one.
  std::string CookieOf(const StunMessage& request);
  bool IsRelayFramed(absl::string_view datagram,
                     const ClientConnection& connection) const;
  void SendToClient(const std::string& bytes,
                    const boost::asio::ip::udp::endpoint& to);

  // Sessions.
  absl::Status OpenExternalSocket(Session& session);
  void DoReceivePeer(Session& session);
  void OnPeerDatagram(Session& session, absl::string_view datagram,
                      const boost::asio::ip::udp::endpoint& from);
  void Touch(Session& session);
  void ArmExpiry(Session& session, absl::Duration delay);
  void OnExpiryCheck(std::string username);
  Session* FindSession(absl::string_view username);

  boost::asio::io_context& io_;
  Clock& clock_;
  absl::BitGenRef bitgen_;
  RelayServerOptions options_;

  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  boost::asio::ip::tcp::endpoint http_local_;
  std::vector<std::weak_ptr<HttpConnection>> connections_;

  std::unique_ptr<boost::asio::ip::udp::socket> socket_;
  boost::asio::ip::udp::endpoint udp_local_;
  std::shared_ptr<Receiver> receiver_;

  std::map<std::string, std::unique_ptr<Session>> sessions_;  // by username
  // Client address -> username of the session it ALLOCATEd.
  std::map<boost::asio::ip::udp::endpoint, std::string> clients_;

  // Tells queued handlers and HTTP connections that the server is gone.
  std::shared_ptr<bool> alive_;
  RelayServerStats stats_;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_RELAY_SERVER_H_

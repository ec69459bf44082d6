// The fake XMPP server: listeners on loopback (IPv4 and IPv6), one `C2sStream`
// per TCP connection, a `Router`, and the attachment points the harness uses
// in-process: virtual sessions (logged-in resources with no socket, e.g. the
// simulated Google Talk peer), in-memory connections (a real client stream
// over an `xmpp::StreamPipeEnd`, for runs with no socket on a virtual clock)
// and observers of every routed stanza.
//
// Example:
//   boost::asio::io_context io;
//   AsioClock clock(io);
//   absl::StatusOr<std::unique_ptr<FakeServer>> server =
//       FakeServer::Create(config, io, clock);
//   std::cout << (*server)->endpoints()[0];  // "127.0.0.1:40411"
//   auto peer = (*server)->AttachVirtualSession(peer_jid, [](const Element& s)
//   {...}); io.run();
#ifndef TALKCHECK_FAKE_SERVER_SERVER_H_
#define TALKCHECK_FAKE_SERVER_SERVER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "base/mt19937_64.h"
#include "fake_server/config.pb.h"
#include "fake_server/connection.h"
#include "fake_server/router.h"
#include "fake_server/wire_tap.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/stream_pipe.h"

namespace talkcheck::fake_server {

class InMemoryConnection;
class TcpConnection;

// A logged-in resource with no socket. Stanzas it sends are routed like a
// client's; stanzas addressed to it reach its handler synchronously. Destroying
// it logs it out.
class VirtualSession : public Endpoint {
 public:
  using Handler = std::function<void(xmpp::Element)>;
  VirtualSession(Router& router, xmpp::Jid jid, Handler handler);
  ~VirtualSession() override;

  const xmpp::Jid& jid() const { return jid_; }
  // Sends a stanza as this resource (`from` is stamped by the router).
  void Send(xmpp::Element stanza);

  // Endpoint implementation.
  void Deliver(xmpp::Element stanza) override;
  void Kick(absl::string_view reason) override;

 private:
  Router& router_;
  xmpp::Jid jid_;
  Handler handler_;
  bool bound_ = true;
  friend class FakeServer;  // clears bound_ when binding was refused
};

// What the server holds on its clients' behalf, to check that whatever a
// client did leaves nothing behind once it is gone (tests/
// hostile_input_test): the server's own accounting, which unlike the process's
// RSS does not depend on the allocator returning memory.
struct ServerUsage {
  // Connection objects still alive (open, flushing, lingering after a stream
  // error, or with I/O in flight), TCP, WebSocket and in-memory.
  size_t connections = 0;
  // Output written for them and not yet taken by the operating system.
  size_t queued_output_bytes = 0;
  // Bound resources, virtual sessions included.
  size_t bound_resources = 0;

  friend bool operator==(const ServerUsage& a, const ServerUsage& b) {
    return a.connections == b.connections &&
           a.queued_output_bytes == b.queued_output_bytes &&
           a.bound_resources == b.bound_resources;
  }
  friend bool operator!=(const ServerUsage& a, const ServerUsage& b) {
    return !(a == b);
  }
};

class FakeServer {
 public:
  // Validates `config`, makes the TLS identity (unless TLS is off) and starts
  // listening on every configured address. Runs on `io`'s thread; does not own
  // `io` or `clock`.
  static absl::StatusOr<std::unique_ptr<FakeServer>> Create(
      ServerConfig config, boost::asio::io_context& io, Clock& clock,
      uint64_t seed = std::random_device{}());
  ~FakeServer();

  // The addresses actually listened on, as "host:port" ("[::1]:port" for IPv6).
  std::vector<std::string> endpoints() const;
  // The port of the first listener.
  uint16_t port() const;
  // The XMPP-over-WebSocket listeners (config websocket_listen), as
  // "host:port".
  std::vector<std::string> websocket_endpoints() const;

  const ServerConfig& config() const { return config_; }
  Router& router() { return router_; }
  // Open client connections, TCP and in-memory.
  size_t connection_count() const;
  // See ServerUsage.
  ServerUsage Usage() const;

  // Logs in a resource with no socket. kNotFound for an unknown account (add it
  // first with router().AddAccount()), kAlreadyExists for a resource in use.
  absl::StatusOr<std::unique_ptr<VirtualSession>> AttachVirtualSession(
      const xmpp::Jid& jid, VirtualSession::Handler handler);

  // Opens a client connection with no socket and returns the client's end of
  // it: the server serves it exactly like an accepted TCP connection (same
  // C2sStream, limits and connection count; closed by Stop()), except that it
  // never offers STARTTLS. A pipe inside one process has nothing to encrypt,
  // so such streams run as if `tls` were TLS_OFF even when the configuration
  // requires TLS; otherwise a tls-required server could not log anyone in over
  // a pipe. After Stop(), the returned end just sees a close. `handover`:
  // how elements cross the pipe (xmpp/stream_pipe.h).
  std::unique_ptr<xmpp::StreamPipeEnd> ConnectInMemory(
      xmpp::StreamPipeEnd::Handover handover =
          xmpp::StreamPipeEnd::Handover::kText);

  // Stops listening and closes every connection.
  void Stop();

  // Shows the bytes of every TCP connection accepted from now on to `tap`
  // (not owned; must outlive the server; null: none).
  void set_wire_tap(WireTap* tap) { wire_tap_ = tap; }

 private:
  FakeServer(ServerConfig config, boost::asio::io_context& io, Clock& clock,
             uint64_t seed);
  absl::Status Listen(const std::string& address, bool websocket);
  void DoAccept(boost::asio::ip::tcp::acceptor& acceptor, bool websocket);
  // Forgets finished connections and makes room for a new one: at
  // limits.max_connections, evicts the oldest unauthenticated connection.
  // False when every open connection is authenticated and the limit is
  // reached (the new one is to be refused).
  bool MakeRoom();

  ServerConfig config_;
  // config_ with TLS off, for in-memory connections (see ConnectInMemory()).
  ServerConfig in_memory_config_;
  boost::asio::io_context& io_;
  Clock& clock_;
  Mt19937_64 bitgen_;
  Router router_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>>
      websocket_acceptors_;
  // TCP and in-memory connections, in the order they were opened.
  std::vector<std::weak_ptr<ServedConnection>> connections_;
  bool stopped_ = false;
  WireTap* wire_tap_ = nullptr;
  uint64_t tapped_connections_ = 0;
  // Shared with pending accept handlers, which may outlive the server.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_SERVER_H_

// The fake XMPP server: listeners on loopback (IPv4 and IPv6), one `C2sStream`
// per TCP connection, a `Router`, and the attachment points the harness uses
// in-process: virtual sessions (logged-in resources with no socket, e.g. the
// simulated Google Talk peer), in-memory connections (a real client stream
// over a `BytePipeEnd`, for runs with no socket on a virtual clock) and
// observers of every routed stanza.
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
#include "base/byte_pipe.h"
#include "base/clock.h"
#include "fake_server/config.pb.h"
#include "fake_server/router.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::fake_server {

class InMemoryConnection;
class TcpConnection;

// A logged-in resource with no socket. Stanzas it sends are routed like a
// client's; stanzas addressed to it reach its handler synchronously. Destroying
// it logs it out.
class VirtualSession : public Endpoint {
 public:
  using Handler = std::function<void(const xmpp::Element&)>;
  VirtualSession(Router& router, xmpp::Jid jid, Handler handler);
  ~VirtualSession() override;

  const xmpp::Jid& jid() const { return jid_; }
  // Sends a stanza as this resource (`from` is stamped by the router).
  void Send(xmpp::Element stanza);

  // Endpoint implementation.
  void Deliver(const xmpp::Element& stanza) override;
  void Kick(absl::string_view reason) override;

 private:
  Router& router_;
  xmpp::Jid jid_;
  Handler handler_;
  bool bound_ = true;
  friend class FakeServer;  // clears bound_ when binding was refused
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

  const ServerConfig& config() const { return config_; }
  Router& router() { return router_; }
  // Open client connections, TCP and in-memory.
  size_t connection_count() const;

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
  // a pipe. After Stop(), the returned end just sees a close.
  std::unique_ptr<BytePipeEnd> ConnectInMemory();

  // Stops listening and closes every connection.
  void Stop();

 private:
  FakeServer(ServerConfig config, boost::asio::io_context& io, Clock& clock,
             uint64_t seed);
  absl::Status Listen(const std::string& address);
  void DoAccept(boost::asio::ip::tcp::acceptor& acceptor);
  // Forgets closed connections; true when the limit is already reached.
  bool PruneAndCheckLimit();

  ServerConfig config_;
  // config_ with TLS off, for in-memory connections (see ConnectInMemory()).
  ServerConfig in_memory_config_;
  boost::asio::io_context& io_;
  Clock& clock_;
  std::mt19937_64 bitgen_;
  Router router_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<std::weak_ptr<TcpConnection>> connections_;
  std::vector<std::weak_ptr<InMemoryConnection>> in_memory_connections_;
  bool stopped_ = false;
  // Shared with pending accept handlers, which may outlive the server.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_SERVER_H_

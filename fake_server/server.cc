#include "fake_server/server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "fake_server/config.h"
#include "fake_server/in_memory_connection.h"
#include "fake_server/tcp_connection.h"
#include "fake_server/tls_identity.h"
#include "fake_server/websocket_connection.h"

namespace talkcheck::fake_server {

namespace asio = boost::asio;
using asio::ip::tcp;

VirtualSession::VirtualSession(Router& router, xmpp::Jid jid, Handler handler)
    : router_(router), jid_(std::move(jid)), handler_(std::move(handler)) {}

VirtualSession::~VirtualSession() {
  if (bound_) router_.Unbind(jid_);
}

void VirtualSession::Send(xmpp::Element stanza) {
  if (bound_) router_.RouteFromClient(jid_, std::move(stanza));
}

void VirtualSession::Deliver(xmpp::Element stanza) {
  if (handler_) handler_(std::move(stanza));
}

void VirtualSession::Kick(absl::string_view) {
  bound_ = false;
  router_.Unbind(jid_);
}

FakeServer::FakeServer(ServerConfig config, asio::io_context& io, Clock& clock,
                       uint64_t seed)
    : config_(std::move(config)),
      in_memory_config_(config_),
      io_(io),
      clock_(clock),
      bitgen_(seed),
      router_(config_, clock) {
  in_memory_config_.set_tls(ServerConfig::TLS_OFF);
}

FakeServer::~FakeServer() {
  Stop();
  *alive_ = false;
}

absl::StatusOr<std::unique_ptr<FakeServer>> FakeServer::Create(
    ServerConfig config, asio::io_context& io, Clock& clock, uint64_t seed) {
  if (absl::Status valid = ValidateServerConfig(config); !valid.ok())
    return valid;
  std::unique_ptr<FakeServer> server(
      new FakeServer(std::move(config), io, clock, seed));
  if (server->config_.tls() != ServerConfig::TLS_OFF) {
    TlsIdentityOptions tls;
    tls.certificate_file = server->config_.tls_certificate_file();
    tls.private_key_file = server->config_.tls_private_key_file();
    tls.domain = server->config_.domain();
    absl::StatusOr<std::unique_ptr<asio::ssl::context>> context =
        MakeServerTlsContext(tls);
    if (!context.ok()) return context.status();
    server->tls_context_ = *std::move(context);
  }
  for (const std::string& address : ListenAddresses(server->config_)) {
    if (absl::Status listening = server->Listen(address, false);
        !listening.ok()) {
      return listening;
    }
  }
  if (!server->config_.in_memory_only()) {
    for (const std::string& address : server->config_.websocket_listen()) {
      if (absl::Status listening = server->Listen(address, true);
          !listening.ok()) {
        return listening;
      }
    }
  }
  return server;
}

absl::Status FakeServer::Listen(const std::string& address, bool websocket) {
  absl::StatusOr<ListenAddress> parsed = ParseListenAddress(address);
  if (!parsed.ok()) return parsed.status();
  boost::system::error_code ec;
  asio::ip::address ip = asio::ip::make_address(parsed->host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad listen host ", parsed->host));
  }
  tcp::endpoint endpoint(ip, parsed->port);

  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  if (acceptor->open(endpoint.protocol(), ec); !ec) {
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (ip.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    acceptor->bind(endpoint, ec);
  }
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", ec.message()));
  }
  DoAccept(*acceptor, websocket);
  (websocket ? websocket_acceptors_ : acceptors_)
      .push_back(std::move(acceptor));
  return absl::OkStatus();
}

void FakeServer::DoAccept(tcp::acceptor& acceptor, bool websocket) {
  // The handler may run after the server is gone (an aborted accept drained by
  // a later io.run()): it checks the shared flag before touching `this`.
  acceptor.async_accept([this, alive = alive_, &acceptor, websocket](
                            const boost::system::error_code& ec,
                            tcp::socket socket) {
    if (!*alive || stopped_) return;
    if (!ec && websocket) {
      MakeRoom();
      // TLS belongs to the WebSocket layer: no STARTTLS in these streams.
      auto connection = std::make_shared<WebSocketConnection>(
          std::move(socket), in_memory_config_, router_, clock_, bitgen_);
      connections_.push_back(connection);
      connection->Start();
    } else if (!ec) {
      const bool room = MakeRoom();
      auto connection =
          std::make_shared<TcpConnection>(std::move(socket), tls_context_.get(),
                                          config_, router_, clock_, bitgen_);
      connections_.push_back(connection);
      if (wire_tap_ != nullptr)
        connection->SetWireTap(wire_tap_, ++tapped_connections_);
      if (!room) {
        // RFC 6120 §4.9.3.17: the server lacks the resources to serve this
        // stream.
        connection->Reject(xmpp::StreamCondition::kResourceConstraint,
                           absl::StrCat("connection limit of ",
                                        config_.limits().max_connections(),
                                        " reached by authenticated sessions"));
      } else {
        connection->Start();
      }
    }
    // Re-arm even after an error (e.g. too many open files), as Beast's
    // listener does.
    DoAccept(acceptor, websocket);
  });
}

bool FakeServer::MakeRoom() {
  connections_.erase(
      std::remove_if(connections_.begin(), connections_.end(),
                     [](const auto& weak) { return weak.expired(); }),
      connections_.end());
  size_t open = 0;
  std::shared_ptr<ServedConnection> oldest_unauthenticated;
  for (const auto& weak : connections_) {
    std::shared_ptr<ServedConnection> connection = weak.lock();
    if (connection == nullptr || connection->closed()) continue;
    ++open;
    if (oldest_unauthenticated == nullptr && !connection->authenticated()) {
      oldest_unauthenticated = connection;
    }
  }
  if (open < config_.limits().max_connections()) return true;
  // Idle pre-auth sockets must not lock logins out (issue 13): the oldest one
  // goes. Authenticated sessions are never evicted.
  if (oldest_unauthenticated == nullptr) return false;
  oldest_unauthenticated->Evict(absl::StrCat(
      "connection limit of ", config_.limits().max_connections(),
      " reached; the oldest unauthenticated connection makes room"));
  return true;
}

size_t FakeServer::connection_count() const {
  return std::count_if(connections_.begin(), connections_.end(),
                       [](const auto& weak) { return !weak.expired(); });
}

ServerUsage FakeServer::Usage() const {
  ServerUsage usage;
  for (const auto& weak : connections_) {
    if (std::shared_ptr<ServedConnection> connection = weak.lock()) {
      ++usage.connections;
      usage.queued_output_bytes += connection->queued_output_bytes();
    }
  }
  usage.bound_resources = router_.BoundResources().size();
  return usage;
}

std::unique_ptr<xmpp::StreamPipeEnd> FakeServer::ConnectInMemory(
    xmpp::StreamPipeEnd::Handover handover) {
  auto ends = xmpp::MakeStreamPipe(io_, handover);
  // Stopped: the server's end goes at once, like a refused connection.
  if (stopped_) return std::move(ends.first);
  const bool room = MakeRoom();
  auto connection = std::make_shared<InMemoryConnection>(
      io_, std::move(ends.second), in_memory_config_, router_, clock_, bitgen_);
  connections_.push_back(connection);
  if (!room) {
    connection->Reject(
        xmpp::StreamCondition::kResourceConstraint,
        absl::StrCat("connection limit of ", config_.limits().max_connections(),
                     " reached by authenticated sessions"));
  } else {
    connection->Start();
  }
  return std::move(ends.first);
}

namespace {

std::vector<std::string> EndpointsOf(
    const std::vector<std::unique_ptr<tcp::acceptor>>& acceptors) {
  std::vector<std::string> out;
  for (const auto& acceptor : acceptors) {
    tcp::endpoint endpoint = acceptor->local_endpoint();
    const std::string host = endpoint.address().to_string();
    out.push_back(endpoint.address().is_v6()
                      ? absl::StrCat("[", host, "]:", endpoint.port())
                      : absl::StrCat(host, ":", endpoint.port()));
  }
  return out;
}

}  // namespace

std::vector<std::string> FakeServer::endpoints() const {
  return EndpointsOf(acceptors_);
}

std::vector<std::string> FakeServer::websocket_endpoints() const {
  return EndpointsOf(websocket_acceptors_);
}

uint16_t FakeServer::port() const {
  return acceptors_.empty() ? 0 : acceptors_.front()->local_endpoint().port();
}

absl::StatusOr<std::unique_ptr<VirtualSession>>
FakeServer::AttachVirtualSession(const xmpp::Jid& jid,
                                 VirtualSession::Handler handler) {
  auto session =
      std::make_unique<VirtualSession>(router_, jid, std::move(handler));
  if (absl::Status bound = router_.Bind(jid, session.get()); !bound.ok()) {
    session->bound_ =
        false;  // the resource belongs to someone else: leave it be
    return bound;
  }
  return session;
}

void FakeServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  for (auto& acceptor : acceptors_) acceptor->close(ignored);
  for (auto& acceptor : websocket_acceptors_) acceptor->close(ignored);
  // Aborting may release connections (and so touch the list): work on a copy.
  const std::vector<std::weak_ptr<ServedConnection>> connections = connections_;
  for (const auto& weak : connections) {
    if (auto connection = weak.lock()) connection->Abort();
  }
}

}  // namespace talkcheck::fake_server

#include "media_sim/relay_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace talkcheck::media_sim {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

namespace {

// libjingle's relay server stamps every DATA-INDICATION with this id.
constexpr absl::string_view kIndicationTransactionId = "0000000000000000";
// The DATA attribute's length field is 16 bits; keep clear of it.
constexpr size_t kMaxRelayedDatagram = 65000;
// Peers remembered per session for forward_only_to_peers_that_sent.
constexpr size_t kMaxPeersPerSession = 1024;

std::string U32(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<char>(value >> (24 - 8 * i));
  }
  return out;
}

std::optional<uint32_t> ReadU32(absl::string_view value) {
  if (value.size() != 4) return std::nullopt;
  uint32_t out = 0;
  for (char c : value) out = out << 8 | static_cast<uint8_t>(c);
  return out;
}

std::string ToString(const udp::endpoint& endpoint) {
  return absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
}

absl::string_view View(boost::beast::string_view view) {
  return absl::string_view(view.data(), view.size());
}

// The error response type for a request type (libjingle
// `GetStunErrorResponseType`).
uint16_t ErrorTypeFor(uint16_t request_type) {
  switch (request_type) {
    case kStunAllocateRequest:
      return kStunAllocateErrorResponse;
    case kStunSendRequest:
      return kStunSendErrorResponse;
    default:
      return kStunBindingErrorResponse;
  }
}

bool IsRelayRequestType(uint16_t type) {
  return type == kStunAllocateRequest || type == kStunSendRequest;
}

}  // namespace

struct RelayServer::Receiver {
  explicit Receiver(size_t size) : buffer(size) {}
  bool alive = true;
  std::vector<char> buffer;
  udp::endpoint sender;
};

struct RelayServer::ClientConnection {
  udp::endpoint address;
  std::string cookie;  // as the client last sent it; echoed in answers
  std::optional<udp::endpoint> locked_peer;
};

struct RelayServer::Session {
  ~Session() {
    if (receiver) receiver->alive = false;
    if (external) {
      boost::system::error_code ignored;
      external->close(ignored);
    }
  }

  RelayCredentials credentials;
  std::unique_ptr<udp::socket> external;  // opened at the first ALLOCATE
  udp::endpoint external_local;
  std::shared_ptr<Receiver> receiver;
  std::vector<ClientConnection> clients;
  std::set<udp::endpoint> peers_seen;
  absl::Duration last_used;
  std::unique_ptr<Timer> expiry;
};

//------------------------------------------------------------------------------
// One HTTP connection, Beast style: pending operations hold the connection.

class RelayServer::HttpConnection
    : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket socket, RelayServer* server,
                 std::shared_ptr<bool> alive)
      : socket_(std::move(socket)),
        server_(server),
        alive_(std::move(alive)),
        buffer_(server->options_.max_http_request_bytes) {
    boost::system::error_code ec;
    const tcp::endpoint remote = socket_.remote_endpoint(ec);
    if (!ec) {
      peer_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
    }
  }

  void Start() { DoRead(); }

  // Closes now; pending handlers find the socket closed.
  void Abort() {
    timer_.reset();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void DoRead() {
    parser_.emplace();
    const size_t limit = server_->options_.max_http_request_bytes;
    parser_->header_limit(static_cast<uint32_t>(limit));
    parser_->body_limit(limit);
    std::weak_ptr<HttpConnection> weak = shared_from_this();
    timer_ = server_->clock_.CallAfter(server_->options_.http_timeout, [weak] {
      if (std::shared_ptr<HttpConnection> self = weak.lock()) self->Abort();
    });
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    size_t) { self->OnRead(ec); });
  }

  void OnRead(const boost::system::error_code& ec) {
    if (!*alive_) return;
    timer_.reset();
    if (ec == http::error::end_of_stream ||
        ec == asio::error::operation_aborted) {
      return Close();
    }
    if (ec) {
      if (ec.category() ==
          http::make_error_code(http::error::bad_target).category()) {
        ++server_->stats_.http_malformed;
        server_->Log(
            absl::StrCat("relay http ", peer_, ": 400: ", ec.message()));
        HttpAnswer answer;
        answer.status = 400;
        answer.body = absl::StrCat("malformed request: ", ec.message(), "\n");
        return Respond(std::move(answer), 11, /*keep_alive=*/false);
      }
      return Close();  // reset, timeout: nothing to answer
    }
    const http::request<http::string_body>& request = parser_->get();
    ++server_->stats_.http_requests;
    auto header = [&](absl::string_view name) -> std::optional<std::string> {
      auto it =
          request.find(boost::beast::string_view(name.data(), name.size()));
      if (it == request.end()) return std::nullopt;
      return std::string(View(it->value()));
    };
    HttpAnswer answer = server_->AnswerHttp(
        View(request.method_string()), View(request.target()),
        header("X-Talk-Google-Relay-Auth"), header("X-Google-Relay-Auth"),
        peer_);
    Respond(std::move(answer), request.version(), request.keep_alive());
  }

  void Respond(HttpAnswer answer, unsigned version, bool keep_alive) {
    response_.emplace();
    response_->version(version);
    response_->result(answer.status);
    response_->set(http::field::server, "talkcheck-relay");
    response_->set(http::field::content_type, "text/plain");
    if (answer.status == 405) response_->set(http::field::allow, "GET");
    response_->keep_alive(keep_alive);
    response_->body() = std::move(answer.body);
    response_->prepare_payload();
    http::async_write(socket_, *response_,
                      [self = shared_from_this(), keep_alive](
                          const boost::system::error_code& ec, size_t) {
                        if (!*self->alive_) return;
                        if (ec || !keep_alive) return self->Close();
                        self->DoRead();
                      });
  }

  // Half-closes first so the client reads the response before EOF.
  void Close() {
    timer_.reset();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  RelayServer* server_;  // valid while *alive_
  std::shared_ptr<bool> alive_;
  std::string peer_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::unique_ptr<Timer> timer_;
};

//------------------------------------------------------------------------------
// Construction.

absl::StatusOr<std::unique_ptr<RelayServer>> RelayServer::Create(
    asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
    RelayServerOptions options) {
  boost::system::error_code ec;
  auto address =
      [&ec](absl::string_view what,
            const std::string& text) -> absl::StatusOr<asio::ip::address> {
    asio::ip::address parsed = asio::ip::make_address(text, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("relay ", what, " '", text, "' is not an IP address"));
    }
    return parsed;
  };
  absl::StatusOr<asio::ip::address> http_address =
      address("http_address", options.http_address);
  if (!http_address.ok()) return http_address.status();
  absl::StatusOr<asio::ip::address> udp_address =
      address("udp_address", options.udp_address);
  if (!udp_address.ok()) return udp_address.status();
  absl::StatusOr<asio::ip::address> external_address =
      address("external_address", options.external_address);
  if (!external_address.ok()) return external_address.status();
  if (!options.advertised_ip.empty()) {
    absl::StatusOr<asio::ip::address> advertised =
        address("advertised_ip", options.advertised_ip);
    if (!advertised.ok()) return advertised.status();
  }
  if (options.max_datagram_bytes < kStunHeaderSize ||
      options.max_datagram_bytes > kMaxRelayedDatagram) {
    return absl::InvalidArgumentError(
        absl::StrCat("relay max_datagram_bytes must be within ",
                     kStunHeaderSize, "..", kMaxRelayedDatagram));
  }
  if (options.session_idle_timeout <= absl::ZeroDuration() ||
      options.http_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("relay timeouts must be positive");
  }

  // Using 'new' to access a non-public constructor.
  std::unique_ptr<RelayServer> server(
      new RelayServer(io, clock, bitgen, std::move(options)));

  const tcp::endpoint http_endpoint(*http_address, server->options_.http_port);
  tcp::acceptor& acceptor = *server->acceptor_;
  acceptor.open(http_endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(http_endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) server->http_local_ = acceptor.local_endpoint(ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "relay HTTP cannot listen on ", http_endpoint.address().to_string(),
        ":", http_endpoint.port(), ": ", ec.message()));
  }

  const udp::endpoint udp_endpoint(*udp_address, server->options_.udp_port);
  server->socket_->open(udp_endpoint.protocol(), ec);
  if (!ec) server->socket_->bind(udp_endpoint, ec);
  if (!ec) server->udp_local_ = server->socket_->local_endpoint(ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "relay cannot bind UDP ", ToString(udp_endpoint), ": ", ec.message()));
  }

  server->DoAccept();
  server->DoReceiveClient();
  return server;
}

RelayServer::RelayServer(asio::io_context& io, Clock& clock,
                         absl::BitGenRef bitgen, RelayServerOptions options)
    : io_(io),
      clock_(clock),
      bitgen_(bitgen),
      options_(std::move(options)),
      acceptor_(std::make_unique<tcp::acceptor>(io)),
      socket_(std::make_unique<udp::socket>(io)),
      // One spare byte tells an oversized datagram from one that fits.
      receiver_(std::make_shared<Receiver>(options_.max_datagram_bytes + 1)),
      alive_(std::make_shared<bool>(true)) {}

RelayServer::~RelayServer() {
  *alive_ = false;
  receiver_->alive = false;
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  socket_->close(ignored);
  for (const std::weak_ptr<HttpConnection>& weak : connections_) {
    if (std::shared_ptr<HttpConnection> connection = weak.lock()) {
      connection->Abort();
    }
  }
  sessions_.clear();
}

void RelayServer::Log(absl::string_view line) {
  if (options_.log) options_.log(line);
}

//------------------------------------------------------------------------------
// HTTP.

void RelayServer::DoAccept() {
  acceptor_->async_accept([this, alive = alive_](
                              const boost::system::error_code& ec,
                              tcp::socket socket) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (!ec) {
      // Forget finished connections so the registry stays small.
      std::vector<std::weak_ptr<HttpConnection>> live;
      for (std::weak_ptr<HttpConnection>& weak : connections_) {
        if (!weak.expired()) live.push_back(std::move(weak));
      }
      connections_ = std::move(live);
      if (connections_.size() >= options_.max_http_connections) {
        ++stats_.http_connections_refused;
        Log("relay http: connection refused: max_http_connections reached");
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        auto connection =
            std::make_shared<HttpConnection>(std::move(socket), this, alive_);
        connections_.push_back(connection);
        connection->Start();
      }
    }
    DoAccept();
  });
}

RelayServer::HttpAnswer RelayServer::AnswerHttp(
    absl::string_view method, absl::string_view target,
    const std::optional<std::string>& talk_auth,
    const std::optional<std::string>& google_auth, const std::string& peer) {
  HttpAnswer answer;
  const absl::string_view path = target.substr(0, target.find('?'));
  if (method != "GET") {
    ++stats_.http_not_found;
    answer.status = 405;
    answer.body = absl::StrCat("method ", method, " not allowed; use GET\n");
  } else if (path != "/create_session") {
    ++stats_.http_not_found;
    answer.status = 404;
    answer.body = absl::StrCat("no such resource: ", path,
                               " (the relay serves /create_session)\n");
  } else {
    auto check = [this](absl::string_view name,
                        const std::optional<std::string>& value) {
      if (!value) return absl::StrCat("missing header ", name, "\n");
      if (*value != options_.token) {
        return absl::StrCat("header ", name,
                            " does not carry the relay token\n");
      }
      return std::string();
    };
    answer.body = absl::StrCat(check("X-Talk-Google-Relay-Auth", talk_auth),
                               check("X-Google-Relay-Auth", google_auth));
    if (!answer.body.empty()) {
      ++stats_.http_forbidden;
      answer.status = 403;
    } else if (absl::StatusOr<RelayCredentials> credentials = CreateSession();
               credentials.ok()) {
      answer.body = SessionBody(*credentials);
      return answer;
    } else {
      ++stats_.http_unavailable;
      answer.status = 503;
      answer.body = absl::StrCat(credentials.status().message(), "\n");
    }
  }
  Log(absl::StrCat(
      "relay http ", peer, ": ", answer.status, " for ", method, " ", target,
      ": ", absl::string_view(answer.body).substr(0, answer.body.size() - 1)));
  return answer;
}

absl::StatusOr<RelayCredentials> RelayServer::CreateSession() {
  if (sessions_.size() >= options_.max_sessions) {
    return absl::UnavailableError(absl::StrCat(
        "relay has reached max_sessions (", options_.max_sessions, ")"));
  }
  auto session = std::make_unique<Session>();
  do {
    session->credentials.username = RandomBase64(bitgen_, 16);
  } while (sessions_.count(session->credentials.username) > 0);
  session->credentials.password = RandomBase64(bitgen_, 16);
  session->last_used = clock_.Now();
  Session& added = *session;
  sessions_.emplace(added.credentials.username, std::move(session));
  ArmExpiry(added, options_.session_idle_timeout);
  ++stats_.sessions_created;
  return added.credentials;
}

std::string RelayServer::AdvertisedMagicCookie() const {
  return options_.magic_cookie_encoding == MagicCookieEncoding::kHex
             ? "72c64bc6"
             : std::string(kRelayMagicCookie);
}

std::string RelayServer::SessionBody(
    const RelayCredentials& credentials) const {
  const std::string relay_ip = options_.advertised_ip.empty()
                                   ? udp_local_.address().to_string()
                                   : options_.advertised_ip;
  std::string body = absl::StrCat("relay.ip=", relay_ip, "\n",
                                  "relay.udp_port=", udp_local_.port(), "\n");
  if (options_.stun_server) {
    absl::StrAppend(&body,
                    "stun.ip=", options_.stun_server->address().to_string(),
                    "\n", "stun.port=", options_.stun_server->port(), "\n");
  }
  absl::StrAppend(&body, "username=", credentials.username, "\n",
                  "password=", credentials.password, "\n",
                  "magic_cookie=", AdvertisedMagicCookie(), "\n");
  return body;
}

std::optional<udp::endpoint> RelayServer::ExternalEndpoint(
    absl::string_view username) const {
  auto it = sessions_.find(std::string(username));
  if (it == sessions_.end() || !it->second->external) return std::nullopt;
  return it->second->external_local;
}

//------------------------------------------------------------------------------
// The relay socket: requests and client traffic.

void RelayServer::DoReceiveClient() {
  socket_->async_receive_from(
      asio::buffer(receiver_->buffer), receiver_->sender,
      [this, receiver = receiver_](const boost::system::error_code& ec,
                                   size_t size) {
        if (!receiver->alive || ec == asio::error::operation_aborted) return;
        if (!ec) {
          if (size > options_.max_datagram_bytes) {
            ++stats_.oversized_datagrams;
            Log(absl::StrCat("relay: dropped an oversized datagram from ",
                             ToString(receiver->sender)));
          } else {
            OnClientDatagram(absl::string_view(receiver->buffer.data(), size),
                             receiver->sender);
          }
        }
        if (receiver->alive) DoReceiveClient();
      });
}

void RelayServer::OnClientDatagram(absl::string_view datagram,
                                   const udp::endpoint& from) {
  auto client = clients_.find(from);
  Session* session =
      client == clients_.end() ? nullptr : FindSession(client->second);
  ClientConnection* connection = nullptr;
  if (session != nullptr) {
    for (ClientConnection& candidate : session->clients) {
      if (candidate.address == from) connection = &candidate;
    }
  }
  if (connection == nullptr) return HandleRequest(datagram, from);

  if (IsRelayFramed(datagram, *connection)) {
    return HandleRequest(datagram, from);
  }
  if (connection->locked_peer) {
    Touch(*session);
    boost::system::error_code ec;
    session->external->send_to(asio::buffer(datagram.data(), datagram.size()),
                               *connection->locked_peer, 0, ec);
    if (ec) {
      ++stats_.send_errors;
    } else {
      ++stats_.raw_to_peers;
    }
    return;
  }
  // Unlocked and without the cookie at offset 24: a relay request with an odd
  // or missing cookie is still served; anything else has nowhere to go.
  if (IsStunPacket(datagram) && IsRelayRequestType(static_cast<uint16_t>(
                                    static_cast<uint8_t>(datagram[0]) << 8 |
                                    static_cast<uint8_t>(datagram[1])))) {
    return HandleRequest(datagram, from);
  }
  ++stats_.dropped_unlocked;
  Log(absl::StrCat("relay: dropped an unframed packet from ", ToString(from),
                   ": connection not locked"));
}

bool RelayServer::IsRelayFramed(absl::string_view datagram,
                                const ClientConnection& connection) const {
  auto at_24 = [datagram](absl::string_view cookie) {
    return !cookie.empty() && datagram.size() >= 24 + cookie.size() &&
           datagram.substr(24, cookie.size()) == cookie;
  };
  return at_24(connection.cookie) || at_24(kRelayMagicCookie) ||
         at_24(AdvertisedMagicCookie());
}

void RelayServer::HandleRequest(absl::string_view datagram,
                                const udp::endpoint& from) {
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(datagram);
  if (!parsed.ok()) {
    ++stats_.malformed;
    Log(absl::StrCat("relay: malformed datagram from ", ToString(from), ": ",
                     parsed.status().message()));
    // libjingle answers a broken request with 400 when it can tell what it
    // was.
    if (datagram.size() >= kStunHeaderSize) {
      StunMessage request;
      request.type =
          static_cast<uint16_t>(static_cast<uint8_t>(datagram[0]) << 8 |
                                static_cast<uint8_t>(datagram[1]));
      request.transaction_id =
          std::string(datagram.substr(4, kStunTransactionIdSize));
      if (IsRelayRequestType(request.type)) {
        SendError(request, kRelayMagicCookie, kStunErrorBadRequest,
                  "Bad Request", from);
      }
    }
    return;
  }
  const StunMessage& request = *parsed;
  if ((request.type & 0x0110) != 0) {  // a response or an indication
    ++stats_.unsupported;
    Log(absl::StrCat("relay: ignored message type 0x", absl::Hex(request.type),
                     " from ", ToString(from)));
    return;
  }
  const std::string cookie = CookieOf(request);
  if (!IsRelayRequestType(request.type)) {
    ++stats_.unsupported;
    return SendError(request, cookie, kStunErrorGlobalFailure,
                     "Operation Not Supported", from);
  }
  if (!request.username) {
    ++stats_.missing_username;
    return SendError(request, cookie, 432, "Missing Username", from);
  }
  Session* session = FindSession(*request.username);
  auto client = clients_.find(from);
  if (session == nullptr ||
      (client != clients_.end() && client->second != *request.username)) {
    ++stats_.unknown_username;
    return SendError(request, cookie, kStunErrorStaleCredentials,
                     "Stale Credentials", from);
  }
  if (request.type == kStunAllocateRequest) {
    return HandleAllocate(request, cookie, from);
  }
  ClientConnection* connection = nullptr;
  for (ClientConnection& candidate : session->clients) {
    if (candidate.address == from) connection = &candidate;
  }
  if (connection != nullptr) {
    return HandleSend(request, cookie, *session, *connection);
  }
  // A SEND from an address that never ALLOCATEd (libjingle's relay server
  // answers every non-ALLOCATE from an unknown address this way).
  ++stats_.unsupported;
  SendError(request, cookie, kStunErrorGlobalFailure, "Operation Not Supported",
            from);
}

std::string RelayServer::CookieOf(const StunMessage& request) {
  const StunAttribute* cookie =
      request.FindUnknownAttribute(kStunAttrMagicCookie);
  if (cookie == nullptr) {
    ++stats_.without_magic_cookie;
    return std::string(kRelayMagicCookie);
  }
  if (cookie->value != kRelayMagicCookie &&
      cookie->value != AdvertisedMagicCookie()) {
    ++stats_.unexpected_magic_cookie;
    Log(absl::StrCat("relay: unexpected MAGIC-COOKIE of ", cookie->value.size(),
                     " bytes; echoing it"));
  }
  return cookie->value;
}

void RelayServer::HandleAllocate(const StunMessage& request,
                                 absl::string_view cookie,
                                 const udp::endpoint& from) {
  Session& session = *FindSession(*request.username);
  if (!session.external) {
    if (absl::Status status = OpenExternalSocket(session); !status.ok()) {
      Log(absl::StrCat("relay: ", status.message()));
      return SendError(request, cookie, kStunErrorServerError, "Server Error",
                       from);
    }
  }
  ClientConnection* connection = nullptr;
  for (ClientConnection& candidate : session.clients) {
    if (candidate.address == from) connection = &candidate;
  }
  if (connection == nullptr) {
    session.clients.push_back(ClientConnection{from, std::string(cookie), {}});
    clients_[from] = session.credentials.username;
  } else {
    connection->cookie = std::string(cookie);
    ++stats_.allocate_refreshes;
  }
  ++stats_.allocate_requests;
  Touch(session);
  const std::vector<StunAttribute> attributes = {
      {kStunAttrMagicCookie, std::string(cookie)},
      {kStunAttrMappedAddress, EncodeStunAddress(session.external_local)},
      {kStunAttrLifetime, U32(static_cast<uint32_t>(absl::ToInt64Seconds(
                              options_.session_idle_timeout)))},
  };
  SendToClient(SerializeStunAttributes(kStunAllocateResponse,
                                       request.transaction_id, attributes),
               from);
}

void RelayServer::HandleSend(const StunMessage& request,
                             absl::string_view cookie, Session& session,
                             ClientConnection& connection) {
  const StunAttribute* destination_attribute =
      request.FindUnknownAttribute(kStunAttrDestinationAddress);
  const StunAttribute* data = request.FindUnknownAttribute(kStunAttrData);
  absl::StatusOr<udp::endpoint> destination =
      destination_attribute == nullptr
          ? absl::InvalidArgumentError("no DESTINATION-ADDRESS")
          : DecodeStunAddress(destination_attribute->value);
  if (!destination.ok() || data == nullptr) {
    Log(absl::StrCat(
        "relay: SEND from ", ToString(connection.address), ": ",
        destination.ok() ? "no DATA" : destination.status().message()));
    return SendError(request, cookie, kStunErrorBadRequest, "Bad Request",
                     connection.address);
  }
  ++stats_.send_requests;
  Touch(session);
  if (options_.forward_only_to_peers_that_sent &&
      session.peers_seen.count(*destination) == 0) {
    ++stats_.dropped_no_permission;
    Log(absl::StrCat("relay: SEND to ", ToString(*destination),
                     " dropped: that peer has not sent to the relay"));
  } else {
    boost::system::error_code ec;
    session.external->send_to(asio::buffer(data->value), *destination, 0, ec);
    if (ec) {
      ++stats_.send_errors;
    } else {
      ++stats_.sent_to_peers;
    }
  }
  const StunAttribute* options = request.FindUnknownAttribute(kStunAttrOptions);
  const std::optional<uint32_t> flags =
      options == nullptr ? std::nullopt : ReadU32(options->value);
  if (!flags || (*flags & kRelayOptionLock) == 0) return;
  connection.locked_peer = *destination;
  ++stats_.locks;
  const std::vector<StunAttribute> attributes = {
      {kStunAttrMagicCookie, std::string(cookie)},
      {kStunAttrOptions, U32(kRelayOptionLock)},
  };
  SendToClient(SerializeStunAttributes(kStunSendResponse,
                                       request.transaction_id, attributes),
               connection.address);
}

void RelayServer::SendError(const StunMessage& request,
                            absl::string_view cookie, int code,
                            absl::string_view reason, const udp::endpoint& to) {
  const uint32_t word = options_.error_code_encoding == ErrorCodeEncoding::kGice
                            ? EncodeGiceErrorCode(code)
                            : EncodeStandardErrorCode(code);
  // Padded inside the value: libjingle 0.4 reads `length - 4` reason bytes
  // and skips no padding.
  std::string value = absl::StrCat(U32(word), reason);
  value.append((4 - value.size() % 4) % 4, ' ');
  const std::vector<StunAttribute> attributes = {
      {kStunAttrMagicCookie, std::string(cookie)},
      {kStunAttrErrorCode, std::move(value)},
  };
  ++stats_.error_responses;
  Log(absl::StrCat("relay: ", code, " ", reason, " to ", ToString(to),
                   " (request type 0x", absl::Hex(request.type), ")"));
  SendToClient(SerializeStunAttributes(ErrorTypeFor(request.type),
                                       request.transaction_id, attributes),
               to);
}

void RelayServer::SendToClient(const std::string& bytes,
                               const udp::endpoint& to) {
  boost::system::error_code ec;
  socket_->send_to(asio::buffer(bytes), to, 0, ec);
  if (ec) ++stats_.send_errors;
}

//------------------------------------------------------------------------------
// Sessions: the external side and expiry.

absl::Status RelayServer::OpenExternalSocket(Session& session) {
  boost::system::error_code ec;
  const udp::endpoint endpoint(
      asio::ip::make_address(options_.external_address, ec), 0);
  auto socket = std::make_unique<udp::socket>(io_);
  if (!ec) socket->open(endpoint.protocol(), ec);
  if (!ec) socket->bind(endpoint, ec);
  if (!ec) session.external_local = socket->local_endpoint(ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind an external socket on ",
                     options_.external_address, ": ", ec.message()));
  }
  session.external = std::move(socket);
  session.receiver =
      std::make_shared<Receiver>(options_.max_datagram_bytes + 1);
  DoReceivePeer(session);
  return absl::OkStatus();
}

void RelayServer::DoReceivePeer(Session& session) {
  Receiver& receiver = *session.receiver;
  session.external->async_receive_from(
      asio::buffer(receiver.buffer), receiver.sender,
      [this, target = &session, receiver = session.receiver](
          const boost::system::error_code& ec, size_t size) {
        // `receiver->alive` is cleared when the session is destroyed.
        if (!receiver->alive || ec == asio::error::operation_aborted) return;
        if (!ec) {
          if (size > options_.max_datagram_bytes) {
            ++stats_.oversized_datagrams;
            Log(absl::StrCat("relay: dropped an oversized datagram from peer ",
                             ToString(receiver->sender)));
          } else {
            OnPeerDatagram(*target,
                           absl::string_view(receiver->buffer.data(), size),
                           receiver->sender);
          }
        }
        if (receiver->alive) DoReceivePeer(*target);
      });
}

void RelayServer::OnPeerDatagram(Session& session, absl::string_view datagram,
                                 const udp::endpoint& from) {
  Touch(session);
  if (session.peers_seen.size() < kMaxPeersPerSession) {
    session.peers_seen.insert(from);
  }
  if (session.clients.empty()) return;
  // The connection locked to this peer, else the first (libjingle
  // `RelayServerBinding::GetInternalConnection`).
  ClientConnection* target = &session.clients.front();
  for (ClientConnection& candidate : session.clients) {
    if (candidate.locked_peer == from) {
      target = &candidate;
      break;
    }
  }
  if (target->locked_peer == from) {
    ++stats_.raw_to_clients;
    return SendToClient(std::string(datagram), target->address);
  }
  const std::vector<StunAttribute> attributes = {
      {kStunAttrMagicCookie, target->cookie},
      {kStunAttrSourceAddress2, EncodeStunAddress(from)},
      {kStunAttrData, std::string(datagram)},
  };
  ++stats_.data_indications;
  SendToClient(SerializeStunAttributes(kStunDataIndication,
                                       kIndicationTransactionId, attributes),
               target->address);
}

void RelayServer::Touch(Session& session) { session.last_used = clock_.Now(); }

void RelayServer::ArmExpiry(Session& session, absl::Duration delay) {
  // The timer belongs to the session, so it cannot outlive it.
  session.expiry =
      clock_.CallAfter(delay, [this, username = session.credentials.username] {
        OnExpiryCheck(username);
      });
}

void RelayServer::OnExpiryCheck(std::string username) {
  Session* session = FindSession(username);
  if (session == nullptr) return;
  const absl::Duration idle = clock_.Now() - session->last_used;
  if (idle < options_.session_idle_timeout) {
    return ArmExpiry(*session, options_.session_idle_timeout - idle);
  }
  for (const ClientConnection& connection : session->clients) {
    clients_.erase(connection.address);
  }
  ++stats_.sessions_expired;
  Log(absl::StrCat("relay: session ", username, " expired after ",
                   absl::FormatDuration(idle), " idle"));
  // Destroys the running timer's handle, which the clocks allow.
  sessions_.erase(username);
}

RelayServer::Session* RelayServer::FindSession(absl::string_view username) {
  auto it = sessions_.find(std::string(username));
  return it == sessions_.end() ? nullptr : it->second.get();
}

}  // namespace talkcheck::media_sim

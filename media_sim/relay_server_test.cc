#include "media_sim/relay_server.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "base/virtual_clock.h"
#include "gtest/gtest.h"
#include "media_sim/recording_udp_socket.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

constexpr char kToken[] = "jingle all the way";  // gabble's test token
constexpr char kTid[] = "AllocateTransId0";
constexpr char kTid2[] = "SendTransaction0";
const std::string kLockOption("\x00\x00\x00\x01", 4);

// One HTTP exchange driven by the test's io_context; handlers share the state.
struct HttpExchange {
  explicit HttpExchange(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  boost::beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  std::string raw_request;  // sent instead of `request` when not empty
  http::response<http::string_body> response;
  boost::system::error_code ec;
  bool done = false;
};

std::map<std::string, std::string> ParseBody(const std::string& body) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, '=');
    out[kv.first] = kv.second;
  }
  return out;
}

std::string AllocateRequest(const std::string& username,
                            absl::string_view cookie = kRelayMagicCookie,
                            const std::string& tid = kTid) {
  return SerializeStunAttributes(kStunAllocateRequest, tid,
                                 {{kStunAttrMagicCookie, std::string(cookie)},
                                  {kStunAttrUsername, username}});
}

std::string SendRequest(const std::string& username, const udp::endpoint& to,
                        const std::string& data, bool lock) {
  std::vector<StunAttribute> attributes = {
      {kStunAttrMagicCookie, std::string(kRelayMagicCookie)},
      {kStunAttrUsername, username},
      {kStunAttrDestinationAddress, EncodeStunAddress(to)},
  };
  if (lock) attributes.push_back({kStunAttrOptions, kLockOption});
  attributes.push_back({kStunAttrData, data});
  return SerializeStunAttributes(kStunSendRequest, kTid2, attributes);
}

// The relay on 127.0.0.1 with real sockets and a VirtualClock: socket I/O runs
// on the io_context (bounded with run_one_for), time moves only when a test
// says so.
class RelayServerTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeRelay({}); }

  void MakeRelay(RelayServerOptions options) {
    options.token = kToken;
    options.log = [this](absl::string_view line) { log_.emplace_back(line); };
    absl::StatusOr<std::unique_ptr<RelayServer>> relay =
        RelayServer::Create(io_, clock_, bitgen_, std::move(options));
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = *std::move(relay);
  }

  // Runs the io_context until `done`, for at most about two seconds.
  bool RunUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  // The next datagram `socket` receives after the `before`th.
  std::optional<RecordingUdpSocket::Datagram> Next(RecordingUdpSocket& socket,
                                                   size_t before) {
    if (!RunUntil([&] { return socket.received.size() > before; })) {
      return std::nullopt;
    }
    return socket.received[before];
  }

  // Sends `bytes` to the relay socket and parses the next reply.
  std::optional<StunMessage> Request(RecordingUdpSocket& client,
                                     const std::string& bytes) {
    const size_t before = client.received.size();
    client.SendTo(bytes, relay_->udp_endpoint());
    std::optional<RecordingUdpSocket::Datagram> reply = Next(client, before);
    if (!reply) return std::nullopt;
    absl::StatusOr<StunMessage> parsed = ParseStunMessage(reply->bytes);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (!parsed.ok()) return std::nullopt;
    return *std::move(parsed);
  }

  // ALLOCATEs `username` from `client`; returns the MAPPED-ADDRESS.
  udp::endpoint Allocate(RecordingUdpSocket& client,
                         const std::string& username) {
    std::optional<StunMessage> reply =
        Request(client, AllocateRequest(username));
    EXPECT_TRUE(reply.has_value());
    if (!reply) return {};
    EXPECT_EQ(reply->type, kStunAllocateResponse);
    EXPECT_TRUE(reply->mapped_address.has_value());
    return reply->mapped_address.value_or(udp::endpoint());
  }

  std::string NewSession() {
    absl::StatusOr<RelayCredentials> credentials = relay_->CreateSession();
    EXPECT_TRUE(credentials.ok());
    return credentials.ok() ? credentials->username : "";
  }

  std::shared_ptr<HttpExchange> Http(
      http::verb verb, const std::string& target,
      const std::vector<std::pair<std::string, std::string>>& headers,
      std::string raw = "") {
    auto exchange = std::make_shared<HttpExchange>(io_);
    exchange->request = {verb, target, 11};
    exchange->request.set(http::field::host, "relay.google.com");
    for (const auto& [name, value] : headers) {
      exchange->request.set(name, value);
    }
    exchange->raw_request = std::move(raw);
    auto on_read = [exchange](const boost::system::error_code& ec, size_t) {
      exchange->ec = ec;
      exchange->done = true;
    };
    auto on_write = [exchange, on_read](const boost::system::error_code& ec,
                                        size_t) {
      if (ec) return on_read(ec, 0);
      http::async_read(exchange->socket, exchange->buffer, exchange->response,
                       on_read);
    };
    exchange->socket.async_connect(
        relay_->http_endpoint(),
        [exchange, on_write](const boost::system::error_code& ec) {
          if (ec) return on_write(ec, 0);
          if (!exchange->raw_request.empty()) {
            asio::async_write(exchange->socket,
                              asio::buffer(exchange->raw_request), on_write);
          } else {
            http::async_write(exchange->socket, exchange->request, on_write);
          }
        });
    EXPECT_TRUE(RunUntil([&] { return exchange->done; }));
    return exchange;
  }

  std::shared_ptr<HttpExchange> CreateSessionOverHttp(
      const std::vector<std::pair<std::string, std::string>>& headers) {
    return Http(http::verb::get, "/create_session", headers);
  }

  asio::io_context io_;
  VirtualClock clock_;
  std::mt19937_64 bitgen_{20050824};
  std::vector<std::string> log_;
  std::unique_ptr<RelayServer> relay_;
};

//------------------------------------------------------------------------------
// HTTP.

// Verifies create_session with both headers: 200 text/plain key=value lines,
// fresh 16-character credentials each time, no TCP ports.
TEST_F(RelayServerTest, CreateSessionAnswersKeyValueLines) {
  RelayServerOptions options;
  options.stun_server =
      udp::endpoint(asio::ip::make_address("127.0.0.1"), 3478);
  MakeRelay(options);

  auto first = CreateSessionOverHttp(
      {{"X-Talk-Google-Relay-Auth", kToken}, {"X-Google-Relay-Auth", kToken}});
  ASSERT_FALSE(first->ec) << first->ec.message();
  EXPECT_EQ(first->response.result_int(), 200);
  EXPECT_EQ(first->response[http::field::content_type], "text/plain");
  std::map<std::string, std::string> kv = ParseBody(first->response.body());
  EXPECT_EQ(kv["relay.ip"], "127.0.0.1");
  EXPECT_EQ(kv["relay.udp_port"],
            std::to_string(relay_->udp_endpoint().port()));
  EXPECT_EQ(kv["stun.ip"], "127.0.0.1");
  EXPECT_EQ(kv["stun.port"], "3478");
  EXPECT_EQ(kv["username"].size(), 16u);
  EXPECT_EQ(kv["password"].size(), 16u);
  EXPECT_EQ(
      kv["username"].find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
      std::string::npos);
  EXPECT_EQ(kv["magic_cookie"], "72c64bc6");
  EXPECT_EQ(kv.count("relay.tcp_port"), 0u);
  EXPECT_EQ(kv.count("relay.ssltcp_port"), 0u);

  auto second = CreateSessionOverHttp(
      {{"X-Talk-Google-Relay-Auth", kToken}, {"X-Google-Relay-Auth", kToken}});
  EXPECT_NE(ParseBody(second->response.body())["username"], kv["username"]);
  EXPECT_EQ(relay_->stats().http_requests, 2u);
  EXPECT_EQ(relay_->stats().sessions_created, 2u);
  EXPECT_EQ(relay_->session_count(), 2u);
}

// Verifies that each missing or wrong header gets a 403 naming it, and a log
// line.
TEST_F(RelayServerTest, MissingOrWrongHeaderIs403) {
  auto no_google =
      CreateSessionOverHttp({{"X-Talk-Google-Relay-Auth", kToken}});
  EXPECT_EQ(no_google->response.result_int(), 403);
  EXPECT_EQ(no_google->response.body(), "missing header X-Google-Relay-Auth\n");

  auto no_talk = CreateSessionOverHttp({{"X-Google-Relay-Auth", kToken}});
  EXPECT_EQ(no_talk->response.result_int(), 403);
  EXPECT_EQ(no_talk->response.body(),
            "missing header X-Talk-Google-Relay-Auth\n");

  auto wrong = CreateSessionOverHttp(
      {{"X-Talk-Google-Relay-Auth", "nope"}, {"X-Google-Relay-Auth", kToken}});
  EXPECT_EQ(wrong->response.result_int(), 403);
  EXPECT_EQ(wrong->response.body(),
            "header X-Talk-Google-Relay-Auth does not carry the relay token\n");

  EXPECT_EQ(relay_->stats().http_forbidden, 3u);
  EXPECT_EQ(relay_->session_count(), 0u);
  ASSERT_EQ(log_.size(), 3u);
  EXPECT_NE(log_[0].find("403"), std::string::npos);
}

// Verifies 404 for other paths, 405 for other methods, 400 for non-HTTP.
TEST_F(RelayServerTest, OtherRequestsAreRefused) {
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"X-Talk-Google-Relay-Auth", kToken}, {"X-Google-Relay-Auth", kToken}};
  EXPECT_EQ(Http(http::verb::get, "/", auth)->response.result_int(), 404);
  EXPECT_EQ(
      Http(http::verb::post, "/create_session", auth)->response.result_int(),
      405);
  auto garbage = Http(http::verb::get, "", {}, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage->response.result_int(), 400);
  EXPECT_EQ(relay_->stats().http_not_found, 2u);
  EXPECT_EQ(relay_->stats().http_malformed, 1u);
  EXPECT_EQ(relay_->session_count(), 0u);
}

// Verifies that a connection that sends nothing is closed after http_timeout,
// on the injected clock.
TEST_F(RelayServerTest, IdleHttpConnectionClosesOnClock) {
  tcp::socket client(io_);
  client.connect(relay_->http_endpoint());
  ASSERT_TRUE(RunUntil([&] { return clock_.pending_count() == 1; }));
  std::array<char, 16> byte;
  bool closed = false;
  client.async_read_some(
      asio::buffer(byte), [&](const boost::system::error_code& ec, size_t) {
        closed = ec == asio::error::eof || ec == asio::error::connection_reset;
      });
  clock_.AdvanceBy(absl::Seconds(10));
  EXPECT_TRUE(RunUntil([&] { return closed; }));
}

// Verifies max_http_connections: a connection beyond it is closed at once.
TEST_F(RelayServerTest, RefusesConnectionsBeyondTheLimit) {
  RelayServerOptions options;
  options.max_http_connections = 1;
  MakeRelay(options);
  tcp::socket first(io_);
  first.connect(relay_->http_endpoint());
  ASSERT_TRUE(RunUntil([&] { return clock_.pending_count() == 1; }));
  tcp::socket second(io_);
  second.connect(relay_->http_endpoint());
  std::array<char, 16> byte;
  bool closed = false;
  second.async_read_some(
      asio::buffer(byte), [&](const boost::system::error_code& ec, size_t) {
        closed = ec == asio::error::eof || ec == asio::error::connection_reset;
      });
  EXPECT_TRUE(RunUntil([&] { return closed; }));
  EXPECT_EQ(relay_->stats().http_connections_refused, 1u);
}

//------------------------------------------------------------------------------
// The relay socket.

// Verifies ALLOCATE: 0x0103 with MAGIC-COOKIE first (libjingle looks at byte
// 24), MAPPED-ADDRESS = a per-session external socket, LIFETIME in seconds.
TEST_F(RelayServerTest, AllocateReturnsExternalAddressWithCookieFirst) {
  const std::string username = NewSession();
  RecordingUdpSocket client(io_);
  client.SendTo(AllocateRequest(username), relay_->udp_endpoint());
  std::optional<RecordingUdpSocket::Datagram> reply = Next(client, 0);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->from, relay_->udp_endpoint());
  EXPECT_EQ(reply->bytes.substr(20, 8),
            std::string("\x00\x0f\x00\x04\x72\xc6\x4b\xc6", 8));
  absl::StatusOr<StunMessage> response = ParseStunMessage(reply->bytes);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->type, kStunAllocateResponse);
  EXPECT_EQ(response->transaction_id, kTid);
  ASSERT_TRUE(response->mapped_address.has_value());
  EXPECT_EQ(*response->mapped_address, relay_->ExternalEndpoint(username));
  EXPECT_NE(*response->mapped_address, relay_->udp_endpoint());
  const StunAttribute* lifetime =
      response->FindUnknownAttribute(kStunAttrLifetime);
  ASSERT_NE(lifetime, nullptr);
  EXPECT_EQ(lifetime->value, std::string("\x00\x00\x03\x84", 4));  // 900 s
  EXPECT_EQ(relay_->stats().allocate_requests, 1u);
}

// Verifies the whole path from HTTP on: a peer's packet reaches the client as
// a DATA-INDICATION naming the peer, and the client's SEND reaches the peer raw
// from the external address.
TEST_F(RelayServerTest, RelaysBetweenClientAndPeer) {
  auto session = CreateSessionOverHttp(
      {{"X-Talk-Google-Relay-Auth", kToken}, {"X-Google-Relay-Auth", kToken}});
  const std::string username = ParseBody(session->response.body())["username"];
  RecordingUdpSocket client(io_);
  RecordingUdpSocket peer(io_);
  const udp::endpoint external = Allocate(client, username);

  const std::string ping = "odd-length ping";  // 15 bytes: DATA unpadded
  peer.SendTo(ping, external);
  std::optional<RecordingUdpSocket::Datagram> indication = Next(client, 1);
  ASSERT_TRUE(indication.has_value());
  EXPECT_EQ(indication->bytes.substr(0, 2), std::string("\x01\x15", 2));
  EXPECT_EQ(indication->bytes.substr(4, 16), "0000000000000000");
  EXPECT_EQ(indication->bytes.substr(24, 4), kRelayMagicCookie);
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(indication->bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->unpadded_final_attribute);
  const StunAttribute* source =
      parsed->FindUnknownAttribute(kStunAttrSourceAddress2);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(DecodeStunAddress(source->value).value(), peer.endpoint());
  ASSERT_NE(parsed->FindUnknownAttribute(kStunAttrData), nullptr);
  EXPECT_EQ(parsed->FindUnknownAttribute(kStunAttrData)->value, ping);

  const std::string pong = "pong from the client";
  client.SendTo(SendRequest(username, peer.endpoint(), pong, /*lock=*/false),
                relay_->udp_endpoint());
  std::optional<RecordingUdpSocket::Datagram> at_peer = Next(peer, 0);
  ASSERT_TRUE(at_peer.has_value());
  EXPECT_EQ(at_peer->bytes, pong);
  EXPECT_EQ(at_peer->from, external);

  // An unlocked SEND gets no response: the next datagram answers a refresh.
  std::optional<StunMessage> refresh =
      Request(client, AllocateRequest(username));
  ASSERT_TRUE(refresh.has_value());
  EXPECT_EQ(refresh->type, kStunAllocateResponse);
  EXPECT_EQ(client.received.size(), 3u);
  EXPECT_EQ(relay_->stats().data_indications, 1u);
  EXPECT_EQ(relay_->stats().sent_to_peers, 1u);
  EXPECT_EQ(relay_->stats().allocate_refreshes, 1u);
}

// Verifies lock mode: a SEND with OPTIONS=1 gets 0x0104, then packets flow raw
// both ways with that peer while another peer is still wrapped.
TEST_F(RelayServerTest, LockedConnectionCarriesRawPackets) {
  const std::string username = NewSession();
  RecordingUdpSocket client(io_);
  RecordingUdpSocket peer(io_);
  RecordingUdpSocket other_peer(io_);
  const udp::endpoint external = Allocate(client, username);

  std::optional<StunMessage> locked =
      Request(client, SendRequest(username, peer.endpoint(), "lock me", true));
  ASSERT_TRUE(locked.has_value());
  EXPECT_EQ(locked->type, kStunSendResponse);
  EXPECT_EQ(locked->transaction_id, kTid2);
  ASSERT_NE(locked->FindUnknownAttribute(kStunAttrOptions), nullptr);
  EXPECT_EQ(locked->FindUnknownAttribute(kStunAttrOptions)->value, kLockOption);
  ASSERT_TRUE(Next(peer, 0).has_value());
  EXPECT_EQ(peer.received[0].bytes, "lock me");

  // Raw RTP from the client goes to the locked peer as it is.
  const std::string rtp = std::string("\x80\x00\x00\x01", 4) + "rtp payload";
  client.SendTo(rtp, relay_->udp_endpoint());
  std::optional<RecordingUdpSocket::Datagram> raw_at_peer = Next(peer, 1);
  ASSERT_TRUE(raw_at_peer.has_value());
  EXPECT_EQ(raw_at_peer->bytes, rtp);
  EXPECT_EQ(raw_at_peer->from, external);

  // The locked peer's packets reach the client raw ...
  const size_t before = client.received.size();
  peer.SendTo(rtp, external);
  std::optional<RecordingUdpSocket::Datagram> raw_at_client =
      Next(client, before);
  ASSERT_TRUE(raw_at_client.has_value());
  EXPECT_EQ(raw_at_client->bytes, rtp);
  EXPECT_EQ(raw_at_client->from, relay_->udp_endpoint());

  // ... while another peer's are still wrapped.
  other_peer.SendTo("hello", external);
  std::optional<RecordingUdpSocket::Datagram> wrapped =
      Next(client, before + 1);
  ASSERT_TRUE(wrapped.has_value());
  absl::StatusOr<StunMessage> indication = ParseStunMessage(wrapped->bytes);
  ASSERT_TRUE(indication.ok());
  EXPECT_EQ(indication->type, kStunDataIndication);
  EXPECT_EQ(relay_->stats().locks, 1u);
  EXPECT_EQ(relay_->stats().raw_to_peers, 1u);
  EXPECT_EQ(relay_->stats().raw_to_clients, 1u);
}

// Verifies the error answers and their GICE encoding: 430 for an unknown
// username, 432 without USERNAME, 600 for a SEND before ALLOCATE, 400 for a
// SEND without DATA; each carries MAGIC-COOKIE first.
TEST_F(RelayServerTest, ErrorsUseGiceEncoding) {
  RecordingUdpSocket client(io_);
  std::optional<StunMessage> unknown =
      Request(client, AllocateRequest("NoSuchUsername00"));
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->type, kStunAllocateErrorResponse);
  ASSERT_TRUE(unknown->error_code.has_value());
  EXPECT_EQ(unknown->error_code->GiceCode(), 430);
  EXPECT_EQ(client.received.back().bytes.substr(24, 4), kRelayMagicCookie);
  EXPECT_EQ(client.received.back().bytes.substr(28, 8),
            std::string("\x00\x09\x00\x18\x00\x00\x01\xae", 8));

  std::optional<StunMessage> no_username = Request(
      client, SerializeStunAttributes(
                  kStunAllocateRequest, kTid,
                  {{kStunAttrMagicCookie, std::string(kRelayMagicCookie)}}));
  ASSERT_TRUE(no_username.has_value());
  EXPECT_EQ(no_username->error_code->GiceCode(), 432);

  const std::string username = NewSession();
  RecordingUdpSocket peer(io_);
  std::optional<StunMessage> early = Request(
      client, SendRequest(username, peer.endpoint(), "too early", false));
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->type, kStunSendErrorResponse);
  EXPECT_EQ(early->error_code->GiceCode(), 600);

  Allocate(client, username);
  std::optional<StunMessage> no_data = Request(
      client,
      SerializeStunAttributes(
          kStunSendRequest, kTid2,
          {{kStunAttrMagicCookie, std::string(kRelayMagicCookie)},
           {kStunAttrUsername, username},
           {kStunAttrDestinationAddress, EncodeStunAddress(peer.endpoint())}}));
  ASSERT_TRUE(no_data.has_value());
  EXPECT_EQ(no_data->type, kStunSendErrorResponse);
  EXPECT_EQ(no_data->error_code->GiceCode(), 400);

  // Another session's username from this client's address: 430 too.
  std::optional<StunMessage> foreign =
      Request(client, AllocateRequest(NewSession()));
  ASSERT_TRUE(foreign.has_value());
  EXPECT_EQ(foreign->error_code->GiceCode(), 430);

  EXPECT_EQ(relay_->stats().unknown_username, 2u);
  EXPECT_EQ(relay_->stats().missing_username, 1u);
  EXPECT_EQ(relay_->stats().error_responses, 5u);
  EXPECT_EQ(peer.received.size(), 0u);
}

// Verifies the libjingle relay server's own encoding when asked for.
TEST_F(RelayServerTest, ErrorsUseStandardEncodingWhenConfigured) {
  RelayServerOptions options;
  options.error_code_encoding = ErrorCodeEncoding::kStandard;
  MakeRelay(options);
  RecordingUdpSocket client(io_);
  std::optional<StunMessage> unknown =
      Request(client, AllocateRequest("NoSuchUsername00"));
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->error_code->StandardCode(), 430);
}

// Verifies expiry on the VirtualClock: a re-ALLOCATE keeps the session, and
// after session_idle_timeout without use it is gone (430 afterwards).
TEST_F(RelayServerTest, SessionExpiresWhenIdle) {
  const std::string username = NewSession();
  const std::string never_used = NewSession();
  RecordingUdpSocket client(io_);
  RecordingUdpSocket peer(io_);
  const udp::endpoint external = Allocate(client, username);

  clock_.AdvanceBy(absl::Minutes(14));
  Allocate(client, username);  // the keep-alive
  clock_.AdvanceBy(absl::Minutes(14));
  EXPECT_EQ(relay_->session_count(), 1u);  // `never_used` has expired
  EXPECT_FALSE(relay_->ExternalEndpoint(never_used).has_value());

  peer.SendTo("still here?", external);  // relayed traffic counts as use
  ASSERT_TRUE(Next(client, 2).has_value());
  clock_.AdvanceBy(absl::Minutes(14));
  EXPECT_EQ(relay_->session_count(), 1u);

  clock_.AdvanceBy(absl::Minutes(1) + absl::Seconds(1));
  EXPECT_EQ(relay_->session_count(), 0u);
  EXPECT_EQ(relay_->stats().sessions_expired, 2u);
  EXPECT_FALSE(relay_->ExternalEndpoint(username).has_value());
  EXPECT_EQ(clock_.pending_count(), 0u);

  std::optional<StunMessage> late = Request(client, AllocateRequest(username));
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->type, kStunAllocateErrorResponse);
  EXPECT_EQ(late->error_code->GiceCode(), 430);
}

// Verifies libjingle 0.4's way: it sends the HTTP magic_cookie text verbatim
// as MAGIC-COOKIE, and finds the same bytes at offset 24 of every answer.
TEST_F(RelayServerTest, EchoesTheClientsCookie) {
  const std::string username = NewSession();
  RecordingUdpSocket client(io_);
  RecordingUdpSocket peer(io_);
  std::optional<StunMessage> reply =
      Request(client, AllocateRequest(username, "72c64bc6"));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(client.received[0].bytes.substr(20, 12),
            std::string("\x00\x0f\x00\x08", 4) + "72c64bc6");
  peer.SendTo("data", *reply->mapped_address);
  std::optional<RecordingUdpSocket::Datagram> indication = Next(client, 1);
  ASSERT_TRUE(indication.has_value());
  EXPECT_EQ(indication->bytes.substr(24, 8), "72c64bc6");
  EXPECT_EQ(relay_->stats().unexpected_magic_cookie, 0u);

  RecordingUdpSocket odd(io_);
  std::optional<StunMessage> odd_reply =
      Request(odd, AllocateRequest(username, "ABCD"));
  ASSERT_TRUE(odd_reply.has_value());
  EXPECT_EQ(odd.received[0].bytes.substr(24, 4), "ABCD");
  EXPECT_EQ(relay_->stats().unexpected_magic_cookie, 1u);
}

// Verifies that the raw cookie bytes can be advertised instead of hex.
TEST_F(RelayServerTest, AdvertisesRawCookieWhenConfigured) {
  RelayServerOptions options;
  options.magic_cookie_encoding = MagicCookieEncoding::kRaw;
  MakeRelay(options);
  auto session = CreateSessionOverHttp(
      {{"X-Talk-Google-Relay-Auth", kToken}, {"X-Google-Relay-Auth", kToken}});
  EXPECT_EQ(ParseBody(session->response.body())["magic_cookie"],
            kRelayMagicCookie);
}

// Verifies that junk and unexpected messages are counted and never crash the
// relay: a broken ALLOCATE gets 400, a Binding request 600, the rest nothing.
TEST_F(RelayServerTest, CountsMalformedDatagrams) {
  RecordingUdpSocket client(io_);
  client.SendTo("junk", relay_->udp_endpoint());
  StunMessage response;  // a response is not for the relay to answer
  response.type = kStunBindingResponse;
  response.transaction_id = kTid;
  client.SendTo(response.Serialize(), relay_->udp_endpoint());
  std::string broken = AllocateRequest("NoSuchUsername00");
  broken[3] = static_cast<char>(broken[3] + 8);  // the length lies
  std::optional<StunMessage> bad = Request(client, broken);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->type, kStunAllocateErrorResponse);
  EXPECT_EQ(bad->error_code->GiceCode(), 400);

  StunMessage binding;
  binding.type = kStunBindingRequest;
  binding.transaction_id = kTid;
  binding.username = "RemoteUfrag00000";
  std::optional<StunMessage> unsupported = Request(client, binding.Serialize());
  ASSERT_TRUE(unsupported.has_value());
  EXPECT_EQ(unsupported->type, kStunBindingErrorResponse);
  EXPECT_EQ(unsupported->error_code->GiceCode(), 600);

  // An allocated but unlocked client's raw packet has nowhere to go.
  const std::string username = NewSession();
  Allocate(client, username);
  client.SendTo("raw but unlocked", relay_->udp_endpoint());
  Allocate(client, username);  // barrier
  EXPECT_EQ(client.received.size(), 4u);
  EXPECT_EQ(relay_->stats().malformed, 2u);
  EXPECT_EQ(relay_->stats().unsupported, 2u);
  EXPECT_EQ(relay_->stats().dropped_unlocked, 1u);
}

// Verifies libjingle 0.4's one-socket-per-destination pattern: two client
// addresses ALLOCATE one username, share the external address, and each gets
// the traffic of the peer it locked to (unlocked peers go to the first).
TEST_F(RelayServerTest, ClientConnectionsShareTheExternalAddress) {
  const std::string username = NewSession();
  RecordingUdpSocket first(io_);
  RecordingUdpSocket second(io_);
  RecordingUdpSocket peer_a(io_);
  RecordingUdpSocket peer_b(io_);
  const udp::endpoint external = Allocate(first, username);
  EXPECT_EQ(Allocate(second, username), external);
  ASSERT_TRUE(
      Request(second, SendRequest(username, peer_b.endpoint(), "b", true))
          .has_value());

  peer_b.SendTo("to second, raw", external);
  std::optional<RecordingUdpSocket::Datagram> at_second = Next(second, 2);
  ASSERT_TRUE(at_second.has_value());
  EXPECT_EQ(at_second->bytes, "to second, raw");

  peer_a.SendTo("to first, wrapped", external);
  std::optional<RecordingUdpSocket::Datagram> at_first = Next(first, 1);
  ASSERT_TRUE(at_first.has_value());
  EXPECT_EQ(ParseStunMessage(at_first->bytes)->type, kStunDataIndication);
}

// Verifies the optional permission rule of libjingle's relay server: SEND
// reaches only a peer that has already sent to the external address.
TEST_F(RelayServerTest, ForwardsOnlyToPeersThatSentWhenConfigured) {
  RelayServerOptions options;
  options.forward_only_to_peers_that_sent = true;
  MakeRelay(options);
  const std::string username = NewSession();
  RecordingUdpSocket client(io_);
  RecordingUdpSocket peer(io_);
  const udp::endpoint external = Allocate(client, username);

  client.SendTo(SendRequest(username, peer.endpoint(), "first", false),
                relay_->udp_endpoint());
  Allocate(client, username);  // barrier: "first" has been handled
  peer.SendTo("hi", external);
  ASSERT_TRUE(Next(client, 2).has_value());  // the DATA-INDICATION
  client.SendTo(SendRequest(username, peer.endpoint(), "second", false),
                relay_->udp_endpoint());
  std::optional<RecordingUdpSocket::Datagram> at_peer = Next(peer, 0);
  ASSERT_TRUE(at_peer.has_value());
  EXPECT_EQ(at_peer->bytes, "second");
  EXPECT_EQ(relay_->stats().dropped_no_permission, 1u);
}

// Verifies that bad settings are errors.
TEST(RelayServerCreateTest, RejectsBadSettings) {
  asio::io_context io;
  VirtualClock clock;
  std::mt19937_64 bitgen(1);
  RelayServerOptions options;
  options.external_address = "relay.google.com";
  EXPECT_EQ(RelayServer::Create(io, clock, bitgen, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = RelayServerOptions();
  options.max_datagram_bytes = 10;
  EXPECT_EQ(RelayServer::Create(io, clock, bitgen, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Verifies the codec helpers the relay uses: attribute order is kept, the last
// value is unpadded, and addresses round-trip.
TEST(RelayCodecTest, SerializeStunAttributesKeepsOrderAndLeavesLastUnpadded) {
  const udp::endpoint address(asio::ip::make_address("127.0.0.1"), 19295);
  const std::string bytes = SerializeStunAttributes(
      kStunDataIndication, "0000000000000000",
      {{kStunAttrMagicCookie, std::string(kRelayMagicCookie)},
       {kStunAttrUsername, "odd"},
       {kStunAttrSourceAddress2, EncodeStunAddress(address)},
       {kStunAttrData, "12345"}});
  // 20 header + 8 cookie + 8 padded username + 12 address + 4 + 5 data.
  ASSERT_EQ(bytes.size(), 57u);
  EXPECT_EQ(bytes.substr(28, 8), std::string("\x00\x06\x00\x03odd\x00", 8));
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->unpadded_final_attribute);
  EXPECT_EQ(parsed->username, "odd");
  ASSERT_EQ(parsed->unknown_attributes.size(), 3u);
  EXPECT_EQ(parsed->unknown_attributes[0].type, kStunAttrMagicCookie);
  EXPECT_EQ(DecodeStunAddress(parsed->unknown_attributes[1].value).value(),
            address);
  EXPECT_EQ(parsed->FindUnknownAttribute(kStunAttrData)->value, "12345");
  EXPECT_EQ(parsed->FindUnknownAttribute(kStunAttrOptions), nullptr);
  EXPECT_FALSE(DecodeStunAddress("short").ok());
}

}  // namespace
}  // namespace talkcheck::media_sim

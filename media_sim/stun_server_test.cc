#include "media_sim/stun_server.h"

#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "media_sim/recording_udp_socket.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

constexpr char kTid[] = "LJ04TransactnId0";  // 16 base64-ish characters

class StunServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<StunServer>> server =
        StunServer::Create(io_, StunServerOptions{});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // Runs the io_context until `done`, for at most about two seconds.
  bool RunUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  // Sends `bytes` from `client` and returns the next datagram it receives.
  std::optional<StunMessage> Exchange(RecordingUdpSocket& client,
                                      const std::string& bytes) {
    const size_t before = client.received.size();
    client.SendTo(bytes, server_->local_endpoint());
    if (!RunUntil([&] { return client.received.size() > before; })) {
      return std::nullopt;
    }
    absl::StatusOr<StunMessage> reply =
        ParseStunMessage(client.received.back().bytes);
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) return std::nullopt;
    return *std::move(reply);
  }

  static std::string BindingRequest(std::string transaction_id) {
    StunMessage request;
    request.type = kStunBindingRequest;
    request.transaction_id = std::move(transaction_id);
    return request.Serialize();
  }

  asio::io_context io_;
  std::unique_ptr<StunServer> server_;
};

// Verifies that the port asked for as 0 is reported as the real one.
TEST_F(StunServerTest, ReportsBoundPort) {
  EXPECT_NE(server_->local_endpoint().port(), 0);
  EXPECT_EQ(server_->local_endpoint().address().to_string(), "127.0.0.1");
}

// Verifies LJ04 stunport's plain request: 20 bytes, a 16-byte id, no
// attributes; the answer carries only MAPPED-ADDRESS = the source.
TEST_F(StunServerTest, AnswersRfc3489RequestWithMappedAddress) {
  RecordingUdpSocket client(io_);
  const std::string request = BindingRequest(kTid);
  ASSERT_EQ(request.size(), kStunHeaderSize);

  std::optional<StunMessage> reply = Exchange(client, request);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, kStunBindingResponse);
  EXPECT_EQ(reply->transaction_id, kTid);
  ASSERT_TRUE(reply->mapped_address.has_value());
  EXPECT_EQ(*reply->mapped_address, client.endpoint());
  // Nothing libjingle 0.4's strict parser would choke on.
  EXPECT_FALSE(reply->xor_mapped_address.has_value());
  EXPECT_FALSE(reply->username.has_value());
  EXPECT_TRUE(reply->unknown_attributes.empty());
  EXPECT_EQ(client.received.back().bytes.size(), kStunHeaderSize + 12);
  EXPECT_EQ(server_->stats().binding_requests, 1u);
  EXPECT_EQ(server_->stats().cookie_binding_requests, 0u);
}

// Verifies the RFC 5389 form: answered with the cookie id, MAPPED-ADDRESS and
// XOR-MAPPED-ADDRESS, both decoding to the source.
TEST_F(StunServerTest, AnswersCookieRequestInTheSameForm) {
  RecordingUdpSocket client(io_);
  std::mt19937_64 bitgen(7);
  const std::string tid = MakeTransactionId(bitgen, /*magic_cookie=*/true);

  std::optional<StunMessage> reply = Exchange(client, BindingRequest(tid));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, kStunBindingResponse);
  EXPECT_EQ(reply->transaction_id, tid);
  EXPECT_TRUE(reply->has_magic_cookie());
  ASSERT_TRUE(reply->mapped_address.has_value());
  EXPECT_EQ(*reply->mapped_address, client.endpoint());
  ASSERT_TRUE(reply->xor_mapped_address.has_value());
  EXPECT_EQ(*reply->xor_mapped_address, client.endpoint());
  EXPECT_EQ(server_->stats().cookie_binding_requests, 1u);
}

// Verifies that a USERNAME in the request is echoed verbatim.
TEST_F(StunServerTest, EchoesUsername) {
  RecordingUdpSocket client(io_);
  StunMessage request;
  request.type = kStunBindingRequest;
  request.transaction_id = kTid;
  request.username = "RemoteUfrag00000LocalUfrag000000";

  std::optional<StunMessage> reply = Exchange(client, request.Serialize());
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->username, request.username);
  EXPECT_EQ(*reply->mapped_address, client.endpoint());
}

// Verifies that broken and unexpected datagrams are counted, get no answer,
// and do not stop the server.
TEST_F(StunServerTest, CountsMalformedAndUnsupportedAndKeepsServing) {
  RecordingUdpSocket client(io_);
  const udp::endpoint server = server_->local_endpoint();
  client.SendTo("junk", server);  // shorter than a header
  std::string bad_length = BindingRequest(kTid);
  bad_length[3] = 8;  // claims 8 more bytes
  client.SendTo(bad_length, server);
  std::string truncated_attribute = BindingRequest(kTid);
  truncated_attribute[3] = 4;
  truncated_attribute += std::string("\x00\x06\x00\x20", 4);  // 32 promised
  client.SendTo(truncated_attribute, server);
  StunMessage response;  // a response is not for a server to answer
  response.type = kStunBindingResponse;
  response.transaction_id = kTid;
  client.SendTo(response.Serialize(), server);

  // The datagrams are delivered in order, so a good request is a barrier.
  std::optional<StunMessage> reply = Exchange(client, BindingRequest(kTid));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(client.received.size(), 1u);
  EXPECT_EQ(server_->stats().datagrams_received, 5u);
  EXPECT_EQ(server_->stats().malformed, 3u);
  EXPECT_EQ(server_->stats().unsupported, 1u);
  EXPECT_EQ(server_->stats().binding_requests, 1u);
}

// Verifies that a request with attributes beyond USERNAME is still answered,
// and counted as a finding.
TEST_F(StunServerTest, CountsRequestsWithUnknownAttributes) {
  RecordingUdpSocket client(io_);
  const std::string request = SerializeStunAttributes(
      kStunBindingRequest, kTid,
      {{0x8028, std::string("\x01\x02\x03\x04", 4)}});  // FINGERPRINT

  std::optional<StunMessage> reply = Exchange(client, request);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply->mapped_address, client.endpoint());
  EXPECT_EQ(server_->stats().requests_with_unknown_attributes, 1u);
}

// Verifies that a datagram larger than max_datagram_bytes is dropped.
TEST_F(StunServerTest, DropsOversizedDatagrams) {
  StunServerOptions options;
  options.max_datagram_bytes = 64;
  absl::StatusOr<std::unique_ptr<StunServer>> small =
      StunServer::Create(io_, options);
  ASSERT_TRUE(small.ok());
  server_ = *std::move(small);
  RecordingUdpSocket client(io_);
  client.SendTo(std::string(65, 'x'), server_->local_endpoint());

  ASSERT_TRUE(Exchange(client, BindingRequest(kTid)).has_value());
  EXPECT_EQ(server_->stats().oversized_datagrams, 1u);
  EXPECT_EQ(server_->stats().binding_requests, 1u);
}

// Verifies the ::1 setting: the mapped address is an IPv6 one (family 2).
TEST_F(StunServerTest, ServesOnIpv6Loopback) {
  StunServerOptions options;
  options.address = "::1";
  absl::StatusOr<std::unique_ptr<StunServer>> v6 =
      StunServer::Create(io_, options);
  if (!v6.ok()) GTEST_SKIP() << "no ::1 here: " << v6.status();
  server_ = *std::move(v6);
  RecordingUdpSocket client(io_, "::1");

  std::optional<StunMessage> reply = Exchange(client, BindingRequest(kTid));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply->mapped_address, client.endpoint());
}

// Verifies that a bad address setting is an error, not a crash.
TEST(StunServerCreateTest, RejectsBadAddress) {
  asio::io_context io;
  StunServerOptions options;
  options.address = "stun.l.google.com";
  absl::StatusOr<std::unique_ptr<StunServer>> server =
      StunServer::Create(io, options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace talkcheck::media_sim

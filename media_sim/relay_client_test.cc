#include "media_sim/relay_client.h"

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "base/asio_clock.h"
#include "gtest/gtest.h"
#include "media_sim/relay_server.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;

// Verifies the create_session body as GAB's capture has it, with CRLF.
TEST(ParseRelaySessionBodyTest, ReadsTheCapturedFields) {
  absl::StatusOr<RelaySession> session = ParseRelaySessionBody(
      "relay.ip=74.125.47.126\r\nrelay.udp_port=19295\r\n"
      "relay.tcp_port=19294\r\nrelay.ssltcp_port=443\r\n"
      "stun.ip=74.125.47.126\r\nstun.port=19302\r\n"
      "username=UserUserUserUser\r\npassword=PassPassPassPass\r\n"
      "magic_cookie=72c64bc6\r\n");
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->relay_udp.address().to_string(), "74.125.47.126");
  EXPECT_EQ(session->relay_udp.port(), 19295);
  EXPECT_EQ(session->username, "UserUserUserUser");
  EXPECT_EQ(session->password, "PassPassPassPass");
  EXPECT_EQ(session->magic_cookie, "72c64bc6");
}

// Verifies that a body without a usable relay address or username is refused.
TEST(ParseRelaySessionBodyTest, RefusesIncompleteBodies) {
  EXPECT_FALSE(ParseRelaySessionBody("").ok());
  EXPECT_FALSE(
      ParseRelaySessionBody("relay.ip=relay.google.com\nrelay.udp_port=1\n"
                            "username=u\n")
          .ok());
  EXPECT_FALSE(ParseRelaySessionBody("relay.ip=127.0.0.1\nrelay.udp_port=0\n"
                                     "username=u\n")
                   .ok());
  EXPECT_FALSE(
      ParseRelaySessionBody("relay.ip=127.0.0.1\nrelay.udp_port=9\n").ok());
}

class RelayedSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RelayServer>> relay =
        RelayServer::Create(io_, clock_, bitgen_, RelayServerOptions{});
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = *std::move(relay);
  }

  std::unique_ptr<RelayedSocket> MakeSocket(RelaySession session) {
    absl::StatusOr<std::unique_ptr<DatagramSocket>> inner =
        network_.Bind("127.0.0.1");
    EXPECT_TRUE(inner.ok());
    return std::make_unique<RelayedSocket>(clock_, bitgen_, *std::move(inner),
                                           std::move(session));
  }

  // The status Allocate reports, or nullopt if it never did within 5 s.
  std::optional<absl::Status> Allocate(RelayedSocket& socket,
                                       absl::Duration timeout) {
    std::optional<absl::Status> status;
    socket.Allocate(timeout, [&](absl::Status s) { status = s; });
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!status && std::chrono::steady_clock::now() < end) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return status;
  }

  asio::io_context io_;
  AsioClock clock_{io_};
  std::mt19937 bitgen_{3};
  UdpNetwork network_{io_};
  std::unique_ptr<RelayServer> relay_;
};

// Verifies that ALLOCATE makes the external address the local endpoint.
TEST_F(RelayedSocketTest, AllocateGivesTheExternalAddress) {
  absl::StatusOr<RelayCredentials> credentials = relay_->CreateSession();
  ASSERT_TRUE(credentials.ok());
  RelaySession session;
  session.relay_udp = relay_->udp_endpoint();
  session.username = credentials->username;
  std::unique_ptr<RelayedSocket> socket = MakeSocket(session);
  std::optional<absl::Status> status = Allocate(*socket, absl::Seconds(2));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok()) << *status;
  EXPECT_EQ(socket->local_endpoint(),
            relay_->ExternalEndpoint(credentials->username));
}

// Verifies that an unknown username (the relay's 430) fails at once, without
// waiting for the retransmissions to run out.
TEST_F(RelayedSocketTest, ErrorResponseFailsAllocate) {
  RelaySession session;
  session.relay_udp = relay_->udp_endpoint();
  session.username = "NoSuchUserName00";
  std::unique_ptr<RelayedSocket> socket = MakeSocket(session);
  const absl::Duration start = clock_.Now();
  std::optional<absl::Status> status = Allocate(*socket, absl::Seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(clock_.Now() - start, absl::Seconds(1));
  EXPECT_EQ(relay_->stats().unknown_username, 1u);
}

// Verifies that a relay that never answers ends Allocate after libjingle's
// five sends (waits of 200, 200, 400, 800 and 1600 ms), before the timeout.
TEST_F(RelayedSocketTest, SilentRelayTimesOut) {
  asio::ip::udp::socket silent(
      io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  RelaySession session;
  session.relay_udp = silent.local_endpoint();
  session.username = "UserUserUserUser";
  std::unique_ptr<RelayedSocket> socket = MakeSocket(session);
  const absl::Duration start = clock_.Now();
  std::optional<absl::Status> status = Allocate(*socket, absl::Seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(clock_.Now() - start, absl::Milliseconds(3200));
  EXPECT_LT(clock_.Now() - start, absl::Milliseconds(4500));
  // Exactly five ALLOCATEs reached the silent relay.
  silent.non_blocking(true);
  std::array<char, 256> buffer;
  int sends = 0;
  boost::system::error_code ec;
  while (silent.receive(asio::buffer(buffer), 0, ec) > 0 && !ec) ++sends;
  EXPECT_EQ(sends, 5);
}

}  // namespace
}  // namespace talkcheck::media_sim

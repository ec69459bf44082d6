// The server listens on the IPv6 loopback as configured, and a client logs in
// over it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "fake_server/config.pb.h"
#include "tests/raw_client.h"
#include "tests/server_fixture.h"

namespace talkcheck::integration {
namespace {

using fake_server::ServerConfig;

// Whether this machine has ::1 (containers sometimes run without IPv6).
bool Ipv6LoopbackAvailable() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(boost::asio::ip::tcp::v6(), ec);
  if (!ec) {
    probe.bind(boost::asio::ip::tcp::endpoint(
                   boost::asio::ip::address_v6::loopback(), 0),
               ec);
  }
  return !ec;
}

// Verifies that with listen entries for both loopbacks the server reports both,
// and a client logs in and is answered over [::1] (and still over 127.0.0.1).
TEST(Ipv6LoginTest, RawClientLogsInOverIpv6Loopback) {
  if (!Ipv6LoopbackAvailable()) GTEST_SKIP() << "::1 is not configured here";
  ServerConfig config = TestServerConfig(ServerConfig::TLS_OFF);
  config.add_listen("[::1]:0");
  absl::StatusOr<std::unique_ptr<TestServer>> server =
      TestServer::Start(std::move(config));
  ASSERT_TRUE(server.ok()) << server.status();

  const std::vector<std::string>& endpoints = (*server)->endpoints();
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(endpoints[0], "127.0.0.1:")) << endpoints[0];
  EXPECT_TRUE(absl::StartsWith(endpoints[1], "[::1]:")) << endpoints[1];

  for (const std::string& endpoint : endpoints) {
    SCOPED_TRACE(endpoint);
    absl::StatusOr<std::unique_ptr<RawClient>> client =
        RawClient::Connect(endpoint);
    ASSERT_TRUE(client.ok()) << client.status();
    absl::StatusOr<std::string> jid =
        (*client)->LogInPlain(kCutUser, kCutPassword, "v6");
    ASSERT_TRUE(jid.ok()) << jid.status();
    EXPECT_EQ(*jid, "cut@localhost/v6");
    EXPECT_TRUE((*client)->Ping("ping-v6").ok());
    ASSERT_TRUE((*client)->SendRaw("</stream:stream>").ok());
    absl::StatusOr<std::string> rest = (*client)->ReadAllUntilClosed();
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_THAT(*rest, ::testing::EndsWith("</stream:stream>"));
  }
}

}  // namespace
}  // namespace talkcheck::integration

// Issue 13 §1 over real TCP connections on 127.0.0.1: what a hostile client
// does at the socket level (half-open STARTTLS, pre-auth sockets holding the
// connection limit, a client that never reads, a stanza trickled byte by
// byte) harms nobody else, and every connection sets TCP_NODELAY.
//
// Every wait is on an event (a close, a stanza, a reply) bounded by the raw
// client's timeout; the server's limits are set small so that the events come
// quickly.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fake_server/config.pb.h"
#include "gtest/gtest.h"
#include "tests/raw_client.h"
#include "tests/server_fixture.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

namespace talkcheck::integration {
namespace {

using fake_server::ServerConfig;

class HardeningTest : public ::testing::Test {
 protected:
  void StartServer(ServerConfig config) {
    absl::StatusOr<std::unique_ptr<TestServer>> server =
        TestServer::Start(std::move(config));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<RawClient> Connect() {
    absl::StatusOr<std::unique_ptr<RawClient>> client =
        RawClient::Connect(server_->endpoint());
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::unique_ptr<RawClient> LogIn(absl::string_view resource) {
    std::unique_ptr<RawClient> client = Connect();
    if (client == nullptr) return nullptr;
    absl::StatusOr<std::string> jid =
        client->LogInPlain(kCutUser, kCutPassword, resource);
    EXPECT_TRUE(jid.ok()) << jid.status();
    return jid.ok() ? std::move(client) : nullptr;
  }

  std::unique_ptr<TestServer> server_;
};

// Verifies that a client that stops after <proceed/> (sending no ClientHello,
// or only part of one) is disconnected by the authentication timeout: the TLS
// handshake counts against it (issue 13 §1, "half-open STARTTLS").
TEST_F(HardeningTest, HalfOpenStartTlsIsReapedByAuthTimeout) {
  ServerConfig config = TestServerConfig(ServerConfig::TLS_REQUIRED);
  config.mutable_limits()->set_auth_timeout_ms(200);
  ASSERT_NO_FATAL_FAILURE(StartServer(config));
  // Nothing after <proceed/>; the first five bytes of a TLS record header.
  for (absl::string_view after_proceed :
       {absl::string_view(), absl::string_view("\x16\x03\x01\x02\x00", 5)}) {
    SCOPED_TRACE(after_proceed.size());
    std::unique_ptr<RawClient> client = Connect();
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->OpenStream().ok());
    ASSERT_TRUE(
        client->SendRaw("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .ok());
    ASSERT_TRUE(client->ReadUntil("<proceed").ok()) << client->transcript();
    ASSERT_TRUE(client->SendRaw(after_proceed).ok());
    // Bounded by the client's 5 s timeout: kDeadlineExceeded if never closed.
    absl::StatusOr<std::string> rest = client->ReadAllUntilClosed();
    EXPECT_TRUE(rest.ok()) << rest.status();
  }
}

// Verifies that sockets which never authenticate cannot lock a legitimate
// login out: at max_connections, the oldest unauthenticated connection is
// evicted (resource-constraint) to make room (issue 13 §1, "connection limit
// as a lockout"), while authenticated sessions are never evicted.
TEST_F(HardeningTest, PreAuthSocketsCannotLockOutALogin) {
  constexpr int kMaxConnections = 4;
  ServerConfig config = TestServerConfig(ServerConfig::TLS_OFF);
  config.mutable_limits()->set_max_connections(kMaxConnections);
  ASSERT_NO_FATAL_FAILURE(StartServer(config));

  std::unique_ptr<RawClient> first = LogIn("first");
  ASSERT_NE(first, nullptr);
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < kMaxConnections - 1; ++i) {
    idle.push_back(Connect());
    ASSERT_NE(idle.back(), nullptr);
    // A stream header makes sure the server has accepted it.
    ASSERT_TRUE(idle.back()->OpenStream().ok());
  }
  // The server is full: one authenticated, three idle pre-auth sockets.
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    std::unique_ptr<RawClient> login = LogIn(absl::StrCat("late-", i));
    ASSERT_NE(login, nullptr);
    // The oldest idle one made room.
    absl::StatusOr<std::string> rest = idle[i]->ReadAllUntilClosed();
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_TRUE(absl::StrContains(*rest, "resource-constraint")) << *rest;
    idle.push_back(std::move(login));
  }
  // Now every connection is authenticated: the next one is refused, and
  // nobody is evicted.
  std::unique_ptr<RawClient> extra = Connect();
  ASSERT_NE(extra, nullptr);
  absl::StatusOr<std::string> refused = extra->ReadAllUntilClosed();
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_TRUE(absl::StrContains(*refused, "resource-constraint")) << *refused;
  EXPECT_TRUE(first->Ping("still-there").ok());
  for (int i = 3; i < 6; ++i) {
    EXPECT_TRUE(idle[i]->Ping(absl::StrCat("p", i)).ok());
  }
}

// Verifies that a client that never reads is closed once
// limits.max_output_queue_bytes of output wait for it, while another client
// keeps being served (issue 13 §1, "unbounded output queue").
TEST_F(HardeningTest, ClientThatNeverReadsIsClosed) {
  ServerConfig config = TestServerConfig(ServerConfig::TLS_OFF);
  config.mutable_limits()->set_max_output_queue_bytes(64 * 1024);
  ASSERT_NO_FATAL_FAILURE(StartServer(config));
  std::unique_ptr<RawClient> sink = LogIn("sink");
  ASSERT_NE(sink, nullptr);
  std::unique_ptr<RawClient> witness = LogIn("witness");
  ASSERT_NE(witness, nullptr);
  // 200 batches of 20 messages of 8 KiB (32 MB in all) from the peer.
  const xmpp::Jid sink_jid = *xmpp::Jid::Parse("cut@localhost/sink");
  for (int batch = 0; batch < 200; ++batch) {
    server_->RunOnServerThread([&] {
      for (int i = 0; i < 20; ++i) {
        xmpp::Element message(xmpp::ns::kClient, "message");
        message.SetAttr("to", sink_jid.ToString());
        message.AddChild(xmpp::ns::kClient, "body")
            .SetText(std::string(8192, 'x'));
        server_->server().router().RouteFromClient(server_->peer_jid(),
                                                   message);
      }
    });
  }
  EXPECT_TRUE(witness->Ping("witness").ok());
  absl::StatusOr<std::string> rest = sink->ReadAllUntilClosed();
  ASSERT_TRUE(rest.ok()) << rest.status();
  // What arrived is what the kernel buffers held, not the 32 MB routed.
  EXPECT_LT(sink->transcript().size(), 16u * 1024 * 1024);
  EXPECT_TRUE(witness->Ping("witness-after").ok());
}

// Verifies that the server's answer to a stream header (its own header and
// the features) arrives in one segment: one write per turn, TCP_NODELAY, so
// nothing waits ~40 ms for a delayed ACK (issue 13 §1, "Nagle").
TEST_F(HardeningTest, HeaderAndFeaturesArriveTogether) {
  ASSERT_NO_FATAL_FAILURE(StartServer(TestServerConfig(ServerConfig::TLS_OFF)));
  for (int i = 0; i < 5; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(server_->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
        0);
    const std::string header = kClientStreamHeader;
    ASSERT_EQ(::send(fd, header.data(), header.size(), 0),
              static_cast<ssize_t>(header.size()));
    pollfd readable{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&readable, 1, 5000), 1);
    char buffer[8192];
    const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
    ::close(fd);
    ASSERT_GT(got, 0);
    const std::string first(buffer, got);
    EXPECT_TRUE(absl::StrContains(first, "</stream:features>")) << first;
  }
}

}  // namespace
}  // namespace talkcheck::integration

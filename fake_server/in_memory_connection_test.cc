#include "fake_server/in_memory_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/virtual_clock.h"
#include "base/virtual_driver.h"
#include "fake_server/config.pb.h"
#include "fake_server/server.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::fake_server {
namespace {

constexpr char kHeader[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' "
    "version='1.0'>";
constexpr char kBind[] =
    "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<resource>pipe</resource></bind></iq>";
constexpr absl::Duration kAuthTimeout = absl::Seconds(10);

std::string PlainAuth(absl::string_view user, absl::string_view pass) {
  return "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
         absl::Base64Escape(absl::StrCat(std::string(1, '\0'), user,
                                         std::string(1, '\0'), pass)) +
         "</auth>";
}

// The client's end of a pipe, played by the test with raw bytes.
struct PipeClient {
  explicit PipeClient(std::unique_ptr<xmpp::StreamPipeEnd> pipe)
      : end(std::move(pipe)) {
    end->SetHandlers(
        [this](absl::string_view bytes) {
          received.append(bytes.data(), bytes.size());
        },
        [this](xmpp::Element element) {
          ++elements;
          received += element.ToString();
        },
        [this] { closed = true; });
  }
  // Returns and forgets what arrived so far.
  std::string Take() { return std::exchange(received, ""); }

  std::unique_ptr<xmpp::StreamPipeEnd> end;
  std::string received;
  int elements = 0;  // of `received`, those handed over whole
  bool closed = false;
};

class InMemoryConnectionTest : public ::testing::Test {
 protected:
  // TLS required on purpose: pipes must work regardless.
  void StartServer(ServerConfig::TlsMode tls = ServerConfig::TLS_REQUIRED,
                   uint32_t max_connections = 256) {
    ServerConfig config;
    config.set_domain("localhost");
    config.set_tls(tls);
    Account* cut = config.add_accounts();
    cut->set_username("cut");
    cut->set_password("cutpass");
    config.mutable_limits()->set_auth_timeout_ms(
        absl::ToInt64Milliseconds(kAuthTimeout));
    config.mutable_limits()->set_max_connections(max_connections);
    absl::StatusOr<std::unique_ptr<FakeServer>> server =
        FakeServer::Create(config, io_, clock_, /*seed=*/7);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<PipeClient> Connect(
      xmpp::StreamPipeEnd::Handover handover =
          xmpp::StreamPipeEnd::Handover::kText) {
    return std::make_unique<PipeClient>(server_->ConnectInMemory(handover));
  }

  // Sends `bytes` and runs until the reply holds `marker`; returns the reply.
  std::string Exchange(PipeClient& client, absl::string_view bytes,
                       absl::string_view marker) {
    client.end->WriteText(std::string(bytes));
    EXPECT_TRUE(
        RunVirtual(io_, clock_,
                   [&] { return absl::StrContains(client.received, marker); }))
        << "no " << marker << " in " << client.received;
    return client.Take();
  }

  // Header, PLAIN, restart, bind: a logged-in resource cut@localhost/pipe.
  void LogIn(PipeClient& client) {
    std::string features = Exchange(client, kHeader, "</stream:features>");
    EXPECT_FALSE(absl::StrContains(features, "starttls")) << features;
    EXPECT_TRUE(absl::StrContains(features, "<mechanism>PLAIN</mechanism>"))
        << features;
    Exchange(client, PlainAuth("cut", "cutpass"), "<success");
    std::string bind_features = Exchange(client, kHeader, "</stream:features>");
    EXPECT_TRUE(absl::StrContains(bind_features, xmpp::ns::kBind))
        << bind_features;
    std::string bound = Exchange(client, kBind, "</iq>");
    EXPECT_TRUE(absl::StrContains(bound, "<jid>cut@localhost/pipe</jid>"))
        << bound;
  }

  boost::asio::io_context io_;
  VirtualClock clock_;
  std::unique_ptr<FakeServer> server_;
};

// Verifies a whole login over a pipe on a tls-required server (no STARTTLS
// offered), then a stanza routed back to the client.
TEST_F(InMemoryConnectionTest, LogsInWithPlainAndRoutes) {
  StartServer();
  std::unique_ptr<PipeClient> client = Connect();
  EXPECT_EQ(server_->connection_count(), 1u);
  LogIn(*client);
  EXPECT_TRUE(
      server_->router().IsBound(*xmpp::Jid::Parse("cut@localhost/pipe")));

  std::string echoed = Exchange(
      *client,
      "<message to='cut@localhost/pipe' id='m1'><body>hi</body></message>",
      "</message>");
  EXPECT_TRUE(absl::StrContains(echoed, "<body>hi</body>")) << echoed;
  EXPECT_FALSE(client->closed);
  // Nothing of this needed time to pass.
  EXPECT_EQ(clock_.Now(), absl::ZeroDuration());
}

// Verifies the same over a pipe that hands elements over whole: the server's
// elements arrive as elements (its headers as text), and a stanza handed over
// whole is routed as if it had been framed and parsed.
TEST_F(InMemoryConnectionTest, ElementsHandedOverWhole) {
  StartServer();
  std::unique_ptr<PipeClient> client =
      Connect(xmpp::StreamPipeEnd::Handover::kElements);
  LogIn(*client);
  EXPECT_EQ(client->elements, 4);  // features, success, features, bind result
  xmpp::Element message(xmpp::ns::kClient, "message");
  message.SetAttr("to", "cut@localhost/pipe").SetAttr("id", "m1");
  message.AddChild(xmpp::ns::kClient, "body").SetText("hi");
  client->end->WriteElement(message);
  EXPECT_TRUE(RunVirtual(io_, clock_, [&] { return client->elements == 5; }));
  EXPECT_EQ(client->Take(),
            "<message to=\"cut@localhost/pipe\" id=\"m1\" "
            "from=\"cut@localhost/pipe\"><body>hi</body></message>");
  EXPECT_FALSE(client->closed);
}

// Verifies that an element handed over before the stream header is refused
// as bytes in that place would be: not-well-formed.
TEST_F(InMemoryConnectionTest, ElementBeforeHeaderIsNotWellFormed) {
  StartServer();
  std::unique_ptr<PipeClient> client =
      Connect(xmpp::StreamPipeEnd::Handover::kElements);
  client->end->WriteElement(xmpp::Element(xmpp::ns::kClient, "presence"));
  EXPECT_TRUE(RunVirtual(io_, clock_, [&] { return client->closed; }));
  EXPECT_TRUE(absl::StrContains(client->received, "<not-well-formed"))
      << client->received;
}

// Verifies that Stop() closes an in-memory connection and frees its resource.
TEST_F(InMemoryConnectionTest, StopClosesThePipe) {
  StartServer();
  std::unique_ptr<PipeClient> client = Connect();
  LogIn(*client);
  server_->Stop();
  EXPECT_TRUE(RunVirtual(io_, clock_, [&] { return client->closed; }));
  EXPECT_FALSE(
      server_->router().IsBound(*xmpp::Jid::Parse("cut@localhost/pipe")));
  EXPECT_EQ(server_->connection_count(), 0u);

  // After Stop(), a new pipe is closed at once, like a refused connection.
  std::unique_ptr<PipeClient> late = Connect();
  EXPECT_TRUE(RunVirtual(io_, clock_, [&] { return late->closed; }));
  EXPECT_EQ(late->received, "");
}

// Verifies that the server's timers run on the virtual clock: a silent client
// gets connection-timeout exactly at the authentication deadline.
TEST_F(InMemoryConnectionTest, AuthTimeoutOnVirtualClock) {
  StartServer();
  std::unique_ptr<PipeClient> client = Connect();
  EXPECT_TRUE(RunVirtual(io_, clock_, [&] { return client->closed; }));
  EXPECT_EQ(clock_.Now(), kAuthTimeout);
  EXPECT_TRUE(absl::StrContains(client->received, "<connection-timeout"))
      << client->received;
  EXPECT_TRUE(absl::StrContains(client->received, "</stream:stream>"));
}

// Verifies that a client closing its end logs the resource out.
TEST_F(InMemoryConnectionTest, ClientCloseUnbinds) {
  StartServer(ServerConfig::TLS_OFF);
  std::unique_ptr<PipeClient> client = Connect();
  LogIn(*client);
  client->end->WriteText("</stream:stream>");
  client->end->Close();
  EXPECT_TRUE(RunVirtual(io_, clock_, [&] { return client->closed; }));
  EXPECT_TRUE(absl::StrContains(client->received, "</stream:stream>"));
  EXPECT_FALSE(
      server_->router().IsBound(*xmpp::Jid::Parse("cut@localhost/pipe")));
}

// Verifies that in-memory connections count toward the connection limit: with
// the only slot held by an authenticated session, a new one is refused.
TEST_F(InMemoryConnectionTest, CountsTowardConnectionLimit) {
  StartServer(ServerConfig::TLS_REQUIRED, /*max_connections=*/1);
  std::unique_ptr<PipeClient> first = Connect();
  LogIn(*first);
  std::unique_ptr<PipeClient> second = Connect();
  EXPECT_TRUE(RunVirtual(
      io_, clock_, [&] { return second->closed; }, absl::Seconds(1)));
  EXPECT_TRUE(absl::StrContains(second->received, "<resource-constraint"))
      << second->received;
  EXPECT_FALSE(first->closed);
  EXPECT_EQ(server_->connection_count(), 1u);

  // The slot frees up once the first client goes.
  first.reset();
  RunVirtual(
      io_, clock_, [] { return false; }, absl::Seconds(1));
  std::unique_ptr<PipeClient> third = Connect();
  LogIn(*third);
}

// Verifies that at the limit a new connection evicts the oldest one that has
// not authenticated (resource-constraint), so pre-auth sockets cannot lock
// logins out (issue 13 §1).
TEST_F(InMemoryConnectionTest, NewConnectionEvictsOldestUnauthenticated) {
  StartServer(ServerConfig::TLS_OFF, /*max_connections=*/2);
  std::unique_ptr<PipeClient> idle1 = Connect();
  std::unique_ptr<PipeClient> idle2 = Connect();
  std::unique_ptr<PipeClient> login = Connect();
  EXPECT_TRUE(RunVirtual(
      io_, clock_, [&] { return idle1->closed; }, absl::Seconds(1)));
  EXPECT_TRUE(absl::StrContains(idle1->received, "<resource-constraint"))
      << idle1->received;
  EXPECT_FALSE(idle2->closed);
  LogIn(*login);
  EXPECT_FALSE(login->closed);
}

}  // namespace
}  // namespace talkcheck::fake_server

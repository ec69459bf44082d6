// Hostile and malformed input over real TCP connections: each gets exactly the
// error RFC 6120 prescribes (stream error, SASL failure or stanza error),
// nothing it sent is routed, and afterwards a second, well-behaved client logs
// in on the same server and gets a ping answered, proving that one bad client
// harms no one else.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fake_server/config.pb.h"
#include "fake_server/router.h"
#include "tests/raw_client.h"
#include "tests/server_fixture.h"
#include "tests/stream_checks.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

namespace talkcheck::integration {
namespace {

using fake_server::RoutedStanza;
using fake_server::ServerConfig;
using xmpp::Element;
namespace ns = xmpp::ns;

// Small enough that an oversize stanza is cheap to send.
constexpr uint32_t kMaxStanzaBytes = 4096;
// How long the tests wait for a stanza to be routed.
constexpr absl::Duration kRouteTimeout = absl::Seconds(5);

class BadInputTest : public ::testing::Test {
 protected:
  // Starts a server without TLS (raw clients speak PLAIN in the clear) with the
  // small stanza limit; `adjust` may change the configuration first.
  void StartServer(const std::function<void(ServerConfig&)>& adjust = nullptr) {
    ServerConfig config = TestServerConfig(ServerConfig::TLS_OFF);
    config.mutable_limits()->set_max_stanza_bytes(kMaxStanzaBytes);
    if (adjust) adjust(config);
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

  // Connects and logs in as cut with `resource`; fails the test if that fails.
  std::unique_ptr<RawClient> LogIn(absl::string_view resource) {
    std::unique_ptr<RawClient> client = Connect();
    if (client == nullptr) return nullptr;
    absl::StatusOr<std::string> jid =
        client->LogInPlain(kCutUser, kCutPassword, resource);
    EXPECT_TRUE(jid.ok()) << jid.status();
    return jid.ok() ? std::move(client) : nullptr;
  }

  // A new, well-behaved client logs in, gets its ping answered and closes its
  // stream cleanly: the server still serves after whatever the test did.
  void ExpectServerStillServes() {
    std::unique_ptr<RawClient> client =
        LogIn(absl::StrCat("still-serving-", ++still_serving_count_));
    ASSERT_NE(client, nullptr)
        << "a well-behaved client cannot log in any more";
    EXPECT_TRUE(client->Ping("still-serving-ping").ok());
    ASSERT_TRUE(client->SendRaw("</stream:stream>").ok());
    absl::StatusOr<std::string> rest = client->ReadAllUntilClosed();
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_THAT(*rest, ::testing::EndsWith("</stream:stream>"));
  }

  // No message stanza was routed at all (the bad clients' ones must not be).
  void ExpectNoMessageRouted() {
    for (const RecordedStanza& routed : server_->Routed()) {
      EXPECT_FALSE(routed.stanza.Is(ns::kClient, "message"))
          << "routed: " << routed.stanza.ToString();
    }
  }

  std::unique_ptr<TestServer> server_;
  int still_serving_count_ = 0;
};

// ---------------------------------------------------------------------------
// Stream errors, one case per violation.

struct StreamErrorCase {
  const char* name;
  enum class Start {
    kNothing,     // `bytes` is the very first thing the client sends
    kStreamOpen,  // a correct stream header was sent and the features read
    kLoggedIn,    // authenticated and bound as cut@localhost/bad
  } start;
  std::string bytes;
  const char* condition;  // the expected streams-namespace condition
  uint32_t idle_timeout_ms =
      0;  // non-zero: limits.idle_timeout_ms of the server
};

class StreamErrorTest : public BadInputTest,
                        public ::testing::WithParamInterface<StreamErrorCase> {
};

constexpr char kGoodHeaderRest[] =
    "<stream:stream to='localhost' xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

std::vector<StreamErrorCase> StreamErrorCases() {
  using Start = StreamErrorCase::Start;
  return {
      // RFC 6120 §4.9.3.13: mismatched tags.
      {"NotWellFormed", Start::kStreamOpen,
       "<message to='peer@localhost/Talk.v104'><body>hi</message>",
       "not-well-formed"},
      // §11.1 / §4.9.3.18: a document type declaration in the prolog...
      {"DoctypeBeforeHeader", Start::kNothing,
       absl::StrCat("<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x "
                    "'y'>]>",
                    kGoodHeaderRest),
       "restricted-xml"},
      // ...or inside the stream.
      {"DoctypeInStream", Start::kStreamOpen, "<!DOCTYPE message>",
       "restricted-xml"},
      // §11.1: entity references other than the five predefined ones.
      {"UndefinedEntity", Start::kStreamOpen,
       "<message to='peer@localhost/Talk.v104'><body>&foo;</body></message>",
       "restricted-xml"},
      // §4.9.3.22 / §11.6: xmpp/stream_framer.cc reports invalid UTF-8 as
      // unsupported-encoding ("C3 28": a lead byte without its continuation).
      {"InvalidUtf8", Start::kStreamOpen,
       "<message "
       "to='peer@localhost/Talk.v104'><body>caf\xC3\x28</body></message>",
       "unsupported-encoding"},
      // §4.9.3.14 / §13.12: a stanza over limits.max_stanza_bytes.
      {"OversizeStanza", Start::kLoggedIn,
       absl::StrCat("<message to='peer@localhost/Talk.v104'><body>",
                    std::string(kMaxStanzaBytes + 1, 'x'), "</body></message>"),
       "policy-violation"},
      // §4.9.3.12: a stanza before authentication.
      {"StanzaBeforeAuthentication", Start::kStreamOpen,
       "<message to='peer@localhost/Talk.v104'><body>hi</body></message>",
       "not-authorized"},
      // §4.9.3.10: the stream namespace is not
      // http://etherx.jabber.org/streams...
      {"WrongStreamNamespace", Start::kNothing,
       "<?xml version='1.0'?><stream:stream to='localhost' "
       "xmlns='jabber:client' "
       "xmlns:stream='urn:example:not-streams' version='1.0'>",
       "invalid-namespace"},
      // ...or the content namespace is not one the server supports.
      {"WrongContentNamespace", Start::kNothing,
       "<?xml version='1.0'?><stream:stream to='localhost' "
       "xmlns='urn:example:not-client' "
       "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
       "invalid-namespace"},
      // §4.9.3.9 / §8.1.2.1: a `from` that is not the client's JID.
      {"SpoofedFrom", Start::kLoggedIn,
       "<message from='peer@localhost/Talk.v104' to='cut@localhost'>"
       "<body>spoofed</body></message>",
       "invalid-from"},
      // §4.9.3.4: a client that opens its stream and then says nothing.
      {"IdleClient", Start::kStreamOpen, "", "connection-timeout",
       /*idle_timeout_ms=*/300},
  };
}

// Verifies that the violation gets its stream error, the stream is closed,
// nothing the client sent is routed, and the server still serves a new client.
TEST_P(StreamErrorTest, GetsStreamErrorAndServerKeepsServing) {
  const StreamErrorCase& test_case = GetParam();
  ASSERT_NO_FATAL_FAILURE(StartServer([&test_case](ServerConfig& config) {
    if (test_case.idle_timeout_ms != 0) {
      config.mutable_limits()->set_idle_timeout_ms(test_case.idle_timeout_ms);
    }
  }));

  // Before the last byte the server receives from the client: an idle timeout
  // can only end the stream after this.
  const auto started_at = std::chrono::steady_clock::now();
  std::unique_ptr<RawClient> client;
  switch (test_case.start) {
    case StreamErrorCase::Start::kNothing:
      client = Connect();
      ASSERT_NE(client, nullptr);
      break;
    case StreamErrorCase::Start::kStreamOpen: {
      client = Connect();
      ASSERT_NE(client, nullptr);
      absl::StatusOr<Element> features = client->OpenStream();
      ASSERT_TRUE(features.ok()) << features.status();
      break;
    }
    case StreamErrorCase::Start::kLoggedIn:
      client = LogIn("bad");
      ASSERT_NE(client, nullptr);
      break;
  }

  if (!test_case.bytes.empty()) {
    ASSERT_TRUE(client->SendRaw(test_case.bytes).ok());
  }
  EXPECT_TRUE(StreamErrorThenClose(*client, test_case.condition));
  if (test_case.idle_timeout_ms != 0) {
    // The timeout runs from the last byte received, so never ends the stream
    // sooner.
    EXPECT_GE(std::chrono::steady_clock::now() - started_at,
              std::chrono::milliseconds(test_case.idle_timeout_ms));
  }
  ExpectNoMessageRouted();
  ExpectServerStillServes();
}

INSTANTIATE_TEST_SUITE_P(
    Violations, StreamErrorTest, ::testing::ValuesIn(StreamErrorCases()),
    [](const ::testing::TestParamInfo<StreamErrorCase>& info) {
      return std::string(info.param.name);
    });

// ---------------------------------------------------------------------------
// SASL failures.

// Verifies that a wrong password gets <failure><not-authorized/></failure> (RFC
// 6120 §6.5.10), that the stream stays open, and that a retry with the right
// password succeeds (§6.4.5).
TEST_F(BadInputTest, WrongPasswordGetsNotAuthorized) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::unique_ptr<RawClient> client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->OpenStream().ok());
  ASSERT_TRUE(
      client
          ->SendRaw(absl::StrCat(
              "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
              "mechanism='PLAIN'>",
              PlainCredentials(kCutUser, "not-the-password"), "</auth>"))
          .ok());
  absl::StatusOr<Element> failure = client->ReadElement();
  ASSERT_TRUE(failure.ok()) << failure.status();
  ASSERT_TRUE(failure->Is(ns::kSasl, "failure")) << failure->ToString();
  EXPECT_TRUE(HasOnlyCondition(*failure, ns::kSasl, "not-authorized"));

  ASSERT_TRUE(client
                  ->SendRaw(absl::StrCat(
                      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                      "mechanism='PLAIN'>",
                      PlainCredentials(kCutUser, kCutPassword), "</auth>"))
                  .ok());
  absl::StatusOr<Element> success = client->ReadElement();
  ASSERT_TRUE(success.ok()) << success.status();
  EXPECT_TRUE(success->Is(ns::kSasl, "success")) << success->ToString();
  ExpectServerStillServes();
}

// Verifies that a mechanism the server does not offer gets
// <failure><invalid-mechanism/></failure> (RFC 6120 §6.5.6).
TEST_F(BadInputTest, UnknownMechanismGetsInvalidMechanism) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::unique_ptr<RawClient> client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->OpenStream().ok());
  ASSERT_TRUE(client
                  ->SendRaw("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                            "mechanism='X-TALKCHECK-UNKNOWN'>AAAA</auth>")
                  .ok());
  absl::StatusOr<Element> failure = client->ReadElement();
  ASSERT_TRUE(failure.ok()) << failure.status();
  ASSERT_TRUE(failure->Is(ns::kSasl, "failure")) << failure->ToString();
  EXPECT_TRUE(HasOnlyCondition(*failure, ns::kSasl, "invalid-mechanism"));
  ExpectServerStillServes();
}

// ---------------------------------------------------------------------------
// Stanza errors.

// Verifies that binding a resource another session holds gets an iq error
// <conflict/> of type cancel (RFC 6120 §7.7.2.2, policy REFUSE_NEW), that the
// first session stays bound and working, and that the refused client may bind
// another resource.
TEST_F(BadInputTest, BindConflictRefusesTheSecondClient) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::unique_ptr<RawClient> first = LogIn("desk");
  ASSERT_NE(first, nullptr);

  std::unique_ptr<RawClient> second = Connect();
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->AuthenticatePlain(kCutUser, kCutPassword).ok());
  absl::StatusOr<Element> refused = second->Bind("desk", "bind_conflict");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->AttrOr("type", ""), "error") << refused->ToString();
  const Element* error = refused->FindChild(ns::kClient, "error");
  ASSERT_NE(error, nullptr) << refused->ToString();
  EXPECT_EQ(error->AttrOr("type", ""), "cancel") << refused->ToString();
  EXPECT_TRUE(HasOnlyCondition(*error, ns::kStanzas, "conflict"));

  EXPECT_TRUE(first->Ping("first-still-bound").ok());
  const bool still_bound = server_->RunOnServerThread([this] {
    return server_->server().router().IsBound(
        *xmpp::Jid::Parse("cut@localhost/desk"));
  });
  EXPECT_TRUE(still_bound);

  absl::StatusOr<Element> other = second->Bind("laptop", "bind_other");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->AttrOr("type", ""), "result") << other->ToString();
  EXPECT_TRUE(second->Ping("second-bound-elsewhere").ok());
  ExpectServerStillServes();
}

// Verifies that an iq get to a JID nobody holds (an unknown account, or an
// unbound resource of a known one) gets a service-unavailable error of type
// cancel from that JID (RFC 6121 §8.5.2.2.3, §8.5.3.2.1), and that the stream
// stays up.
TEST_F(BadInputTest, IqToUnknownJidGetsServiceUnavailable) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::unique_ptr<RawClient> client = LogIn("asker");
  ASSERT_NE(client, nullptr);

  for (const char* to :
       {"nobody@localhost/x", "peer@localhost/NoSuchResource"}) {
    SCOPED_TRACE(to);
    const std::string id = absl::StrCat("unknown-", to);
    ASSERT_TRUE(
        client
            ->SendRaw(absl::StrCat("<iq type='get' id='", id, "' to='", to,
                                   "'><ping xmlns='urn:xmpp:ping'/></iq>"))
            .ok());
    absl::StatusOr<Element> reply =
        client->ReadElementMatching([&id](const Element& e) {
          return e.Is(ns::kClient, "iq") && e.AttrOr("id", "") == id;
        });
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->AttrOr("type", ""), "error") << reply->ToString();
    EXPECT_EQ(reply->AttrOr("from", ""), to) << reply->ToString();
    EXPECT_EQ(reply->AttrOr("to", ""), "cut@localhost/asker")
        << reply->ToString();
    const Element* error = reply->FindChild(ns::kClient, "error");
    ASSERT_NE(error, nullptr) << reply->ToString();
    EXPECT_EQ(error->AttrOr("type", ""), "cancel") << reply->ToString();
    EXPECT_TRUE(HasOnlyCondition(*error, ns::kStanzas, "service-unavailable"));
  }
  EXPECT_TRUE(client->Ping("after-unknown").ok());
  EXPECT_FALSE(client->closed_by_server());
  ExpectServerStillServes();
}

// ---------------------------------------------------------------------------
// Resource limits.

// Verifies that connections over limits.max_connections each get
// resource-constraint and are closed (RFC 6120 §4.9.3.17) while the ones within
// the limit keep working, and that a new client logs in once the flood is gone.
TEST_F(BadInputTest, ConnectionFloodGetsResourceConstraint) {
  constexpr int kMaxConnections = 4;
  constexpr int kExtra = 3;
  ASSERT_NO_FATAL_FAILURE(StartServer([](ServerConfig& config) {
    config.mutable_limits()->set_max_connections(kMaxConnections);
  }));

  // Fill the server with logged-in (so surely accepted) clients.
  std::vector<std::unique_ptr<RawClient>> within;
  for (int i = 0; i < kMaxConnections; ++i) {
    within.push_back(LogIn(absl::StrCat("flood-", i)));
    ASSERT_NE(within.back(), nullptr);
  }
  for (int i = 0; i < kExtra; ++i) {
    SCOPED_TRACE(absl::StrCat("extra connection ", i));
    std::unique_ptr<RawClient> extra = Connect();
    ASSERT_NE(extra, nullptr);
    EXPECT_TRUE(StreamErrorThenClose(*extra, "resource-constraint"));
  }
  for (int i = 0; i < kMaxConnections; ++i) {
    EXPECT_TRUE(within[i]->Ping(absl::StrCat("within-", i)).ok());
  }

  // Close the flood, one client at a time. Each becomes available just before
  // it leaves, so that its leaving shows as unavailable presence at the peer;
  // the server sends that from its handling of the client's EOF, the same
  // handler that frees the connection. Once the peer has heard of all of them,
  // the server has room again. (Only one client is ever available, so the
  // server never writes to a client that is going away: see
  // abrupt_close_test.cc for that case.)
  for (int i = 0; i < kMaxConnections; ++i) {
    const std::string jid = absl::StrCat("cut@localhost/flood-", i);
    ASSERT_TRUE(within[i]->SendRaw("<presence/>").ok());
    // The server answers initial presence with the peer's: once it has arrived,
    // no write to this client is pending.
    absl::StatusOr<Element> peer_presence =
        within[i]->ReadElementMatching([](const Element& e) {
          return e.Is(ns::kClient, "presence") &&
                 e.AttrOr("from", "") == kPeerJid;
        });
    ASSERT_TRUE(peer_presence.ok()) << peer_presence.status();
    within[i]->Close();
    const std::optional<RecordedStanza> gone = server_->WaitForStanza(
        [&jid, this](const RecordedStanza& r) {
          return r.direction == RoutedStanza::Direction::kToEndpoint &&
                 r.endpoint == server_->peer_jid() &&
                 r.stanza.Is(ns::kClient, "presence") &&
                 r.stanza.AttrOr("type", "") == "unavailable" &&
                 r.stanza.AttrOr("from", "") == jid;
        },
        kRouteTimeout);
    ASSERT_TRUE(gone.has_value()) << "the peer never saw " << jid << " go away";
  }
  ExpectServerStillServes();
}

}  // namespace
}  // namespace talkcheck::integration

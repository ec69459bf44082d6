#include "fake_server/c2s_stream.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "base/virtual_clock.h"

namespace talkcheck::fake_server {
namespace {

constexpr char kHeader[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' "
    "version='1.0'>";

// Records what the stream writes; TLS "succeeds" at once.
class FakeTransport : public C2sStream::Transport {
 public:
  void Write(std::string bytes) override { out_ += bytes; }
  // What a transport whose client does not read would report.
  size_t QueuedBytes() const override { return queued_; }
  void DiscardQueued() override {
    queued_ = 0;
    discarded_ = true;
  }
  void set_queued(size_t bytes) { queued_ = bytes; }
  bool discarded() const { return discarded_; }
  void StartTls() override { tls_requested_ = true; }
  bool CanStartTls() const override { return true; }
  void Close() override { closed_ = true; }

  // Returns and forgets what was written so far.
  std::string Take() { return std::exchange(out_, ""); }
  bool closed() const { return closed_; }
  bool tls_requested() const { return tls_requested_; }

 private:
  std::string out_;
  bool closed_ = false;
  bool tls_requested_ = false;
  size_t queued_ = 0;
  bool discarded_ = false;
};

class C2sStreamTest : public ::testing::Test {
 protected:
  C2sStreamTest() {
    config_.set_domain("localhost");
    Account* cut = config_.add_accounts();
    cut->set_username("cut");
    cut->set_password("secret");
    Account* peer = config_.add_accounts();
    peer->set_username("peer");
    peer->set_password("peerpass");
    config_.mutable_limits()->set_auth_timeout_ms(10000);
    config_.mutable_limits()->set_idle_timeout_ms(60000);
    config_.mutable_limits()->set_max_stanza_bytes(4096);
  }

  // (Re)creates the router and the stream under test with the current config.
  void StartStream() {
    router_ = std::make_unique<Router>(config_, clock_);
    stream_ = std::make_unique<C2sStream>(config_, *router_, clock_, transport_,
                                          bitgen_);
    stream_->Start();
  }

  std::string Send(absl::string_view bytes) {
    stream_->OnBytes(bytes);
    return transport_.Take();
  }

  static std::string PlainAuth(absl::string_view user, absl::string_view pass) {
    return "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
           absl::Base64Escape(absl::StrCat(std::string(1, '\0'), user,
                                           std::string(1, '\0'), pass)) +
           "</auth>";
  }

  // Runs the whole negotiation with TLS and PLAIN up to a bound resource.
  void LogIn(absl::string_view resource = "test") {
    StartStream();
    Send(kHeader);
    Send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    stream_->OnTlsEstablished();
    Send(kHeader);
    ASSERT_TRUE(
        absl::StrContains(Send(PlainAuth("cut", "secret")), "<success"));
    Send(kHeader);
    std::string bound = Send(absl::StrCat(
        "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
        "<resource>",
        resource, "</resource></bind></iq>"));
    ASSERT_TRUE(absl::StrContains(bound, "type=\"result\"")) << bound;
  }

  ServerConfig config_;
  VirtualClock clock_;
  std::mt19937_64 bitgen_{42};
  FakeTransport transport_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<C2sStream> stream_;
};

// An endpoint that keeps what it is given.
class RecordingEndpoint : public Endpoint {
 public:
  void Deliver(xmpp::Element stanza) override {
    delivered.push_back(stanza.ToString());
  }
  void Kick(absl::string_view) override {}
  std::vector<std::string> delivered;
};

// Verifies that a stanza holding a name that is not an NCName (issue 13 §1)
// ends the sender's stream with not-well-formed and reaches nobody: written
// back as `<0y .../>`, it would break the recipient's stream.
TEST_F(C2sStreamTest, NonNcNameEndsStreamAndIsNotRouted) {
  for (const char* child :
       {"<x:0y xmlns:x='urn:a'/>", "<x:-y xmlns:x='urn:a'/>",
        "<a x:.b='1' xmlns:x='urn:a'/>", "<a\xC3\x97 xmlns='urn:a'/>"}) {
    SCOPED_TRACE(child);
    LogIn();
    RecordingEndpoint peer;
    const xmpp::Jid peer_jid = *xmpp::Jid::Parse("peer@localhost/r");
    ASSERT_TRUE(router_->Bind(peer_jid, &peer).ok());
    const std::string reply = Send(absl::StrCat(
        "<message to='peer@localhost/r'><body>hi</body>", child, "</message>"));
    EXPECT_TRUE(absl::StrContains(reply, "<not-well-formed")) << reply;
    EXPECT_TRUE(stream_->closed());
    EXPECT_TRUE(peer.delivered.empty()) << peer.delivered.front();
    router_->Unbind(peer_jid);
    stream_.reset();
  }
}

// Verifies the stricter limits before authentication (issue 13 §1: one stanza
// with 30,000 attributes cost 3 s of CPU): too many attributes or too large an
// element end the stream with policy-violation, and the wider limits apply
// once the client has authenticated.
TEST_F(C2sStreamTest, StricterLimitsBeforeAuthentication) {
  config_.mutable_limits()->set_max_attributes_before_auth(4);
  config_.mutable_limits()->set_max_attributes(64);
  config_.mutable_limits()->set_max_stanza_bytes_before_auth(1024);
  std::string many = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";
  for (int i = 0; i < 30000; ++i) absl::StrAppend(&many, " a", i, "=''");
  many += "/>";
  StartStream();
  Send(kHeader);
  std::string reply = Send(many);
  EXPECT_TRUE(absl::StrContains(reply, "<policy-violation")) << reply;
  EXPECT_TRUE(stream_->closed());

  StartStream();
  Send(kHeader);
  reply = Send(absl::StrCat("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>",
                            std::string(2000, 'A'), "</auth>"));
  EXPECT_TRUE(absl::StrContains(reply, "<policy-violation")) << reply;

  LogIn();
  std::string presence = "<presence";
  for (int i = 0; i < 60; ++i) absl::StrAppend(&presence, " a", i, "=''");
  presence += "/>";
  reply = Send(presence);
  EXPECT_FALSE(stream_->closed()) << reply;
  reply = Send(many);
  EXPECT_TRUE(absl::StrContains(reply, "<policy-violation")) << reply;
}

// Verifies the whole negotiation: STARTTLS, SASL, restart, bind, then routing.
TEST_F(C2sStreamTest, NegotiatesTlsSaslAndBind) {
  StartStream();
  std::string features = Send(kHeader);
  EXPECT_TRUE(absl::StrContains(features, "<stream:stream")) << features;
  EXPECT_TRUE(absl::StrContains(features, "<starttls")) << features;
  EXPECT_TRUE(absl::StrContains(features, "<required/>")) << features;
  // TLS is mandatory-to-negotiate: no mechanisms are offered before it
  // (§5.3.1).
  EXPECT_FALSE(absl::StrContains(features, "mechanisms")) << features;

  EXPECT_TRUE(absl::StrContains(
      Send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), "<proceed"));
  EXPECT_TRUE(transport_.tls_requested());
  stream_->OnTlsEstablished();
  EXPECT_TRUE(stream_->tls_active());

  features = Send(kHeader);
  EXPECT_TRUE(
      absl::StrContains(features, "<mechanism>SCRAM-SHA-1</mechanism>"));
  EXPECT_TRUE(absl::StrContains(features, "<mechanism>PLAIN</mechanism>"));
  EXPECT_FALSE(absl::StrContains(features, "starttls"));

  EXPECT_TRUE(absl::StrContains(Send(PlainAuth("cut", "secret")), "<success"));
  EXPECT_TRUE(stream_->authenticated());
  features = Send(kHeader);
  EXPECT_TRUE(absl::StrContains(features, "urn:ietf:params:xml:ns:xmpp-bind"));

  std::string bound = Send(
      "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>Talk.v1</resource></bind></iq>");
  EXPECT_TRUE(absl::StrContains(bound, "<jid>cut@localhost/Talk.v1</jid>"))
      << bound;
  EXPECT_TRUE(router_->IsBound(stream_->jid()));

  // Legacy session establishment (RFC 3921) is answered.
  std::string session = Send(
      "<iq type='set' id='s1'><session "
      "xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
  EXPECT_TRUE(absl::StrContains(session, "type=\"result\"")) << session;
  EXPECT_FALSE(transport_.closed());
}

// Verifies that the server makes up a resource when the client asks for none.
TEST_F(C2sStreamTest, GeneratesResourceWhenNoneRequested) {
  config_.set_tls(ServerConfig::TLS_OFF);
  StartStream();
  Send(kHeader);
  Send(PlainAuth("cut", "secret"));
  Send(kHeader);
  std::string bound = Send(
      "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
      "</iq>");
  EXPECT_TRUE(absl::StrContains(bound, "<jid>cut@localhost/talkcheck-"))
      << bound;
}

// Verifies that SASL in the clear is refused while TLS is required.
TEST_F(C2sStreamTest, RequiresTlsBeforeAuth) {
  StartStream();
  Send(kHeader);
  EXPECT_TRUE(absl::StrContains(Send(PlainAuth("cut", "secret")),
                                "<encryption-required/>"));
  EXPECT_FALSE(stream_->authenticated());
}

// Each stream-level violation gets its RFC 6120 condition and closes the
// stream.
struct ViolationCase {
  const char* name;
  std::string before_auth_input;  // sent after the header (tls off)
  const char* condition;
};

class C2sStreamViolationTest
    : public C2sStreamTest,
      public ::testing::WithParamInterface<ViolationCase> {};

TEST_P(C2sStreamViolationTest, EndsStreamWithCondition) {
  config_.set_tls(ServerConfig::TLS_OFF);
  StartStream();
  std::string out = Send(kHeader);
  out += Send(GetParam().before_auth_input);
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("<", GetParam().condition,
                                                  " xmlns=\"urn:ietf:params:"
                                                  "xml:ns:xmpp-streams\"")))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "</stream:stream>")) << out;
  EXPECT_TRUE(transport_.closed());
  EXPECT_TRUE(stream_->closed());
}

INSTANTIATE_TEST_SUITE_P(
    Violations, C2sStreamViolationTest,
    ::testing::Values(
        ViolationCase{"StanzaBeforeAuth", "<message to='peer@localhost'/>",
                      "not-authorized"},
        ViolationCase{"NotWellFormed", "<iq type='get'></message>",
                      "not-well-formed"},
        ViolationCase{"Comment", "<!-- hi -->", "restricted-xml"},
        ViolationCase{"UnknownTopLevel", "<foo xmlns='urn:example'/>",
                      "unsupported-stanza-type"},
        ViolationCase{
            "Oversize",
            "<message><body>" + std::string(5000, 'x') + "</body></message>",
            "policy-violation"}),
    [](const ::testing::TestParamInfo<ViolationCase>& info) {
      return info.param.name;
    });

// Verifies header checks: stream namespace, content namespace, host, version.
TEST_F(C2sStreamTest, RejectsBadHeaders) {
  struct Case {
    const char* header;
    const char* condition;
  } cases[] = {
      {"<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' "
       "to='localhost' version='1.0'>",
       "invalid-namespace"},
      {"<stream:stream xmlns='jabber:server' "
       "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' "
       "version='1.0'>",
       "invalid-namespace"},
      {"<stream:stream xmlns='jabber:client' "
       "xmlns:stream='http://etherx.jabber.org/streams' to='elsewhere.example' "
       "version='1.0'>",
       "host-unknown"},
      {"<stream:stream xmlns='jabber:client' "
       "xmlns:stream='http://etherx.jabber.org/streams' to='localhost'>",
       "unsupported-version"},
  };
  for (const Case& c : cases) {
    transport_ = FakeTransport();
    StartStream();
    std::string out = Send(c.header);
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("<", c.condition, " ")))
        << c.header << " -> " << out;
    // The server still opens its side first (RFC 6120 §4.9.1.1).
    EXPECT_TRUE(absl::StrContains(out, "<stream:stream")) << out;
    EXPECT_TRUE(transport_.closed());
  }
}

// Verifies SASL failures: unknown mechanism, bad password, and the retry limit.
TEST_F(C2sStreamTest, SaslFailuresAndRetryLimit) {
  config_.set_tls(ServerConfig::TLS_OFF);
  StartStream();
  Send(kHeader);
  EXPECT_TRUE(
      absl::StrContains(Send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                             "mechanism='X-UNKNOWN'>AAAA</auth>"),
                        "<invalid-mechanism/>"));
  EXPECT_TRUE(
      absl::StrContains(Send(PlainAuth("cut", "wrong")), "<not-authorized/>"));
  EXPECT_FALSE(transport_.closed());
  std::string last = Send(PlainAuth("cut", "wrong again"));
  EXPECT_TRUE(absl::StrContains(last, "<policy-violation ")) << last;
  EXPECT_TRUE(transport_.closed());
}

// Verifies that the authentication deadline closes a stream that never logs in.
TEST_F(C2sStreamTest, AuthTimeout) {
  config_.set_tls(ServerConfig::TLS_OFF);
  StartStream();
  Send(kHeader);
  clock_.AdvanceBy(absl::Milliseconds(9999));
  EXPECT_FALSE(transport_.closed());
  clock_.AdvanceBy(absl::Milliseconds(1));
  EXPECT_TRUE(absl::StrContains(transport_.Take(), "<connection-timeout "));
  EXPECT_TRUE(transport_.closed());
}

// Verifies that silence past the idle limit closes the stream, and traffic
// resets it.
TEST_F(C2sStreamTest, IdleTimeout) {
  LogIn();
  clock_.AdvanceBy(absl::Seconds(59));
  Send(" ");  // whitespace keep-alive
  clock_.AdvanceBy(absl::Seconds(59));
  EXPECT_FALSE(transport_.closed());
  clock_.AdvanceBy(absl::Seconds(2));
  EXPECT_TRUE(absl::StrContains(transport_.Take(), "<connection-timeout "));
  EXPECT_TRUE(transport_.closed());
  EXPECT_FALSE(router_->IsBound(stream_->jid()));
}

// Verifies that a stanza trickled one byte per second, which keeps re-arming
// the idle timer, is cut off by limits.stanza_timeout_ms (issue 13 §1,
// slowloris after authentication), and that the bound restarts per stanza.
TEST_F(C2sStreamTest, StanzaTimeoutEndsTrickledStanza) {
  config_.mutable_limits()->set_stanza_timeout_ms(10000);
  LogIn();
  // Whole stanzas in pieces within the bound are fine, one after another.
  for (int i = 0; i < 3; ++i) {
    Send("<presence><status>");
    clock_.AdvanceBy(absl::Seconds(9));
    Send("x</status></presence>");
    EXPECT_FALSE(transport_.closed());
  }
  const std::string stanza =
      "<message to='peer@localhost/r'><body>slow</body></message>";
  std::string reply;
  for (size_t i = 0; i < stanza.size() && !transport_.closed(); ++i) {
    reply += Send(stanza.substr(i, 1));
    clock_.AdvanceBy(absl::Seconds(1));
  }
  reply += transport_.Take();
  EXPECT_TRUE(transport_.closed());
  EXPECT_TRUE(absl::StrContains(reply, "<connection-timeout ")) << reply;
  EXPECT_EQ(clock_.Now(), absl::Seconds(3 * 9 + 10));
}

// Verifies that a stanza that would take the client's unwritten output past
// limits.max_output_queue_bytes closes it with policy-violation, the unsent
// output dropped, instead of being queued (issue 13 §1).
TEST_F(C2sStreamTest, OutputQueueIsBounded) {
  config_.mutable_limits()->set_max_output_queue_bytes(1000);
  LogIn();
  RecordingEndpoint peer;
  const xmpp::Jid peer_jid = *xmpp::Jid::Parse("peer@localhost/r");
  ASSERT_TRUE(router_->Bind(peer_jid, &peer).ok());
  auto message = [&] {
    xmpp::Element m(xmpp::ns::kClient, "message");
    m.SetAttr("to", stream_->jid().ToString());
    m.AddChild(xmpp::ns::kClient, "body").SetText(std::string(200, 'x'));
    router_->RouteFromClient(peer_jid, m);
  };
  transport_.set_queued(700);
  message();  // ~270 bytes: fits
  EXPECT_FALSE(transport_.closed());
  EXPECT_TRUE(absl::StrContains(transport_.Take(), "xxxx"));
  transport_.set_queued(800);
  message();
  EXPECT_TRUE(transport_.discarded());
  EXPECT_TRUE(transport_.closed());
  const std::string reply = transport_.Take();
  EXPECT_TRUE(absl::StrContains(reply, "<policy-violation")) << reply;
  EXPECT_FALSE(absl::StrContains(reply, "xxxx")) << reply;
  router_->Unbind(peer_jid);
}

// Verifies that a forged `from` ends the stream with invalid-from.
TEST_F(C2sStreamTest, SpoofedFromIsRefused) {
  LogIn();
  std::string out = Send(
      "<message from='peer@localhost/x' to='peer@localhost'><body>hi</body>"
      "</message>");
  EXPECT_TRUE(absl::StrContains(out, "<invalid-from ")) << out;
  EXPECT_TRUE(transport_.closed());
}

// Verifies that the client's own JID as `from` is accepted.
TEST_F(C2sStreamTest, OwnFromIsAccepted) {
  LogIn("r1");
  std::string out = Send(
      "<iq from='cut@localhost/r1' type='get' id='p1'><ping "
      "xmlns='urn:xmpp:ping'/>"
      "</iq>");
  EXPECT_TRUE(absl::StrContains(out, "type=\"result\"")) << out;
  EXPECT_FALSE(transport_.closed());
}

// Verifies that a second bind of a resource in use gets <conflict/>.
TEST_F(C2sStreamTest, BindConflictIsRefused) {
  LogIn("same");
  FakeTransport second_transport;
  C2sStream second(config_, *router_, clock_, second_transport, bitgen_);
  second.Start();
  second.OnBytes(kHeader);
  second.OnBytes("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  second.OnTlsEstablished();
  second.OnBytes(kHeader);
  second.OnBytes(PlainAuth("cut", "secret"));
  second.OnBytes(kHeader);
  second_transport.Take();
  second.OnBytes(
      "<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>same</resource></bind></iq>");
  std::string out = second_transport.Take();
  EXPECT_TRUE(absl::StrContains(out, "<conflict xmlns=")) << out;
  EXPECT_TRUE(router_->IsBound(stream_->jid()));
}

// Verifies the login log the harness reads when a client never gets ready:
// each negotiation step, the SASL mechanism and failure condition, the bind.
TEST_F(C2sStreamTest, NotesLoginStepsInTheRouter) {
  StartStream();
  Send(kHeader);
  Send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  stream_->OnTlsEstablished();
  Send(kHeader);
  Send(PlainAuth("cut", "wrong"));
  Send(PlainAuth("cut", "secret"));
  Send(kHeader);
  Send(
      "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
      "<resource>r</resource></bind></iq>");
  std::vector<std::string> log;
  for (const LoginEvent& e : router_->login_log()) {
    EXPECT_EQ(e.stream, 1);
    log.push_back(absl::StrCat(static_cast<int>(e.kind), ":", e.detail));
  }
  using K = LoginEvent::Kind;
  auto at = [](K kind, absl::string_view detail) {
    return absl::StrCat(static_cast<int>(kind), ":", detail);
  };
  EXPECT_EQ(
      log,
      (std::vector<std::string>{
          at(K::kConnected, ""), at(K::kStreamHeader, ""),
          at(K::kStartTls, "proceed"), at(K::kTlsEstablished, ""),
          at(K::kStreamHeader, ""), at(K::kAuth, "PLAIN"),
          at(K::kAuthFailed, "not-authorized (invalid username or password)"),
          at(K::kAuth, "PLAIN"), at(K::kAuthenticated, "cut"),
          at(K::kStreamHeader, ""), at(K::kBound, "cut@localhost/r")}));
}

}  // namespace
}  // namespace talkcheck::fake_server

#include "reference_client/client_stream.h"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "base/asio_clock.h"
#include "fake_server/config.pb.h"
#include "fake_server/sasl.h"
#include "fake_server/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"

namespace talkcheck::reference_client {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using xmpp::Element;
namespace ns = xmpp::ns;

constexpr char kCutJid[] = "cut@localhost/test";
constexpr char kPeerJid[] = "peer@localhost/Talk.v104";

xmpp::Jid J(absl::string_view text) { return *xmpp::Jid::Parse(text); }

// A one-connection server played by the test, for what FakeServer never does
// (a required RFC 3921 session, a wrong SCRAM server signature). No TLS; the
// client's elements reach `respond` one by one.
class ScriptedServer {
 public:
  using Responder = std::function<void(ScriptedServer&, const Element*)>;

  ScriptedServer(boost::asio::io_context& io, Responder respond)
      : acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        socket_(io),
        respond_(std::move(respond)) {
    acceptor_.async_accept(socket_,
                           [this](const boost::system::error_code& ec) {
                             if (!ec) DoRead();
                           });
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // Small writes on loopback: blocking is fine.
  void Write(const std::string& bytes) {
    boost::system::error_code ignored;
    boost::asio::write(socket_, boost::asio::buffer(bytes), ignored);
  }
  // After SASL success: the client opens a new stream.
  void Restart() { framer_.Reset(); }
  const std::string& received() const { return received_; }

  static constexpr char kHeader[] =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' id='s1' "
      "from='localhost' version='1.0'>";

 private:
  void DoRead() {
    socket_.async_read_some(
        boost::asio::buffer(buffer_),
        [this](const boost::system::error_code& ec, size_t n) {
          if (ec) return;
          received_.append(buffer_.data(), n);
          std::vector<xmpp::StreamFramer::Event> events;
          (void)framer_.Feed(absl::string_view(buffer_.data(), n), events);
          for (const auto& event : events) {
            if (event.type == xmpp::StreamFramer::EventType::kStreamOpen) {
              respond_(*this, nullptr);
            } else if (event.type == xmpp::StreamFramer::EventType::kElement) {
              absl::StatusOr<Element> element =
                  xmpp::ParseElement(event.xml, framer_.scope());
              if (element.ok()) respond_(*this, &*element);
            }
          }
          DoRead();
        });
  }

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket socket_;
  Responder respond_;
  xmpp::StreamFramer framer_;
  std::array<char, 4096> buffer_;
  std::string received_;
};

class ClientStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartServer(fake_server::ServerConfig::TLS_REQUIRED);
  }

  void StartServer(fake_server::ServerConfig::TlsMode tls,
                   fake_server::ServerConfig::BindConflictPolicy conflict =
                       fake_server::ServerConfig::REFUSE_NEW) {
    // FakeServer's pending accept handler refers to the server, so a replaced
    // server is stopped and kept until the io_context is gone.
    if (server_ != nullptr) {
      server_->Stop();
      old_servers_.push_back(std::move(server_));
    }
    fake_server::ServerConfig config;
    config.set_domain("localhost");
    config.set_tls(tls);
    config.set_bind_conflict(conflict);
    auto* cut = config.add_accounts();
    cut->set_username("cut");
    cut->set_password("cutpass");
    auto* peer = config.add_accounts();
    peer->set_username("peer");
    peer->set_password("peerpass");
    absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
        fake_server::FakeServer::Create(config, io_, clock_, /*seed=*/1);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  ClientStreamOptions Options(absl::string_view jid = kCutJid,
                              absl::string_view password = "cutpass") {
    ClientStreamOptions options;
    options.host = "127.0.0.1";
    options.port = server_->port();
    options.jid = J(jid);
    options.password = std::string(password);
    return options;
  }

  std::unique_ptr<ClientStream> MakeStream(ClientStreamOptions options) {
    return std::make_unique<ClientStream>(io_, clock_, bitgen_,
                                          std::move(options));
  }

  // Runs the io_context until `done` holds or `limit` (real time) passes.
  bool RunUntil(const std::function<bool()>& done,
                absl::Duration limit = absl::Seconds(10)) {
    const auto deadline =
        std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(limit);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(std::chrono::milliseconds(20));
    }
    return done();
  }

  // Connects and waits for the outcome.
  absl::Status Login(ClientStream& stream) {
    std::optional<absl::Status> result;
    stream.Connect([&result](absl::Status status) { result = status; });
    if (!RunUntil([&] { return result.has_value(); })) {
      return absl::DeadlineExceededError("test: no login outcome");
    }
    return *result;
  }

  std::unique_ptr<fake_server::VirtualSession> AttachPeer(
      std::function<void(const Element&)> handler) {
    auto peer = server_->AttachVirtualSession(J(kPeerJid), std::move(handler));
    EXPECT_TRUE(peer.ok()) << peer.status();
    return peer.ok() ? *std::move(peer) : nullptr;
  }

  boost::asio::io_context io_;
  AsioClock clock_{io_};
  absl::BitGen bitgen_;
  std::unique_ptr<fake_server::FakeServer> server_;
  std::vector<std::unique_ptr<fake_server::FakeServer>> old_servers_;
};

// Test that the client logs in with STARTTLS and SCRAM-SHA-1 and binds its
// resource.
TEST_F(ClientStreamTest, LogsInWithScramOverTls) {
  auto stream = MakeStream(Options());
  ASSERT_TRUE(Login(*stream).ok());
  EXPECT_TRUE(stream->ready());
  EXPECT_EQ(stream->bound_jid(), J(kCutJid));
  EXPECT_TRUE(server_->router().IsBound(J(kCutJid)));
}

// Test that PLAIN works too, and that an empty resource lets the server choose.
TEST_F(ClientStreamTest, PlainWithServerChosenResource) {
  ClientStreamOptions options = Options("cut@localhost");
  options.sasl_mechanism = "PLAIN";
  auto stream = MakeStream(options);
  ASSERT_TRUE(Login(*stream).ok());
  EXPECT_EQ(stream->bound_jid().Bare(), J("cut@localhost"));
  EXPECT_THAT(stream->bound_jid().resource(), StartsWith("talkcheck-"));
}

// Test that a wrong password fails the login as kUnauthenticated.
TEST_F(ClientStreamTest, WrongPasswordIsUnauthenticated) {
  auto stream = MakeStream(Options(kCutJid, "wrong"));
  absl::Status status = Login(*stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_THAT(status.message(), HasSubstr("not-authorized"));
  EXPECT_FALSE(stream->ready());
}

// Test that TLS is insisted on when required and skipped when not offered.
TEST_F(ClientStreamTest, RequireTlsAgainstServerWithoutTls) {
  StartServer(fake_server::ServerConfig::TLS_OFF);
  auto strict = MakeStream(Options());
  EXPECT_EQ(Login(*strict).code(), absl::StatusCode::kFailedPrecondition);

  ClientStreamOptions relaxed_options = Options();
  relaxed_options.require_tls = false;
  auto relaxed = MakeStream(relaxed_options);
  EXPECT_TRUE(Login(*relaxed).ok());
}

// Test that a refused connection is kUnavailable.
TEST_F(ClientStreamTest, ConnectionRefusedIsUnavailable) {
  ClientStreamOptions options = Options();
  const uint16_t port = server_->port();
  server_->Stop();  // nobody listens on the port any more
  options.port = port;
  auto stream = MakeStream(options);
  EXPECT_EQ(Login(*stream).code(), absl::StatusCode::kUnavailable);
}

// Test that a server that accepts but never speaks runs into the login timeout.
TEST_F(ClientStreamTest, SilentServerHitsLoginTimeout) {
  boost::asio::ip::tcp::acceptor silent(
      io_, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::socket accepted(io_);
  silent.async_accept(accepted, [](const boost::system::error_code&) {});
  ClientStreamOptions options = Options();
  options.port = silent.local_endpoint().port();
  options.login_timeout = absl::Milliseconds(200);
  auto stream = MakeStream(options);
  absl::Status status = Login(*stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
}

// Test that stanzas flow both ways through the server once ready.
TEST_F(ClientStreamTest, SendsAndReceivesStanzas) {
  std::vector<Element> at_peer;
  auto peer = AttachPeer([&](const Element& s) { at_peer.push_back(s); });
  auto stream = MakeStream(Options());
  std::vector<Element> at_client;
  stream->set_stanza_handler([&](const Element& s) { at_client.push_back(s); });
  ASSERT_TRUE(Login(*stream).ok());

  Element message(ns::kClient, "message");
  message.SetAttr("to", kPeerJid).SetAttr("type", "chat");
  message.AddChild(ns::kClient, "body").SetText("hello");
  stream->Send(message);
  ASSERT_TRUE(RunUntil([&] { return !at_peer.empty(); }));
  EXPECT_EQ(at_peer[0].AttrOr("from", ""), kCutJid);
  EXPECT_EQ(at_peer[0].FindChild(ns::kClient, "body")->Text(), "hello");

  Element reply(ns::kClient, "message");
  reply.SetAttr("to", kCutJid);
  reply.AddChild(ns::kClient, "body").SetText("hi");
  peer->Send(reply);
  ASSERT_TRUE(RunUntil([&] { return !at_client.empty(); }));
  EXPECT_EQ(at_client[0].AttrOr("from", ""), kPeerJid);
}

// Test that SendIq matches replies by id and sender, to the server and to a
// peer.
TEST_F(ClientStreamTest, SendIqGetsReplies) {
  fake_server::VirtualSession* peer_ptr = nullptr;
  auto peer = AttachPeer([&](const Element& iq) {
    if (iq.name() != "iq" || iq.AttrOr("type", "") != "get") return;
    Element result(ns::kClient, "iq");
    result.SetAttr("type", "result")
        .SetAttr("id", iq.AttrOr("id", ""))
        .SetAttr("to", iq.AttrOr("from", ""));
    peer_ptr->Send(result);
  });
  peer_ptr = peer.get();
  auto stream = MakeStream(Options());
  ASSERT_TRUE(Login(*stream).ok());

  // To the server (no `to`): the reply has no `from` or the domain.
  Element ping(ns::kClient, "iq");
  ping.SetAttr("type", "get");
  ping.AddChild(ns::kPing, "ping");
  std::optional<absl::StatusOr<Element>> server_reply;
  stream->SendIq(ping, absl::Seconds(5),
                 [&](absl::StatusOr<Element> r) { server_reply = r; });
  ASSERT_TRUE(RunUntil([&] { return server_reply.has_value(); }));
  ASSERT_TRUE(server_reply->ok()) << server_reply->status();
  EXPECT_EQ((*server_reply)->AttrOr("type", ""), "result");

  // To the peer.
  Element disco(ns::kClient, "iq");
  disco.SetAttr("type", "get").SetAttr("to", kPeerJid);
  disco.AddChild(ns::kDiscoInfo, "query");
  std::optional<absl::StatusOr<Element>> peer_reply;
  const std::string id =
      stream->SendIq(disco, absl::Seconds(5),
                     [&](absl::StatusOr<Element> r) { peer_reply = r; });
  EXPECT_FALSE(id.empty());
  ASSERT_TRUE(RunUntil([&] { return peer_reply.has_value(); }));
  ASSERT_TRUE(peer_reply->ok());
  EXPECT_EQ((*peer_reply)->AttrOr("id", ""), id);
  EXPECT_EQ((*peer_reply)->AttrOr("from", ""), kPeerJid);
}

// Test that an unanswered iq times out, and that a result with the right id
// from the wrong sender is not taken as its reply.
TEST_F(ClientStreamTest, SendIqTimesOutAndIgnoresOtherSenders) {
  auto peer = AttachPeer([](const Element&) {});  // never answers
  auto other = server_->AttachVirtualSession(J("peer@localhost/other"),
                                             [](const Element&) {});
  ASSERT_TRUE(other.ok());
  auto stream = MakeStream(Options());
  std::vector<Element> unsolicited;
  stream->set_stanza_handler(
      [&](const Element& s) { unsolicited.push_back(s); });
  ASSERT_TRUE(Login(*stream).ok());

  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "set").SetAttr("to", kPeerJid);
  iq.AddChild(ns::kGoogleSession, "session");
  std::optional<absl::StatusOr<Element>> reply;
  const absl::Duration sent = clock_.Now();
  const std::string id =
      stream->SendIq(iq, absl::Milliseconds(300),
                     [&](absl::StatusOr<Element> r) { reply = std::move(r); });

  Element spoof(ns::kClient, "iq");
  spoof.SetAttr("type", "result").SetAttr("id", id).SetAttr("to", kCutJid);
  (*other)->Send(spoof);

  ASSERT_TRUE(RunUntil([&] { return reply.has_value(); }));
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(clock_.Now() - sent, absl::Milliseconds(300));
  ASSERT_EQ(unsolicited.size(), 1u);
  EXPECT_EQ(unsolicited[0].AttrOr("from", ""), "peer@localhost/other");
}

// Test that a stream error from the server ends the stream with its condition.
TEST_F(ClientStreamTest, StreamErrorEndsStream) {
  StartServer(fake_server::ServerConfig::TLS_REQUIRED,
              fake_server::ServerConfig::REPLACE_EXISTING);
  auto first = MakeStream(Options());
  std::optional<absl::Status> closed;
  first->set_closed_handler([&](absl::Status s) { closed = s; });
  ASSERT_TRUE(Login(*first).ok());
  auto second = MakeStream(Options());  // same resource: the first is kicked
  ASSERT_TRUE(Login(*second).ok());
  ASSERT_TRUE(RunUntil([&] { return closed.has_value(); }));
  EXPECT_EQ(closed->code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(closed->message(), HasSubstr("conflict"));
  EXPECT_EQ(xmpp::GetStreamCondition(*closed),
            xmpp::StreamCondition::kConflict);
  EXPECT_FALSE(first->ready());
}

// Test that Close() ends the stream cleanly and pending iqs learn of it.
TEST_F(ClientStreamTest, CleanClose) {
  auto peer = AttachPeer([](const Element&) {});
  auto stream = MakeStream(Options());
  std::optional<absl::Status> closed;
  stream->set_closed_handler([&](absl::Status s) { closed = s; });
  ASSERT_TRUE(Login(*stream).ok());
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "get").SetAttr("to", kPeerJid);
  iq.AddChild(ns::kDiscoInfo, "query");
  std::optional<absl::StatusOr<Element>> reply;
  stream->SendIq(iq, absl::Seconds(30),
                 [&](absl::StatusOr<Element> r) { reply = std::move(r); });
  stream->Close();
  ASSERT_TRUE(RunUntil([&] { return closed.has_value(); }));
  EXPECT_TRUE(closed->ok()) << *closed;
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(RunUntil([&] { return !server_->router().IsBound(J(kCutJid)); }));
}

// Test that destroying the stream at any point of the login is safe, and that
// the server sees the connection go.
TEST_F(ClientStreamTest, DestroyMidLoginIsSafe) {
  for (int steps = 0; steps < 40; steps += 3) {
    bool called = false;
    auto stream = MakeStream(Options());
    stream->Connect([&called](absl::Status) { called = true; });
    for (int i = 0; i < steps; ++i)
      io_.run_one_for(std::chrono::milliseconds(20));
    stream.reset();
    // Let aborted handlers run; none may call back.
    io_.run_for(std::chrono::milliseconds(30));
    if (io_.stopped()) io_.restart();
    if (steps == 0) {
      EXPECT_FALSE(called);
    }
  }
  EXPECT_TRUE(RunUntil([&] { return !server_->router().IsBound(J(kCutJid)); }));
  // A stream destroyed right after Close() still closes cleanly.
  auto stream = MakeStream(Options());
  ASSERT_TRUE(Login(*stream).ok());
  stream->Close();
  stream.reset();
  EXPECT_TRUE(RunUntil([&] { return !server_->router().IsBound(J(kCutJid)); }));
}

// Test that a session offered without <optional/> is established before ready.
TEST_F(ClientStreamTest, EstablishesRequiredSession) {
  bool authenticated = false;
  bool session_seen = false;
  ScriptedServer scripted(io_, [&](ScriptedServer& server, const Element* e) {
    if (e == nullptr) {  // a stream header
      server.Write(ScriptedServer::kHeader);
      server.Write(
          authenticated
              ? "<stream:features><bind "
                "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session "
                "xmlns='urn:ietf:params:xml:ns:xmpp-session'/></"
                "stream:features>"
              : "<stream:features><mechanisms "
                "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</"
                "mechanism></mechanisms></stream:features>");
      return;
    }
    if (e->Is(ns::kSasl, "auth")) {
      authenticated = true;
      server.Restart();
      server.Write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
      return;
    }
    Element result(ns::kClient, "iq");
    result.SetAttr("type", "result").SetAttr("id", e->AttrOr("id", ""));
    if (e->FindChild(ns::kBind, "bind") != nullptr) {
      result.AddChild(ns::kBind, "bind")
          .AddChild(ns::kBind, "jid")
          .SetText(kCutJid);
    } else if (e->FindChild(ns::kSession, "session") != nullptr) {
      session_seen = true;
    }
    server.Write(result.ToString());
  });
  ClientStreamOptions options = Options();
  options.port = scripted.port();
  options.require_tls = false;
  options.sasl_mechanism = "PLAIN";
  auto stream = MakeStream(options);
  ASSERT_TRUE(Login(*stream).ok());
  EXPECT_TRUE(session_seen);
  EXPECT_EQ(stream->bound_jid(), J(kCutJid));
}

// Test that a server whose SCRAM signature is wrong is refused, and the stream
// closed in order.
TEST_F(ClientStreamTest, RefusesWrongServerSignature) {
  std::unique_ptr<fake_server::SaslMechanism> scram;
  ScriptedServer scripted(io_, [&](ScriptedServer& server, const Element* e) {
    if (e == nullptr) {
      server.Write(ScriptedServer::kHeader);
      server.Write(
          "<stream:features><mechanisms "
          "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</"
          "mechanism></mechanisms></stream:features>");
      return;
    }
    std::string data;
    ASSERT_TRUE(absl::Base64Unescape(e->Text(), &data));
    fake_server::SaslStep step;
    if (e->Is(ns::kSasl, "auth")) {
      scram = *fake_server::CreateSaslMechanism(
          "SCRAM-SHA-1", [](absl::string_view) { return "cutpass"; });
      step = scram->Start(data);
    } else if (e->Is(ns::kSasl, "response")) {
      step = scram->Continue(data);
    } else {
      return;
    }
    if (step.kind == fake_server::SaslStep::Kind::kChallenge) {
      server.Write(
          absl::StrCat("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>",
                       absl::Base64Escape(step.data), "</challenge>"));
      return;
    }
    // The proof was right (the password matches); the signature is forged.
    ASSERT_EQ(step.kind, fake_server::SaslStep::Kind::kSuccess);
    server.Write(
        absl::StrCat("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>",
                     absl::Base64Escape(absl::StrCat(
                         "v=", absl::Base64Escape(std::string(20, 'x')))),
                     "</success>"));
  });
  ClientStreamOptions options = Options();
  options.port = scripted.port();
  options.require_tls = false;
  auto stream = MakeStream(options);
  absl::Status status = Login(*stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_THAT(status.message(), HasSubstr("signature mismatch"));
  EXPECT_TRUE(RunUntil([&] {
    return absl::StrContains(scripted.received(), "</stream:stream>");
  }));
}

}  // namespace
}  // namespace talkcheck::reference_client

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/virtual_clock.h"
#include "base/virtual_driver.h"
#include "fake_server/config.pb.h"
#include "fake_server/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reference_client/client_stream.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {
namespace {

using ::testing::HasSubstr;
using xmpp::Element;
namespace ns = xmpp::ns;

constexpr char kCutJid[] = "cut@localhost/pipe";
constexpr absl::Duration kLoginTimeout = absl::Seconds(20);

xmpp::Jid J(absl::string_view text) { return *xmpp::Jid::Parse(text); }

// One world: io_context, virtual clock, fake server and client, all seeded.
class ClientStreamInMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(fake_server::ServerConfig::TLS_OFF); }

  void StartServer(fake_server::ServerConfig::TlsMode tls) {
    fake_server::ServerConfig config;
    config.set_domain("localhost");
    config.set_tls(tls);
    auto* cut = config.add_accounts();
    cut->set_username("cut");
    cut->set_password("cutpass");
    absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
        fake_server::FakeServer::Create(config, io_, clock_, /*seed=*/1);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // TCP settings that cannot work: any attempt to use them would fail the
  // login.
  ClientStreamOptions Options(absl::string_view mechanism = "SCRAM-SHA-1") {
    ClientStreamOptions options;
    options.host = "tcp.invalid";
    options.port = 1;
    options.jid = J(kCutJid);
    options.password = "cutpass";
    options.require_tls = false;
    options.sasl_mechanism = std::string(mechanism);
    options.login_timeout = kLoginTimeout;
    options.connect_in_memory = [this] { return server_->ConnectInMemory(); };
    return options;
  }

  std::unique_ptr<ClientStream> MakeStream(ClientStreamOptions options) {
    return std::make_unique<ClientStream>(io_, clock_, bitgen_,
                                          std::move(options));
  }

  // Connects and runs the world until the outcome.
  absl::Status Login(ClientStream& stream) {
    std::optional<absl::Status> result;
    stream.Connect([&result](absl::Status status) { result = status; });
    EXPECT_FALSE(result.has_value()) << "on_ready ran inside Connect()";
    if (!RunVirtual(io_, clock_, [&] { return result.has_value(); })) {
      return absl::InternalError("test: nothing left to run, no outcome");
    }
    return *result;
  }

  // Logs in as kCutJid, pings the server and checks the round trip: all of
  // it without the clock moving.
  void LogInAndPing(ClientStreamOptions options) {
    auto stream = MakeStream(std::move(options));
    ASSERT_TRUE(Login(*stream).ok());
    EXPECT_EQ(stream->bound_jid(), J(kCutJid));
    Element ping(ns::kClient, "iq");
    ping.SetAttr("type", "get").SetAttr("to", "localhost");
    ping.AddChild(ns::kPing, "ping");
    std::optional<absl::StatusOr<Element>> reply;
    const std::string id =
        stream->SendIq(ping, absl::Seconds(5),
                       [&reply](absl::StatusOr<Element> r) { reply = r; });
    ASSERT_TRUE(RunVirtual(io_, clock_, [&] { return reply.has_value(); }));
    ASSERT_TRUE(reply->ok()) << reply->status();
    EXPECT_EQ((*reply)->AttrOr("type", ""), "result");
    EXPECT_EQ((*reply)->AttrOr("id", ""), id);
    EXPECT_EQ(clock_.Now(), absl::ZeroDuration());
  }

  // Runs what is runnable without moving the clock.
  void Settle() {
    RunVirtual(
        io_, clock_, [] { return false; }, clock_.Now());
  }

  boost::asio::io_context io_;
  VirtualClock clock_;
  std::mt19937_64 bitgen_{3};
  std::unique_ptr<fake_server::FakeServer> server_;
};

// Verifies a login with PLAIN over the pipe, and no TCP connection made.
TEST_F(ClientStreamInMemoryTest, LogsInWithPlain) {
  auto stream = MakeStream(Options("PLAIN"));
  ASSERT_TRUE(Login(*stream).ok());
  EXPECT_TRUE(stream->ready());
  EXPECT_EQ(stream->bound_jid(), J(kCutJid));
  EXPECT_TRUE(server_->router().IsBound(J(kCutJid)));
  EXPECT_EQ(server_->connection_count(), 1u);
  EXPECT_EQ(clock_.Now(), absl::ZeroDuration());
}

// Verifies a login with SCRAM-SHA-1 (server signature checked) over the pipe,
// then an iq round trip to the server.
TEST_F(ClientStreamInMemoryTest, LogsInWithScramAndRoundTripsIq) {
  LogInAndPing(Options("SCRAM-SHA-1"));
}

// Verifies the same over a pipe that hands whole elements over (timeout
// fuzzing's campaigns): SASL, bind and the iq cross as elements.
TEST_F(ClientStreamInMemoryTest, LogsInAndRoundTripsIqWithElementsHandedOver) {
  ClientStreamOptions options = Options("SCRAM-SHA-1");
  options.connect_in_memory = [this] {
    return server_->ConnectInMemory(xmpp::StreamPipeEnd::Handover::kElements);
  };
  LogInAndPing(options);
}

// Verifies that a tls-required server still logs clients in over a pipe.
TEST_F(ClientStreamInMemoryTest, TlsRequiredServerStillServesPipes) {
  StartServer(fake_server::ServerConfig::TLS_REQUIRED);
  auto stream = MakeStream(Options());
  EXPECT_TRUE(Login(*stream).ok());
}

// Verifies that asking for TLS over a pipe is refused up front.
TEST_F(ClientStreamInMemoryTest, RequireTlsIsInvalid) {
  ClientStreamOptions options = Options();
  options.require_tls = true;
  auto stream = MakeStream(options);
  absl::Status status = Login(*stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(server_->connection_count(), 0u);
}

// Verifies that server Stop() reaches the closed handler as kUnavailable and
// fails a pending iq.
TEST_F(ClientStreamInMemoryTest, ServerStopCallsClosedHandler) {
  auto stream = MakeStream(Options());
  ASSERT_TRUE(Login(*stream).ok());
  std::optional<absl::Status> closed;
  stream->set_closed_handler([&closed](absl::Status s) { closed = s; });
  Element ping(ns::kClient, "iq");
  ping.SetAttr("type", "get").SetAttr("to", "localhost");
  ping.AddChild(ns::kPing, "ping");
  std::optional<absl::Status> iq_status;
  stream->SendIq(ping, absl::Seconds(5),
                 [&](absl::StatusOr<Element> r) { iq_status = r.status(); });
  server_->Stop();
  ASSERT_TRUE(RunVirtual(io_, clock_, [&] { return closed.has_value(); }));
  EXPECT_EQ(closed->code(), absl::StatusCode::kUnavailable) << *closed;
  EXPECT_THAT(closed->message(), HasSubstr("connection lost"));
  ASSERT_TRUE(iq_status.has_value());
  EXPECT_EQ(iq_status->code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(stream->ready());
}

// Verifies that a stopped server's pipe fails the login as kUnavailable.
TEST_F(ClientStreamInMemoryTest, StoppedServerIsUnavailable) {
  server_->Stop();
  auto stream = MakeStream(Options());
  absl::Status status = Login(*stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("closed the pipe"));
}

// Verifies that Close() ends the stream in order: the server answers, the
// closed handler gets OK and the resource is free again.
TEST_F(ClientStreamInMemoryTest, CloseIsClean) {
  auto stream = MakeStream(Options());
  ASSERT_TRUE(Login(*stream).ok());
  std::optional<absl::Status> closed;
  stream->set_closed_handler([&closed](absl::Status s) { closed = s; });
  stream->Close();
  ASSERT_TRUE(RunVirtual(io_, clock_, [&] { return closed.has_value(); }));
  EXPECT_TRUE(closed->ok()) << *closed;
  // The server's answer ended it, not the linger timer.
  EXPECT_EQ(clock_.Now(), absl::ZeroDuration());
  Settle();
  EXPECT_FALSE(server_->router().IsBound(J(kCutJid)));
  EXPECT_EQ(server_->connection_count(), 0u);
}

// Verifies that destroying a logged-in stream closes its pipe: the server
// logs the resource out.
TEST_F(ClientStreamInMemoryTest, DestroyingTheStreamClosesThePipe) {
  auto stream = MakeStream(Options());
  ASSERT_TRUE(Login(*stream).ok());
  stream.reset();
  Settle();
  EXPECT_FALSE(server_->router().IsBound(J(kCutJid)));
  EXPECT_EQ(server_->connection_count(), 0u);
}

// Verifies the login timeout on the virtual clock against a peer that never
// speaks.
TEST_F(ClientStreamInMemoryTest, SilentPeerHitsLoginTimeout) {
  std::unique_ptr<xmpp::StreamPipeEnd> silent;
  bool silent_closed = false;
  ClientStreamOptions options = Options();
  options.connect_in_memory = [&] {
    auto ends = xmpp::MakeStreamPipe(io_, xmpp::StreamPipeEnd::Handover::kText);
    silent = std::move(ends.second);
    silent->SetHandlers(nullptr, nullptr, [&] { silent_closed = true; });
    return std::move(ends.first);
  };
  auto stream = MakeStream(options);
  absl::Status status = Login(*stream);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ(clock_.Now(), kLoginTimeout);
  RunVirtual(io_, clock_, [&] { return silent_closed; });
  EXPECT_TRUE(silent_closed);
}

// Copies bytes between the client and the server, keeping a transcript.
struct Tap {
  std::unique_ptr<xmpp::StreamPipeEnd> client_side;
  std::unique_ptr<xmpp::StreamPipeEnd> server_side;
  std::string transcript;
};

// Logs in with PLAIN, pings, closes; returns everything said on the wire.
// Not SCRAM: C2sStream leaves the SCRAM salt to OpenSSL's RAND_bytes, outside
// the server's seed, so a SCRAM transcript differs in the salt and proofs.
std::string RunRecordedSession() {
  boost::asio::io_context io;
  VirtualClock clock;
  fake_server::ServerConfig config;
  config.set_tls(fake_server::ServerConfig::TLS_OFF);
  auto* cut = config.add_accounts();
  cut->set_username("cut");
  cut->set_password("cutpass");
  auto server = fake_server::FakeServer::Create(config, io, clock, 11);
  EXPECT_TRUE(server.ok());
  Tap tap;
  ClientStreamOptions options;
  options.jid = J("cut@localhost");  // the server makes up the resource
  options.password = "cutpass";
  options.require_tls = false;
  options.sasl_mechanism = "PLAIN";
  options.connect_in_memory = [&] {
    auto ends = xmpp::MakeStreamPipe(io, xmpp::StreamPipeEnd::Handover::kText);
    tap.client_side = std::move(ends.second);
    tap.server_side = (*server)->ConnectInMemory();
    tap.client_side->SetHandlers(
        [&tap](absl::string_view b) {
          absl::StrAppend(&tap.transcript, "C: ", b, "\n");
          tap.server_side->WriteText(std::string(b));
        },
        nullptr, [&tap] { tap.server_side->Close(); });
    tap.server_side->SetHandlers(
        [&tap](absl::string_view b) {
          absl::StrAppend(&tap.transcript, "S: ", b, "\n");
          tap.client_side->WriteText(std::string(b));
        },
        nullptr, [&tap] { tap.client_side->Close(); });
    return std::move(ends.first);
  };
  std::mt19937_64 bitgen(5);
  ClientStream stream(io, clock, bitgen, options);
  std::optional<absl::Status> ready, closed;
  stream.set_closed_handler([&closed](absl::Status s) { closed = s; });
  stream.Connect([&ready](absl::Status s) { ready = s; });
  EXPECT_TRUE(RunVirtual(io, clock, [&] { return ready.has_value(); }));
  Element ping(ns::kClient, "iq");
  ping.SetAttr("type", "get").SetAttr("to", "localhost");
  ping.AddChild(ns::kPing, "ping");
  bool answered = false;
  stream.SendIq(ping, absl::Seconds(5),
                [&answered](absl::StatusOr<Element>) { answered = true; });
  EXPECT_TRUE(RunVirtual(io, clock, [&] { return answered; }));
  stream.Close();
  EXPECT_TRUE(RunVirtual(io, clock, [&] { return closed.has_value(); }));
  return tap.transcript;
}

// Verifies that the same seeds give a byte-identical conversation.
TEST(ClientStreamInMemoryDeterminismTest, SameSeedsSameBytes) {
  const std::string first = RunRecordedSession();
  EXPECT_THAT(first, HasSubstr("<success"));
  EXPECT_THAT(first, HasSubstr("<ping"));
  EXPECT_THAT(first, HasSubstr("cut@localhost/talkcheck-"));
  EXPECT_EQ(first, RunRecordedSession());
}

}  // namespace
}  // namespace talkcheck::reference_client

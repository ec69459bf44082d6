// The media step's judgement on an in-memory network: the negotiated codecs
// each at their own clock, "n/a" for figures that do not apply, and the
// attribution of datagrams (only what can be the client's counts against it).
#include "harness/peer/media_loopback.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/clock.h"
#include "base/virtual_clock.h"
#include "gtest/gtest.h"
#include "media_sim/datagram_network.h"
#include "media_sim/gice_channel.h"
#include "media_sim/rtp.h"
#include "media_sim/stun_message.h"

namespace talkcheck::harness {
namespace {

using media_sim::GiceChannel;
using media_sim::RtpCodec;

RtpCodec Codec(const char* name, int payload_type) {
  absl::StatusOr<RtpCodec> codec = media_sim::CodecByName(name, payload_type);
  EXPECT_TRUE(codec.ok());
  return *codec;
}

// A peer channel with a MediaLoopback, a client channel that sends its own
// paced stream (or echoes), and a stray socket nobody announced.
class MediaLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    media_sim::GiceOptions options;
    options.network = &network_;
    peer_ = std::make_unique<GiceChannel>(io_, clock_, bitgen_, options);
    client_ = std::make_unique<GiceChannel>(io_, clock_, bitgen_, options);
    ASSERT_TRUE(peer_->AllocateGeneration().ok());
    ASSERT_TRUE(client_->AllocateGeneration().ok());
    ASSERT_TRUE(peer_->AddRemoteCandidate(client_->local_candidates().front()));
    ASSERT_TRUE(client_->AddRemoteCandidate(peer_->local_candidates().front()));
    absl::StatusOr<std::unique_ptr<media_sim::DatagramSocket>> stray =
        network_.Bind("127.0.0.1");
    ASSERT_TRUE(stray.ok());
    stray_ = *std::move(stray);
    stray_->SetReceiveHandler([](absl::string_view, const auto&) {});
    peer_->Start();
    client_->Start();
    RunFor(absl::Seconds(1));
    ASSERT_TRUE(peer_->writable() && client_->writable());
  }

  // The client sends `codec` every frame from now on (payload type `pt`).
  void ClientSends(const RtpCodec& codec, int payload_type) {
    RtpCodec sent = codec;
    sent.payload_type = payload_type;
    client_sender_ =
        std::make_unique<media_sim::RtpSender>(sent, 0x0BADF00D, 1, 1000);
    client_frame_ = codec.frame;
    ClientTick();
  }
  void ClientTick() {
    client_->SendPacket(client_sender_->Next().Serialize());
    client_timer_ = clock_.CallAfter(client_frame_, [this] { ClientTick(); });
  }

  void RunFor(absl::Duration duration) {
    const absl::Duration end = clock_.Now() + duration;
    for (;;) {
      io_.restart();
      io_.poll();
      if (clock_.NextDeadline() > end) break;
      clock_.RunNext();
    }
    clock_.AdvanceBy(end - clock_.Now());
  }

  // 3 s of PCMU both ways, the peer's MediaLoopback on `peer_clock` and the
  // client's stream, paced as the peer's, on `client_clock`: the peer's
  // report.
  MediaReport PacedBothWays(Clock& peer_clock, Clock& client_clock) {
    MediaLoopback loopback(peer_clock, *peer_, Codec("PCMU", 0),
                           {Codec("PCMU", 0)}, 42);
    MediaLoopback client(client_clock, *client_, Codec("PCMU", 0),
                         {Codec("PCMU", 0)}, 43);
    loopback.Start();
    client.Start();
    RunFor(absl::Seconds(3));
    return loopback.Report();
  }

  MediaStep Step() {
    MediaStep step;
    step.set_min_packets_each_way(50);
    step.set_max_loss_percent(1);
    step.set_max_jitter_ms(20);
    return step;
  }

  boost::asio::io_context io_;
  VirtualClock clock_;
  std::mt19937_64 bitgen_{7};
  media_sim::InMemoryNetwork network_{clock_};
  std::unique_ptr<GiceChannel> peer_;
  std::unique_ptr<GiceChannel> client_;
  std::unique_ptr<media_sim::DatagramSocket> stray_;
  std::unique_ptr<media_sim::RtpSender> client_sender_;
  absl::Duration client_frame_;
  std::unique_ptr<Timer> client_timer_;
};

TEST_F(MediaLoopbackTest, NegotiatedCodecsPassEachAtItsOwnClock) {
  // The peer sends ISAC; the client sends PCMU, also negotiated: no wrong
  // payload type, and PCMU measured at 8 kHz has no jitter.
  MediaLoopback loopback(clock_, *peer_, Codec("ISAC", 103),
                         {Codec("ISAC", 103), Codec("PCMU", 0)}, 42);
  loopback.Start();
  ClientSends(Codec("PCMU", 0), 0);
  RunFor(absl::Seconds(3));
  const MediaReport report = loopback.Report();
  EXPECT_EQ(report.wrong_payload_type(), 0u);
  EXPECT_LT(report.jitter_ms(), 0.5);
  EXPECT_TRUE(MediaProblems(Step(), report, false).empty())
      << absl::StrJoin(MediaProblems(Step(), report, false), "; ");
  EXPECT_TRUE(absl::StrContains(MediaFigures(report), "rtt n/a"))
      << MediaFigures(report);
}

// A clock whose timers fire `late` after their time: every one (a thread a
// loaded machine gets to late), or every `every`th with the others on time
// (the uneven delays of a loaded machine's scheduler).
class LateClock : public Clock {
 public:
  LateClock(Clock& inner, absl::Duration late, int every = 1)
      : inner_(inner), late_(late), every_(every) {}
  absl::Duration Now() const override { return inner_.Now(); }
  std::unique_ptr<Timer> CallAfter(
      absl::Duration delay, absl::AnyInvocable<void()> callback) override {
    const bool late = ++calls_ % every_ == 0;
    return inner_.CallAfter(delay + (late ? late_ : absl::ZeroDuration()),
                            std::move(callback));
  }

 private:
  Clock& inner_;
  const absl::Duration late_;
  const int every_;
  int calls_ = 0;
};

// Frames keep the codec's pace from the start: ticks that run 15 ms late
// still offer one PCMU frame per 20 ms (sending what they owe at once),
// where pacing each tick from the last would have offered one per 35 ms.
TEST_F(MediaLoopbackTest, LateTicksDoNotLoseFrames) {
  LateClock late(clock_, absl::Milliseconds(15));
  MediaLoopback loopback(late, *peer_, Codec("PCMU", 0), {Codec("PCMU", 0)},
                         42);
  loopback.Start();
  RunFor(absl::Seconds(2));
  const MediaReport report = loopback.Report();
  const uint64_t offered =
      report.packets_sent() + report.send_refused_not_writable();
  EXPECT_GE(offered, 99u);   // 2 s / 20 ms, the first at once
  EXPECT_LE(offered, 101u);  // and no more
}

// A loaded machine delays the client's sends as it delays the peer's own: the
// client's stream (paced as the peer's, on a clock as jittery) shows jitter
// over the step's 20 ms, and the peer's own send timers show as much, so the
// step passes with a warning that names both figures.
TEST_F(MediaLoopbackTest, JitterTheMachineAlsoPutOnThePeerIsNotTheClients) {
  LateClock peer_clock(clock_, absl::Milliseconds(70), /*every=*/3);
  LateClock client_clock(clock_, absl::Milliseconds(70), /*every=*/3);
  const MediaReport report = PacedBothWays(peer_clock, client_clock);
  EXPECT_GT(report.jitter_ms(), 20);
  EXPECT_GT(report.peer_timer_jitter_ms(), 20);
  EXPECT_TRUE(MediaProblems(Step(), report, false).empty())
      << absl::StrJoin(MediaProblems(Step(), report, false), "; ");
  const std::vector<std::string> warnings = MediaWarnings(Step(), report);
  ASSERT_EQ(warnings.size(), 1u) << absl::StrJoin(warnings, "; ");
  EXPECT_TRUE(absl::StrContains(warnings[0],
                                "not judged: the peer's own send "
                                "timers"))
      << warnings[0];
  EXPECT_TRUE(
      absl::StrContains(MediaFigures(report), "the peer's own send timers "))
      << MediaFigures(report);
}

// The same jittery client against a peer whose timers run on time (an idle
// machine): the jitter is the client's alone, and fails the step.
TEST_F(MediaLoopbackTest, JitterOfTheClientAloneFails) {
  LateClock client_clock(clock_, absl::Milliseconds(70), /*every=*/3);
  const MediaReport report = PacedBothWays(clock_, client_clock);
  EXPECT_EQ(report.peer_timer_jitter_ms(), 0);
  const std::vector<std::string> problems =
      MediaProblems(Step(), report, false);
  // The jitter, then what arrived (which every failure names).
  ASSERT_EQ(problems.size(), 2u) << absl::StrJoin(problems, "; ");
  EXPECT_TRUE(absl::StartsWith(problems[0], "jitter ")) << problems[0];
  EXPECT_TRUE(absl::StrContains(problems[0], "over the limit of 20.00 ms"))
      << problems[0];
  EXPECT_TRUE(MediaWarnings(Step(), report).empty());
  EXPECT_FALSE(absl::StrContains(MediaFigures(report), "the peer's own"))
      << MediaFigures(report);
}

TEST_F(MediaLoopbackTest, SamplesEvery250MsAndNamesTheChosenPair) {
  MediaLoopback loopback(clock_, *peer_, Codec("PCMU", 0), {Codec("PCMU", 0)},
                         42);
  std::vector<MediaSample> live;
  loopback.set_sample_handler(
      [&live](const MediaSample& sample) { live.push_back(sample); });
  loopback.Start();
  ClientSends(Codec("PCMU", 0), 0);
  RunFor(absl::Milliseconds(2100));
  const MediaReport report = loopback.Report();
  // Eight whole intervals, handed over as they were taken, and the last
  // 100 ms.
  ASSERT_EQ(live.size(), 8u);
  ASSERT_EQ(report.samples_size(), 9);
  EXPECT_EQ(report.samples(0).offset_us(), 250000);
  EXPECT_EQ(report.samples(7).offset_us(), 2000000);
  EXPECT_EQ(report.samples(8).duration_us(), 100000);
  uint64_t sent = 0;
  uint64_t received = 0;
  for (int i = 0; i < report.samples_size(); ++i) {
    const MediaSample& sample = report.samples(i);
    if (i < 8) {
      EXPECT_EQ(sample.offset_us(), live[i].offset_us());
    }
    sent += sample.sent();
    received += sample.received();
    EXPECT_EQ(sample.loss_percent(), 0);
  }
  // PCMU's 20 ms frames: 12 or 13 a quarter second, every one counted once.
  EXPECT_GE(report.samples(3).sent(), 12u);
  EXPECT_LE(report.samples(3).sent(), 13u);
  EXPECT_EQ(sent, report.packets_sent());
  EXPECT_EQ(received, report.packets_received());
  EXPECT_EQ(report.local_candidate(),
            DescribeCandidate(peer_->local_candidates().front()));
  EXPECT_EQ(report.remote_candidate(),
            DescribeCandidate(client_->local_candidates().front()));
  EXPECT_TRUE(absl::StrContains(report.local_candidate(), " local gen 0"))
      << report.local_candidate();
}

TEST_F(MediaLoopbackTest, AnIntervalWithAGapShowsItsLoss) {
  MediaLoopback loopback(clock_, *peer_, Codec("PCMU", 0), {Codec("PCMU", 0)},
                         42);
  loopback.Start();
  ClientSends(Codec("PCMU", 0), 0);
  RunFor(absl::Milliseconds(500));
  // Ten frames the client never sends: a gap in its sequence numbers.
  for (int i = 0; i < 10; ++i) client_sender_->Next();
  RunFor(absl::Milliseconds(500));
  const MediaReport report = loopback.Report();
  double worst = 0;
  for (const MediaSample& sample : report.samples())
    worst = std::max(worst, sample.loss_percent());
  EXPECT_GT(worst, 30.0);
  EXPECT_EQ(report.samples(0).loss_percent(), 0);
}

TEST_F(MediaLoopbackTest, AnUnnegotiatedPayloadTypeFailsAndNamesWhatArrived) {
  MediaLoopback loopback(clock_, *peer_, Codec("PCMU", 0),
                         {Codec("PCMU", 0), Codec("PCMA", 8)}, 42);
  loopback.Start();
  ClientSends(Codec("ISAC", 103), 103);
  RunFor(absl::Seconds(3));
  const std::string problems =
      absl::StrJoin(MediaProblems(Step(), loopback.Report(), false), "; ");
  EXPECT_TRUE(absl::StrContains(
                  problems,
                  "payload type outside the negotiated set (PCMU/0, PCMA/8)") ||
              absl::StrContains(problems, "outside the negotiated set"))
      << problems;
  EXPECT_TRUE(absl::StrContains(problems, "arrived: payload types 103 x"))
      << problems;
  EXPECT_TRUE(absl::StrContains(problems, "SSRCs 0x0badf00d x")) << problems;
}

TEST_F(MediaLoopbackTest, StrayStunAndForeignFloodAreTheEnvironments) {
  MediaLoopback loopback(clock_, *peer_, Codec("PCMU", 0), {Codec("PCMU", 0)},
                         42);
  loopback.Start();
  ClientSends(Codec("PCMU", 0), 0);
  const auto target = peer_->local_candidates().front();
  const media_sim::UdpEndpoint to(boost::asio::ip::make_address(target.address),
                                  target.port);
  // A Binding request with a foreign username, and a flood of RTP, from an
  // address no candidate named.
  media_sim::StunMessage stray;
  stray.type = media_sim::kStunBindingRequest;
  stray.transaction_id = "StrayTransaction";
  stray.username = target.username + "someoneelse12345";
  stray_->SendTo(stray.Serialize(), to);
  media_sim::RtpSender flood(Codec("PCMU", 0), 0xF100D, 1, 1);
  for (int i = 0; i < 3000; ++i) stray_->SendTo(flood.Next().Serialize(), to);
  RunFor(absl::Seconds(3));
  const MediaReport report = loopback.Report();
  EXPECT_TRUE(MediaProblems(Step(), report, false).empty())
      << absl::StrJoin(MediaProblems(Step(), report, false), "; ");
  // Our ufrag then a foreign one: answered 430, the normal race of pings
  // before candidates (PROTOCOL.md §8.13), shown but never a finding.
  EXPECT_EQ(report.environment_findings().at("bad_username_requests"), 0u);
  EXPECT_EQ(report.stale_credentials_answered(), 1u);
  EXPECT_TRUE(absl::StrContains(MediaFigures(report),
                                "1 pings answered 430 Stale Credentials"));
  EXPECT_GT(report.environment_findings().at("flood_datagrams"), 0u);
  EXPECT_GT(report.environment_findings().at("media_from_unreadable"), 0u);
  EXPECT_EQ(report.findings().at("flood_datagrams"), 0u);
  EXPECT_TRUE(absl::StrContains(MediaFigures(report), "environment"))
      << MediaFigures(report);
}

TEST_F(MediaLoopbackTest, TheClientsBrokenStreamStillFailsAmidNoise) {
  MediaLoopback loopback(clock_, *peer_, Codec("PCMU", 0), {Codec("PCMU", 0)},
                         42);
  loopback.Start();
  ClientSends(Codec("PCMU", 0), 127);  // not negotiated
  const auto target = peer_->local_candidates().front();
  const media_sim::UdpEndpoint to(boost::asio::ip::make_address(target.address),
                                  target.port);
  media_sim::RtpSender flood(Codec("PCMU", 0), 0xF100D, 1, 1);
  for (int i = 0; i < 3000; ++i) stray_->SendTo(flood.Next().Serialize(), to);
  RunFor(absl::Seconds(3));
  const std::string problems =
      absl::StrJoin(MediaProblems(Step(), loopback.Report(), false), "; ");
  EXPECT_TRUE(absl::StrContains(problems, "outside the negotiated set"))
      << problems;
  // Only the client's own packets were judged: the flood's SSRC is not there.
  EXPECT_FALSE(absl::StrContains(problems, "0x000f100d")) << problems;
}

TEST_F(MediaLoopbackTest, BadUsernameFromTheClientsAddressIsTheClients) {
  MediaLoopback loopback(clock_, *peer_, Codec("PCMU", 0), {Codec("PCMU", 0)},
                         42);
  loopback.Start();
  ClientSends(Codec("PCMU", 0), 0);
  RunFor(absl::Seconds(1));
  // The same foreign username, but from the client's own candidate address:
  // the client's socket is the only one that can send from there, so the
  // request is sent from the client channel's socket via a raw Send.
  const auto target = peer_->local_candidates().front();
  media_sim::StunMessage bad;
  bad.type = media_sim::kStunBindingRequest;
  bad.transaction_id = "BadUsernameTrans";
  bad.username = std::string("nobody");
  // Announce the stray socket as one of the client's candidates: now it is.
  media_sim::Candidate announced = client_->local_candidates().front();
  announced.address = stray_->local_endpoint().address().to_string();
  announced.port = stray_->local_endpoint().port();
  announced.username = "announcedufrag16";
  peer_->AddRemoteCandidate(announced);
  stray_->SendTo(
      bad.Serialize(),
      media_sim::UdpEndpoint(boost::asio::ip::make_address(target.address),
                             target.port));
  RunFor(absl::Seconds(2));
  const std::string problems =
      absl::StrJoin(MediaProblems(Step(), loopback.Report(), false), "; ");
  EXPECT_TRUE(absl::StrContains(problems, "GICE finding bad_username_requests"))
      << problems;
}

// Verifies that a media failure says what the client did on the wire: its
// connectivity checks per pair and how many the peer answered, so a client
// that checked but sent no RTP reads differently from one that never checked.
TEST_F(MediaLoopbackTest, FailureShowsTheChecksOfEachPair) {
  MediaLoopback loopback(clock_, *peer_, Codec("PCMU", 0), {Codec("PCMU", 0)},
                         42);
  loopback.Start();
  RunFor(absl::Seconds(3));  // the client checks, and sends no RTP
  const MediaReport report = loopback.Report();
  ASSERT_EQ(report.pairs_size(), 1);
  const PairChecksReport& pair = report.pairs().begin()->second;
  EXPECT_GT(pair.client_checks(), 0u);
  EXPECT_EQ(pair.answered(), pair.client_checks());
  EXPECT_GT(pair.peer_checks(), 0u);
  const std::string problems =
      absl::StrJoin(MediaProblems(Step(), report, true), "; ");
  EXPECT_TRUE(absl::StrContains(problems, "only 0 of 50 RTP packets"))
      << problems;
  const media_sim::Candidate& client = client_->local_candidates().front();
  const media_sim::Candidate& peer = peer_->local_candidates().front();
  EXPECT_TRUE(absl::StrContains(
      problems, absl::StrCat("checks (client -> peer): ", client.address, ":",
                             client.port, " -> ", peer.address, ":", peer.port,
                             ": the client's checks ", pair.client_checks(),
                             " (answered ", pair.answered(), ")")))
      << problems;
  EXPECT_FALSE(absl::StrContains(problems, "no connectivity check"))
      << problems;
}

// Verifies that a client that never checked at all is told apart.
TEST_F(MediaLoopbackTest, FailureSaysTheClientNeverChecked) {
  media_sim::GiceOptions options;
  options.network = &network_;
  GiceChannel lonely(io_, clock_, bitgen_, options);
  ASSERT_TRUE(lonely.AllocateGeneration().ok());
  lonely.Start();
  MediaLoopback loopback(clock_, lonely, Codec("PCMU", 0), {Codec("PCMU", 0)},
                         42);
  loopback.Start();
  RunFor(absl::Seconds(3));
  const std::string problems =
      absl::StrJoin(MediaProblems(Step(), loopback.Report(), true), "; ");
  EXPECT_TRUE(absl::StrContains(
      problems,
      "checks (client -> peer): no connectivity check from the "
      "client at all"))
      << problems;
}

// Verifies that a step's GICE findings and the environment's are named in
// name order: protobuf maps iterate in an order that varies from process to
// process, and the same run's failure message must not.
TEST(MediaVerdictTest, FindingsAreNamedInNameOrder) {
  MediaStep step;
  step.set_min_packets_each_way(0);
  MediaReport report;
  std::vector<std::string> names;
  for (int i = 25; i >= 0; --i) {
    const std::string name = absl::StrCat("finding-", std::string(1, 'a' + i));
    (*report.mutable_findings())[name] = 1;
    (*report.mutable_environment_findings())[name] = 2;
    names.insert(names.begin(), name);
  }
  const std::string problems =
      absl::StrJoin(MediaProblems(step, report, false), "; ");
  const std::string figures = MediaFigures(report);
  for (size_t i = 1; i < names.size(); ++i) {
    EXPECT_LT(problems.find(names[i - 1] + ":"), problems.find(names[i] + ":"))
        << problems;
    EXPECT_LT(figures.find(names[i - 1] + " "), figures.find(names[i] + " "))
        << figures;
  }
}

}  // namespace
}  // namespace talkcheck::harness

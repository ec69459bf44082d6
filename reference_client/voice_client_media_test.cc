// RTP between the reference client and a peer that runs what the harness runs
// (a GICE channel, a paced RTP stream stamped per packet, an RtpReceiver) over
// 127.0.0.1, with the signalling through the fake server.
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media_sim/candidate.h"
#include "media_sim/gice_channel.h"
#include "media_sim/rtp.h"
#include "reference_client/session_messages.h"
#include "reference_client/voice_client.h"
#include "reference_client/voice_client_test_fixture.h"

namespace talkcheck::reference_client::voice_test {
namespace {

media_sim::RtpCodec Codec(const char* name, int id) {
  return *media_sim::CodecByName(name, id);
}

// The peer's media on its own GICE channel: one packet per frame of `send`
// while writable, each payload a unique stamp, and a check of the client's
// stream against `expect`.
class MediaPeer {
 public:
  MediaPeer(boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
            media_sim::RtpCodec send, media_sim::RtpCodec expect)
      : clock_(clock),
        channel_(io, clock, bitgen, {}),
        sender_(send, 0x5EED5EED, 1000, 90000),
        receiver_(std::move(expect)) {
    channel_.set_packet_handler(
        [this](absl::string_view data, const boost::asio::ip::udp::endpoint&) {
          const media_sim::RtpPacket* packet =
              receiver_.OnPacket(data, clock_.Now());
          if (packet == nullptr) return;
          if (stamps_.count(packet->payload) > 0) ++echoes_;
          packets_.push_back(*packet);
        });
  }

  absl::StatusOr<media_sim::Candidate> Allocate() {
    return channel_.AllocateGeneration();
  }
  void Start() {
    channel_.Start();
    SendOne();
  }
  void StopSending() { tick_.reset(); }

  media_sim::GiceChannel& channel() { return channel_; }
  const media_sim::RtpStats& received() const { return receiver_.stats(); }
  const std::vector<media_sim::RtpPacket>& packets() const { return packets_; }
  uint64_t echoes() const { return echoes_; }

 private:
  void SendOne() {
    media_sim::RtpPacket packet = sender_.Next();
    std::string stamp = absl::StrCat("stamp-", ++stamped_, "-");
    stamp.resize(packet.payload.size(), 'x');
    packet.payload = stamp;
    if (channel_.SendPacket(packet.Serialize())) stamps_.insert(stamp);
    tick_ = clock_.CallAfter(sender_.codec().frame, [this] { SendOne(); });
  }

  Clock& clock_;
  media_sim::GiceChannel channel_;
  media_sim::RtpSender sender_;
  media_sim::RtpReceiver receiver_;
  std::unique_ptr<Timer> tick_;
  uint64_t stamped_ = 0;
  std::set<std::string> stamps_;
  std::vector<media_sim::RtpPacket> packets_;
  uint64_t echoes_ = 0;
};

class VoiceClientMediaTest : public VoiceClientTest {
 protected:
  // An incoming call (`offer` from the peer, candidates right behind the
  // initiate), auto-answered; the peer's media runs.
  void StartIncomingCall(VoiceClientOptions options, Element offer,
                         media_sim::RtpCodec peer_sends,
                         media_sim::RtpCodec peer_expects) {
    StartClient(std::move(options));
    peer_media_ = std::make_unique<MediaPeer>(io_, clock_, bitgen_, peer_sends,
                                              peer_expects);
    absl::StatusOr<media_sim::Candidate> local = peer_media_->Allocate();
    ASSERT_TRUE(local.ok()) << local.status();
    sid_ = kSid;
    PeerSends("initiate", {std::move(offer)});
    PeerSends("candidates", {WriteCandidate(*local, ns::kGoogleSession)});
    ASSERT_NO_FATAL_FAILURE(LearnClientCandidate());
    peer_media_->Start();
  }

  // An outgoing call to the peer, which accepts with `accept`.
  void StartOutgoingCall(VoiceClientOptions options, Element accept,
                         media_sim::RtpCodec peer_sends,
                         media_sim::RtpCodec peer_expects) {
    StartClient(std::move(options));
    peer_media_ = std::make_unique<MediaPeer>(io_, clock_, bitgen_, peer_sends,
                                              peer_expects);
    absl::StatusOr<media_sim::Candidate> local = peer_media_->Allocate();
    ASSERT_TRUE(local.ok()) << local.status();
    ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
    const int initiate = WaitForSession("initiate");
    ASSERT_GE(initiate, 0);
    sid_ = SessionOf(inbox_[initiate])->AttrOr("id", "");
    PeerSends("candidates", {WriteCandidate(*local, ns::kGoogleSession)}, sid_,
              kCutJid);
    ASSERT_NO_FATAL_FAILURE(LearnClientCandidate());
    peer_media_->Start();
    PeerSends("accept", {std::move(accept)}, sid_, kCutJid);
  }

  void LearnClientCandidate() {
    const int theirs = WaitForSession("candidates");
    ASSERT_GE(theirs, 0);
    CandidateError error;
    absl::StatusOr<media_sim::Candidate> remote =
        ReadCandidate(*CandidatesIn(inbox_[theirs])[0], error);
    ASSERT_TRUE(remote.ok()) << error.text;
    peer_media_->channel().AddRemoteCandidate(*remote);
  }

  // Until the peer has `n` packets of the client's and the client `n` of the
  // peer's.
  bool RunUntilBothReceived(uint64_t n) {
    return RunUntil([&] {
      std::optional<CallMediaStats> stats = voice_->media_stats(sid_);
      return stats.has_value() && stats->received.packets >= n &&
             peer_media_->received().packets >= n;
    });
  }

  // Runs `period` and reports whether the peer got any RTP meanwhile.
  bool PeerGetsRtpWithin(absl::Duration period) {
    const uint64_t before = peer_media_->received().packets;
    RunFor(period);
    return peer_media_->received().packets > before;
  }

  static Element Description(
      const std::vector<std::pair<int, const char*>>& codecs) {
    Element description(ns::kGooglePhone, "description");
    for (const auto& [id, name] : codecs) {
      description.AddChild(ns::kGooglePhone, "payload-type")
          .SetAttr("id", absl::StrCat(id))
          .SetAttr("name", name);
    }
    return description;
  }

  std::unique_ptr<MediaPeer> peer_media_;
  std::string sid_;
};

// Test that in an incoming call RTP flows both ways with the initiate's first
// codec (ISAC/103, 30 ms), on the best writable connection, and that the
// peer's stamped payloads come back.
TEST_F(VoiceClientMediaTest, IncomingCallRtpBothWaysWithEcho) {
  const media_sim::RtpCodec isac = Codec("ISAC", 103);
  ASSERT_NO_FATAL_FAILURE(
      StartIncomingCall(Options(), Offer2005(), isac, isac));
  ASSERT_TRUE(RunUntilBothReceived(30));
  ASSERT_TRUE(RunUntil([&] { return peer_media_->echoes() >= 5; }));

  const media_sim::RtpStats& at_peer = peer_media_->received();
  EXPECT_EQ(at_peer.wrong_payload_type, 0u);
  EXPECT_EQ(at_peer.ssrc_changes, 0u);
  EXPECT_EQ(at_peer.stalled_timestamps, 0u);
  EXPECT_EQ(at_peer.partial_frame_steps, 0u);
  EXPECT_EQ(at_peer.malformed, 0u);
  EXPECT_EQ(at_peer.duplicates, 0u);
  EXPECT_EQ(at_peer.lost, 0u);
  // Not faster than one packet per 30 ms frame (late timers only slow it).
  EXPECT_LE(at_peer.packets_per_second(), 1000.0 / 30 * 1.2);
  EXPECT_GT(at_peer.packets_per_second(), 5.0);
  const std::vector<media_sim::RtpPacket>& packets = peer_media_->packets();
  for (size_t i = 1; i < packets.size(); ++i) {
    EXPECT_EQ(packets[i].payload_type, 103);
    EXPECT_EQ(packets[i].ssrc, packets[0].ssrc);
    EXPECT_EQ(packets[i].sequence,
              static_cast<uint16_t>(packets[i - 1].sequence + 1));
    EXPECT_EQ((packets[i].timestamp - packets[i - 1].timestamp) % 480, 0u);
    EXPECT_GT(packets[i].timestamp - packets[i - 1].timestamp, 0u);
  }
  EXPECT_NE(packets[0].ssrc, 0x5EED5EEDu);  // the client's own header
  // GICE: all of it came over a checked pair.
  EXPECT_EQ(peer_media_->channel().stats().media_from_unreadable, 0u);

  std::optional<CallMediaStats> stats = voice_->media_stats(kSid);
  ASSERT_TRUE(stats.has_value());
  EXPECT_TRUE(stats->sending);
  EXPECT_EQ(stats->send_codec.name, "ISAC");
  EXPECT_EQ(stats->sent_payload_type, 103);
  EXPECT_EQ(stats->receive_codec.name, "ISAC");
  EXPECT_EQ(stats->receive_codec.payload_type, 103);
  EXPECT_EQ(stats->received.wrong_payload_type, 0u);
  EXPECT_EQ(stats->received.ssrc_changes, 0u);
  EXPECT_GE(stats->echoed, 5u);
  EXPECT_EQ(stats->ssrc, packets[0].ssrc);
  EXPECT_FALSE(voice_->media_stats("no-such-call").has_value());
}

// Test that a caller sends with the accept's first codec and expects the peer
// to send with the first of its initiate that the peer accepted, and that no
// RTP follows a hang-up.
TEST_F(VoiceClientMediaTest, OutgoingCallUsesAcceptListThenHangsUp) {
  ASSERT_NO_FATAL_FAILURE(
      StartOutgoingCall(Options(), Description({{0, "PCMU"}, {103, "ISAC"}}),
                        Codec("ISAC", 103), Codec("PCMU", 0)));
  ASSERT_TRUE(RunUntilBothReceived(20));
  const media_sim::RtpStats& at_peer = peer_media_->received();
  EXPECT_EQ(at_peer.wrong_payload_type, 0u);
  EXPECT_EQ(at_peer.stalled_timestamps, 0u);
  EXPECT_EQ(at_peer.partial_frame_steps, 0u);
  EXPECT_EQ(peer_media_->packets()[0].payload_type, 0);
  EXPECT_LE(at_peer.packets_per_second(), 1000.0 / 20 * 1.2);
  std::optional<CallMediaStats> stats = voice_->media_stats(sid_);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->send_codec.name, "PCMU");
  EXPECT_EQ(stats->receive_codec.name, "ISAC");
  EXPECT_EQ(stats->received.wrong_payload_type, 0u);

  ASSERT_TRUE(voice_->Hangup().ok());
  EXPECT_FALSE(voice_->media_stats(sid_).has_value());
  ASSERT_FALSE(events_.empty());
  ASSERT_TRUE(events_.back().media.has_value());
  EXPECT_GE(events_.back().media->packets_sent, 20u);
  EXPECT_FALSE(events_.back().media->sending);
  RunFor(absl::Milliseconds(50));  // what was already on its way
  EXPECT_FALSE(PeerGetsRtpWithin(absl::Milliseconds(300)));
}

// Test that after the peer's terminate no RTP goes out.
TEST_F(VoiceClientMediaTest, NoRtpAfterTerminate) {
  const media_sim::RtpCodec isac = Codec("ISAC", 103);
  ASSERT_NO_FATAL_FAILURE(
      StartIncomingCall(Options(), Offer2005(), isac, isac));
  ASSERT_TRUE(RunUntilBothReceived(10));
  const std::string terminate = PeerSends("terminate", {});
  ASSERT_GE(WaitForResult(terminate), 0);
  ASSERT_TRUE(RunUntil([&] { return !voice_->in_call(); }));
  EXPECT_EQ(events_.back().type, Type::kTerminated);
  ASSERT_TRUE(events_.back().media.has_value());
  EXPECT_GE(events_.back().media->received.packets, 10u);
  RunFor(absl::Milliseconds(50));
  EXPECT_FALSE(PeerGetsRtpWithin(absl::Milliseconds(300)));
}

// Test that wrong-payload-type and ssrc-change show in the peer's receiver.
TEST_F(VoiceClientMediaTest, RtpFaultsShowAtPeer) {
  const media_sim::RtpCodec pcmu = Codec("PCMU", 0);
  for (Fault fault : {Fault::kWrongPayloadType, Fault::kSsrcChange}) {
    SCOPED_TRACE(FaultName(fault));
    inbox_.clear();
    events_.clear();
    peer_media_.reset();
    voice_.reset();
    stream_.reset();
    RunFor(absl::Milliseconds(100));
    ASSERT_NO_FATAL_FAILURE(StartIncomingCall(
        Options({fault}), Description({{0, "PCMU"}, {103, "ISAC"}}), pcmu,
        pcmu));
    ASSERT_TRUE(RunUntil([&] { return peer_media_->received().packets >= 60; },
                         absl::Seconds(15)));
    const media_sim::RtpStats& at_peer = peer_media_->received();
    if (fault == Fault::kWrongPayloadType) {
      EXPECT_EQ(at_peer.wrong_payload_type, at_peer.packets);
      EXPECT_EQ(peer_media_->packets()[0].payload_type, 127);
      EXPECT_EQ(at_peer.ssrc_changes, 0u);
    } else {
      EXPECT_EQ(at_peer.wrong_payload_type, 0u);
      EXPECT_EQ(at_peer.ssrc_changes, 1u);
      EXPECT_EQ(at_peer.lost, 0u);
      EXPECT_NE(peer_media_->packets()[0].ssrc,
                peer_media_->packets().back().ssrc);
    }
    ASSERT_TRUE(voice_->Hangup().ok());
  }
}

// Test the media modes: generate sends the client's own payloads, off sends
// no RTP but still checks the peer's.
TEST_F(VoiceClientMediaTest, MediaModes) {
  const media_sim::RtpCodec isac = Codec("ISAC", 103);
  for (auto mode : {VoiceClientOptions::MediaMode::kGenerate,
                    VoiceClientOptions::MediaMode::kOff}) {
    const bool off = mode == VoiceClientOptions::MediaMode::kOff;
    SCOPED_TRACE(off ? "off" : "generate");
    inbox_.clear();
    events_.clear();
    peer_media_.reset();
    voice_.reset();
    stream_.reset();
    RunFor(absl::Milliseconds(100));
    VoiceClientOptions options = Options();
    options.media_mode = mode;
    ASSERT_NO_FATAL_FAILURE(
        StartIncomingCall(options, Offer2005(), isac, isac));
    ASSERT_TRUE(RunUntil([&] {
      std::optional<CallMediaStats> stats = voice_->media_stats(sid_);
      return stats.has_value() && stats->received.packets >= 20;
    }));
    std::optional<CallMediaStats> stats = voice_->media_stats(sid_);
    if (off) {
      EXPECT_EQ(peer_media_->received().packets, 0u);
      EXPECT_EQ(stats->packets_sent, 0u);
      EXPECT_FALSE(stats->sending);
    } else {
      EXPECT_GT(peer_media_->received().packets, 10u);
      EXPECT_EQ(peer_media_->echoes(), 0u);
      EXPECT_EQ(stats->echoed, 0u);
    }
    ASSERT_TRUE(voice_->Hangup().ok());
  }
}

}  // namespace
}  // namespace talkcheck::reference_client::voice_test

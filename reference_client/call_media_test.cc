#include "reference_client/call_media.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/clock.h"
#include "base/virtual_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media_sim/rtp.h"

namespace talkcheck::reference_client {
namespace {

media_sim::RtpCodec Pcmu() { return *media_sim::CodecByName("PCMU", 0); }
media_sim::RtpCodec Isac() { return *media_sim::CodecByName("ISAC", 103); }

class CallMediaTest : public ::testing::Test {
 protected:
  // A CallMedia sending PCMU and expecting ISAC; what it sends lands in
  // `wire_` (unless `refuse_` says the transport is not writable).
  std::unique_ptr<CallMedia> Make(CallMediaOptions options = {}) {
    return std::make_unique<CallMedia>(
        clock_, bitgen_, Pcmu(), Isac(), options,
        [this](absl::string_view packet) {
          if (refuse_ > 0) {
            --refuse_;
            return false;
          }
          absl::StatusOr<media_sim::RtpPacket> parsed =
              media_sim::ParseRtpPacket(packet);
          EXPECT_TRUE(parsed.ok()) << parsed.status();
          if (parsed.ok()) wire_.push_back(*parsed);
          wire_times_.push_back(clock_.Now());
          return true;
        });
  }

  // Everything sent so far, as the peer's receiver checks it.
  media_sim::RtpStats PeerView() const {
    media_sim::RtpReceiver receiver(Pcmu());
    for (size_t i = 0; i < wire_.size(); ++i) {
      receiver.OnPacket(wire_[i].Serialize(), wire_times_[i]);
    }
    return receiver.stats();
  }

  // A packet of the peer's ISAC stream.
  static std::string PeerPacket(const std::string& payload,
                                uint16_t sequence = 7) {
    media_sim::RtpPacket packet;
    packet.payload_type = 103;
    packet.sequence = sequence;
    packet.timestamp = 480u * sequence;
    packet.ssrc = 0xABCD;
    packet.payload = payload;
    return packet.Serialize();
  }

  VirtualClock clock_;
  std::mt19937 bitgen_{42};
  std::vector<media_sim::RtpPacket> wire_;
  std::vector<absl::Duration> wire_times_;
  int refuse_ = 0;
};

// Test that the stream is paced one packet per frame with a stable SSRC,
// consecutive sequence numbers, timestamps a frame apart and the marker only
// on the first packet.
TEST_F(CallMediaTest, PacesOnePacketPerFrame) {
  std::unique_ptr<CallMedia> media = Make();
  clock_.AdvanceBy(absl::Seconds(1));
  EXPECT_TRUE(wire_.empty());  // nothing before SetSending(true)

  media->SetSending(true);
  EXPECT_TRUE(wire_.empty());  // never synchronously
  clock_.AdvanceBy(absl::Seconds(1));
  ASSERT_EQ(wire_.size(), 51u);  // at 0, 20, ..., 1000 ms
  for (size_t i = 0; i < wire_.size(); ++i) {
    EXPECT_EQ(wire_[i].payload_type, 0);
    EXPECT_EQ(wire_[i].ssrc, wire_[0].ssrc);
    EXPECT_EQ(wire_[i].marker, i == 0);
    EXPECT_EQ(wire_[i].payload.size(), 160u);
    EXPECT_EQ(wire_times_[i], absl::Seconds(1) + absl::Milliseconds(20) * i);
    if (i == 0) continue;
    EXPECT_EQ(wire_[i].sequence,
              static_cast<uint16_t>(wire_[i - 1].sequence + 1));
    EXPECT_EQ(wire_[i].timestamp, wire_[i - 1].timestamp + 160);
    EXPECT_NE(wire_[i].payload, wire_[i - 1].payload);
  }
  const media_sim::RtpStats peer = PeerView();
  EXPECT_EQ(peer.lost, 0u);
  EXPECT_EQ(peer.stalled_timestamps, 0u);
  EXPECT_EQ(peer.partial_frame_steps, 0u);
  EXPECT_EQ(peer.wrong_payload_type, 0u);
  EXPECT_DOUBLE_EQ(peer.packets_per_second(), 50.0);

  const CallMediaStats stats = media->stats();
  EXPECT_EQ(stats.packets_sent, 51u);
  EXPECT_EQ(stats.send_codec.name, "PCMU");
  EXPECT_EQ(stats.receive_codec.name, "ISAC");
  EXPECT_EQ(stats.sent_payload_type, 0);
  EXPECT_EQ(stats.ssrc, wire_[0].ssrc);
  EXPECT_TRUE(stats.sending);
}

// Test that each packet carries the newest received payload once there is
// one, under the client's own header.
TEST_F(CallMediaTest, EchoesNewestPayload) {
  std::unique_ptr<CallMedia> media = Make();
  media->SetSending(true);
  clock_.AdvanceBy(absl::Milliseconds(10));
  ASSERT_EQ(wire_.size(), 1u);
  EXPECT_EQ(wire_[0].payload.size(), 160u);  // the pattern, for now

  media->OnPacket(PeerPacket("stamp-1", 1));
  media->OnPacket(PeerPacket("stamp-2", 2));
  clock_.AdvanceBy(absl::Milliseconds(20));
  ASSERT_EQ(wire_.size(), 2u);
  EXPECT_EQ(wire_[1].payload, "stamp-2");
  EXPECT_EQ(wire_[1].payload_type, 0);
  EXPECT_NE(wire_[1].ssrc, 0xABCDu);
  EXPECT_EQ(wire_[1].ssrc, wire_[0].ssrc);
  EXPECT_EQ(wire_[1].sequence, static_cast<uint16_t>(wire_[0].sequence + 1));

  // Malformed input is not echoed; the newest good payload stays.
  media->OnPacket("junk");
  clock_.AdvanceBy(absl::Milliseconds(20));
  ASSERT_EQ(wire_.size(), 3u);
  EXPECT_EQ(wire_[2].payload, "stamp-2");
  EXPECT_EQ(media->stats().echoed, 2u);
}

// Test that without echo the payload is always the client's own pattern.
TEST_F(CallMediaTest, GenerateNeverEchoes) {
  CallMediaOptions options;
  options.echo = false;
  std::unique_ptr<CallMedia> media = Make(options);
  media->OnPacket(PeerPacket("stamp"));
  media->SetSending(true);
  clock_.AdvanceBy(absl::Milliseconds(100));
  ASSERT_FALSE(wire_.empty());
  for (const media_sim::RtpPacket& packet : wire_) {
    EXPECT_EQ(packet.payload.size(), 160u);
    EXPECT_NE(packet.payload, "stamp");
  }
  EXPECT_EQ(media->stats().echoed, 0u);
}

// Test that the peer's stream is checked against the expected codec.
TEST_F(CallMediaTest, ChecksPeerStream) {
  std::unique_ptr<CallMedia> media = Make();
  media_sim::RtpSender sender(Isac(), 0x1234, 100, 1000);
  for (int i = 0; i < 5; ++i) {
    media->OnPacket(sender.Next().Serialize());
    clock_.AdvanceBy(absl::Milliseconds(30));
  }
  media_sim::RtpPacket pcmu = sender.Next();
  pcmu.payload_type = 0;
  media->OnPacket(pcmu.Serialize());
  media->OnPacket("x");
  const media_sim::RtpStats& received = media->stats().received;
  EXPECT_EQ(received.packets, 6u);
  EXPECT_EQ(received.wrong_payload_type, 1u);
  EXPECT_EQ(received.malformed, 1u);
  EXPECT_EQ(received.lost, 0u);
  EXPECT_EQ(received.stalled_timestamps, 0u);
  EXPECT_EQ(received.partial_frame_steps, 0u);
  EXPECT_TRUE(wire_.empty());  // receiving alone sends nothing
}

// Test that a pause stops the stream, and that after it the sequence goes on,
// the timestamp jumps by whole frames and the marker starts a talkspurt.
TEST_F(CallMediaTest, PausesAndResumes) {
  std::unique_ptr<CallMedia> media = Make();
  media->SetSending(true);
  clock_.AdvanceBy(absl::Milliseconds(90));  // 0, 20, 40, 60, 80
  ASSERT_EQ(wire_.size(), 5u);
  media->SetSending(false);
  EXPECT_FALSE(media->stats().sending);
  EXPECT_EQ(clock_.pending_count(), 0u);
  clock_.AdvanceBy(absl::Milliseconds(205));  // now 295 ms
  EXPECT_EQ(wire_.size(), 5u);

  media->SetSending(true);
  media->SetSending(true);                   // idempotent
  clock_.AdvanceBy(absl::Milliseconds(50));  // the next boundary is 300 ms
  ASSERT_EQ(wire_.size(), 8u);               // 300, 320, 340
  EXPECT_EQ(wire_times_[5], absl::Milliseconds(300));
  EXPECT_TRUE(wire_[5].marker);
  EXPECT_FALSE(wire_[6].marker);
  EXPECT_EQ(wire_[5].sequence, static_cast<uint16_t>(wire_[4].sequence + 1));
  EXPECT_EQ(wire_[5].timestamp, wire_[4].timestamp + 160 * 11);  // 80 -> 300
  const media_sim::RtpStats peer = PeerView();
  EXPECT_EQ(peer.lost, 0u);
  EXPECT_EQ(peer.stalled_timestamps, 0u);
  EXPECT_EQ(peer.partial_frame_steps, 0u);
}

// Test that a packet the transport refuses uses up no sequence number, and
// that the first one it takes carries the marker.
TEST_F(CallMediaTest, RefusedPacketsUseNoSequenceNumber) {
  std::unique_ptr<CallMedia> media = Make();
  refuse_ = 3;
  media->SetSending(true);
  clock_.AdvanceBy(absl::Milliseconds(100));  // 0..100: 3 refused, 3 sent
  ASSERT_EQ(wire_.size(), 3u);
  EXPECT_TRUE(wire_[0].marker);
  EXPECT_EQ(wire_[1].sequence, static_cast<uint16_t>(wire_[0].sequence + 1));
  EXPECT_EQ(wire_[1].timestamp, wire_[0].timestamp + 160);
  EXPECT_EQ(media->stats().send_refused, 3u);
  EXPECT_EQ(media->stats().packets_sent, 3u);
  EXPECT_EQ(PeerView().lost, 0u);
}

// Test the payload type override of the wrong-payload-type fault.
TEST_F(CallMediaTest, SendsWithOverriddenPayloadType) {
  CallMediaOptions options;
  options.payload_type = 127;
  std::unique_ptr<CallMedia> media = Make(options);
  media->SetSending(true);
  clock_.AdvanceBy(absl::Milliseconds(100));
  ASSERT_EQ(wire_.size(), 6u);
  for (const media_sim::RtpPacket& packet : wire_) {
    EXPECT_EQ(packet.payload_type, 127);
  }
  EXPECT_EQ(media->stats().sent_payload_type, 127);
  EXPECT_EQ(PeerView().wrong_payload_type, 6u);
}

// Test that the SSRC changes once after the set number of packets, sequence
// and timestamp carrying on.
TEST_F(CallMediaTest, ChangesSsrcOnceAfterCount) {
  CallMediaOptions options;
  options.ssrc_change_after = 50;
  std::unique_ptr<CallMedia> media = Make(options);
  media->SetSending(true);
  clock_.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(wire_.size(), 151u);
  for (size_t i = 1; i < wire_.size(); ++i) {
    EXPECT_EQ(wire_[i].sequence,
              static_cast<uint16_t>(wire_[i - 1].sequence + 1));
    EXPECT_EQ(wire_[i].timestamp, wire_[i - 1].timestamp + 160);
    EXPECT_EQ(wire_[i].ssrc == wire_[0].ssrc, i < 50) << i;
  }
  EXPECT_EQ(wire_[150].ssrc, wire_[50].ssrc);
  EXPECT_EQ(media->stats().ssrc, wire_[50].ssrc);
  const media_sim::RtpStats peer = PeerView();
  EXPECT_EQ(peer.ssrc_changes, 1u);
  EXPECT_EQ(peer.lost, 0u);
}

// Test that destroying a sending CallMedia leaves no timer behind.
TEST_F(CallMediaTest, DestroyCancelsTimer) {
  std::unique_ptr<CallMedia> media = Make();
  media->SetSending(true);
  clock_.AdvanceBy(absl::Milliseconds(30));
  EXPECT_EQ(clock_.pending_count(), 1u);
  media.reset();
  EXPECT_EQ(clock_.pending_count(), 0u);
  const size_t sent = wire_.size();
  clock_.AdvanceBy(absl::Seconds(1));
  EXPECT_EQ(wire_.size(), sent);
}

// A clock whose timers run `late` after their deadlines, as on a loaded
// machine: the virtual clock runs them, Now() says when they really ran.
class LateClock : public Clock {
 public:
  explicit LateClock(VirtualClock& clock) : clock_(clock) {}
  absl::Duration Now() const override { return clock_.Now() + late; }
  std::unique_ptr<Timer> CallAfter(
      absl::Duration delay, absl::AnyInvocable<void()> callback) override {
    return clock_.CallAfter(delay, std::move(callback));
  }
  absl::Duration late;

 private:
  VirtualClock& clock_;
};

// Test that a late tick skips the frames it missed (the timestamp jumps to
// the frame of when it ran, the sequence number does not) and the ticks after
// it are back on the frame grid.
TEST(CallMediaLateTickTest, SkipsMissedFramesAndRejoinsTheGrid) {
  VirtualClock virtual_clock;
  LateClock clock(virtual_clock);
  std::mt19937 bitgen(42);
  std::vector<media_sim::RtpPacket> sent;
  std::vector<absl::Duration> times;
  CallMedia media(clock, bitgen, Pcmu(), Isac(), {},
                  [&](absl::string_view packet) {
                    sent.push_back(*media_sim::ParseRtpPacket(packet));
                    times.push_back(clock.Now());
                    return true;
                  });
  media.SetSending(true);
  virtual_clock.AdvanceBy(absl::Milliseconds(10));  // frame 0 at 0 ms
  // The 20 ms tick runs at 65 ms: frame 3. The next is due at 80 ms (frame
  // 4), 15 ms later, then every 20 ms.
  clock.late = absl::Milliseconds(45);
  virtual_clock.AdvanceBy(absl::Milliseconds(50));
  ASSERT_EQ(sent.size(), 4u);
  const std::vector<absl::Duration> expected_times = {
      absl::ZeroDuration(), absl::Milliseconds(65), absl::Milliseconds(80),
      absl::Milliseconds(100)};
  EXPECT_EQ(times, expected_times);
  const uint32_t frames[] = {0, 3, 4, 5};
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].timestamp - sent[0].timestamp, frames[i] * 160) << i;
    EXPECT_EQ(static_cast<uint16_t>(sent[i].sequence - sent[0].sequence), i);
  }
}

}  // namespace
}  // namespace talkcheck::reference_client

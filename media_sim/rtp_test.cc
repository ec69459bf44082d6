#include "media_sim/rtp.h"

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::media_sim {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kSsrc = 0x11223344;
constexpr absl::Duration kFrame = absl::Milliseconds(20);

std::string Bytes(absl::string_view hex) { return absl::HexStringToBytes(hex); }

RtpCodec Pcmu() { return *CodecByName("PCMU", 0); }

// A PCMU packet for the unwrapped sequence number `number` (sent as its low 16
// bits) whose timestamp steps 160 per number.
std::string PcmuPacket(int64_t number, uint32_t ssrc = kSsrc) {
  RtpPacket packet;
  packet.sequence = static_cast<uint16_t>(number);
  packet.timestamp = static_cast<uint32_t>(1000 + 160 * number);
  packet.ssrc = ssrc;
  packet.payload.assign(160, '\xFF');
  return packet.Serialize();
}

// Its arrival time when the stream is perfectly paced.
absl::Duration On(int index) { return kFrame * index; }

void ExpectInvalid(absl::string_view data, absl::string_view reason) {
  const absl::StatusOr<RtpPacket> parsed = ParseRtpPacket(data);
  ASSERT_FALSE(parsed.ok()) << absl::BytesToHexString(data);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr(reason));
}

// Test that Serialize writes the RFC 3550 5.1 layout bit for bit.
TEST(RtpPacketTest, SerializesFixedHeaderAndCsrcs) {
  RtpPacket packet;
  packet.payload_type = 8;
  packet.marker = true;
  packet.sequence = 0xABCD;
  packet.timestamp = 0x01020304;
  packet.ssrc = 0xDEADBEEF;
  packet.csrcs = {0x0A0B0C0D, 0x01010101};
  packet.payload = "xyz";
  EXPECT_EQ(absl::BytesToHexString(packet.Serialize()),
            "8288abcd01020304deadbeef0a0b0c0d01010101"
            "78797a");
}

// Test that every field survives serialize then parse.
TEST(RtpPacketTest, RoundTrips) {
  RtpPacket packet;
  packet.payload_type = 127;
  packet.marker = true;
  packet.sequence = 65535;
  packet.timestamp = 0xFFFFFFFF;
  packet.ssrc = 1;
  for (uint32_t i = 0; i < 15; ++i) packet.csrcs.push_back(i * 0x01010101);
  packet.payload = std::string("\0\x80\xFF", 3);
  const absl::StatusOr<RtpPacket> parsed = ParseRtpPacket(packet.Serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->payload_type, 127);
  EXPECT_TRUE(parsed->marker);
  EXPECT_EQ(parsed->sequence, 65535);
  EXPECT_EQ(parsed->timestamp, 0xFFFFFFFF);
  EXPECT_EQ(parsed->ssrc, 1u);
  EXPECT_EQ(parsed->csrcs, packet.csrcs);
  EXPECT_EQ(parsed->payload, packet.payload);
  EXPECT_EQ(parsed->Serialize(), packet.Serialize());
}

// Test that a header-only packet parses with an empty payload.
TEST(RtpPacketTest, ParsesEmptyPayload) {
  const absl::StatusOr<RtpPacket> parsed =
      ParseRtpPacket(Bytes("80000001000000a000000001"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->sequence, 1);
  EXPECT_EQ(parsed->timestamp, 160u);
  EXPECT_TRUE(parsed->payload.empty());
}

// Test that the header extension and the padding are skipped, not payload.
TEST(RtpPacketTest, SkipsExtensionAndPadding) {
  // V=2 P=1 X=1 CC=1; extension profile 0xBEDE with 2 words; payload "ab"; 3
  // bytes of padding (the last one holds the count).
  const std::string data = Bytes(
      "b100000700000140cafebabe"
      "00000042"
      "bede0002aaaaaaaabbbbbbbb"
      "6162"
      "000003");
  const absl::StatusOr<RtpPacket> parsed = ParseRtpPacket(data);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->sequence, 7);
  EXPECT_EQ(parsed->ssrc, 0xCAFEBABE);
  EXPECT_EQ(parsed->csrcs, std::vector<uint32_t>{0x42});
  EXPECT_EQ(parsed->payload, "ab");
}

// Test that padding may take every byte after the header.
TEST(RtpPacketTest, AcceptsPaddingFillingThePayload) {
  const absl::StatusOr<RtpPacket> parsed =
      ParseRtpPacket(Bytes("a00000010000000000000001000004"));
  // 12-byte header + 3 bytes; count 4 is one too many. With count 3 it fits.
  EXPECT_FALSE(parsed.ok());
  const absl::StatusOr<RtpPacket> fits =
      ParseRtpPacket(Bytes("a00000010000000000000001000003"));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_TRUE(fits->payload.empty());
}

// Test each malformed case and its reason.
TEST(RtpPacketTest, RejectsShorterThanFixedHeader) {
  ExpectInvalid("", "0 bytes is shorter than the 12-byte fixed header");
  ExpectInvalid(Bytes("8000000100000000000000"),
                "11 bytes is shorter than the 12-byte fixed header");
}

TEST(RtpPacketTest, RejectsVersionOtherThanTwo) {
  ExpectInvalid(Bytes("000000010000000000000001"), "RTP version 0, expected 2");
  ExpectInvalid(Bytes("400000010000000000000001"), "RTP version 1, expected 2");
  ExpectInvalid(Bytes("c00000010000000000000001"), "RTP version 3, expected 2");
}

TEST(RtpPacketTest, RejectsCsrcListPastTheEnd) {
  // CC=2 needs 20 bytes; 16 present.
  ExpectInvalid(Bytes("82000001000000000000000100000001"),
                "CSRC list of 2 entries ends at byte 20, past the 16-byte");
  ExpectInvalid(Bytes("8f0000010000000000000001"),
                "CSRC list of 15 entries ends at byte 72");
}

TEST(RtpPacketTest, RejectsExtensionPastTheEnd) {
  // X=1 with only 2 of the 4 extension header bytes.
  ExpectInvalid(Bytes("9000000100000000000000010102"),
                "header extension header at byte 12 ends past the 14-byte");
  // Length 3 words (12 bytes) with 4 present.
  ExpectInvalid(
      Bytes("900000010000000000000001bede000311112222"),
      "header extension of 3 words ends at byte 28, past the 20-byte");
  // After a CSRC.
  ExpectInvalid(Bytes("91000001000000000000000100000009bede"),
                "header extension header at byte 16 ends past the 18-byte");
}

TEST(RtpPacketTest, RejectsBadPadding) {
  ExpectInvalid(Bytes("a0000001000000000000000100"),
                "padding bit set but the padding count is 0");
  ExpectInvalid(
      Bytes("a000000100000000000000016105"),
      "padding of 5 bytes is longer than the 2 bytes after the header");
  // The count may not reach back into an extension either.
  ExpectInvalid(Bytes("b00000010000000000000001bede000011110009"),
                "padding of 9 bytes is longer than the 4 bytes");
}

// Test the codec table against RFC 3551 and libjingle's frames.
TEST(RtpCodecTest, NarrowbandCodecs) {
  for (const auto& [name, pt] : {std::pair<const char*, int>{"PCMU", 0},
                                 {"PCMA", 8},
                                 {"EG711U", 100},
                                 {"EG711A", 101}}) {
    const absl::StatusOr<RtpCodec> codec = CodecByName(name, pt);
    ASSERT_TRUE(codec.ok()) << name << ": " << codec.status();
    EXPECT_EQ(codec->name, name);
    EXPECT_EQ(codec->payload_type, pt);
    EXPECT_EQ(codec->clock_rate, 8000);
    EXPECT_EQ(codec->frame, absl::Milliseconds(20));
    EXPECT_EQ(codec->payload_bytes, 160);
    EXPECT_EQ(codec->timestamp_step(), 160u);
  }
  const absl::StatusOr<RtpCodec> ilbc = CodecByName("iLBC", 102);
  ASSERT_TRUE(ilbc.ok());
  EXPECT_EQ(ilbc->clock_rate, 8000);
  EXPECT_EQ(ilbc->frame, absl::Milliseconds(30));
  EXPECT_EQ(ilbc->payload_bytes, 50);
  EXPECT_EQ(ilbc->timestamp_step(), 240u);
  const absl::StatusOr<RtpCodec> cn = CodecByName("CN", 13);
  ASSERT_TRUE(cn.ok());
  EXPECT_EQ(cn->clock_rate, 8000);
}

// Test that G722's RTP clock is 8000 though it samples at 16 kHz (RFC
// 3551 4.5.2).
TEST(RtpCodecTest, G722CountsAtEightKilohertz) {
  for (int announced : {0, 16000, 8000}) {
    const absl::StatusOr<RtpCodec> codec = CodecByName("G722", 9, announced);
    ASSERT_TRUE(codec.ok()) << announced;
    EXPECT_EQ(codec->clock_rate, 8000);
    EXPECT_EQ(codec->timestamp_step(), 160u);
    EXPECT_EQ(codec->payload_bytes, 160);
  }
}

// Test that the payload type or the clockrate picks between a name's rates.
TEST(RtpCodecTest, WidebandAndMultiRateCodecs) {
  const absl::StatusOr<RtpCodec> isac = CodecByName("ISAC", 103);
  ASSERT_TRUE(isac.ok());
  EXPECT_EQ(isac->clock_rate, 16000);
  EXPECT_EQ(isac->frame, absl::Milliseconds(30));
  EXPECT_EQ(isac->payload_bytes, 60);
  EXPECT_EQ(isac->timestamp_step(), 480u);
  EXPECT_EQ(CodecByName("ISAC", 104)->clock_rate, 32000);
  EXPECT_EQ(CodecByName("ISAC", 110, 32000)->clock_rate, 32000);
  EXPECT_EQ(CodecByName("speex", 99)->clock_rate, 16000);
  EXPECT_EQ(CodecByName("speex", 99)->timestamp_step(), 320u);
  EXPECT_EQ(CodecByName("speex", 98)->clock_rate, 8000);
  EXPECT_EQ(CodecByName("speex", 98)->timestamp_step(), 160u);
  EXPECT_EQ(CodecByName("speex", 120, 8000)->clock_rate, 8000);
  EXPECT_EQ(CodecByName("speex", 120)->clock_rate, 16000);
  EXPECT_EQ(CodecByName("CN", 105)->clock_rate, 16000);
  EXPECT_EQ(CodecByName("CN", 126)->clock_rate, 32000);
  EXPECT_EQ(CodecByName("IPCMWB", 97)->clock_rate, 16000);
  EXPECT_EQ(CodecByName("IPCMWB", 97)->timestamp_step(), 320u);
}

// Test that names match in any case and come back in Google's spelling, and
// that static types are found without a name.
TEST(RtpCodecTest, LooksUpCaseInsensitivelyAndByStaticType) {
  EXPECT_EQ(CodecByName("pcmu", 0)->name, "PCMU");
  EXPECT_EQ(CodecByName("ILBC", 102)->name, "iLBC");
  EXPECT_EQ(CodecByName("SPEEX", 99)->name, "speex");
  EXPECT_EQ(CodecByName("", 8)->name, "PCMA");
  EXPECT_EQ(CodecByName("", 9)->name, "G722");
  EXPECT_EQ(CodecByName("", 13)->name, "CN");
}

TEST(RtpCodecTest, RejectsUnknownCodecs) {
  EXPECT_EQ(CodecByName("opus", 111).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(CodecByName("", 96).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CodecByName("PCMU", 0, 16000).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(CodecByName("PCMU", 128).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodecByName("PCMU", -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Test that the sender steps sequence and timestamp per frame and wraps both.
TEST(RtpSenderTest, StepsAndWraps) {
  RtpSender sender(Pcmu(), kSsrc, 65534, 0xFFFFFF00);
  const RtpPacket a = sender.Next();
  const RtpPacket b = sender.Next();
  const RtpPacket c = sender.Next();
  EXPECT_EQ(a.sequence, 65534);
  EXPECT_EQ(b.sequence, 65535);
  EXPECT_EQ(c.sequence, 0);
  EXPECT_EQ(a.timestamp, 0xFFFFFF00u);
  EXPECT_EQ(b.timestamp, 0xFFFFFFA0u);
  EXPECT_EQ(c.timestamp, 0x40u);
  EXPECT_TRUE(a.marker);
  EXPECT_FALSE(b.marker);
  for (const RtpPacket& p : {a, b, c}) {
    EXPECT_EQ(p.ssrc, kSsrc);
    EXPECT_EQ(p.payload_type, 0);
    EXPECT_EQ(p.payload.size(), 160u);
  }
  EXPECT_NE(a.payload, b.payload);
  EXPECT_EQ(sender.codec().name, "PCMU");
}

// The payload is a ramp of bytes from count * 31 (mod 256), so that an echo
// names its packet: checked across the 256-byte wrap, for a codec whose
// payload is longer than 256 bytes too.
TEST(RtpSenderTest, PayloadIsARampFromThePacketCount) {
  RtpCodec big = Pcmu();
  big.payload_bytes = 700;
  for (const RtpCodec& codec : {Pcmu(), big}) {
    RtpSender sender(codec, kSsrc, 0, 0);
    for (uint64_t count = 0; count < 20; ++count) {
      const RtpPacket packet = sender.Next();
      ASSERT_EQ(packet.payload.size(),
                static_cast<size_t>(codec.payload_bytes));
      for (size_t i = 0; i < packet.payload.size(); ++i) {
        ASSERT_EQ(static_cast<uint8_t>(packet.payload[i]),
                  (count * 31 + i) & 0xFF)
            << "packet " << count << " byte " << i;
      }
    }
  }
}

class RtpReceiverTest : public ::testing::Test {
 protected:
  // Feeds unwrapped sequence numbers in order of arrival, 20 ms apart.
  void Feed(const std::vector<int64_t>& numbers) {
    for (int64_t number : numbers) {
      ASSERT_TRUE(receiver_.OnPacket(PcmuPacket(number), On(arrivals_++)));
    }
  }

  RtpReceiver receiver_{Pcmu()};
  int arrivals_ = 0;
};

// Test that a perfectly paced 100-packet stream has no findings.
TEST_F(RtpReceiverTest, CleanStream) {
  RtpSender sender(Pcmu(), kSsrc, 1234, 5678);
  for (int i = 0; i < 100; ++i) {
    const RtpPacket* echoed =
        receiver_.OnPacket(sender.Next().Serialize(), On(i));
    ASSERT_NE(echoed, nullptr);
    EXPECT_EQ(echoed->sequence, 1234 + i);
  }
  const RtpStats& stats = receiver_.stats();
  EXPECT_EQ(stats.packets, 100u);
  EXPECT_EQ(stats.bytes, 16000u);
  EXPECT_EQ(stats.malformed, 0u);
  EXPECT_EQ(stats.wrong_payload_type, 0u);
  EXPECT_EQ(stats.ssrc_changes, 0u);
  EXPECT_EQ(stats.lost, 0u);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.reordered, 0u);
  EXPECT_EQ(stats.stalled_timestamps, 0u);
  EXPECT_EQ(stats.partial_frame_steps, 0u);
  EXPECT_NEAR(stats.jitter_ms, 0, 1e-9);
  EXPECT_NEAR(stats.packets_per_second(), 50, 1e-9);
  EXPECT_EQ(stats.first_arrival, absl::ZeroDuration());
  EXPECT_EQ(stats.last_arrival, absl::Milliseconds(1980));
  EXPECT_EQ(stats.loss_percent(), 0);
}

// Test that skipped numbers count as lost.
TEST_F(RtpReceiverTest, CountsGapsAsLoss) {
  Feed({10, 11, 15, 16, 18});
  EXPECT_EQ(receiver_.stats().lost, 4u);  // 12, 13, 14, 17
  EXPECT_EQ(receiver_.stats().packets, 5u);
  EXPECT_DOUBLE_EQ(receiver_.stats().loss_percent(), 100.0 * 4 / 9);
  EXPECT_EQ(receiver_.stats().reordered, 0u);
  EXPECT_EQ(receiver_.stats().stalled_timestamps, 0u);
  EXPECT_EQ(receiver_.stats().partial_frame_steps, 0u);
}

// Test that a late packet filling a gap is reordered, not lost.
TEST_F(RtpReceiverTest, LatePacketRemovesLoss) {
  Feed({1, 2, 4, 5, 3});
  EXPECT_EQ(receiver_.stats().lost, 0u);
  EXPECT_EQ(receiver_.stats().reordered, 1u);
  EXPECT_EQ(receiver_.stats().duplicates, 0u);
  Feed({3});
  EXPECT_EQ(receiver_.stats().duplicates, 1u);
  EXPECT_EQ(receiver_.stats().reordered, 1u);
}

// Test that a packet older than the first one widens the stream.
TEST_F(RtpReceiverTest, PacketBeforeTheFirst) {
  Feed({100, 101, 98});
  EXPECT_EQ(receiver_.stats().reordered, 1u);
  EXPECT_EQ(receiver_.stats().lost, 1u);  // 99
  Feed({99, 98});
  EXPECT_EQ(receiver_.stats().lost, 0u);
  EXPECT_EQ(receiver_.stats().reordered, 2u);
  EXPECT_EQ(receiver_.stats().duplicates, 1u);
}

// Test that duplicates count once each and do not inflate the loss ratio.
TEST_F(RtpReceiverTest, CountsDuplicates) {
  Feed({7, 7, 8, 9, 9, 9, 11});
  EXPECT_EQ(receiver_.stats().duplicates, 3u);
  EXPECT_EQ(receiver_.stats().lost, 1u);
  EXPECT_EQ(receiver_.stats().packets, 7u);
  EXPECT_DOUBLE_EQ(receiver_.stats().loss_percent(), 20.0);  // 1 of 5
}

// Test that the sequence number wraps at 65535 without loss.
TEST_F(RtpReceiverTest, WrapsAroundWithoutLoss) {
  std::vector<int64_t> numbers;
  for (int i = 0; i < 20; ++i) numbers.push_back(65525 + i);  // 65525 .. 8
  Feed(numbers);
  EXPECT_EQ(receiver_.stats().lost, 0u);
  EXPECT_EQ(receiver_.stats().reordered, 0u);
  EXPECT_EQ(receiver_.stats().duplicates, 0u);
  EXPECT_EQ(receiver_.stats().stalled_timestamps, 0u);
  EXPECT_EQ(receiver_.stats().partial_frame_steps, 0u);
}

// Test loss and a late arrival across the wrap.
TEST_F(RtpReceiverTest, LossAndReorderAcrossTheWrap) {
  Feed({65533, 65534, 65537, 65538});
  EXPECT_EQ(receiver_.stats().lost, 2u);  // 65535, 0
  Feed({65535});
  EXPECT_EQ(receiver_.stats().lost, 1u);
  EXPECT_EQ(receiver_.stats().reordered, 1u);
  Feed({65536, 65539});
  EXPECT_EQ(receiver_.stats().lost, 0u);
  EXPECT_EQ(receiver_.stats().reordered, 2u);
}

// Test many wraps of a long stream (extended sequence numbers) with the
// sender's own timestamps.
TEST_F(RtpReceiverTest, LongStreamWrapsManyTimes) {
  RtpSender sender(Pcmu(), kSsrc, 65000, 0xFFFF0000);
  for (int i = 0; i < 200000; ++i) {
    const RtpPacket packet = sender.Next();
    if (i % 1000 == 500) continue;  // one in a thousand lost
    receiver_.OnPacket(packet.Serialize(), On(i));
  }
  EXPECT_EQ(receiver_.stats().lost, 200u);
  EXPECT_EQ(receiver_.stats().stalled_timestamps, 0u);
  EXPECT_EQ(receiver_.stats().partial_frame_steps, 0u);
  EXPECT_EQ(receiver_.stats().reordered, 0u);
  EXPECT_NEAR(receiver_.stats().jitter_ms, 0, 1e-6);
}

// Test that a new SSRC is counted and re-syncs: its numbers are no gap.
TEST_F(RtpReceiverTest, SsrcChangeResyncs) {
  Feed({1, 2, 3});
  ASSERT_TRUE(receiver_.OnPacket(PcmuPacket(40000, 0x55), On(arrivals_++)));
  ASSERT_TRUE(receiver_.OnPacket(PcmuPacket(40001, 0x55), On(arrivals_++)));
  ASSERT_TRUE(receiver_.OnPacket(PcmuPacket(40003, 0x55), On(arrivals_++)));
  const RtpStats& stats = receiver_.stats();
  EXPECT_EQ(stats.ssrc_changes, 1u);
  EXPECT_EQ(stats.lost, 1u);  // 40002 only
  EXPECT_EQ(stats.packets, 6u);
  EXPECT_EQ(stats.stalled_timestamps, 0u);
  EXPECT_EQ(stats.partial_frame_steps, 0u);
  // The same sequence number under the new SSRC is no duplicate of the old one.
  ASSERT_TRUE(receiver_.OnPacket(PcmuPacket(2, kSsrc), On(arrivals_++)));
  EXPECT_EQ(receiver_.stats().ssrc_changes, 2u);
  EXPECT_EQ(receiver_.stats().duplicates, 0u);
}

// Test that a packet of another payload type is counted, still tracked for
// loss, and exempt from the timestamp check.
TEST_F(RtpReceiverTest, CountsWrongPayloadType) {
  Feed({1, 2});
  RtpPacket cn;
  cn.payload_type = 13;
  cn.sequence = 3;
  cn.timestamp = 12345;  // CN timestamps need not step by frames
  cn.ssrc = kSsrc;
  cn.payload = "\x40";
  const RtpPacket* echoed = receiver_.OnPacket(cn.Serialize(), On(arrivals_++));
  ASSERT_NE(echoed, nullptr);
  EXPECT_EQ(echoed->payload_type, 13);
  Feed({4, 5});
  const RtpStats& stats = receiver_.stats();
  EXPECT_EQ(stats.wrong_payload_type, 1u);
  EXPECT_EQ(stats.lost, 0u);
  EXPECT_EQ(stats.stalled_timestamps, 0u);
  EXPECT_EQ(stats.partial_frame_steps, 0u);
  EXPECT_EQ(stats.bytes, 4 * 160u + 1);
}

// Test timestamp steps: multiples of 160 are fine (gaps, silence); a step by
// part of a frame is counted apart from one that does not advance.
TEST_F(RtpReceiverTest, CountsStalledAndPartialFrameTimestampSteps) {
  RtpPacket packet;
  packet.ssrc = kSsrc;
  packet.payload.assign(160, '\0');
  const std::vector<std::pair<uint16_t, uint32_t>> stream = {
      {1, 0},    {2, 160},  {3, 480},  // silence: 2 frames
      {4, 580},                        // 100: part of a frame
      {6, 900},                        // gap of 2 numbers, 2 frames: fine
      {7, 900},                        // no step: stalled
      {8, 1060}, {9, 1000},            // backwards: stalled
  };
  for (const auto& [sequence, timestamp] : stream) {
    packet.sequence = sequence;
    packet.timestamp = timestamp;
    receiver_.OnPacket(packet.Serialize(), On(arrivals_++));
  }
  EXPECT_EQ(receiver_.stats().stalled_timestamps, 2u);   // 7 and 9
  EXPECT_EQ(receiver_.stats().partial_frame_steps, 1u);  // 4
  EXPECT_EQ(receiver_.stats().lost, 1u);
}

// Test the RFC 3550 A.8 estimate against values computed by hand: ten packets
// 20 ms apart, packet 3 arriving 5 ms late and packet 6 10 ms late. In
// timestamp units (8 per ms) the transit differences D are +40, -40 (packets 3,
// 4) and +80, -80 (6, 7), 0 elsewhere; J += (|D| - J) / 16 gives
//   J3 = 40/16 = 2.5;  J4 = 2.5 + 37.5/16 = 4.84375;  J5 = 4.84375 * 15/16
//   = 4.541015625;  J6 = J5 + (80 - J5)/16 = 9.2572021484375;
//   J7 = J6 + (80 - J6)/16 = 13.678627014160156;  J8 = J7 * 15/16
//   = 12.823712825775146;  J9 = J8 * 15/16 = 12.0222307741642,
// which is 12.0222307741642 / 8 = 1.502778846770525 ms.
TEST_F(RtpReceiverTest, JitterMatchesHandComputedA8) {
  const double expected_units[] = {0,
                                   0,
                                   0,
                                   2.5,
                                   4.84375,
                                   4.541015625,
                                   9.2572021484375,
                                   13.678627014160156,
                                   12.823712825775146,
                                   12.0222307741642};
  for (int i = 0; i < 10; ++i) {
    absl::Duration arrival = On(i);
    if (i == 3) arrival += absl::Milliseconds(5);
    if (i == 6) arrival += absl::Milliseconds(10);
    receiver_.OnPacket(PcmuPacket(i), arrival);
    EXPECT_NEAR(receiver_.stats().jitter_ms, expected_units[i] / 8, 1e-9)
        << "after packet " << i;
  }
  EXPECT_NEAR(receiver_.stats().jitter_ms, 1.502778846770525, 1e-9);
  EXPECT_EQ(receiver_.stats().lost, 0u);
}

// Test that a steady delay (constant transit) is no jitter, whatever its size,
// and that wrapped timestamps do not disturb the estimate.
TEST_F(RtpReceiverTest, ConstantDelayIsNoJitter) {
  RtpSender sender(Pcmu(), kSsrc, 0, 0xFFFFFE00);
  for (int i = 0; i < 50; ++i) {
    receiver_.OnPacket(sender.Next().Serialize(),
                       absl::Seconds(3) + On(i) + absl::Milliseconds(70));
  }
  EXPECT_NEAR(receiver_.stats().jitter_ms, 0, 1e-9);
  EXPECT_EQ(receiver_.stats().stalled_timestamps, 0u);
  EXPECT_EQ(receiver_.stats().partial_frame_steps, 0u);
}

// Test that malformed packets are counted and leave the stream state alone.
TEST_F(RtpReceiverTest, CountsMalformedPackets) {
  Feed({1});
  EXPECT_FALSE(receiver_.OnPacket("", On(arrivals_++)));
  EXPECT_FALSE(receiver_.OnPacket(Bytes("40000002"), On(arrivals_++)));
  EXPECT_FALSE(
      receiver_.OnPacket(PcmuPacket(2).substr(0, 11), On(arrivals_++)));
  Feed({2});
  const RtpStats& stats = receiver_.stats();
  EXPECT_EQ(stats.malformed, 3u);
  EXPECT_EQ(stats.packets, 2u);
  EXPECT_EQ(stats.lost, 0u);
}

// Fuzz: random buffers, every truncation of valid packets and random bit flips
// never crash the parser or the receiver (run under --config=asan), and every
// buffer is either a packet or malformed. Deterministic seed.
TEST(RtpFuzzTest, NeverCrashes) {
  std::mt19937 random(20220623);
  RtpReceiver receiver(Pcmu());
  uint64_t fed = 0;
  auto feed = [&](const std::string& data) {
    const absl::StatusOr<RtpPacket> parsed = ParseRtpPacket(data);
    if (parsed.ok()) {
      // Whatever parses re-serialises without extension and padding, and that
      // parses back to the same packet.
      const absl::StatusOr<RtpPacket> again =
          ParseRtpPacket(parsed->Serialize());
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->payload, parsed->payload);
      EXPECT_EQ(again->csrcs, parsed->csrcs);
    }
    const RtpPacket* received =
        receiver.OnPacket(data, absl::Milliseconds(fed));
    EXPECT_EQ(received != nullptr, parsed.ok());
    // The receiver parses into buffers it reuses: the same packet as a fresh
    // parse, whatever came before.
    if (received != nullptr && parsed.ok()) {
      EXPECT_EQ(received->Serialize(), parsed->Serialize());
      EXPECT_EQ(received->csrcs, parsed->csrcs);
    }
    ++fed;
  };
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 20000; ++i) {
    std::string data(static_cast<size_t>(random() % 80), '\0');
    for (char& c : data) c = static_cast<char>(byte(random));
    // Make half of them version 2, so the deeper checks are reached.
    if (!data.empty() && i % 2 == 0)
      data[0] = static_cast<char>(0x80 | data[0]);
    feed(data);
  }
  RtpPacket packet;
  packet.csrcs = {1, 2, 3};
  packet.payload = "payload";
  std::string valid = packet.Serialize();
  valid[0] = static_cast<char>(valid[0] | 0x30);  // claim extension and padding
  valid.insert(24, Bytes("bede0001abcdabcd"));
  valid += Bytes("000002");
  ASSERT_TRUE(ParseRtpPacket(valid).ok());
  for (size_t length = 0; length <= valid.size(); ++length) {
    feed(valid.substr(0, length));
  }
  for (int i = 0; i < 20000; ++i) {
    std::string data = valid;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t bit = random() % (data.size() * 8);
      data[bit / 8] = static_cast<char>(data[bit / 8] ^ (1 << (bit % 8)));
    }
    feed(data.substr(0, random() % (data.size() + 1)));
  }
  const RtpStats& stats = receiver.stats();
  EXPECT_EQ(stats.packets + stats.malformed, fed);
  EXPECT_GT(stats.malformed, 0u);
  EXPECT_GT(stats.packets, 0u);
}

}  // namespace
}  // namespace talkcheck::media_sim

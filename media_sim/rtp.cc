#include "media_sim/rtp.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "media_sim/byte_order.h"

namespace talkcheck::media_sim {
namespace {

constexpr size_t kFixedHeaderSize = 12;
constexpr int kRtpVersion = 2;
constexpr uint64_t kSequenceModulus = 1 << 16;
constexpr size_t kSeenWords = kSequenceModulus / 64;

// One row of the codec table. `rtp_clock` is what timestamps count in;
// `named_clock` is the rate an offer's `clockrate` attribute names (they differ
// only for G722). `usual_payload_type` is libjingle's id for this row (-1:
// none); static types
// (< 96) are also found by id alone.
struct CodecRow {
  const char* name;
  int usual_payload_type;
  int rtp_clock;
  int named_clock;
  int frame_ms;
  int payload_bytes;
};

// Sources and assumptions:
// - Clock rates and static ids: RFC 3551 table 4 and §4.5; Google's spelling
// and
//   dynamic ids: PROTOCOL.md §2.1 (the 2005 capture and LJ13's
//   kGingleInitiate).
// - G722: RFC 3551 §4.5.2 keeps the RTP clock at 8000 although the audio is
//   sampled at 16 kHz; offers name 16000 (LJ13 "G722 9/16000/64000").
// - Frames: PCMU/PCMA/EG711x 20 ms of 8-bit samples (libjingle's GIPS default);
//   iLBC 30 ms mode, 50 bytes (RFC 3952 §3); G723 30 ms, 24 bytes at 6.3
//   kbit/s; GSM 20 ms, 33 bytes (RFC 3551 §4.5.8); G722 20 ms at 64 kbit/s.
// - Variable-rate codecs get a nominal payload size from the offer's bitrate,
// for
//   the sender's pattern only (the receiver never checks sizes): ISAC 30 ms at
//   16 kbit/s (60 bytes) and 32 kbit/s for the 32 kHz variant; ISACLC 40
//   kbit/s; speex 20 ms at 22 / 11 kbit/s; IPCMWB (GIPS iPCM-wb) 20 ms at 80
//   kbit/s.
// - CN (RFC 3389) is sent irregularly; its 20 ms step and 1-byte noise level
// are
//   nominal.
constexpr CodecRow kCodecs[] = {
    {"PCMU", 0, 8000, 8000, 20, 160},
    {"PCMA", 8, 8000, 8000, 20, 160},
    {"G722", 9, 8000, 16000, 20, 160},
    {"G723", 4, 8000, 8000, 30, 24},
    {"GSM", 3, 8000, 8000, 20, 33},
    {"iLBC", 102, 8000, 8000, 30, 50},
    {"ISAC", 103, 16000, 16000, 30, 60},
    {"ISAC", 104, 32000, 32000, 30, 120},
    {"ISACLC", 119, 16000, 16000, 30, 150},
    {"speex", 99, 16000, 16000, 20, 55},
    {"speex", 98, 8000, 8000, 20, 28},
    {"IPCMWB", 97, 16000, 16000, 20, 200},
    {"EG711U", 100, 8000, 8000, 20, 160},
    {"EG711A", 101, 8000, 8000, 20, 160},
    {"CN", 13, 8000, 8000, 20, 1},
    {"CN", 105, 16000, 16000, 20, 1},
    {"CN", 126, 32000, 32000, 20, 1},
};

RtpCodec FromRow(const CodecRow& row, int payload_type) {
  RtpCodec codec;
  codec.name = row.name;
  codec.payload_type = payload_type;
  codec.clock_rate = row.rtp_clock;
  codec.frame = absl::Milliseconds(row.frame_ms);
  codec.payload_bytes = row.payload_bytes;
  return codec;
}

}  // namespace

uint32_t RtpCodec::timestamp_step() const {
  return static_cast<uint32_t>(static_cast<int64_t>(clock_rate) *
                               absl::ToInt64Microseconds(frame) / 1000000);
}

absl::StatusOr<RtpCodec> CodecByName(absl::string_view name, int payload_type,
                                     int clock_rate) {
  if (payload_type < 0 || payload_type > 127) {
    return absl::InvalidArgumentError(
        absl::StrFormat("payload type %d is outside 0..127", payload_type));
  }
  const CodecRow* first = nullptr;
  const CodecRow* usual = nullptr;
  for (const CodecRow& row : kCodecs) {
    const bool named = name.empty() ? (row.usual_payload_type < 96 &&
                                       row.usual_payload_type == payload_type)
                                    : absl::EqualsIgnoreCase(name, row.name);
    if (!named) continue;
    if (clock_rate > 0 && clock_rate != row.rtp_clock &&
        clock_rate != row.named_clock) {
      continue;
    }
    if (first == nullptr) first = &row;
    if (usual == nullptr && row.usual_payload_type == payload_type) {
      usual = &row;
    }
  }
  const CodecRow* row = usual != nullptr ? usual : first;
  if (row == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "no codec named \"%s\" (payload type %d, clock rate %d)",
        absl::CEscape(name), payload_type, clock_rate));
  }
  return FromRow(*row, payload_type);
}

std::string RtpPacket::Serialize() const {
  std::string out;
  SerializeTo(out);
  return out;
}

void RtpPacket::SerializeTo(std::string& out) const {
  // A caller bug, not input: RTP has 4 bits of CSRC count and 7 of payload
  // type.
  assert(csrcs.size() <= 15);
  assert(payload_type <= 127);
  char header[kFixedHeaderSize + 4 * 15];
  header[0] = static_cast<char>(kRtpVersion << 6 | (csrcs.size() & 0x0F));
  header[1] = static_cast<char>((marker ? 0x80 : 0) | (payload_type & 0x7F));
  StoreU16(header + 2, sequence);
  StoreU32(header + 4, timestamp);
  StoreU32(header + 8, ssrc);
  const size_t header_size = kFixedHeaderSize + 4 * (csrcs.size() & 0x0F);
  for (size_t i = kFixedHeaderSize; i < header_size; i += 4) {
    StoreU32(header + i, csrcs[(i - kFixedHeaderSize) / 4]);
  }
  // Sized once and filled in place: `out` is a reused buffer, so a send of
  // the same size as the last is no library call at all (clear, reserve and
  // two appends were four).
  out.resize(header_size + payload.size());
  std::memcpy(&out[0], header, header_size);
  if (!payload.empty()) {
    std::memcpy(&out[header_size], payload.data(), payload.size());
  }
}

absl::StatusOr<RtpPacket> ParseRtpPacket(absl::string_view data) {
  RtpPacket packet;
  if (absl::Status status = ParseRtpPacketInto(data, packet); !status.ok())
    return status;
  return packet;
}

absl::Status ParseRtpPacketInto(absl::string_view data, RtpPacket& packet) {
  if (data.size() < kFixedHeaderSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RTP packet of %d bytes is shorter than the 12-byte fixed header",
        data.size()));
  }
  const uint8_t first = static_cast<uint8_t>(data[0]);
  const int version = first >> 6;
  if (version != kRtpVersion) {
    return absl::InvalidArgumentError(
        absl::StrFormat("RTP version %d, expected 2", version));
  }
  const bool padding = (first & 0x20) != 0;
  const bool extension = (first & 0x10) != 0;
  const size_t csrc_count = first & 0x0F;
  size_t header = kFixedHeaderSize + 4 * csrc_count;
  if (header > data.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RTP CSRC list of %d entries ends at byte %d, past the %d-byte packet",
        csrc_count, header, data.size()));
  }
  if (extension) {
    if (header + 4 > data.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "RTP header extension header at byte %d ends past the %d-byte packet",
          header, data.size()));
    }
    const size_t words = ReadU16(data, header + 2);
    const size_t end = header + 4 + 4 * words;
    if (end > data.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "RTP header extension of %d words ends at byte %d, past the %d-byte "
          "packet",
          words, end, data.size()));
    }
    header = end;
  }
  size_t end = data.size();
  if (padding) {
    // The last octet counts the padding, itself included (RFC 3550 5.1), so it
    // must be at least 1 and must not reach into the header.
    const size_t count = static_cast<uint8_t>(data.back());
    if (count == 0) {
      return absl::InvalidArgumentError(
          "RTP padding bit set but the padding count is 0");
    }
    if (count > data.size() - header) {
      return absl::InvalidArgumentError(
          absl::StrFormat("RTP padding of %d bytes is longer than the %d bytes "
                          "after the header",
                          count, data.size() - header));
    }
    end -= count;
  }

  packet.marker = (static_cast<uint8_t>(data[1]) & 0x80) != 0;
  packet.payload_type = static_cast<uint8_t>(data[1]) & 0x7F;
  packet.sequence = ReadU16(data, 2);
  packet.timestamp = ReadU32(data, 4);
  packet.ssrc = ReadU32(data, 8);
  packet.csrcs.resize(csrc_count);
  for (size_t i = 0; i < csrc_count; ++i) {
    packet.csrcs[i] = ReadU32(data, kFixedHeaderSize + 4 * i);
  }
  packet.payload.assign(data.data() + header, end - header);
  return absl::OkStatus();
}

double RtpStats::packets_per_second() const {
  const double span = absl::ToDoubleSeconds(last_arrival - first_arrival);
  return span > 0 ? static_cast<double>(packets - 1) / span : 0;
}

double RtpStats::loss_percent() const {
  const uint64_t received = packets - duplicates;
  const uint64_t expected = received + lost;
  return expected == 0 ? 0.0
                       : 100.0 * static_cast<double>(lost) /
                             static_cast<double>(expected);
}

RtpReceiver::RtpReceiver(RtpCodec expected)
    : RtpReceiver(std::vector<RtpCodec>{std::move(expected)}) {}

RtpReceiver::RtpReceiver(std::vector<RtpCodec> expected)
    : codecs_(std::move(expected)), seen_(kSeenWords, 0) {
  assert(!codecs_.empty());
}

const RtpCodec* RtpReceiver::Find(int payload_type) const {
  for (const RtpCodec& codec : codecs_) {
    if (codec.payload_type == payload_type) return &codec;
  }
  return nullptr;
}

bool RtpReceiver::Seen(uint64_t extended) const {
  const uint64_t bit = extended % kSequenceModulus;
  return (seen_[bit / 64] >> (bit % 64)) & 1;
}

void RtpReceiver::MarkSeen(uint64_t extended) {
  const uint64_t bit = extended % kSequenceModulus;
  seen_[bit / 64] |= uint64_t{1} << (bit % 64);
}

void RtpReceiver::Resync(const RtpPacket& packet, absl::Duration arrival) {
  // A new SSRC forgets the old stream's numbers; a fresh receiver's window
  // is clear already (8 KiB not to write again).
  if (started_) std::fill(seen_.begin(), seen_.end(), 0);
  started_ = true;
  ssrc_ = packet.ssrc;
  extended_base_ = kSequenceModulus + packet.sequence;
  extended_highest_ = extended_base_;
  MarkSeen(extended_highest_);
  highest_timestamp_ = packet.timestamp;
  highest_payload_type_ =
      Find(packet.payload_type) != nullptr ? packet.payload_type : -1;
  // The estimate carries over (it describes the path, not the source), but no
  // transit difference spans two sources.
  last_arrival_ = arrival;
  last_timestamp_ = packet.timestamp;
  last_payload_type_ = packet.payload_type;
}

void RtpReceiver::UpdateJitter(const RtpPacket& packet,
                               absl::Duration arrival) {
  // RFC 3550 A.8: D(i-1,i) = (R_i - R_{i-1}) - (S_i - S_{i-1}), here in
  // seconds with the timestamp difference read at the packet's own clock rate;
  // the signed 32-bit timestamp difference keeps wrapped timestamps right.
  if (packet.payload_type == last_payload_type_) {
    const RtpCodec* codec = Find(packet.payload_type);
    const int clock_rate =
        codec != nullptr ? codec->clock_rate : codecs_.front().clock_rate;
    const double arrival_delta = absl::ToDoubleSeconds(arrival - last_arrival_);
    const int32_t timestamp_delta =
        static_cast<int32_t>(packet.timestamp - last_timestamp_);
    const double d =
        arrival_delta - static_cast<double>(timestamp_delta) / clock_rate;
    jitter_s_ += (std::fabs(d) - jitter_s_) / 16;
  }
  last_arrival_ = arrival;
  last_timestamp_ = packet.timestamp;
  last_payload_type_ = packet.payload_type;
}

const RtpPacket* RtpReceiver::OnPacket(absl::string_view data,
                                       absl::Duration arrival) {
  if (!ParseRtpPacketInto(data, last_).ok()) {
    ++stats_.malformed;
    return nullptr;
  }
  const RtpPacket& packet = last_;
  const RtpCodec* codec = Find(packet.payload_type);
  const bool expected_type = codec != nullptr;
  if (!expected_type) ++stats_.wrong_payload_type;
  if (payload_type_count_ == nullptr ||
      counted_payload_type_ != packet.payload_type) {
    counted_payload_type_ = packet.payload_type;
    payload_type_count_ = &stats_.by_payload_type[packet.payload_type];
  }
  ++*payload_type_count_;
  if (ssrc_count_ == nullptr || counted_ssrc_ != packet.ssrc) {
    counted_ssrc_ = packet.ssrc;
    ssrc_count_ = &stats_.by_ssrc[packet.ssrc];
  }
  ++*ssrc_count_;
  if (stats_.packets == 0) {
    stats_.first_arrival = arrival;
    stats_.last_arrival = arrival;
  }
  ++stats_.packets;
  stats_.bytes += packet.payload.size();
  stats_.first_arrival = std::min(stats_.first_arrival, arrival);
  stats_.last_arrival = std::max(stats_.last_arrival, arrival);
  if (!started_ || packet.ssrc != ssrc_) {
    if (started_) ++stats_.ssrc_changes;
    Resync(packet, arrival);
  } else {
    UpdateJitter(packet, arrival);
    // The extended number nearest the highest: a 16-bit difference read as
    // signed reaches 32767 ahead (a wrap is just a step across 65535) and 32768
    // behind.
    const int16_t delta = static_cast<int16_t>(
        packet.sequence - static_cast<uint16_t>(extended_highest_));
    const uint64_t extended =
        static_cast<uint64_t>(static_cast<int64_t>(extended_highest_) + delta);
    if (delta > 0) {
      // Forward: the numbers skipped are lost until they turn up. Their bits
      // still hold numbers 2^16 older, now out of the window.
      for (uint64_t s = extended_highest_ + 1; s < extended; ++s) {
        const uint64_t bit = s % kSequenceModulus;
        seen_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
      }
      stats_.lost += static_cast<uint64_t>(delta) - 1;
      // Steps are judged between packets of one codec: another codec has
      // another clock and frame.
      const uint32_t timestamp_step =
          expected_type ? codec->timestamp_step() : 0;
      if (expected_type && highest_payload_type_ == packet.payload_type &&
          timestamp_step > 0) {
        const int32_t step =
            static_cast<int32_t>(packet.timestamp - highest_timestamp_);
        if (step <= 0) {
          ++stats_.stalled_timestamps;
        } else if (static_cast<uint32_t>(step) % timestamp_step != 0) {
          ++stats_.partial_frame_steps;
        }
      }
      extended_highest_ = extended;
      highest_timestamp_ = packet.timestamp;
      highest_payload_type_ = expected_type ? packet.payload_type : -1;
      MarkSeen(extended);
    } else if (extended >= extended_base_ && Seen(extended)) {
      ++stats_.duplicates;
    } else {
      // Late: it fills a gap, or it precedes the first packet (then the numbers
      // between it and the old first one become gaps).
      ++stats_.reordered;
      if (extended < extended_base_) {
        stats_.lost += extended_base_ - extended - 1;
        extended_base_ = extended;
      } else {
        --stats_.lost;
      }
      MarkSeen(extended);
    }
  }
  stats_.jitter_ms = jitter_s_ * 1000.0;
  return &last_;
}

RtpSender::RtpSender(RtpCodec codec, uint32_t ssrc, uint16_t first_sequence,
                     uint32_t first_timestamp)
    : codec_(std::move(codec)),
      ssrc_(ssrc),
      sequence_(first_sequence),
      timestamp_(first_timestamp) {}

void FillPacketPattern(uint64_t count, size_t size, std::string& payload) {
  // Copied from a table of two runs of 0..255 rather than computed a byte at
  // a time.
  static const std::array<char, 512> kRamp = [] {
    std::array<char, 512> ramp{};
    for (size_t i = 0; i < ramp.size(); ++i) {
      ramp[i] = static_cast<char>(i & 0xFF);
    }
    return ramp;
  }();
  payload.resize(size);
  for (size_t done = 0; done < size;) {
    const size_t start = (count * 31 + done) & 0xFF;
    const size_t n = std::min(size - done, kRamp.size() - start);
    std::memcpy(&payload[done], kRamp.data() + start, n);
    done += n;
  }
}

RtpPacket RtpSender::Next() {
  RtpPacket packet;
  Next(packet);
  return packet;
}

void RtpSender::Next(RtpPacket& packet) {
  packet.csrcs.clear();
  packet.payload_type = static_cast<uint8_t>(codec_.payload_type);
  // The first packet starts a talkspurt (RFC 3551 4.1).
  packet.marker = count_ == 0;
  packet.sequence = sequence_++;
  packet.timestamp = timestamp_;
  timestamp_ += codec_.timestamp_step();
  packet.ssrc = ssrc_;
  FillPacketPattern(count_, static_cast<size_t>(codec_.payload_bytes),
                    packet.payload);
  ++count_;
}

}  // namespace talkcheck::media_sim

// RTP (RFC 3550) for the loopback that proves media flows: packets, a paced
// sender per codec, and a receiver that checks and measures what the client
// under test sends.
//
// Every check is a named finding the harness can assert on and report: wrong
// payload type, SSRC change, sequence gaps (loss), duplicates, reordering,
// timestamp steps that do not fit the codec, malformed packets (shorter than
// the header, CSRC count or extension past the end, bad version), interarrival
// jitter (RFC 3550 A.8), packet rate.
#ifndef TALKCHECK_MEDIA_SIM_RTP_H_
#define TALKCHECK_MEDIA_SIM_RTP_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace talkcheck::media_sim {

// What a codec means on the wire (PROTOCOL.md §2): clock rate, frame duration
// and the payload size of one frame.
struct RtpCodec {
  std::string name;  // "PCMU", "PCMA", "iLBC", "ISAC", "G722", "CN", ...
  int payload_type = 0;
  int clock_rate = 8000;
  absl::Duration frame = absl::Milliseconds(20);
  int payload_bytes = 160;
  // Timestamp increment per frame: clock_rate * frame.
  uint32_t timestamp_step() const;
};

// The codec for `name` and `payload_type` with libjingle's clock rates and
// frame sizes (PCMU/PCMA 8 kHz 20 ms 160 bytes, iLBC 8 kHz 30 ms 50 bytes, ISAC
// 16 kHz 30 ms, G722 16 kHz (RTP clock 8000, RFC 3551) 20 ms 160 bytes, ...).
// kNotFound otherwise. Names match case-insensitively and come back in Google's
// spelling; an empty name looks up a static payload type (0, 3, 4, 8, 9, 13).
// `clock_rate` is the offer's `clockrate` attribute when it has one (0: none):
// it picks between the rates of one name (speex 16000/8000, ISAC 16000/32000,
// CN 8000/16000/32000); without it the payload type picks libjingle's usual one
// (speex 98 = 8000, ISAC 104 = 32000, CN 105/126 = 16000/32000), else the
// first. The table and its sources are in rtp.cc. kInvalidArgument for a
// payload type outside 0..127.
absl::StatusOr<RtpCodec> CodecByName(absl::string_view name, int payload_type,
                                     int clock_rate = 0);

struct RtpPacket {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::vector<uint32_t> csrcs;
  std::string payload;

  std::string Serialize() const;
  // The same into `out` (replacing what it held, keeping its capacity): a
  // sender reuses one buffer for every packet of a call.
  void SerializeTo(std::string& out) const;
};

// kInvalidArgument with the reason: shorter than 12 bytes, version != 2, CSRC
// list or header extension past the end, padding longer than the packet.
absl::StatusOr<RtpPacket> ParseRtpPacket(absl::string_view data);
// The same into `out`, reusing its buffers (a receiver parses every packet of
// a call); `out` is unspecified after an error.
absl::Status ParseRtpPacketInto(absl::string_view data, RtpPacket& out);

// Findings and figures about one direction of one call.
struct RtpStats {
  uint64_t packets = 0;  // well-formed packets, duplicates included
  // Their payload octets: no header, extension or padding (RFC 3550 6.4.1).
  uint64_t bytes = 0;
  uint64_t malformed = 0;
  uint64_t wrong_payload_type = 0;  // not one of the expected payload types
  uint64_t ssrc_changes = 0;  // each one re-syncs sequence and jitter state
  uint64_t lost = 0;          // sequence numbers never received (so far)
  uint64_t duplicates = 0;
  // Arrived after a later sequence number (filling a gap, or before the first).
  uint64_t reordered = 0;
  // Between a packet that advances the highest sequence number and the previous
  // highest, both of the expected type: the timestamp did not advance (RFC
  // 3550 5.1: it tracks the sampling instant, which a later audio packet
  // cannot share or precede).
  uint64_t stalled_timestamps = 0;
  // The same steps that advance by a part of a frame (not a multiple of the
  // codec's step): legal RTP (RFC 3550 5.1 asks for a monotonic, linear
  // clock, not whole frames), as a GStreamer payloader's first packets or a
  // source that resynchronises give; libjingle's voice engines never do.
  uint64_t partial_frame_steps = 0;
  double jitter_ms = 0;  // RFC 3550 A.8 estimate, in milliseconds
  absl::Duration first_arrival;
  absl::Duration last_arrival;
  // What arrived: well-formed packets by payload type and by SSRC, for a
  // failure message that names them.
  std::map<int, uint64_t> by_payload_type;
  std::map<uint32_t, uint64_t> by_ssrc;
  // Loss in percent of expected packets (received + lost).
  double loss_percent() const;
  // (packets - 1) / (last_arrival - first_arrival); 0 until two arrivals apart.
  double packets_per_second() const;
};

// Checks a stream against the negotiated codecs. Feed every packet with its
// arrival time.
//
// Sequence numbers are extended across wraps at 65535: a number up to 32767
// ahead of the highest so far is new (the numbers skipped count as lost until
// they turn up, then as reordered), one up to 32768 behind is late or a
// duplicate. A packet with another SSRC counts as a change and starts the
// sequence, timestamp and transit state afresh; counts and the jitter estimate
// carry on. Jitter is updated for every well-formed packet of the current SSRC,
// in arrival order (RFC 3550 A.8), at the clock rate of the packet's own
// payload type (RFC 3551 for static types, the negotiated one for dynamic
// types); a packet whose payload type differs from the previous packet's
// restarts the transit difference, since two clocks do not subtract. A packet
// of an unexpected payload type is measured at the first expected codec's rate.
class RtpReceiver {
 public:
  explicit RtpReceiver(RtpCodec expected);
  // Any of `expected` (by payload type) is right; the first is the reference
  // for packets of other types. Must not be empty.
  explicit RtpReceiver(std::vector<RtpCodec> expected);
  // Returns the parsed packet (for echo), valid until the next call, or null
  // when it was malformed.
  const RtpPacket* OnPacket(absl::string_view data, absl::Duration arrival);
  const RtpStats& stats() const { return stats_; }

 private:
  // Starts a new stream: `packet` is its first packet.
  void Resync(const RtpPacket& packet, absl::Duration arrival);
  bool Seen(uint64_t extended) const;
  void MarkSeen(uint64_t extended);
  void UpdateJitter(const RtpPacket& packet, absl::Duration arrival);
  // The expected codec of `payload_type`, or nullptr.
  const RtpCodec* Find(int payload_type) const;

  std::vector<RtpCodec> codecs_;
  RtpStats stats_;
  // The counters of the last packet's payload type and SSRC (a stream keeps
  // both): map nodes stay put, so one lookup per change, not per packet.
  int counted_payload_type_ = -1;
  uint64_t* payload_type_count_ = nullptr;
  uint32_t counted_ssrc_ = 0;
  uint64_t* ssrc_count_ = nullptr;
  RtpPacket last_;  // OnPacket's result; its buffers are reused
  // Implementation state (see rtp.cc). Extended sequence numbers count wraps in
  // the bits above 16 and start at 2^16 + first sequence, so late packets never
  // go below 0.
  bool started_ = false;
  uint32_t ssrc_ = 0;
  uint64_t extended_base_ = 0;  // lowest extended sequence number of the stream
  uint64_t extended_highest_ = 0;  // highest one so far
  // One bit per extended sequence number in (extended_highest_ - 2^16,
  // extended_highest_]: received or not. Covers every number a 16-bit sequence
  // can reach from the highest, so duplicates and gap fills are always told
  // apart.
  std::vector<uint64_t> seen_;
  uint32_t highest_timestamp_ = 0;  // of the packet with extended_highest_
  int highest_payload_type_ = -1;   // of that packet; -1: not an expected one
  // Previous packet by arrival (RFC 3550 A.8): its arrival and RTP timestamp.
  absl::Duration last_arrival_;
  uint32_t last_timestamp_ = 0;
  int last_payload_type_ = -1;
  double jitter_s_ = 0;  // in seconds (each packet's clock converted)
};

// Sets `payload` to `size` bytes counting up (mod 256) from `count` * 31: a
// pattern that differs per packet, so that an echo can be matched to its
// source. The payload of RtpSender's `count`-th packet, and of the reference
// client's.
void FillPacketPattern(uint64_t count, size_t size, std::string& payload);

// Makes the packets of one stream: stable SSRC, consecutive sequence numbers,
// timestamps stepping by the codec's frame. Pacing is the caller's (one packet
// per codec.frame).
class RtpSender {
 public:
  RtpSender(RtpCodec codec, uint32_t ssrc, uint16_t first_sequence,
            uint32_t first_timestamp);
  // The next packet, payload filled with a pattern sized for the codec.
  RtpPacket Next();
  // The same into `packet`, reusing its payload's buffer.
  void Next(RtpPacket& packet);
  const RtpCodec& codec() const { return codec_; }

 private:
  RtpCodec codec_;
  uint32_t ssrc_;
  uint16_t sequence_;
  uint32_t timestamp_;
  uint64_t count_ = 0;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_RTP_H_

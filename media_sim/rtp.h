// RTP (RFC 3550) for the loopback that proves media flows: packets, a paced sender per
// codec, and a receiver that checks and measures what the client under test sends.
//
// Every check is a named finding the harness can assert on and report: wrong payload
// type, SSRC change, sequence gaps (loss), duplicates, reordering, timestamp steps that
// do not fit the codec, malformed packets (shorter than the header, CSRC count or
// extension past the end, bad version), interarrival jitter (RFC 3550 A.8), packet rate.
#ifndef TALKCHECK_MEDIA_SIM_RTP_H_
#define TALKCHECK_MEDIA_SIM_RTP_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace talkcheck::media_sim {

// What a codec means on the wire (PROTOCOL.md §2): clock rate, frame duration and the
// payload size of one frame.
struct RtpCodec {
  std::string name;  // "PCMU", "PCMA", "iLBC", "ISAC", "G722", "CN", ...
  int payload_type = 0;
  int clock_rate = 8000;
  absl::Duration frame = absl::Milliseconds(20);
  int payload_bytes = 160;
  // Timestamp increment per frame: clock_rate * frame.
  uint32_t timestamp_step() const;
};

// The codec for `name` and `payload_type` with libjingle's clock rates and frame sizes
// (PCMU/PCMA 8 kHz 20 ms 160 bytes, iLBC 8 kHz 30 ms 50 bytes, ISAC 16 kHz 30 ms,
// G722 16 kHz (RTP clock 8000, RFC 3551) 20 ms 160 bytes, ...). kNotFound otherwise.
absl::StatusOr<RtpCodec> CodecByName(absl::string_view name, int payload_type);

struct RtpPacket {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::vector<uint32_t> csrcs;
  std::string payload;

  std::string Serialize() const;
};

// kInvalidArgument with the reason: shorter than 12 bytes, version != 2, CSRC list or
// header extension past the end, padding longer than the packet.
absl::StatusOr<RtpPacket> ParseRtpPacket(absl::string_view data);

// Findings and figures about one direction of one call.
struct RtpStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t malformed = 0;
  uint64_t wrong_payload_type = 0;  // not the expected payload type
  uint64_t ssrc_changes = 0;
  uint64_t lost = 0;        // sequence numbers never received (so far)
  uint64_t duplicates = 0;
  uint64_t reordered = 0;   // arrived after a later sequence number
  uint64_t bad_timestamp_steps = 0;  // not a multiple of the codec's step
  double jitter_ms = 0;     // RFC 3550 A.8 estimate, in milliseconds
  double packets_per_second = 0;
  absl::Duration first_arrival;
  absl::Duration last_arrival;
  // Loss in percent of expected packets (received + lost).
  double loss_percent() const;
};

// Checks a stream against the negotiated codec. Feed every packet with its arrival time.
class RtpReceiver {
 public:
  explicit RtpReceiver(RtpCodec expected);
  // Returns the parsed packet (for echo), or nullopt when it was malformed.
  std::optional<RtpPacket> OnPacket(absl::string_view data, absl::Duration arrival);
  const RtpStats& stats() const { return stats_; }

 private:
  RtpCodec codec_;
  RtpStats stats_;
  // Implementation state (see rtp.cc).
  bool started_ = false;
  uint32_t ssrc_ = 0;
  uint16_t highest_sequence_ = 0;
  uint64_t extended_highest_ = 0;
  std::set<uint64_t> missing_;  // extended sequence numbers not yet seen
  std::set<uint64_t> recent_;   // recently seen, to tell duplicates
  uint32_t last_timestamp_ = 0;
  absl::Duration last_transit_;
  double jitter_ = 0;
};

// Makes the packets of one stream: stable SSRC, consecutive sequence numbers, timestamps
// stepping by the codec's frame. Pacing is the caller's (one packet per codec.frame).
class RtpSender {
 public:
  RtpSender(RtpCodec codec, uint32_t ssrc, uint16_t first_sequence,
            uint32_t first_timestamp);
  // The next packet, payload filled with a pattern sized for the codec.
  RtpPacket Next();
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

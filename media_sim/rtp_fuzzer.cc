// libFuzzer target: RTP packets and the receiver's accounting (issue 13 §3).
//
// Input: a sequence of packets, each a 2-byte big-endian length and its bytes
// (the last takes what is left). Properties: ParseRtpPacket never crashes; a
// packet it accepts serialises (without extension and padding) to one that
// parses to the same header, CSRCs and payload; RtpReceiver's counts stay
// consistent over the sequence, at 20 ms arrivals.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "media_sim/rtp.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using talkcheck::media_sim::ParseRtpPacket;
using talkcheck::media_sim::RtpPacket;

void CheckRoundTrip(absl::string_view bytes) {
  absl::StatusOr<RtpPacket> packet = ParseRtpPacket(bytes);
  if (!packet.ok()) return;
  const std::string wire = packet->Serialize();
  absl::StatusOr<RtpPacket> again = ParseRtpPacket(wire);
  FUZZ_CHECK(again.ok(), absl::CHexEscape(bytes)
                             << " serialises to " << absl::CHexEscape(wire)
                             << " which does not parse: " << again.status());
  FUZZ_CHECK(again->payload_type == packet->payload_type &&
                 again->marker == packet->marker &&
                 again->sequence == packet->sequence &&
                 again->timestamp == packet->timestamp &&
                 again->ssrc == packet->ssrc && again->csrcs == packet->csrcs &&
                 again->payload == packet->payload,
             absl::CHexEscape(bytes) << " changed in a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using talkcheck::media_sim::CodecByName;
  absl::StatusOr<talkcheck::media_sim::RtpCodec> pcmu = CodecByName("PCMU", 0);
  absl::StatusOr<talkcheck::media_sim::RtpCodec> speex =
      CodecByName("speex", 110, 16000);
  FUZZ_CHECK(pcmu.ok() && speex.ok(), "codec table");
  talkcheck::media_sim::RtpReceiver receiver({*pcmu, *speex});

  absl::string_view rest(reinterpret_cast<const char*>(data), size);
  uint64_t fed = 0;
  while (!rest.empty()) {
    size_t length = rest.size();
    if (rest.size() >= 2) {
      length =
          static_cast<uint8_t>(rest[0]) << 8 | static_cast<uint8_t>(rest[1]);
      rest.remove_prefix(2);
      if (length > rest.size()) length = rest.size();
    } else {
      rest.remove_prefix(rest.size());
      length = 0;
    }
    const absl::string_view packet = rest.substr(0, length);
    rest.remove_prefix(length);
    CheckRoundTrip(packet);
    receiver.OnPacket(packet,
                      absl::Milliseconds(20) * static_cast<int64_t>(fed));
    ++fed;
  }
  const talkcheck::media_sim::RtpStats& stats = receiver.stats();
  FUZZ_CHECK(stats.packets + stats.malformed == fed,
             stats.packets << " + " << stats.malformed << " != " << fed);
  FUZZ_CHECK(stats.duplicates <= stats.packets, "more duplicates than packets");
  const double loss = stats.loss_percent();
  FUZZ_CHECK(loss >= 0 && loss <= 100, "loss " << loss << "%");
  FUZZ_CHECK(stats.jitter_ms >= 0, "negative jitter");
  return 0;
}

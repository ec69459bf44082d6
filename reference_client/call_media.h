// The RTP half of one call of the reference client: a paced RTP stream on the
// negotiated send codec towards the peer, and a check of what the peer sends
// (media_sim::RtpReceiver on the codec the peer should send with).
//
// One packet goes out per codec frame while sending is on (the voice client
// turns it on once the call is accepted and the GICE channel is writable, and
// off when writability is lost or the call ends). The stream keeps one random
// SSRC, consecutive sequence numbers (a packet the transport refused does not
// use one up) and timestamps on the codec's clock: frame n of the stream has
// timestamp base + n * step, counted from the first tick, so a pause shows as
// a jump by whole frames and the first packet after it carries the marker
// (RFC 3551 4.1). Ticks are due at fixed multiples of the frame from the
// first, so late timers do not make the stream drift or burst.
//
// By default the client *echoes*: each packet's payload is that of the newest
// packet received from the peer (a pattern until one arrives), so a peer that
// stamps its send time into its payloads measures the round-trip time. The
// header is always the client's own.
//
// Example:
//   CallMedia media(clock, bitgen, *send_codec, *receive_codec, {},
//                   [&](absl::string_view p) { return channel.SendPacket(p);
//                   });
//   channel.set_packet_handler([&](absl::string_view p, const auto&) {
//     media.OnPacket(p);
//   });
//   media.SetSending(channel.writable());
#ifndef TALKCHECK_REFERENCE_CLIENT_CALL_MEDIA_H_
#define TALKCHECK_REFERENCE_CLIENT_CALL_MEDIA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "media_sim/rtp.h"

namespace talkcheck::reference_client {

struct CallMediaOptions {
  // Echo the newest received payload (true) or always send the own pattern.
  bool echo = true;
  // The payload type written into every packet; -1: the send codec's. The
  // wrong-payload-type fault sets one that was not negotiated.
  int payload_type = -1;
  // Switch to a new random SSRC once this many packets went out with the
  // current one, sequence and timestamp carrying on (the ssrc-change fault);
  // 0: never. Only the first switch happens.
  uint64_t ssrc_change_after = 0;
  // Every packet carries the first packet's RTP timestamp (the
  // stalled-timestamps fault).
  bool stall_timestamps = false;
};

// What one call's media did so far, for tests, the harness and the program's
// output.
struct CallMediaStats {
  media_sim::RtpCodec send_codec;     // as negotiated
  media_sim::RtpCodec receive_codec;  // what the peer should send with
  int sent_payload_type = 0;          // as written on the wire
  uint32_t ssrc = 0;                  // the current one
  bool sending = false;
  uint64_t packets_sent = 0;
  uint64_t echoed = 0;  // sent packets that carried a received payload
  // Ticks whose packet the transport refused (not writable).
  uint64_t send_refused = 0;
  media_sim::RtpStats received;  // the peer's stream, checked
};

// Single-threaded on the thread that runs `clock`.
class CallMedia {
 public:
  // Hands one serialized RTP packet to the transport; false when refused.
  using SendFunction = std::function<bool(absl::string_view packet)>;

  // Does not own `clock` or `bitgen`, which must outlive the CallMedia. Sends
  // nothing before SetSending(true). `send` is called from timer callbacks
  // only, never from the constructor, SetSending() or OnPacket(), and must not
  // destroy the CallMedia.
  CallMedia(Clock& clock, absl::BitGenRef bitgen,
            media_sim::RtpCodec send_codec, media_sim::RtpCodec receive_codec,
            CallMediaOptions options, SendFunction send);
  ~CallMedia();
  CallMedia(const CallMedia&) = delete;
  CallMedia& operator=(const CallMedia&) = delete;

  // Starts (the first packet goes out as soon as the clock runs its timers,
  // or at the next frame boundary after a pause) or stops the stream.
  // Idempotent.
  void SetSending(bool sending);
  bool sending() const { return tick_ != nullptr; }

  // Checks a packet from the peer and remembers its payload for the echo.
  void OnPacket(absl::string_view packet);

  CallMediaStats stats() const;

 private:
  // Sends the packet of the current frame and arms the next tick.
  void Tick();
  void ArmTick();
  uint32_t NewSsrc(uint32_t other);

  Clock& clock_;
  absl::BitGenRef bitgen_;
  media_sim::RtpCodec send_codec_;
  // send_codec_.timestamp_step(), fixed for the call (per frame it cost an
  // out-of-line Duration conversion).
  const uint32_t timestamp_step_;
  CallMediaOptions options_;
  SendFunction send_;
  media_sim::RtpCodec receive_codec_;
  media_sim::RtpReceiver receiver_;
  std::unique_ptr<Timer> tick_;  // set while sending

  uint8_t payload_type_;
  uint32_t ssrc_;
  uint16_t sequence_;
  uint32_t timestamp_base_;
  // Frame n is due at first_tick_ + n * frame; last_frame_ is -1 before the
  // first tick.
  absl::Duration first_tick_;
  int64_t last_frame_ = -1;
  absl::Duration next_due_;     // of frame last_frame_ + 1
  bool marker_pending_ = true;  // the next packet starts a talkspurt
  bool ssrc_changed_ = false;
  uint64_t sent_with_ssrc_ = 0;
  uint64_t packets_sent_ = 0;
  uint64_t echoed_ = 0;
  uint64_t send_refused_ = 0;
  std::optional<std::string> echo_payload_;
  // The packet being sent and its bytes, reused for every frame.
  media_sim::RtpPacket packet_;
  std::string wire_;
};

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_CALL_MEDIA_H_

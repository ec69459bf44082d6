#include "reference_client/call_media.h"

#include <algorithm>
#include <utility>

#include "absl/random/distributions.h"

namespace talkcheck::reference_client {

CallMedia::CallMedia(Clock& clock, absl::BitGenRef bitgen,
                     media_sim::RtpCodec send_codec,
                     media_sim::RtpCodec receive_codec,
                     CallMediaOptions options, SendFunction send)
    : clock_(clock),
      bitgen_(bitgen),
      send_codec_(std::move(send_codec)),
      timestamp_step_(send_codec_.timestamp_step()),
      options_(options),
      send_(std::move(send)),
      receive_codec_(receive_codec),
      receiver_(std::move(receive_codec)) {
  payload_type_ = static_cast<uint8_t>(options_.payload_type >= 0 &&
                                               options_.payload_type <= 127
                                           ? options_.payload_type
                                           : send_codec_.payload_type);
  // RFC 3550 5.1: random SSRC, initial sequence number and timestamp.
  ssrc_ = NewSsrc(0);
  sequence_ = absl::Uniform<uint16_t>(bitgen_);
  timestamp_base_ = absl::Uniform<uint32_t>(bitgen_);
}

CallMedia::~CallMedia() = default;

uint32_t CallMedia::NewSsrc(uint32_t other) {
  uint32_t ssrc = 0;
  while (ssrc == 0 || ssrc == other) ssrc = absl::Uniform<uint32_t>(bitgen_);
  return ssrc;
}

void CallMedia::SetSending(bool sending) {
  if (sending == this->sending()) return;
  if (!sending) {
    tick_.reset();
    marker_pending_ = true;  // what follows a pause starts a talkspurt
    return;
  }
  ArmTick();
}

void CallMedia::ArmTick() {
  absl::Duration delay = absl::ZeroDuration();
  if (last_frame_ >= 0) {
    const absl::Duration now = clock_.Now();
    absl::Duration due = next_due_;
    if (due < now) {
      // Resuming after a pause: the next frame boundary from now.
      absl::Duration rest;
      const int64_t frames =
          absl::IDivDuration(now - first_tick_, send_codec_.frame, &rest);
      due = first_tick_ + send_codec_.frame *
                              (frames + (rest > absl::ZeroDuration() ? 1 : 0));
    }
    delay = std::max(due - now, absl::ZeroDuration());
  }
  tick_ = clock_.CallAfter(delay, [this] { Tick(); });
}

void CallMedia::Tick() {
  const absl::Duration now = clock_.Now();
  int64_t frame = 0;
  if (last_frame_ < 0) {
    first_tick_ = now;
    next_due_ = now + send_codec_.frame;
  } else if (now == next_due_) {
    // On time, as every tick on a virtual clock: no division needed.
    frame = last_frame_ + 1;
    next_due_ += send_codec_.frame;
  } else {
    absl::Duration rest;
    // A late timer skips the frames it missed rather than catching up.
    frame = std::max(
        last_frame_ + 1,
        absl::IDivDuration(now - first_tick_, send_codec_.frame, &rest));
    next_due_ = first_tick_ + send_codec_.frame * (frame + 1);
  }
  last_frame_ = frame;

  media_sim::RtpPacket& packet = packet_;
  packet.payload_type = payload_type_;
  packet.marker = marker_pending_;
  packet.sequence = sequence_;
  packet.timestamp = options_.stall_timestamps
                         ? timestamp_base_
                         : timestamp_base_ + static_cast<uint32_t>(
                                                 static_cast<uint64_t>(frame) *
                                                 timestamp_step_);
  packet.ssrc = ssrc_;
  const bool echo = options_.echo && echo_payload_.has_value();
  if (echo) {
    packet.payload = *echo_payload_;
  } else {
    media_sim::FillPacketPattern(packets_sent_,
                                 static_cast<size_t>(send_codec_.payload_bytes),
                                 packet.payload);
  }

  ArmTick();
  packet.SerializeTo(wire_);
  if (!send_(wire_)) {
    ++send_refused_;  // nothing on the wire: no sequence number used up
    return;
  }
  ++sequence_;
  marker_pending_ = false;
  ++packets_sent_;
  if (echo) ++echoed_;
  if (++sent_with_ssrc_ == options_.ssrc_change_after && !ssrc_changed_) {
    ssrc_changed_ = true;
    ssrc_ = NewSsrc(ssrc_);
    sent_with_ssrc_ = 0;
  }
}

void CallMedia::OnPacket(absl::string_view packet) {
  const media_sim::RtpPacket* parsed = receiver_.OnPacket(packet, clock_.Now());
  if (parsed != nullptr) echo_payload_ = parsed->payload;
}

CallMediaStats CallMedia::stats() const {
  CallMediaStats stats;
  stats.send_codec = send_codec_;
  stats.receive_codec = receive_codec_;
  stats.sent_payload_type = payload_type_;
  stats.ssrc = ssrc_;
  stats.sending = sending();
  stats.packets_sent = packets_sent_;
  stats.echoed = echoed_;
  stats.send_refused = send_refused_;
  stats.received = receiver_.stats();
  return stats;
}

}  // namespace talkcheck::reference_client

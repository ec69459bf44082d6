// The peer's half of the RTP loopback on one GICE channel: a paced RTP stream
// on the codec the negotiation chose for the peer (harness/peer/negotiation.h)
// towards the client under test, and a check of everything the client sends
// back against the negotiated payload types, each at its own clock rate
// (media_sim::RtpReceiver), with the GICE findings of the channel. Findings
// about datagrams that cannot be the client's are reported apart
// (environment_findings) and never fail the step.
//
// The peer's packets carry a marker and their send time at the start of the
// payload, so a client that echoes payloads (the reference client's default)
// gives a round-trip time.
//
// Every 250 ms it takes a sample of both directions (packets, loss, jitter),
// which the report plots over time and a live view shows as it comes.
#ifndef TALKCHECK_HARNESS_PEER_MEDIA_LOOPBACK_H_
#define TALKCHECK_HARNESS_PEER_MEDIA_LOOPBACK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/clock.h"
#include "harness/report/report.pb.h"
#include "harness/scenario/scenario.pb.h"
#include "media_sim/gice_channel.h"
#include "media_sim/rtp.h"

namespace talkcheck::harness {

class MediaLoopback {
 public:
  // Takes over the channel's packet handler until destroyed. Nothing is owned.
  MediaLoopback(Clock& clock, media_sim::GiceChannel& channel,
                media_sim::RtpCodec codec, uint32_t ssrc);
  // Sends with `send`; any of `receive` is a right payload type for the
  // client's packets (empty: only `send`'s).
  MediaLoopback(Clock& clock, media_sim::GiceChannel& channel,
                media_sim::RtpCodec send,
                std::vector<media_sim::RtpCodec> receive, uint32_t ssrc);
  ~MediaLoopback();
  MediaLoopback(const MediaLoopback&) = delete;
  MediaLoopback& operator=(const MediaLoopback&) = delete;

  static constexpr absl::Duration kSampleInterval = absl::Milliseconds(250);

  // Starts sending one packet per codec frame, and sampling.
  void Start();

  // Called with each sample as it is taken (from the clock's thread).
  void set_sample_handler(std::function<void(const MediaSample&)> handler) {
    on_sample_ = std::move(handler);
  }

  uint64_t sent() const { return sent_; }
  const media_sim::RtpStats& received() const { return receiver_.stats(); }

  // The figures and findings so far.
  MediaReport Report() const;

 private:
  void SendOne();
  void OnPacket(absl::string_view packet);
  void TakeSample();
  // The interval from the last sample to now.
  MediaSample SampleNow() const;

  Clock& clock_;
  media_sim::GiceChannel& channel_;
  media_sim::RtpCodec codec_;
  media_sim::RtpSender sender_;
  // The packet being sent and its bytes, reused for every frame.
  media_sim::RtpPacket packet_;
  std::string wire_;
  media_sim::RtpReceiver receiver_;
  std::unique_ptr<Timer> tick_;
  // When the next frame is due: frames keep the codec's pace from the start,
  // so a tick that runs late (a loaded machine) sends the frames it owes at
  // once instead of losing them, as an audio device's backlog would.
  absl::Duration next_frame_at_;
  uint64_t sent_ = 0;
  uint64_t refused_ = 0;
  // How late the last tick ran, and the RFC 3550 estimate over the ticks'
  // lateness: the jitter a receiver would measure of the peer's own stream,
  // which is what this machine's scheduling did to the harness's timers
  // (zero on the virtual clock).
  absl::Duration last_late_;
  double own_jitter_s_ = 0;
  uint64_t echoed_ = 0;
  double rtt_sum_ms_ = 0;

  std::unique_ptr<Timer> sample_tick_;
  std::function<void(const MediaSample&)> on_sample_;
  std::vector<MediaSample> samples_;
  absl::Duration started_at_;
  absl::Duration sampled_at_;
  uint64_t sampled_sent_ = 0;
  uint64_t sampled_received_ = 0;
  uint64_t sampled_lost_ = 0;
};

// "127.0.0.1:40001 local gen 0".
std::string DescribeCandidate(const media_sim::Candidate& candidate);

// The GICE findings against the other side, by name, in the names' order.
// Findings only: a nonzero one is a fault of the client, so plain traffic
// counts (datagrams_received, requests_received, ...) stay out. Names and
// counts, not a map: every run builds them for each channel.
inline constexpr size_t kGiceFindingCount = 14;
std::array<std::pair<absl::string_view, uint64_t>, kGiceFindingCount>
GiceFindings(const media_sim::GiceStats& gice);

// What fails a media step (an empty list: it passed), each a phrase for the
// step's message: too few packets either way, loss or jitter over the step's
// limits (jitter net of the peer's own timers' share), a payload type outside
// the negotiated set, packets other than the step's codec= (when it has one),
// SSRC changes, malformed RTP, timestamps that do not advance, and every
// nonzero GICE finding against the client. When anything failed, the last
// phrase names what did arrive (payload types and SSRCs with counts).
// Environment findings never fail.
std::vector<std::string> MediaProblems(const MediaStep& media,
                                       const MediaReport& report,
                                       bool timed_out);

// What is worth a warning but fails no client: RTP timestamp steps by part of
// a frame (legal RTP; libjingle never sends them), and jitter over the step's
// limit that the peer's own send timers account for (a loaded machine, not
// the client: see MediaReport.peer_timer_jitter_ms). Empty when there is none.
std::vector<std::string> MediaWarnings(const MediaStep& media,
                                       const MediaReport& report);

// "PCMU: 103 packets sent, 106 received, loss 0.00%, jitter 0.40 ms, 50.0
// pps, rtt 12.50 ms", with "rtt n/a (not echoed)" when the client echoed none
// of the peer's packets, and the environment findings when there are any.
std::string MediaFigures(const MediaReport& report);

// "PCMU", "ISAC", ... with the payload types of Google Talk's 2005 offer, or an
// explicit "NAME/PT". kNotFound for a codec media_sim does not know.
absl::StatusOr<media_sim::RtpCodec> ParseMediaCodec(absl::string_view text);

// A media step's codec="remote-first": the client sends with the first codec
// of its remote list that its own list holds (both libjingles, PROTOCOL.md
// §2.2; NegotiatedMedia::client_remote_first), whichever codecs it supports.
inline constexpr char kRemoteFirstCodec[] = "remote-first";

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_PEER_MEDIA_LOOPBACK_H_

// The peer's half of the RTP loopback on one GICE channel: a paced RTP stream
// on the negotiated codec towards the client under test, and a check of
// everything the client sends back (media_sim::RtpReceiver), with the GICE
// findings of the channel.
//
// The peer's packets carry a marker and their send time at the start of the
// payload, so a client that echoes payloads (the reference client's default)
// gives a round-trip time.
#ifndef TALKCHECK_HARNESS_MEDIA_LOOPBACK_H_
#define TALKCHECK_HARNESS_MEDIA_LOOPBACK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "harness/report.pb.h"
#include "harness/scenario.pb.h"
#include "media_sim/gice_channel.h"
#include "media_sim/rtp.h"

namespace talkcheck::harness {

class MediaLoopback {
 public:
  // Takes over the channel's packet handler until destroyed. Nothing is owned.
  MediaLoopback(Clock& clock, media_sim::GiceChannel& channel,
                media_sim::RtpCodec codec, uint32_t ssrc);
  ~MediaLoopback();
  MediaLoopback(const MediaLoopback&) = delete;
  MediaLoopback& operator=(const MediaLoopback&) = delete;

  // Starts sending one packet per codec frame.
  void Start();

  uint64_t sent() const { return sent_; }
  const media_sim::RtpStats& received() const { return receiver_.stats(); }

  // The figures and findings so far.
  MediaReport Report() const;

 private:
  void SendOne();
  void OnPacket(absl::string_view packet);

  Clock& clock_;
  media_sim::GiceChannel& channel_;
  media_sim::RtpCodec codec_;
  media_sim::RtpSender sender_;
  media_sim::RtpReceiver receiver_;
  std::unique_ptr<Timer> tick_;
  uint64_t sent_ = 0;
  uint64_t refused_ = 0;
  uint64_t echoed_ = 0;
  double rtt_sum_ms_ = 0;
};

// The GICE findings against the other side, by name. Findings only: a
// nonzero one is a fault of the client, so plain traffic counts
// (datagrams_received, requests_received, ...) stay out.
std::map<std::string, uint64_t> GiceFindings(const media_sim::GiceStats& gice);

// What fails a media step (an empty list: it passed), each a phrase for the
// step's message: too few packets either way, loss or jitter over the step's
// limits, a wrong payload type, SSRC changes, malformed RTP, timestamp steps
// that are not whole frames, and every nonzero GICE finding.
std::vector<std::string> MediaProblems(const MediaStep& media,
                                       const MediaReport& report,
                                       bool timed_out);

// "PCMU: 103 packets sent, 106 received, loss 0.00%, jitter 0.40 ms, 50.0
// pps, rtt 12.50 ms"
std::string MediaFigures(const MediaReport& report);

// "PCMU", "ISAC", ... with the payload types of Google Talk's 2005 offer, or an
// explicit "NAME/PT". kNotFound for a codec media_sim does not know.
absl::StatusOr<media_sim::RtpCodec> ParseMediaCodec(absl::string_view text);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_MEDIA_LOOPBACK_H_

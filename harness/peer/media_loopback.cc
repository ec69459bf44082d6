#include "harness/peer/media_loopback.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/sorted_by_key.h"
#include "media_sim/datagram_network.h"

namespace talkcheck::harness {
namespace {

// Payload prefix of the peer's packets: marker, then the send time in
// microseconds.
constexpr char kMarker[4] = {'t', 'c', 'r', 't'};
constexpr size_t kStampBytes = sizeof(kMarker) + sizeof(int64_t);

// The client's jitter judged net of what this machine's scheduling put on the
// peer's own send timers over the same step: the client's process shares the
// machine, so a starved machine delays its sends as it delays the peer's, and
// a jitter bound is a claim about the client, not about the machine. On an
// idle machine (or the virtual clock) the peer's share is ~0 and the bound is
// the step's own. Estimates of independent delays do not add exactly; the
// difference errs toward the client only when the machine was loaded, and
// the report says so (MediaWarnings).
double ClientJitterMs(const MediaReport& report) {
  return report.jitter_ms() - report.peer_timer_jitter_ms();
}

// Below this, the peer's timers were on time for any purpose of the report.
constexpr double kNotableTimerJitterMs = 1.0;

// Google Talk's 2005 offer (PROTOCOL.md §2.1), for codec names without a type.
int DefaultPayloadType(absl::string_view name) {
  if (name == "ISAC") return 103;
  if (name == "IPCMWB") return 97;
  if (name == "iLBC") return 102;
  if (name == "G723") return 4;
  if (name == "EG711U") return 100;
  if (name == "EG711A") return 101;
  if (name == "PCMU") return 0;
  if (name == "PCMA") return 8;
  if (name == "CN") return 13;
  if (name == "G722") return 9;
  return -1;
}

// "arrived: payload types 0 ×149, 103 ×2; SSRCs 0x0badf00d ×151".
// The connectivity checks of each pair, or that the client sent none.
std::string ChecksOnTheWire(const MediaReport& report) {
  std::vector<std::string> pairs;
  uint64_t from_client = 0;
  for (const auto& [pair, checks] : SortedByKey(report.pairs())) {
    from_client += checks.client_checks();
    pairs.push_back(absl::StrCat(
        pair, ": the client's checks ", checks.client_checks(), " (answered ",
        checks.answered(), "), the peer's ", checks.peer_checks(),
        " (answered by the client ", checks.client_answers(), ")"));
  }
  if (from_client == 0) {
    pairs.insert(pairs.begin(), "no connectivity check from the client at all");
  }
  return absl::StrCat("; checks (client -> peer): ",
                      absl::StrJoin(pairs, "; "));
}

std::string WhatArrived(const MediaReport& report) {
  if (report.received_payload_types().empty()) {
    return absl::StrCat("arrived: no well-formed RTP from the client",
                        ChecksOnTheWire(report));
  }
  const auto types = SortedByKey(report.received_payload_types());
  const auto ssrcs = SortedByKey(report.received_ssrcs());
  return absl::StrCat(
      "arrived: payload types ",
      absl::StrJoin(types, ", ",
                    [](std::string* out, const auto& entry) {
                      absl::StrAppend(out, entry.first, " x", entry.second);
                    }),
      "; SSRCs ",
      absl::StrJoin(ssrcs, ", ",
                    [](std::string* out, const auto& entry) {
                      absl::StrAppendFormat(out, "0x%08x x%d", entry.first,
                                            entry.second);
                    }),
      ChecksOnTheWire(report));
}

// The findings counted at least once, by name: a protobuf map iterates in an
// order that varies from process to process, and a verdict's text must not.
// Most runs have none, so nothing is copied or sorted then.
std::vector<std::pair<absl::string_view, uint64_t>> CountedFindings(
    const google::protobuf::Map<std::string, uint64_t>& findings) {
  std::vector<std::pair<absl::string_view, uint64_t>> counted;
  for (const auto& [name, count] : findings) {
    if (count > 0) counted.emplace_back(name, count);
  }
  std::sort(counted.begin(), counted.end());
  return counted;
}

}  // namespace

absl::StatusOr<media_sim::RtpCodec> ParseMediaCodec(absl::string_view text) {
  std::pair<std::string, std::string> parts = absl::StrSplit(text, '/');
  int payload_type = DefaultPayloadType(parts.first);
  if (!parts.second.empty() &&
      (!absl::SimpleAtoi(parts.second, &payload_type) || payload_type < 0 ||
       payload_type > 127)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad payload type in codec '", text, "'"));
  }
  if (payload_type < 0) {
    return absl::NotFoundError(absl::StrCat(
        "codec '", text, "' has no known payload type: write NAME/PT"));
  }
  return media_sim::CodecByName(parts.first, payload_type);
}

MediaLoopback::MediaLoopback(Clock& clock, media_sim::GiceChannel& channel,
                             media_sim::RtpCodec codec, uint32_t ssrc)
    : MediaLoopback(clock, channel, codec, {}, ssrc) {}

MediaLoopback::MediaLoopback(Clock& clock, media_sim::GiceChannel& channel,
                             media_sim::RtpCodec send,
                             std::vector<media_sim::RtpCodec> receive,
                             uint32_t ssrc)
    : clock_(clock),
      channel_(channel),
      codec_(send),
      sender_(send, ssrc, static_cast<uint16_t>(ssrc >> 16), ssrc * 7),
      receiver_(receive.empty() ? std::vector<media_sim::RtpCodec>{send}
                                : std::move(receive)) {
  channel_.set_packet_handler(
      [this](absl::string_view packet, const boost::asio::ip::udp::endpoint&) {
        OnPacket(packet);
      });
}

MediaLoopback::~MediaLoopback() { channel_.set_packet_handler(nullptr); }

void MediaLoopback::Start() {
  started_at_ = sampled_at_ = next_frame_at_ = clock_.Now();
  sample_tick_ = clock_.CallAfter(kSampleInterval, [this] { TakeSample(); });
  SendOne();
}

MediaSample MediaLoopback::SampleNow() const {
  const absl::Duration now = clock_.Now();
  const media_sim::RtpStats& in = receiver_.stats();
  MediaSample sample;
  sample.set_offset_us(absl::ToInt64Microseconds(now - started_at_));
  sample.set_duration_us(absl::ToInt64Microseconds(now - sampled_at_));
  sample.set_sent(sent_ - sampled_sent_);
  sample.set_received(in.packets - sampled_received_);
  // A late packet can fill an earlier gap: newly missing counts no lower
  // than zero.
  const uint64_t lost = in.lost > sampled_lost_ ? in.lost - sampled_lost_ : 0;
  const uint64_t expected = sample.received() + lost;
  sample.set_loss_percent(expected == 0 ? 0 : 100.0 * lost / expected);
  sample.set_jitter_ms(in.jitter_ms);
  return sample;
}

void MediaLoopback::TakeSample() {
  samples_.push_back(SampleNow());
  sampled_at_ = clock_.Now();
  sampled_sent_ = sent_;
  sampled_received_ = receiver_.stats().packets;
  sampled_lost_ = receiver_.stats().lost;
  sample_tick_ = clock_.CallAfter(kSampleInterval, [this] { TakeSample(); });
  if (on_sample_) on_sample_(samples_.back());
}

std::string DescribeCandidate(const media_sim::Candidate& candidate) {
  return absl::StrCat(candidate.address, ":", candidate.port, " ",
                      candidate.type, " gen ", candidate.generation);
}

void MediaLoopback::SendOne() {
  const absl::Duration late = clock_.Now() - next_frame_at_;
  if (sent_ + refused_ > 0) {
    const double d = std::fabs(absl::ToDoubleSeconds(late - last_late_));
    own_jitter_s_ += (d - own_jitter_s_) / 16;
  }
  last_late_ = late;
  media_sim::RtpPacket& packet = packet_;
  sender_.Next(packet);
  if (packet.payload.size() >= kStampBytes) {
    const int64_t now_us = absl::ToInt64Microseconds(clock_.Now());
    std::memcpy(&packet.payload[0], kMarker, sizeof(kMarker));
    std::memcpy(&packet.payload[sizeof(kMarker)], &now_us, sizeof(now_us));
  }
  packet.SerializeTo(wire_);
  if (channel_.SendPacket(wire_)) {
    ++sent_;
  } else {
    ++refused_;  // not writable (yet): media only goes over a checked pair
  }
  next_frame_at_ += codec_.frame;
  tick_ = clock_.CallAfter(
      std::max(absl::ZeroDuration(), next_frame_at_ - clock_.Now()),
      [this] { SendOne(); });
}

void MediaLoopback::OnPacket(absl::string_view data) {
  // Arrival as the kernel saw it, not when this thread got to it.
  const media_sim::RtpPacket* packet = receiver_.OnPacket(
      data, clock_.Now() - media_sim::CurrentDatagramQueueDelay());
  if (!packet || packet->payload.size() < kStampBytes ||
      std::memcmp(packet->payload.data(), kMarker, sizeof(kMarker)) != 0) {
    return;
  }
  int64_t sent_us = 0;
  std::memcpy(&sent_us, packet->payload.data() + sizeof(kMarker),
              sizeof(sent_us));
  ++echoed_;
  rtt_sum_ms_ += (absl::ToInt64Microseconds(clock_.Now()) - sent_us) / 1000.0;
}

MediaReport MediaLoopback::Report() const {
  MediaReport report;
  report.set_channel("rtp");
  report.set_codec(codec_.name);
  report.set_payload_type(codec_.payload_type);
  report.set_packets_sent(sent_);
  report.set_send_refused_not_writable(refused_);
  const media_sim::RtpStats& in = receiver_.stats();
  report.set_packets_received(in.packets);
  report.set_loss_percent(in.loss_percent());
  report.set_jitter_ms(in.jitter_ms);
  report.set_peer_timer_jitter_ms(own_jitter_s_ * 1000.0);
  report.set_packets_per_second(in.packets_per_second());
  report.set_duplicates(in.duplicates);
  report.set_reordered(in.reordered);
  report.set_wrong_payload_type(in.wrong_payload_type);
  report.set_ssrc_changes(in.ssrc_changes);
  report.set_malformed(in.malformed);
  report.set_stalled_timestamps(in.stalled_timestamps);
  report.set_partial_frame_steps(in.partial_frame_steps);
  report.set_echoed(echoed_);
  if (echoed_ > 0) report.set_rtt_ms(rtt_sum_ms_ / echoed_);
  for (const auto& [finding, count] : GiceFindings(channel_.stats()))
    (*report.mutable_findings())[std::string(finding)] = count;
  for (const auto& [finding, count] :
       GiceFindings(channel_.environment_stats()))
    (*report.mutable_environment_findings())[std::string(finding)] = count;
  report.set_stale_credentials_answered(
      channel_.stats().stale_credentials_requests +
      channel_.environment_stats().stale_credentials_requests);
  for (const auto& [pair, checks] : channel_.stats().pairs) {
    PairChecksReport& out = (*report.mutable_pairs())[pair];
    out.set_client_checks(checks.requests_received);
    out.set_answered(checks.responses_sent);
    out.set_peer_checks(checks.requests_sent);
    out.set_client_answers(checks.responses_received);
  }
  for (const auto& [type, count] : in.by_payload_type)
    (*report.mutable_received_payload_types())[type] = count;
  for (const auto& [ssrc, count] : in.by_ssrc)
    (*report.mutable_received_ssrcs())[ssrc] = count;
  for (const MediaSample& sample : samples_) *report.add_samples() = sample;
  // The interval since the last sample, unless the step ended right on it.
  if (clock_.Now() > sampled_at_) *report.add_samples() = SampleNow();
  if (std::optional<media_sim::GiceChannel::CandidatePair> pair =
          channel_.best_pair()) {
    report.set_local_candidate(DescribeCandidate(pair->local));
    report.set_remote_candidate(DescribeCandidate(pair->remote));
  }
  return report;
}

std::array<std::pair<absl::string_view, uint64_t>, kGiceFindingCount>
GiceFindings(const media_sim::GiceStats& gice) {
  return {{
      {"bad_username_requests", gice.bad_username_requests},
      {"flood_datagrams", gice.flood_datagrams},
      {"integrity_or_fingerprint", gice.integrity_or_fingerprint},
      {"malformed_stun", gice.malformed_stun},
      {"media_before_writable", gice.media_before_writable},
      {"media_from_unreadable", gice.media_from_unreadable},
      {"media_to_stale_generation", gice.media_to_stale_generation},
      {"oversized_datagrams", gice.oversized_datagrams},
      {"oversized_stun", gice.oversized_stun},
      {"responses_with_wrong_username", gice.responses_with_wrong_username},
      {"responses_without_mapped_address",
       gice.responses_without_mapped_address},
      {"stun_attribute_overrun", gice.stun_attribute_overrun},
      {"truncated_stun", gice.truncated_stun},
      {"unknown_stun_attributes", gice.unknown_stun_attributes},
  }};
}

std::vector<std::string> MediaProblems(const MediaStep& media,
                                       const MediaReport& report,
                                       bool timed_out) {
  std::vector<std::string> problems;
  const uint64_t wanted = media.min_packets_each_way();
  if (report.packets_sent() < wanted) {
    problems.push_back(absl::StrCat(
        "the peer could send only ", report.packets_sent(), " of ", wanted,
        " packets: its pair with the client was not writable for ",
        report.send_refused_not_writable(), " frames"));
  }
  if (report.packets_received() < wanted) {
    problems.push_back(absl::StrCat(
        "only ", report.packets_received(), " of ", wanted,
        " RTP packets arrived from the client",
        timed_out
            ? absl::StrCat(" within ", absl::FormatDuration(absl::Milliseconds(
                                           media.within().ms())))
            : ""));
  }
  if (media.max_loss_percent() < 100 &&
      report.loss_percent() > media.max_loss_percent()) {
    problems.push_back(absl::StrFormat("loss %.2f%% over the limit of %.2f%%",
                                       report.loss_percent(),
                                       media.max_loss_percent()));
  }
  if (media.max_jitter_ms() > 0 &&
      ClientJitterMs(report) > media.max_jitter_ms()) {
    problems.push_back(
        absl::StrFormat("jitter %.2f ms over the limit of %.2f ms",
                        report.jitter_ms(), media.max_jitter_ms()));
    if (report.peer_timer_jitter_ms() >= kNotableTimerJitterMs) {
      problems.back() += absl::StrFormat(
          " (%.2f ms beyond the %.2f ms of the peer's own send timers)",
          ClientJitterMs(report), report.peer_timer_jitter_ms());
    }
  }
  if (report.wrong_payload_type() > 0) {
    problems.push_back(absl::StrCat(
        report.wrong_payload_type(),
        " packets with a payload type outside the negotiated set (",
        report.negotiated().empty()
            ? absl::StrCat(report.codec(), "/", report.payload_type())
            : report.negotiated(),
        ")"));
  }
  if (!report.asserted_codec().empty() && report.other_than_asserted() > 0) {
    problems.push_back(absl::StrCat(
        report.other_than_asserted(),
        " packets with a payload type other than ",
        report.asserted_payload_type(), " (", report.asserted_codec(), ", ",
        report.asserted_because().empty() ? "the step's codec"
                                          : report.asserted_because(),
        ")"));
  }
  if (report.ssrc_changes() > 0) {
    problems.push_back(absl::StrCat("the client changed its SSRC ",
                                    report.ssrc_changes(), " times"));
  }
  if (report.malformed() > 0) {
    problems.push_back(
        absl::StrCat(report.malformed(), " malformed RTP packets"));
  }
  if (report.stalled_timestamps() > 0) {
    problems.push_back(absl::StrCat(
        report.stalled_timestamps(),
        " packets whose RTP timestamp did not advance past the previous "
        "packet's (RFC 3550 5.1)"));
  }
  for (const auto& [name, count] : CountedFindings(report.findings())) {
    problems.push_back(absl::StrCat("GICE finding ", name, ": ", count));
  }
  if (!problems.empty()) problems.push_back(WhatArrived(report));
  return problems;
}

std::vector<std::string> MediaWarnings(const MediaStep& media,
                                       const MediaReport& report) {
  std::vector<std::string> warnings;
  if (media.max_jitter_ms() > 0 && report.jitter_ms() > media.max_jitter_ms() &&
      ClientJitterMs(report) <= media.max_jitter_ms()) {
    warnings.push_back(absl::StrFormat(
        "jitter %.2f ms over the limit of %.2f ms, not judged: the peer's own "
        "send timers, on this machine, showed %.2f ms over the step (a loaded "
        "machine), which leaves %.2f ms to the client",
        report.jitter_ms(), media.max_jitter_ms(),
        report.peer_timer_jitter_ms(), ClientJitterMs(report)));
  }
  if (report.partial_frame_steps() > 0) {
    warnings.push_back(absl::StrCat(
        report.partial_frame_steps(),
        " RTP timestamp steps by part of a frame of ", report.codec(),
        ": legal (RFC 3550 5.1 asks for a monotonic, linear clock), though "
        "libjingle's voice engines step by whole frames"));
  }
  return warnings;
}

std::string MediaFigures(const MediaReport& report) {
  std::string figures = absl::StrFormat(
      "%s: %d packets sent, %d received, loss %.2f%%, jitter %.2f ms, ",
      report.codec(), report.packets_sent(), report.packets_received(),
      report.loss_percent(), report.jitter_ms());
  // Only when the machine made itself felt: on an idle one it is ~0.05 ms.
  if (report.peer_timer_jitter_ms() >= kNotableTimerJitterMs) {
    absl::StrAppendFormat(&figures, "the peer's own send timers %.2f ms, ",
                          report.peer_timer_jitter_ms());
  }
  absl::StrAppendFormat(&figures, "%.1f pps, ", report.packets_per_second());
  if (report.echoed() > 0) {
    absl::StrAppendFormat(&figures, "rtt %.2f ms", report.rtt_ms());
  } else {
    figures += "rtt n/a (the client echoed none of the peer's packets)";
  }
  if (report.stale_credentials_answered() > 0) {
    absl::StrAppend(&figures, "; ", report.stale_credentials_answered(),
                    " pings answered 430 Stale Credentials (pings before "
                    "candidates: a normal race, not judged)");
  }
  std::vector<std::string> environment;
  for (const auto& [name, count] :
       CountedFindings(report.environment_findings())) {
    environment.push_back(absl::StrCat(name, " ", count));
  }
  if (!environment.empty()) {
    absl::StrAppend(&figures, "; environment (not the client's, not judged): ",
                    absl::StrJoin(environment, ", "));
  }
  return figures;
}

}  // namespace talkcheck::harness

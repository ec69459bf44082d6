#include "harness/media_loopback.h"

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace talkcheck::harness {
namespace {

// Payload prefix of the peer's packets: marker, then the send time in
// microseconds.
constexpr char kMarker[4] = {'t', 'c', 'r', 't'};
constexpr size_t kStampBytes = sizeof(kMarker) + sizeof(int64_t);

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
    : clock_(clock),
      channel_(channel),
      codec_(codec),
      sender_(codec, ssrc, static_cast<uint16_t>(ssrc >> 16), ssrc * 7),
      receiver_(codec) {
  channel_.set_packet_handler(
      [this](absl::string_view packet, const boost::asio::ip::udp::endpoint&) {
        OnPacket(packet);
      });
}

MediaLoopback::~MediaLoopback() { channel_.set_packet_handler(nullptr); }

void MediaLoopback::Start() { SendOne(); }

void MediaLoopback::SendOne() {
  media_sim::RtpPacket packet = sender_.Next();
  if (packet.payload.size() >= kStampBytes) {
    const int64_t now_us = absl::ToInt64Microseconds(clock_.Now());
    std::memcpy(&packet.payload[0], kMarker, sizeof(kMarker));
    std::memcpy(&packet.payload[sizeof(kMarker)], &now_us, sizeof(now_us));
  }
  if (channel_.SendPacket(packet.Serialize())) {
    ++sent_;
  } else {
    ++refused_;  // not writable (yet): media only goes over a checked pair
  }
  tick_ = clock_.CallAfter(codec_.frame, [this] { SendOne(); });
}

void MediaLoopback::OnPacket(absl::string_view data) {
  std::optional<media_sim::RtpPacket> packet =
      receiver_.OnPacket(data, clock_.Now());
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
  report.set_packets_per_second(in.packets_per_second);
  report.set_duplicates(in.duplicates);
  report.set_reordered(in.reordered);
  report.set_wrong_payload_type(in.wrong_payload_type);
  report.set_ssrc_changes(in.ssrc_changes);
  report.set_malformed(in.malformed);
  report.set_bad_timestamp_steps(in.bad_timestamp_steps);
  report.set_echoed(echoed_);
  if (echoed_ > 0) report.set_rtt_ms(rtt_sum_ms_ / echoed_);
  const std::map<std::string, uint64_t> findings =
      GiceFindings(channel_.stats());
  report.mutable_findings()->insert(findings.begin(), findings.end());
  return report;
}

std::map<std::string, uint64_t> GiceFindings(const media_sim::GiceStats& gice) {
  std::map<std::string, uint64_t> findings;
  findings["bad_username_requests"] = gice.bad_username_requests;
  findings["responses_without_mapped_address"] =
      gice.responses_without_mapped_address;
  findings["responses_with_wrong_username"] =
      gice.responses_with_wrong_username;
  findings["malformed_stun"] = gice.malformed_stun;
  findings["media_from_unreadable"] = gice.media_from_unreadable;
  findings["media_before_writable"] = gice.media_before_writable;
  findings["media_to_stale_generation"] = gice.media_to_stale_generation;
  findings["oversized_datagrams"] = gice.oversized_datagrams;
  findings["truncated_stun"] = gice.truncated_stun;
  findings["oversized_stun"] = gice.oversized_stun;
  findings["stun_attribute_overrun"] = gice.stun_attribute_overrun;
  findings["unknown_stun_attributes"] = gice.unknown_stun_attributes;
  findings["integrity_or_fingerprint"] = gice.integrity_or_fingerprint;
  findings["flood_datagrams"] = gice.flood_datagrams;
  return findings;
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
  if (media.max_jitter_ms() > 0 && report.jitter_ms() > media.max_jitter_ms()) {
    problems.push_back(
        absl::StrFormat("jitter %.2f ms over the limit of %.2f ms",
                        report.jitter_ms(), media.max_jitter_ms()));
  }
  if (report.wrong_payload_type() > 0) {
    problems.push_back(absl::StrCat(
        report.wrong_payload_type(), " packets with a payload type other than ",
        report.payload_type(), " (", report.codec(), ")"));
  }
  if (report.ssrc_changes() > 0) {
    problems.push_back(absl::StrCat("the client changed its SSRC ",
                                    report.ssrc_changes(), " times"));
  }
  if (report.malformed() > 0) {
    problems.push_back(
        absl::StrCat(report.malformed(), " malformed RTP packets"));
  }
  if (report.bad_timestamp_steps() > 0) {
    problems.push_back(
        absl::StrCat(report.bad_timestamp_steps(),
                     " timestamp steps that are not whole frames"));
  }
  for (const auto& [name, count] : report.findings()) {
    if (count > 0) {
      problems.push_back(absl::StrCat("GICE finding ", name, ": ", count));
    }
  }
  return problems;
}

std::string MediaFigures(const MediaReport& report) {
  return absl::StrFormat(
      "%s: %d packets sent, %d received, loss %.2f%%, jitter %.2f ms, "
      "%.1f pps, rtt %.2f ms",
      report.codec(), report.packets_sent(), report.packets_received(),
      report.loss_percent(), report.jitter_ms(), report.packets_per_second(),
      report.rtt_ms());
}

}  // namespace talkcheck::harness

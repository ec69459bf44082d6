#include "harness/capture/trace_file.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "media_sim/rtp.h"
#include "media_sim/stun_message.h"

namespace talkcheck::harness {
namespace {

std::string Endpoint(const media_sim::UdpEndpoint& e) {
  return e.address().is_v6()
             ? absl::StrCat("[", e.address().to_string(), "]:", e.port())
             : absl::StrCat(e.address().to_string(), ":", e.port());
}

const char* StunTypeName(uint16_t type) {
  switch (type) {
    case 0x0001:
      return "binding-request";
    case 0x0101:
      return "binding-response";
    case 0x0111:
      return "binding-error";
    case 0x0003:
      return "allocate-request";
    case 0x0103:
      return "allocate-response";
    default:
      return nullptr;
  }
}

}  // namespace

std::string DescribeDatagram(absl::string_view datagram) {
  // STUN's first two bits are 0; RTP version 2 sets the first bit.
  if (!datagram.empty() && (static_cast<uint8_t>(datagram[0]) & 0xC0) == 0) {
    absl::StatusOr<media_sim::StunMessage> stun =
        media_sim::ParseStunMessage(datagram);
    if (stun.ok()) {
      const char* name = StunTypeName(stun->type);
      std::string text = name != nullptr
                             ? absl::StrCat("STUN ", name)
                             : absl::StrFormat("STUN 0x%04x", stun->type);
      if (stun->username) absl::StrAppend(&text, " user=", *stun->username);
      if (stun->error_code)
        absl::StrAppend(
            &text, " error=",
            stun->error_code->error_class * 100 + stun->error_code->number);
      return text;
    }
  }
  absl::StatusOr<media_sim::RtpPacket> rtp =
      media_sim::ParseRtpPacket(datagram);
  if (rtp.ok()) {
    return absl::StrFormat("RTP pt=%d seq=%d ts=%d ssrc=0x%08x",
                           rtp->payload_type, rtp->sequence, rtp->timestamp,
                           rtp->ssrc);
  }
  return "data";
}

absl::StatusOr<std::unique_ptr<TraceFile>> TraceFile::Create(
    const std::string& path) {
  std::ofstream file(path, std::ios::trunc);
  if (!file)
    return absl::UnavailableError(
        absl::StrCat("cannot write the trace ", path));
  return std::unique_ptr<TraceFile>(
      new TraceFile(std::move(file), absl::Now()));
}

void TraceFile::Line(absl::string_view scenario, absl::string_view text) {
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  std::lock_guard<std::mutex> lock(mu_);
  file_ << absl::StrFormat("%.6f %s %s\n", seconds, scenario, text);
  file_.flush();
}

void TraceFile::Stanza(absl::string_view scenario,
                       const fake_server::RoutedStanza& s) {
  const bool from =
      s.direction == fake_server::RoutedStanza::Direction::kFromEndpoint;
  // One line per event: the stanza's own line breaks become spaces.
  std::string xml = s.stanza.ToString();
  std::replace(xml.begin(), xml.end(), '\n', ' ');
  Line(scenario, absl::StrCat("stanza ", from ? "from " : "to ",
                              s.endpoint.ToString(), " ", xml));
}

void TraceFile::Datagram(absl::string_view scenario,
                         const media_sim::UdpEndpoint& from,
                         const media_sim::UdpEndpoint& to,
                         absl::string_view datagram) {
  Line(scenario, absl::StrFormat("udp %s > %s %s (%d bytes)", Endpoint(from),
                                 Endpoint(to), DescribeDatagram(datagram),
                                 datagram.size()));
}

media_sim::TappedNetwork::Tap TraceFile::UdpTap(std::string scenario) {
  return [this, scenario = std::move(scenario)](
             const media_sim::UdpEndpoint& from,
             const media_sim::UdpEndpoint& to, absl::string_view datagram) {
    Datagram(scenario, from, to, datagram);
  };
}

}  // namespace talkcheck::harness

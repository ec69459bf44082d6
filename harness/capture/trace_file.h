// A run's trace for people and scripts (talkcheck run --trace, SIPp's
// -trace_msg): one line per stanza the fake server routed and per datagram the
// simulated peer sent or received, with its time, so that "what happened
// when" can be read or grepped without Wireshark.
//
//   12.345678 callee-g1-basic stanza from cut@localhost/Talk.reference <iq
//   .../> 12.350012 callee-g1-basic udp 127.0.0.1:40001 > 127.0.0.1:20000 STUN
//   binding-request user=ab12cd34ef56gh78 (28 bytes) 12.370001 callee-g1-basic
//   udp 127.0.0.1:20000 > 127.0.0.1:40001 RTP pt=0 seq=17 ts=2720
//   ssrc=0x1a2b3c4d (172 bytes)
//
// Times are seconds since the run started (wall clock). Thread-safe: the
// scenarios of a run share one file.
#ifndef TALKCHECK_HARNESS_CAPTURE_TRACE_FILE_H_
#define TALKCHECK_HARNESS_CAPTURE_TRACE_FILE_H_

#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fake_server/server.h"
#include "media_sim/tapped_network.h"

namespace talkcheck::harness {

class TraceFile {
 public:
  // kUnavailable when the file cannot be written.
  static absl::StatusOr<std::unique_ptr<TraceFile>> Create(
      const std::string& path);

  void Stanza(absl::string_view scenario, const fake_server::RoutedStanza& s);
  void Datagram(absl::string_view scenario, const media_sim::UdpEndpoint& from,
                const media_sim::UdpEndpoint& to, absl::string_view datagram);

  // A tap that writes `scenario`'s datagrams here.
  media_sim::TappedNetwork::Tap UdpTap(std::string scenario);

 private:
  TraceFile(std::ofstream file, absl::Time start)
      : file_(std::move(file)), start_(start) {}
  void Line(absl::string_view scenario, absl::string_view text);

  std::mutex mu_;
  std::ofstream file_;
  absl::Time start_;
};

// "STUN binding-request user=...", "RTP pt=0 seq=17 ...", or "data": what a
// GICE or RTP datagram is. Visible for testing.
std::string DescribeDatagram(absl::string_view datagram);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_CAPTURE_TRACE_FILE_H_

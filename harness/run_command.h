// `talkcheck run`: the scenario library against one client under test, several
// scenarios at once, each in a world of its own (a fresh fake server, STUN
// server and relay, peer and client), results printed in the order given.
#ifndef TALKCHECK_HARNESS_RUN_COMMAND_H_
#define TALKCHECK_HARNESS_RUN_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fake_server/config.pb.h"
#include "harness/report/report.pb.h"
#include "harness/run/runner.h"
#include "reference_client/voice_client.h"

namespace talkcheck::harness {

struct RunCommandOptions {
  std::vector<std::string> files;
  // Seed, --var values, the ready timeout.
  RunnerOptions runner;
  // The in-process reference client (unless `client_cmd` is set), and its
  // --fault / --dialect as given (for reports and the virtual clock).
  reference_client::VoiceClientOptions reference;
  std::string faults;
  std::string dialect = "g1";
  std::string codecs;
  absl::Duration answer_after = absl::InfiniteDuration();
  // The fake server's disco identity profile (fake_server/config.h).
  std::string server_identity = "talkcheck";
  // Which implementation's habits are demanded (harness/scenario/profiles.h):
  // checks of other profiles only warn.
  std::string profile = "interop";
  std::string client_cmd;
  // Each scenario's client output, appended under a header line.
  std::string client_log;
  fake_server::ServerConfig::TlsMode tls =
      fake_server::ServerConfig::TLS_REQUIRED;
  bool virtual_clock = false;
  // Scenarios at once (they mostly wait on timers and the client).
  int jobs = 8;
  // Timers that only wait run K times as long (the scenario's bounds and
  // delays, and the reference client's libjingle timers).
  double time_scale = 1.0;
  // Comma-separated globs on scenario names; a leading '-' excludes.
  std::string filter;
  // Tags a scenario must have one of; a leading '-' excludes the tag.
  std::vector<std::string> tags;
  bool quiet = false;
  // Fixed ports (0: a free one per scenario); fixed ports run one at a time.
  uint16_t stun_port = 0;
  uint16_t relay_http_port = 0;
  uint16_t relay_udp_port = 0;
  std::string junit;
  std::string json;
  // A capture of every stanza and datagram (real clock only; empty: none, or
  // talkcheck.pcap in $TEST_UNDECLARED_OUTPUTS_DIR under bazel test).
  std::string pcap;
  // Every stanza and datagram, one line each with its time (empty: none).
  std::string trace;
  // The report as one self-contained HTML page (empty: none).
  std::string html;
  // The same report served while the run goes on (harness/live/): HOST:PORT,
  // loopback unless serve_any_address; port 0 picks a free one. Empty: none.
  std::string serve;
  bool serve_any_address = false;
  // How long the first scenario waits for a browser to open the live view
  // (it starts when one has, or when this has passed).
  absl::Duration serve_wait = absl::ZeroDuration();
  // How long the final report stays served after the run.
  absl::Duration serve_linger = absl::ZeroDuration();
};

// Exit codes: harness/report/exit_codes.h. `report`, when given, receives the
// run's report (the verdicts, in the order given) once the run has ended.
int RunCommand(const RunCommandOptions& options, RunReport* report = nullptr);

// Whether a scenario called `name` with `tags` is selected by `filter` and
// `wanted_tags` (as RunCommandOptions describes them). Visible for testing.
bool Selected(const std::string& name, const std::vector<std::string>& tags,
              const std::string& filter,
              const std::vector<std::string>& wanted_tags);

// The order in which the scenarios of a run start, by their global deadlines
// (`timeout`): the longest first, ties in the order given, so that a
// library's wall time is not that of its last long scenario (ring-timeout, 18
// s at --time_scale=0.1, started after 60 short ones, ended the library 7 s
// after the rest). Results are still printed in the order given. Visible for
// testing.
std::vector<size_t> StartOrder(const std::vector<int64_t>& deadlines_ms);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RUN_COMMAND_H_

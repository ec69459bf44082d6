// One scenario in a world of its own: a fresh fake server, the client under
// test and the runner, on the virtual clock or on the real one.
//
// On the virtual clock the reference client (or any client linked in behind
// `ClientUnderTest`) runs in-process: it logs in to the fresh fake server over
// an in-memory pipe, its GICE and RTP travel on an InMemoryNetwork, and a
// driver alternates "run everything runnable" with "jump to the next
// deadline". No socket, no thread, no real time: the same scenario, client and
// seed give the same bytes every time, and a 180 s ring timeout costs
// microseconds. An external client (a command) runs on the real clock over TCP
// and UDP instead.
//
// Worlds share nothing, so runs may go on several threads at once. Timeout
// fuzzing (harness/fuzz/schedule_run.h) runs each schedule in one.
#ifndef TALKCHECK_HARNESS_RUN_WORLD_H_
#define TALKCHECK_HARNESS_RUN_WORLD_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "harness/report/report.pb.h"
#include "harness/run/client_under_test.h"
#include "harness/run/runner.h"
#include "harness/scenario/scenario.pb.h"
#include "media_sim/datagram_network.h"
#include "reference_client/voice_client.h"

namespace talkcheck::harness {

// The client under test of a world.
struct ClientSpec {
  // The in-process reference client: comma-separated faults, and the dialect
  // of the calls it places ("g1" or "g2").
  std::string faults;
  std::string dialect = "g1";
  // The codecs it accepts (`--codecs`, reference_client::ParseCodecList;
  // empty: its defaults), and when it answers an incoming call: never by
  // itself (InfiniteDuration, the default: the scenario's control steps
  // answer or reject) or after `--answer_after`.
  std::string codecs;
  absl::Duration answer_after = absl::InfiniteDuration();
  // An external client instead, as for `talkcheck run --client_cmd`.
  std::string command;
  // An external client started with its timers K times as fast (e.g. the
  // reference client's --time_scale): the scenario's timings, the schedule's
  // delays and the oracles' deadlines are scaled alike, so a campaign on the
  // real clock takes K times as long.
  double time_scale = 1.0;
  // Or any other client linked in (docs/fuzzing.md: the in-process adapter):
  // made once per run, on the run's io_context and virtual clock. It must log
  // in through CutLogin::connect_in_memory, take every timer from `clock` and
  // every UDP socket from `network`; `bitgen` is seeded by the run's seed.
  std::function<std::unique_ptr<ClientUnderTest>(
      boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
      media_sim::DatagramNetwork& network)>
      in_process;
  // For reports when `in_process` is set.
  std::string in_process_name = "in-process client";
  // An external client's stdout and stderr are appended here, each run under
  // a header line (none when empty); the run's own output also goes into
  // ScenarioResult.client_output.
  std::string client_log;

  bool external() const { return !command.empty() && !in_process; }
  // "reference", "reference --fault=no-ack", or the command.
  std::string Describe() const;
};

// The reference client's options for `faults`, `dialect`, `codecs` and
// `answer_after` (ClientSpec's); kInvalidArgument for an unknown fault,
// dialect or codec.
absl::StatusOr<reference_client::VoiceClientOptions> ReferenceClientOptions(
    const std::string& faults, const std::string& dialect,
    const std::string& codecs = "",
    absl::Duration answer_after = absl::InfiniteDuration());

// Runs `scenario` (loaded from `file`) against the in-process `client` on a
// virtual clock, seeded by `options.seed`; `fate` decides each datagram's loss
// and delay (null: every datagram arrives at once). Errors are the harness's
// own (the client cannot be made, the run neither ends nor stalls).
absl::StatusOr<ScenarioResult> RunInVirtualWorld(
    Scenario scenario, const std::string& file, const ClientSpec& client,
    RunnerOptions options,
    media_sim::InMemoryNetwork::FateFunction fate = nullptr);

// Runs `scenario` against the external `client` (its command) on the real
// clock, over TCP and UDP on loopback.
absl::StatusOr<ScenarioResult> RunInRealWorld(const Scenario& scenario,
                                              const std::string& file,
                                              const ClientSpec& client,
                                              RunnerOptions options);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RUN_WORLD_H_

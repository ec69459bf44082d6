// Runs one scenario under one schedule, in a world of its own, and judges it
// by the oracles: the unit of timeout fuzzing, shrinking and replay.
//
// The reference client (or any client linked in behind `ClientUnderTest`)
// runs in-process on a VirtualClock: it logs in to a fresh fake server over an
// in-memory pipe, its GICE and RTP travel on an InMemoryNetwork whose datagram
// fates the schedule decides, and a driver alternates "run everything
// runnable" with "jump to the next deadline". No socket, no thread, no real
// time: the same scenario, client and schedule give the same bytes every time,
// and a 180 s ring timeout costs microseconds. An external client (a command)
// runs on the real clock over TCP and UDP instead: slower, and the schedule's
// media conditions do not apply to it.
//
// Worlds share nothing, so runs may go on several threads at once.
#ifndef TALKCHECK_HARNESS_SCHEDULE_RUN_H_
#define TALKCHECK_HARNESS_SCHEDULE_RUN_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "harness/client_under_test.h"
#include "harness/fuzz.pb.h"
#include "harness/report.pb.h"
#include "harness/scenario.pb.h"
#include "media_sim/datagram_network.h"
#include "reference_client/voice_client.h"

namespace talkcheck::harness {

// The client under test of a campaign.
struct ClientSpec {
  // The in-process reference client: comma-separated faults, and the dialect
  // of the calls it places ("g1" or "g2").
  std::string faults;
  std::string dialect = "g1";
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
  // every UDP socket from `network`; `bitgen` is seeded by the schedule.
  std::function<std::unique_ptr<ClientUnderTest>(
      boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
      media_sim::DatagramNetwork& network)>
      in_process;
  // For reports when `in_process` is set.
  std::string in_process_name = "in-process client";

  bool external() const { return !command.empty() && !in_process; }
  // "reference", "reference --fault=no-ack", or the command.
  std::string Describe() const;
};

// The reference client's options for `faults` and `dialect`;
// kInvalidArgument for an unknown fault or dialect.
absl::StatusOr<reference_client::VoiceClientOptions> ReferenceClientOptions(
    const std::string& faults, const std::string& dialect);

struct ScheduleOutcome {
  ScenarioResult result;
  std::vector<Violation> violations;
  bool keeps_expectations = false;
};

// How long a run keeps going after its verdict while sessions are still open
// (past the longest client deadline, 180 s, plus slack).
inline constexpr absl::Duration kSettleLimit = absl::Seconds(200);

// Runs `scenario` (loaded from `file`) against `client` under `schedule`.
// Errors are the harness's own (the schedule does not fit the scenario, the
// client cannot be made); whatever the client does is in the outcome.
// `variables` are the command line's --var values.
absl::StatusOr<ScheduleOutcome> RunSchedule(
    const Scenario& scenario, const std::string& file, const ClientSpec& client,
    const Schedule& schedule,
    const std::map<std::string, std::string>& variables = {});

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCHEDULE_RUN_H_

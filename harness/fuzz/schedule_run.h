// Runs one scenario under one schedule and judges it by the oracles: the unit
// of timeout fuzzing, shrinking and replay. The schedule is applied to the
// scenario (timing draws, inserted delays, reorderings), to the peer (late and
// withheld acks) and to the network (datagram loss and delay); the run goes on
// in a world of its own (harness/run/world.h), on the virtual clock for an
// in-process client and on the real one for a command, where the schedule's
// media conditions do not apply.
#ifndef TALKCHECK_HARNESS_FUZZ_SCHEDULE_RUN_H_
#define TALKCHECK_HARNESS_FUZZ_SCHEDULE_RUN_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "harness/fuzz/fuzz.pb.h"
#include "harness/report/report.pb.h"
#include "harness/run/world.h"
#include "harness/scenario/scenario.pb.h"
#include "xmpp/stream_pipe.h"

namespace talkcheck::harness {

struct ScheduleOutcome {
  ScenarioResult result;
  std::vector<Violation> violations;
  bool keeps_expectations = false;
};

// How long a run keeps going after its verdict while sessions are still open
// (past the longest client deadline, 180 s, plus slack).
inline constexpr absl::Duration kSettleLimit = absl::Seconds(200);

// What an outcome's result keeps of the stanzas.
enum class StanzaText {
  kKept,     // the transcript's records and each step's stanza, as XML
  kDropped,  // neither, where only the violations are kept (a campaign,
             // shrinking): the oracles read the stanzas as the run recorded
             // them either way, so the violations are the same
};

// Runs `scenario` (loaded from `file`) against `client` under `schedule`.
// Errors are the harness's own (the schedule does not fit the scenario, the
// client cannot be made); whatever the client does is in the outcome.
// `variables` are the command line's --var values. `handover`: how XMPP
// crosses the in-process client's pipe (RunnerOptions::xmpp_handover); by
// default whole elements when the text is dropped (a campaign, where it saves
// a tenth of a schedule), else bytes. Either gives the same run.
absl::StatusOr<ScheduleOutcome> RunSchedule(
    const Scenario& scenario, const std::string& file, const ClientSpec& client,
    const Schedule& schedule,
    const std::map<std::string, std::string>& variables = {},
    StanzaText text = StanzaText::kKept,
    std::optional<xmpp::StreamPipeEnd::Handover> handover = std::nullopt);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_SCHEDULE_RUN_H_

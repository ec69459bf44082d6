// The scenario writer of `talkcheck record`: one recorded call as a scenario
// file in which one side is the client under test (CUT) and the other the
// simulated peer. Each stanza the CUT sent becomes an `expect` (with a bound
// derived from when it came, with slack), preceded by the control step that
// made the user's client send it (`call`, `answer`, `reject`, `hangup`); each
// stanza the peer sent becomes a `send` (after a `delay` when the recorded
// peer took its time). Per-run values become variables and captures
// (generalizer.h). A `media` step checks RTP once the call is accepted and
// the peer's candidates are out, before it ends. The simulated peer acks
// nothing by itself: the recorded peer's answers are sends of their own.
#ifndef TALKCHECK_HARNESS_RECORD_SCENARIO_WRITER_H_
#define TALKCHECK_HARNESS_RECORD_SCENARIO_WRITER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "harness/record/call_recorder.h"

namespace talkcheck::harness {

struct ScenarioWriterOptions {
  std::string name;  // the scenario's name
  bool cut_is_caller = false;
  // Bounds: an expect waits kSlackFactor times what the recorded client took,
  // plus min_within, rounded up to whole seconds.
  absl::Duration min_within = absl::Seconds(5);
  // A recorded pause of the peer at least this long becomes a `delay`.
  absl::Duration min_delay = absl::Milliseconds(300);
};

// The scenario, as the text of a file. kInvalidArgument when the call holds
// nothing the CUT sent (nothing to check).
absl::StatusOr<std::string> WriteScenario(const RecordedCall& call,
                                          const ScenarioWriterOptions& options);

// `<delay>` and `within` values: "2s", "1500ms".
std::string DurationText(absl::Duration duration);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RECORD_SCENARIO_WRITER_H_

// Which PROTOCOL.md §8 quirks a run showed, read from what the run produced.
//
// A scenario says which quirk it probes with a tag, `quirk-8.N`; the steps
// that tell are the ones a profile marks as one implementation's habit
// (harness/scenario/profiles.h), so a client that passes them all shows the
// quirk, one that fails one (a failure, or a warning under another profile)
// does not. Besides tags, measurements name quirks of their own: pings that
// the peer answered 430 Stale Credentials are the §8.13 race.
//
// Example:
//   for (const QuirkObservation& q : ObserveQuirks(scenario, result))
//     if (q.state() == SHOWN) ...  // "8.15 Reject before ack"
#ifndef TALKCHECK_HARNESS_REPORT_QUIRKS_H_
#define TALKCHECK_HARNESS_REPORT_QUIRKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "harness/report/matrix.pb.h"
#include "harness/report/report.pb.h"
#include "harness/scenario/scenario.pb.h"

namespace talkcheck::harness {

// The title of §8 item `quirk` ("8.15": "Reject before ack"), or "" when
// §8 has no such item.
std::string QuirkTitle(const std::string& quirk);

// The quirks `scenario`'s tags name ("quirk-8.15" → "8.15"), in tag order.
// InvalidArgument for a quirk tag that names no §8 item, or on a scenario
// without a profile-marked step to tell it by.
absl::StatusOr<std::vector<std::string>> ProbedQuirks(const Scenario& scenario);

// What `result` (a run of `scenario`) says about each quirk the scenario
// probes, then the quirks its measurements show. Assumes ProbedQuirks()
// accepted the scenario.
std::vector<QuirkObservation> ObserveQuirks(const Scenario& scenario,
                                            const ScenarioResult& result);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPORT_QUIRKS_H_

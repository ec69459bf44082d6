// A fuzzing campaign's report as one self-contained HTML page (talkcheck fuzz
// --html), in the style of talkcheck run's (harness/report/html_report.h):
// the schedules run, the violations by oracle as bars, and each shrunk
// schedule drawn as a timeline of its run: the steps as bars at the times
// they ran, the schedule's perturbations marked on the steps (and acks) they
// hit, every stanza as a tick, and where the run ended with the violation.
#ifndef TALKCHECK_HARNESS_FUZZ_CAMPAIGN_HTML_H_
#define TALKCHECK_HARNESS_FUZZ_CAMPAIGN_HTML_H_

#include <optional>
#include <string>
#include <vector>

#include "harness/fuzz/fuzz.pb.h"
#include "harness/report/report.pb.h"
#include "harness/scenario/scenario.pb.h"

namespace talkcheck::harness {

// `shrunk_runs[i]` is the run of summary.replays(i)'s schedule (nullopt when
// it could not be run again: its timeline is then the list alone).
std::string FuzzHtmlReport(
    const FuzzSummary& summary, const Scenario& scenario,
    const std::vector<std::optional<ScenarioResult>>& shrunk_runs);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_CAMPAIGN_HTML_H_

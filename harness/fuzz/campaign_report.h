// Renders a fuzzing campaign's FuzzSummary: the counts per oracle, each shrunk
// failure and the command that replays it; in JUnit one testcase per violated
// oracle (with the replay file as the failure's text); and the JSON of the
// summary.
#ifndef TALKCHECK_HARNESS_FUZZ_CAMPAIGN_REPORT_H_
#define TALKCHECK_HARNESS_FUZZ_CAMPAIGN_REPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "harness/fuzz/fuzz.pb.h"

namespace talkcheck::harness {

std::string FuzzTextSummary(const FuzzSummary& summary);
std::string FuzzJUnitXml(const FuzzSummary& summary);
absl::StatusOr<std::string> FuzzJsonReport(const FuzzSummary& summary);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_CAMPAIGN_REPORT_H_

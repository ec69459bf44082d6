// Renders a RunReport: a text summary for terminals, JUnit XML for CI (Bazel's
// XML_OUTPUT_FILE), and JSON (the protobuf's canonical JSON mapping).
#ifndef TALKCHECK_HARNESS_REPORT_REPORT_WRITER_H_
#define TALKCHECK_HARNESS_REPORT_REPORT_WRITER_H_

#include <string>

#include "absl/status/statusor.h"
#include "harness/report/report.pb.h"

namespace talkcheck::harness {

// Sets the passed / failed / errors counts from the scenarios' verdicts.
void CountVerdicts(RunReport& report);

// One line per scenario, then the details of each failure (the failing step,
// its message and diff), then "N passed, N failed, N errors".
std::string TextSummary(const RunReport& report);

// <testsuites><testsuite name="talkcheck"><testcase name=scenario
// classname=file time=...> with <failure>/<error> holding the message and diff,
// and the transcript in <system-out>.
std::string JUnitXml(const RunReport& report);

absl::StatusOr<std::string> JsonReport(const RunReport& report);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPORT_REPORT_WRITER_H_

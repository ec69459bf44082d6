// Renders a RunReport: a text summary for terminals, JUnit XML for CI (Bazel's
// XML_OUTPUT_FILE), and JSON (the protobuf's canonical JSON mapping).
#ifndef TALKCHECK_HARNESS_REPORT_WRITER_H_
#define TALKCHECK_HARNESS_REPORT_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "harness/fuzz.pb.h"
#include "harness/report.pb.h"

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

// A fuzzing campaign: the counts per oracle, each shrunk failure and the
// command that replays it; in JUnit one testcase per violated oracle (with the
// replay file as the failure's text); and the JSON of the summary.
std::string FuzzTextSummary(const FuzzSummary& summary);
std::string FuzzJUnitXml(const FuzzSummary& summary);
absl::StatusOr<std::string> FuzzJsonReport(const FuzzSummary& summary);

// Writes a report's JUnit XML to `junit_path` (empty: $XML_OUTPUT_FILE when
// set, as under bazel test; else nowhere) and its JSON to `json_path` (empty:
// nowhere), saying on stderr which could not be written.
void WriteReportFiles(std::string junit_path, const std::string& junit_xml,
                      const std::string& json_path,
                      const absl::StatusOr<std::string>& json);

// Writes `contents` to `path` (truncating).
absl::Status WriteFile(const std::string& path, const std::string& contents);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPORT_WRITER_H_

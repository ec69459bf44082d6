// What every talkcheck report (a run's, a fuzzing campaign's) shares: text that
// XML can carry, a protobuf as JSON, and where the report files go.
#ifndef TALKCHECK_HARNESS_REPORT_REPORT_FILES_H_
#define TALKCHECK_HARNESS_REPORT_REPORT_FILES_H_

#include <google/protobuf/message.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace talkcheck::harness {

// `text` with the control characters XML 1.0 cannot carry, even escaped,
// written as \xNN.
std::string XmlSafe(const std::string& text);

// The protobuf's canonical JSON mapping, indented, with the .proto's field
// names.
absl::StatusOr<std::string> ProtoJson(const google::protobuf::Message& message);

// Writes a report's JUnit XML to `junit_path` (empty: $XML_OUTPUT_FILE when
// set, as under bazel test; else nowhere) and its JSON to `json_path` (empty:
// nowhere), saying on stderr which could not be written.
void WriteReportFiles(std::string junit_path, const std::string& junit_xml,
                      const std::string& json_path,
                      const absl::StatusOr<std::string>& json);

// Writes `contents` to `path` (truncating).
absl::Status WriteFile(const std::string& path, const std::string& contents);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPORT_REPORT_FILES_H_

#include "harness/report_writer.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "harness/replay_file.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case PASS:
      return "PASS";
    case FAIL:
      return "FAIL";
    case ERROR:
      return "ERROR";
    case SKIPPED:
      return "SKIP";
    default:
      return "?";
  }
}

// XML 1.0 cannot carry most control characters, even escaped.
std::string XmlSafe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string FailureDetails(const ScenarioResult& scenario) {
  std::string out;
  for (const StepResult& step : scenario.steps()) {
    if (step.verdict() != FAIL && step.verdict() != ERROR) continue;
    absl::StrAppendFormat(&out, "step %d (%s) at %s:%d:%d: %s\n",
                          step.index() + 1, step.kind(), step.location().file(),
                          step.location().line(), step.location().column(),
                          step.message());
    if (!step.diff().empty()) absl::StrAppend(&out, step.diff(), "\n");
  }
  if (out.empty() && !scenario.failure().empty())
    absl::StrAppend(&out, scenario.failure(), "\n");
  return out;
}

}  // namespace

std::string TextSummary(const RunReport& report) {
  std::string out;
  for (const ScenarioResult& scenario : report.scenarios()) {
    absl::StrAppendFormat(&out, "%-5s %-40s %8.3fs  (%s)\n",
                          VerdictName(scenario.verdict()), scenario.name(),
                          scenario.duration_us() / 1e6, scenario.file());
    // The media figures of each call, passed or not.
    for (const StepResult& step : scenario.steps()) {
      if (step.has_media() && !step.message().empty())
        absl::StrAppend(&out, "      media ", step.message(), "\n");
    }
  }
  for (const ScenarioResult& scenario : report.scenarios()) {
    if (scenario.verdict() == PASS) continue;
    absl::StrAppend(&out, "\n=== ", VerdictName(scenario.verdict()), " ",
                    scenario.name(), " [", scenario.client(), "]\n",
                    FailureDetails(scenario));
  }
  absl::StrAppendFormat(&out,
                        "\n%d passed, %d failed, %d errors (seed %u, %.1fs)\n",
                        report.passed(), report.failed(), report.errors(),
                        report.seed(), report.wall_us() / 1e6);
  return out;
}

std::string JUnitXml(const RunReport& report) {
  using xmpp::EscapeAttribute;
  using xmpp::EscapeText;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppendFormat(
      &out,
      "<testsuites tests=\"%d\" failures=\"%d\" errors=\"%d\" time=\"%.3f\">\n"
      "  <testsuite name=\"talkcheck\" tests=\"%d\" failures=\"%d\" "
      "errors=\"%d\" "
      "time=\"%.3f\">\n",
      report.scenarios_size(), report.failed(), report.errors(),
      report.wall_us() / 1e6, report.scenarios_size(), report.failed(),
      report.errors(), report.wall_us() / 1e6);
  for (const ScenarioResult& scenario : report.scenarios()) {
    absl::StrAppendFormat(
        &out, "    <testcase name=\"%s\" classname=\"%s\" time=\"%.3f\">\n",
        EscapeAttribute(scenario.name()), EscapeAttribute(scenario.file()),
        scenario.wall_us() / 1e6);
    if (scenario.verdict() == FAIL || scenario.verdict() == ERROR) {
      const char* tag = scenario.verdict() == FAIL ? "failure" : "error";
      absl::StrAppendFormat(&out, "      <%s message=\"%s\">%s</%s>\n", tag,
                            EscapeAttribute(XmlSafe(scenario.failure())),
                            EscapeText(XmlSafe(FailureDetails(scenario))), tag);
    }
    std::string transcript;
    for (const StanzaRecord& record : scenario.transcript()) {
      absl::StrAppendFormat(&transcript, "%8.3fs %-11s %s\n",
                            record.time_us() / 1e6, record.direction(),
                            record.xml());
    }
    absl::StrAppend(&out, "      <system-out>", EscapeText(XmlSafe(transcript)),
                    "</system-out>\n    </testcase>\n");
  }
  absl::StrAppend(&out, "  </testsuite>\n</testsuites>\n");
  return out;
}

namespace {

absl::StatusOr<std::string> Json(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("JSON report: ", status.ToString()));
  }
  return json;
}

}  // namespace

void CountVerdicts(RunReport& report) {
  report.set_passed(0);
  report.set_failed(0);
  report.set_errors(0);
  for (const ScenarioResult& result : report.scenarios()) {
    if (result.verdict() == PASS) report.set_passed(report.passed() + 1);
    if (result.verdict() == FAIL) report.set_failed(report.failed() + 1);
    if (result.verdict() == ERROR) report.set_errors(report.errors() + 1);
  }
}

absl::StatusOr<std::string> JsonReport(const RunReport& report) {
  return Json(report);
}

std::string FuzzTextSummary(const FuzzSummary& summary) {
  std::string out = absl::StrFormat(
      "%s against %s: %d schedules (seed %d, shard %d of %d) in %.2fs, "
      "%.0f schedules/s, %d failing\n",
      summary.scenario(), summary.client(), summary.runs(), summary.seed(),
      summary.shard_index() + 1, summary.shard_count(), summary.wall_us() / 1e6,
      summary.schedules_per_second(), summary.failing_runs());
  for (const auto& [oracle, count] : summary.violations())
    absl::StrAppendFormat(&out, "  %-32s %d runs\n", oracle, count);
  for (const Replay& replay : summary.replays()) {
    absl::StrAppendFormat(&out, "shrunk run %d to %d perturbation(s):\n",
                          replay.run(), replay.schedule().perturbations_size());
    for (const Violation& v : replay.violations())
      absl::StrAppendFormat(&out, "  %s: %s\n", v.oracle(), v.detail());
  }
  for (const std::string& file : summary.replay_files())
    absl::StrAppend(&out, "replay: talkcheck replay ", file, "\n");
  return out;
}

std::string FuzzJUnitXml(const FuzzSummary& summary) {
  using xmpp::EscapeAttribute;
  using xmpp::EscapeText;
  // One testcase per oracle that failed, or a single passing one.
  std::string cases;
  int failures = 0;
  for (const Replay& replay : summary.replays()) {
    for (const Violation& v : replay.violations()) {
      ++failures;
      absl::StrAppendFormat(
          &cases,
          "    <testcase name=\"%s\" classname=\"%s\">\n"
          "      <failure message=\"%s\">%s</failure>\n    </testcase>\n",
          EscapeAttribute(v.oracle()), EscapeAttribute(summary.scenario()),
          EscapeAttribute(XmlSafe(v.detail())),
          EscapeText(XmlSafe(ReplayText(replay))));
    }
  }
  if (failures == 0) {
    absl::StrAppendFormat(&cases,
                          "    <testcase name=\"oracles\" classname=\"%s\"/>\n",
                          EscapeAttribute(summary.scenario()));
  }
  return absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites tests=\"%d\" failures=\"%d\" time=\"%.3f\">\n"
      "  <testsuite name=\"talkcheck fuzz\" tests=\"%d\" failures=\"%d\" "
      "time=\"%.3f\">\n%s  </testsuite>\n</testsuites>\n",
      std::max(failures, 1), failures, summary.wall_us() / 1e6,
      std::max(failures, 1), failures, summary.wall_us() / 1e6, cases);
}

absl::StatusOr<std::string> FuzzJsonReport(const FuzzSummary& summary) {
  return Json(summary);
}

void WriteReportFiles(std::string junit_path, const std::string& junit_xml,
                      const std::string& json_path,
                      const absl::StatusOr<std::string>& json) {
  if (junit_path.empty()) {
    if (const char* xml_output = std::getenv("XML_OUTPUT_FILE"))
      junit_path = xml_output;
  }
  if (!junit_path.empty()) {
    if (absl::Status s = WriteFile(junit_path, junit_xml); !s.ok())
      std::cerr << "talkcheck: " << s.message() << "\n";
  }
  if (!json_path.empty() && (!json.ok() || !WriteFile(json_path, *json).ok())) {
    std::cerr << "talkcheck: cannot write the JSON report to " << json_path
              << "\n";
  }
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  file.close();
  if (!file) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace talkcheck::harness

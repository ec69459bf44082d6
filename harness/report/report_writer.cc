#include "harness/report/report_writer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "harness/report/html_report.h"
#include "harness/report/report_files.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

// "step 3 (expect) at f.xml:12:3, included from main.xml:4:3".
std::string StepHeading(const StepResult& step) {
  std::string out =
      absl::StrFormat("step %s (%s) at %s:%d:%d",
                      !step.step_number().empty() ? step.step_number()
                      : step.number() > 0         ? absl::StrCat(step.number())
                                          : absl::StrCat(step.index() + 1),
                      step.kind(), step.location().file(),
                      step.location().line(), step.location().column());
  for (const SourceLocation& site : step.location().included_from()) {
    absl::StrAppendFormat(&out, ", included from %s:%d:%d", site.file(),
                          site.line(), site.column());
  }
  return out;
}

// How many lines of a client's output a never-ready report shows.
constexpr int kClientOutputLines = 20;

std::string LastLines(absl::string_view text, int n) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  size_t start = text.size();
  for (int lines = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++lines == n) break;
  }
  return std::string(text.substr(start));
}

std::string FailureDetails(const ScenarioResult& scenario) {
  std::string out;
  for (const StepResult& step : scenario.steps()) {
    if (step.verdict() != FAIL && step.verdict() != ERROR) continue;
    absl::StrAppend(&out, StepHeading(step), ": ", step.message(), "\n");
    if (!step.diff().empty()) absl::StrAppend(&out, step.diff(), "\n");
  }
  if (out.empty() && !scenario.failure().empty())
    absl::StrAppend(&out, scenario.failure(), "\n");
  if (!scenario.login().empty()) {
    absl::StrAppend(&out, "login as the fake server saw it:\n",
                    scenario.login());
  }
  if (scenario.failure_type() == "client/never-ready" &&
      !scenario.client_output().empty()) {
    absl::StrAppend(&out, "last lines of the client's output:\n",
                    LastLines(scenario.client_output(), kClientOutputLines),
                    "\n");
  }
  return out;
}

}  // namespace

std::string TextSummary(const RunReport& report) {
  std::string out;
  for (const ScenarioResult& scenario : report.scenarios()) {
    absl::StrAppendFormat(&out, "%-5s %-40s %8.3fs  (%s)\n",
                          ScenarioVerdictLabel(scenario.verdict()),
                          scenario.name(), scenario.duration_us() / 1e6,
                          scenario.file());
    // The media figures of each call, passed or not, and the steps that ran
    // but were skipped (optional, on-timeout="continue").
    for (const StepResult& step : scenario.steps()) {
      if (step.has_media() && !step.message().empty())
        absl::StrAppend(&out, "      media ", step.message(), "\n");
      if (step.verdict() == SKIPPED && !step.message().empty()) {
        absl::StrAppend(&out, "      SKIP ", StepHeading(step), ": ",
                        step.message(), "\n");
      }
    }
  }
  for (const ScenarioResult& scenario : report.scenarios()) {
    if (scenario.verdict() == PASS) continue;
    absl::StrAppend(&out, "\n=== ", ScenarioVerdictLabel(scenario.verdict()),
                    " ", scenario.name(), " [", scenario.client(), "]\n",
                    FailureDetails(scenario));
  }
  absl::StrAppendFormat(&out, "\n%s (seed %u, %.1fs)\n", VerdictCounts(report),
                        report.seed(), report.wall_us() / 1e6);
  return out;
}

// "talkcheck.NAME" with NAME's dots as '_': CI tools split a classname at its
// last dot (package.class), and a file name's ".xml" must not become the
// class.
std::string JUnitClassName(const ScenarioResult& scenario) {
  return absl::StrCat("talkcheck.",
                      absl::StrReplaceAll(scenario.name(), {{".", "_"}}));
}

std::string JUnitXml(const RunReport& report) {
  using xmpp::EscapeAttribute;
  using xmpp::EscapeText;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppendFormat(
      &out,
      "<testsuites tests=\"%d\" failures=\"%d\" errors=\"%d\" "
      "skipped=\"%d\" time=\"%.3f\">\n"
      "  <testsuite name=\"talkcheck\" tests=\"%d\" failures=\"%d\" "
      "errors=\"%d\" skipped=\"%d\" time=\"%.3f\">\n",
      report.scenarios_size(), report.failed(), report.errors(),
      report.not_applicable(), report.wall_us() / 1e6, report.scenarios_size(),
      report.failed(), report.errors(), report.not_applicable(),
      report.wall_us() / 1e6);
  for (const ScenarioResult& scenario : report.scenarios()) {
    absl::StrAppendFormat(
        &out, "    <testcase name=\"%s\" classname=\"%s\" time=\"%.3f\">\n",
        EscapeAttribute(scenario.name()),
        EscapeAttribute(JUnitClassName(scenario)), scenario.wall_us() / 1e6);
    if (scenario.verdict() == FAIL || scenario.verdict() == ERROR) {
      const char* tag = scenario.verdict() == FAIL ? "failure" : "error";
      const std::string type = scenario.failure_type().empty()
                                   ? std::string(tag)
                                   : scenario.failure_type();
      absl::StrAppendFormat(
          &out, "      <%s type=\"%s\" message=\"%s\">%s</%s>\n", tag,
          EscapeAttribute(type), EscapeAttribute(XmlSafe(scenario.failure())),
          EscapeText(XmlSafe(FailureDetails(scenario))), tag);
    }
    if (scenario.verdict() == SKIPPED) {
      absl::StrAppendFormat(&out, "      <skipped message=\"%s\"/>\n",
                            EscapeAttribute(XmlSafe(scenario.failure())));
    }
    std::string transcript;
    for (const StanzaRecord& record : scenario.transcript()) {
      absl::StrAppendFormat(&transcript, "%8.3fs %-11s %s\n",
                            record.time_us() / 1e6, record.direction(),
                            record.xml());
    }
    absl::StrAppend(&out, "      <system-out>", EscapeText(XmlSafe(transcript)),
                    "</system-out>\n");
    if (!scenario.client_output().empty()) {
      absl::StrAppend(&out, "      <system-err>",
                      EscapeText(XmlSafe(scenario.client_output())),
                      "</system-err>\n");
    }
    absl::StrAppend(&out, "    </testcase>\n");
  }
  absl::StrAppend(&out, "  </testsuite>\n</testsuites>\n");
  return out;
}

void CountVerdicts(RunReport& report) {
  report.set_passed(0);
  report.set_failed(0);
  report.set_errors(0);
  report.set_not_applicable(0);
  for (const ScenarioResult& result : report.scenarios()) {
    if (result.verdict() == PASS) report.set_passed(report.passed() + 1);
    if (result.verdict() == FAIL) report.set_failed(report.failed() + 1);
    if (result.verdict() == ERROR) report.set_errors(report.errors() + 1);
    if (result.verdict() == SKIPPED)
      report.set_not_applicable(report.not_applicable() + 1);
  }
}

absl::StatusOr<std::string> JsonReport(const RunReport& report) {
  return ProtoJson(report);
}

}  // namespace talkcheck::harness

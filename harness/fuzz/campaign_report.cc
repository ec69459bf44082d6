#include "harness/fuzz/campaign_report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/sorted_by_key.h"
#include "harness/fuzz/replay_file.h"
#include "harness/report/report_files.h"
#include "xmpp/element.h"

namespace talkcheck::harness {

std::string FuzzTextSummary(const FuzzSummary& summary) {
  std::string out = absl::StrFormat(
      "%s against %s: %d schedules (seed %d, shard %d of %d) in %.2fs, "
      "%.2f schedules/s, %d failing\n",
      summary.scenario(), summary.client(), summary.runs(), summary.seed(),
      summary.shard_index() + 1, summary.shard_count(), summary.wall_us() / 1e6,
      summary.schedules_per_second(), summary.failing_runs());
  if (!summary.oracles_not_checked().empty()) {
    absl::StrAppend(&out, "  not checked under profile ", summary.profile(),
                    ": ", summary.oracles_not_checked(), "\n");
  }
  for (const auto& [oracle, count] : SortedByKey(summary.violations())) {
    absl::StrAppendFormat(&out, "  %-32s violated in %d of %d schedules",
                          oracle, count, summary.runs());
    auto runs = summary.failing().find(oracle);
    if (runs != summary.failing().end()) {
      absl::StrAppend(&out, ": run", runs->second.runs_size() > 1 ? "s " : " ",
                      absl::StrJoin(runs->second.runs(), ", "));
    }
    absl::StrAppend(&out, "\n");
  }
  for (const Replay& replay : summary.replays()) {
    absl::StrAppendFormat(&out, "shrunk run %d (%s) to %d perturbation(s):\n",
                          replay.run(), replay.oracle(),
                          replay.schedule().perturbations_size());
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
  // One testcase per violated property (oracle), with the replay shrunk for
  // it; or a single passing one.
  std::string cases;
  int failures = 0;
  for (const auto& [oracle, count] : SortedByKey(summary.violations())) {
    ++failures;
    std::string message = absl::StrCat("violated in ", count, " of ",
                                       summary.runs(), " schedules");
    std::string body;
    for (const Replay& replay : summary.replays()) {
      if (replay.oracle() != oracle) continue;
      for (const Violation& v : replay.violations()) {
        if (v.oracle() == oracle) absl::StrAppend(&message, ": ", v.detail());
      }
      body = ReplayText(replay);
    }
    absl::StrAppendFormat(
        &cases,
        "    <testcase name=\"%s\" classname=\"%s\">\n"
        "      <failure message=\"%s\">%s</failure>\n    </testcase>\n",
        EscapeAttribute(oracle), EscapeAttribute(summary.scenario()),
        EscapeAttribute(XmlSafe(message)), EscapeText(XmlSafe(body)));
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
  return ProtoJson(summary);
}

}  // namespace talkcheck::harness

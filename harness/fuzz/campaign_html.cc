#include "harness/fuzz/campaign_html.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/sorted_by_key.h"
#include "harness/fuzz/schedule.h"
#include "harness/report/html_report.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

using xmpp::EscapeText;

// The timeline: a label column, then time across.
constexpr int kWidth = 900;
constexpr int kLabelWidth = 170;
constexpr int kRow = 18;
constexpr int kTop = 20;

std::string OracleBars(const FuzzSummary& summary) {
  std::string out = absl::StrFormat(
      "<svg class=\"oracles\" width=\"%d\" height=\"%d\">", kWidth,
      kRow * std::max<int>(1, summary.violations_size()) + 4);
  int row = 0;
  for (const auto& [oracle, count] : SortedByKey(summary.violations())) {
    const int y = row++ * kRow + 2;
    const double share =
        summary.runs() > 0 ? static_cast<double>(count) / summary.runs() : 0;
    absl::StrAppendFormat(
        &out,
        "<g class=\"oracle\" data-oracle=\"%s\" data-count=\"%d\"><text "
        "x=\"0\" y=\"%d\" class=\"tl-label\">%s</text><rect x=\"%d\" y=\"%d\" "
        "width=\"%.1f\" height=\"%d\" class=\"bar-violation\"/><text "
        "x=\"%.1f\" "
        "y=\"%d\" class=\"tl-note\">%d of %d</text></g>",
        EscapeText(oracle), count, y + 12, EscapeText(oracle), kLabelWidth + 60,
        y, std::max(2.0, share * (kWidth - kLabelWidth - 160)), kRow - 4,
        kLabelWidth + 64 + share * (kWidth - kLabelWidth - 160), y + 12, count,
        summary.runs());
  }
  if (row == 0) {
    absl::StrAppend(&out, "<text x=\"0\" y=\"14\">no oracle violated</text>");
  }
  return out + "</svg>\n";
}

// The step record a perturbation of original step `index` hit: the first one
// from the same place in the scenario (a delay the schedule inserted shares
// its step's place, and comes first).
int RecordOf(const Scenario& scenario, const ScenarioResult& run, int index) {
  if (index < 0 || index >= scenario.steps_size()) return -1;
  const SourceLocation& at = scenario.steps(index).location();
  for (int i = 0; i < run.steps_size(); ++i) {
    const SourceLocation& record = run.steps(i).location();
    if (record.file() == at.file() && record.line() == at.line()) return i;
  }
  return -1;
}

// The time of the client's `ack`-th (0-based) session iq to the peer: the
// stanza the peer's ack number `ack` answers.
std::optional<int64_t> AckedStanzaTime(const ScenarioResult& run, int ack) {
  int seen = 0;
  for (const StanzaRecord& r : run.transcript()) {
    if (r.direction() != "cut->peer") continue;
    if (r.xml().find("type=\"set\"") == std::string::npos &&
        r.xml().find("type='set'") == std::string::npos)
      continue;
    if (seen++ == ack) return r.time_us();
  }
  return std::nullopt;
}

const char* StepClass(Verdict verdict) {
  switch (verdict) {
    case PASS:
      return "tl-pass";
    case FAIL:
    case ERROR:
      return "tl-fail";
    default:
      return "tl-skip";
  }
}

std::string Timeline(const Replay& replay, const Scenario& scenario,
                     const ScenarioResult& run) {
  int64_t end_us = std::max<int64_t>({run.end_us(), run.duration_us(), 1});
  for (const StepResult& step : run.steps())
    end_us = std::max(end_us, step.start_us() + step.duration_us());
  const double scale =
      (kWidth - kLabelWidth - 10) / static_cast<double>(end_us);
  auto x = [&](int64_t us) { return kLabelWidth + us * scale; };
  // Rows: the stanzas, the peer's acks, then one per step.
  const int height = kTop + kRow * (run.steps_size() + 2) + 10;
  std::string svg = absl::StrFormat(
      "<svg class=\"timeline\" data-oracle=\"%s\" width=\"%d\" height=\"%d\">"
      "<text x=\"%d\" y=\"12\" class=\"tl-note\">0 s</text><text x=\"%d\" "
      "y=\"12\" class=\"tl-note end\">%.3f s</text>",
      EscapeText(replay.oracle()), kWidth, height, kLabelWidth, kWidth - 10,
      end_us / 1e6);
  absl::StrAppendFormat(&svg,
                        "<text x=\"0\" y=\"%d\" class=\"tl-label\">stanzas"
                        "</text><text x=\"0\" y=\"%d\" class=\"tl-label\">"
                        "peer's acks</text>",
                        kTop + 12, kTop + kRow + 12);
  for (const StanzaRecord& r : run.transcript()) {
    const bool from_cut = r.direction().rfind("cut", 0) == 0;
    absl::StrAppendFormat(
        &svg,
        "<line class=\"tick %s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\">"
        "<title>%.3fs %s %s</title></line>",
        from_cut ? "from-cut" : "to-cut", x(r.time_us()), x(r.time_us()),
        kTop + 2, kTop + kRow - 2, r.time_us() / 1e6, EscapeText(r.direction()),
        EscapeText(StanzaLabel(r.xml())));
  }
  for (int i = 0; i < run.steps_size(); ++i) {
    const StepResult& step = run.steps(i);
    const int y = kTop + kRow * (i + 2);
    absl::StrAppendFormat(
        &svg,
        "<text x=\"0\" y=\"%d\" class=\"tl-label\">step %s %s</text><rect "
        "class=\"step-bar %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
        "height=\"%d\">"
        "<title>%s</title></rect>",
        y + 12,
        EscapeText(step.step_number().empty() ? absl::StrCat(step.index() + 1)
                                              : step.step_number()),
        EscapeText(step.kind()), StepClass(step.verdict()), x(step.start_us()),
        y + 3, std::max(2.0, step.duration_us() * scale), kRow - 6,
        EscapeText(step.message()));
  }
  for (const Perturbation& p : replay.schedule().perturbations()) {
    std::optional<int64_t> at;
    int y = 0;
    if (p.kind() == Perturbation::DELAY_ACK ||
        p.kind() == Perturbation::WITHHOLD_ACK) {
      at = AckedStanzaTime(run, p.ack());
      y = kTop + kRow;
    } else if (const int record = RecordOf(scenario, run, p.step());
               record >= 0) {
      at = run.steps(record).start_us();
      y = kTop + kRow * (record + 2);
    }
    if (!at.has_value()) continue;
    const double px = x(*at);
    absl::StrAppendFormat(
        &svg,
        "<g class=\"perturbation\" data-kind=\"%s\"><polygon points=\"%.1f,%d "
        "%.1f,%d %.1f,%d %.1f,%d\"/><text x=\"%.1f\" y=\"%d\" "
        "class=\"tl-note\">%s</text></g>",
        Perturbation::Kind_Name(p.kind()), px, y + 1, px + 6, y + kRow / 2, px,
        y + kRow - 1, px - 6, y + kRow / 2, px + 8, y + 12,
        EscapeText(Describe(p)));
  }
  absl::StrAppendFormat(
      &svg,
      "<line class=\"violation\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
      "<text x=\"%.1f\" y=\"%d\" class=\"tl-note end\">run ends</text>"
      "</svg>\n",
      x(end_us), x(end_us), kTop, height, x(end_us) - 4, height - 2);
  return svg;
}

std::string ReplaySection(const Replay& replay, const Scenario& scenario,
                          const std::optional<ScenarioResult>& run) {
  std::string out = absl::StrFormat(
      "<section class=\"replay\" data-oracle=\"%s\"><h2>%s: run %d shrunk to "
      "%d perturbation(s)</h2>\n<ul class=\"violations\">",
      EscapeText(replay.oracle()), EscapeText(replay.oracle()), replay.run(),
      replay.schedule().perturbations_size());
  for (const Violation& v : replay.violations())
    absl::StrAppend(&out, "<li><b>", EscapeText(v.oracle()),
                    "</b>: ", EscapeText(v.detail()), "</li>");
  absl::StrAppend(&out, "</ul>\n<ul class=\"schedule\">");
  for (const Perturbation& p : replay.schedule().perturbations())
    absl::StrAppend(&out, "<li>", EscapeText(Describe(p, &scenario)), "</li>");
  for (const TimingDraw& draw : replay.schedule().timings())
    absl::StrAppendFormat(&out, "<li>timing %d drawn as %d ms</li>",
                          draw.site(), draw.ms());
  const MediaConditions& media = replay.schedule().media();
  if (media.loss_percent() > 0 || media.max_delay_ms() > 0) {
    absl::StrAppendFormat(&out, "<li>media: loss %.1f %%, delay %d–%d ms</li>",
                          media.loss_percent(), media.min_delay_ms(),
                          media.max_delay_ms());
  }
  absl::StrAppend(&out, "</ul>\n");
  if (run.has_value()) absl::StrAppend(&out, Timeline(replay, scenario, *run));
  return out + "</section>\n";
}

constexpr char kFuzzStyle[] = R"css(<style>
.tl-label{font-size:11px}.tl-note{font-size:11px;fill:#555}
.tl-note.end{text-anchor:end}.bar-violation{fill:#b00020}
.step-bar.tl-pass{fill:#9ccc9c}.step-bar.tl-fail{fill:#b00020}
.step-bar.tl-skip{fill:#ddd}.tick{stroke-width:1.5}
.tick.from-cut{stroke:#c05000}.tick.to-cut{stroke:#0b3d91}
.perturbation polygon{fill:#e69500}.violation{stroke:#b00020;
stroke-width:2;stroke-dasharray:4 3}.timeline{display:block;margin:6px 0}
</style>)css";

}  // namespace

std::string FuzzHtmlReport(
    const FuzzSummary& summary, const Scenario& scenario,
    const std::vector<std::optional<ScenarioResult>>& shrunk_runs) {
  std::string body = absl::StrFormat(
      "<h1>talkcheck fuzz: %s</h1>\n<table class=\"summary campaign\">"
      "<tr><th>client</th><td>%s</td></tr>"
      "<tr><th>schedules run</th><td class=\"runs\">%d</td></tr>"
      "<tr><th>failing</th><td class=\"failing\">%d</td></tr>"
      "<tr><th>seed, shard</th><td>%d, %d of %d</td></tr>"
      "<tr><th>time</th><td>%.2f s, %.1f schedules/s</td></tr></table>\n"
      "<h2>violations by oracle</h2>\n",
      EscapeText(summary.scenario()), EscapeText(summary.client()),
      summary.runs(), summary.failing_runs(), summary.seed(),
      summary.shard_index() + 1, summary.shard_count(), summary.wall_us() / 1e6,
      summary.schedules_per_second());
  absl::StrAppend(&body, OracleBars(summary));
  for (int i = 0; i < summary.replays_size(); ++i) {
    absl::StrAppend(
        &body,
        ReplaySection(summary.replays(i), scenario,
                      i < static_cast<int>(shrunk_runs.size()) ? shrunk_runs[i]
                                                               : std::nullopt));
  }
  return HtmlPage(body, kFuzzStyle);
}

}  // namespace talkcheck::harness

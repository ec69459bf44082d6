#include "harness/report/matrix_html.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "harness/report/html_report.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

std::string Text(const std::string& text) { return xmpp::EscapeText(text); }
std::string Attr(const std::string& text) {
  return xmpp::EscapeAttribute(text);
}

const char* StateClass(QuirkState state) {
  switch (state) {
    case SHOWN:
      return "shown";
    case NOT_SHOWN:
      return "not-shown";
    default:
      return "not-seen";
  }
}

const char* StateWord(QuirkState state) {
  switch (state) {
    case SHOWN:
      return "shows";
    case NOT_SHOWN:
      return "not";
    default:
      return "unseen";
  }
}

std::string ClientHeader(const MatrixClient& client,
                         const std::string& prefix) {
  return absl::StrFormat(
      "<th class=\"client\" data-client=\"%s\">%s<br><code class=\"spec\">%s"
      "</code><br><span class=\"counts\">%s"
      "</span><br><a class=\"run-report\" href=\"%s\">report</a> "
      "<a class=\"run-json\" href=\"%s\">json</a></th>",
      Attr(client.name()), Text(client.name()), Text(client.spec()),
      VerdictCounts(client.passed(), client.failed(), client.errors(),
                    client.not_applicable()),
      Attr(prefix + client.report_html()), Attr(prefix + client.report_json()));
}

std::string Cell(const MatrixCell& cell, const std::string& prefix) {
  std::string out = absl::StrFormat(
      "<td class=\"cell %s\" data-client=\"%s\" data-scenario=\"%s\" "
      "data-verdict=\"%s\" title=\"%s\"><a class=\"report\" href=\"%s\">%s"
      "</a>",
      VerdictCssClass(cell.verdict()), Attr(cell.client()),
      Attr(cell.scenario()), ScenarioVerdictLabel(cell.verdict()),
      Attr(cell.failure()), Attr(prefix + cell.report()),
      ScenarioVerdictLabel(cell.verdict()));
  for (const QuirkObservation& q : cell.quirks()) {
    absl::StrAppendFormat(
        &out,
        "<span class=\"quirk %s\" data-quirk=\"%s\" title=\"%s: %s\">%s "
        "%s</span>",
        StateClass(q.state()), Attr(q.quirk()), Attr(q.title()),
        Attr(q.evidence()), StateWord(q.state()), Text(q.quirk()));
  }
  if (cell.warnings_size() > 0) {
    absl::StrAppendFormat(
        &out, "<span class=\"warnings\" title=\"%s\">%d warning%s</span>",
        Attr(absl::StrJoin(cell.warnings(), "\n")), cell.warnings_size(),
        cell.warnings_size() == 1 ? "" : "s");
  }
  return out + "</td>";
}

// Per quirk and client: shown if any of its cells showed it, else not shown
// if any was asked, else not seen; with the scenarios that told.
struct QuirkSummary {
  std::string title;
  std::map<std::string, QuirkState> state;
  std::map<std::string, std::vector<std::string>> scenarios;
};

int Rank(QuirkState state) {
  return state == SHOWN ? 3 : state == NOT_SHOWN ? 2 : 1;
}

std::map<std::string, QuirkSummary> SummariseQuirks(
    const MatrixReport& matrix) {
  std::map<std::string, QuirkSummary> quirks;
  for (const MatrixCell& cell : matrix.cells()) {
    for (const QuirkObservation& q : cell.quirks()) {
      QuirkSummary& summary = quirks[q.quirk()];
      if (!q.title().empty()) summary.title = q.title();
      QuirkState& state = summary.state[cell.client()];
      if (Rank(q.state()) > Rank(state)) state = q.state();
      if (q.state() == SHOWN)
        summary.scenarios[cell.client()].push_back(cell.scenario());
    }
  }
  return quirks;
}

std::string QuirkTable(const MatrixReport& matrix) {
  const std::map<std::string, QuirkSummary> quirks = SummariseQuirks(matrix);
  if (quirks.empty())
    return "<p class=\"meta\">No run told a quirk of PROTOCOL.md §8.</p>\n";
  std::string out = "<table class=\"quirks\"><tr><th>quirk</th>";
  for (const MatrixClient& client : matrix.clients())
    absl::StrAppend(&out, "<th>", Text(client.name()), "</th>");
  absl::StrAppend(&out, "</tr>\n");
  for (const auto& [quirk, summary] : quirks) {
    absl::StrAppendFormat(&out, "<tr data-quirk=\"%s\"><th>§%s %s</th>",
                          Attr(quirk), Text(quirk), Text(summary.title));
    for (const MatrixClient& client : matrix.clients()) {
      auto state = summary.state.find(client.name());
      const QuirkState shown =
          state == summary.state.end() ? NOT_SEEN : state->second;
      auto told = summary.scenarios.find(client.name());
      absl::StrAppendFormat(
          &out, "<td class=\"quirk %s\" data-client=\"%s\">%s%s</td>",
          StateClass(shown), Attr(client.name()), StateWord(shown),
          told == summary.scenarios.end()
              ? ""
              : absl::StrCat(" (", Text(absl::StrJoin(told->second, ", ")),
                             ")"));
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  return out + "</table>\n";
}

constexpr char kMatrixStyle[] = R"css(
body{font:14px/1.4 sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin:1.2em 0 .2em}
table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}.meta{color:#666}
.spec{font-size:11px;color:#555}.counts{font-size:12px;font-weight:normal}
.cell a.report{font-weight:bold;text-decoration:none}
.cell.pass{background:#eaf6ec}.cell.pass a.report{color:#176b25}
.cell.fail{background:#fdecee}.cell.fail a.report,.cell.error a.report{
color:#b00020}.cell.error{background:#f3e8f7}
span.quirk{display:inline-block;margin-left:6px;padding:0 5px;
border-radius:3px;font-size:12px}.quirk.shown{background:#dde8fb;
color:#0b3d91}.quirk.not-shown{background:#eee;color:#555}
.quirk.not-seen{color:#999}
.warnings{display:inline-block;margin-left:6px;font-size:12px;color:#8a5a00}
)css";

}  // namespace

std::string MatrixHtml(const MatrixReport& matrix,
                       const std::string& reports_prefix) {
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>talkcheck matrix</title><style>",
      kMatrixStyle,
      "</style></head><body>\n<h1>talkcheck matrix: ", matrix.clients_size(),
      " clients, ", matrix.scenarios_size(), " scenarios</h1>\n");
  absl::StrAppendFormat(
      &out,
      "<p class=\"meta\">seed %d, profile %s. A cell links to that run's "
      "report; \"shows 8.N\" names the PROTOCOL.md §8 quirk the run "
      "showed.</p>\n<table class=\"matrix\"><tr><th>scenario</th>",
      matrix.seed(), Text(matrix.profile()));
  for (const MatrixClient& client : matrix.clients())
    absl::StrAppend(&out, ClientHeader(client, reports_prefix));
  absl::StrAppend(&out, "</tr>\n");
  const int columns = matrix.clients_size();
  for (int row = 0; row < matrix.scenarios_size(); ++row) {
    const MatrixScenario& scenario = matrix.scenarios(row);
    absl::StrAppendFormat(&out, "<tr class=\"row\" data-scenario=\"%s\"><th>%s",
                          Attr(scenario.name()), Text(scenario.name()));
    if (!scenario.quirks().empty()) {
      absl::StrAppend(&out, "<br><span class=\"probes\">probes §",
                      Text(absl::StrJoin(scenario.quirks(), ", §")), "</span>");
    }
    absl::StrAppend(&out, "</th>");
    for (int column = 0; column < columns; ++column) {
      const int index = row * columns + column;
      if (index < matrix.cells_size())
        absl::StrAppend(&out, Cell(matrix.cells(index), reports_prefix));
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  absl::StrAppend(&out, "</table>\n<h2>Quirks of PROTOCOL.md §8</h2>\n",
                  QuirkTable(matrix));
  return out + "</body></html>\n";
}

}  // namespace talkcheck::harness

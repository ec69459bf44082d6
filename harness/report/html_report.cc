#include "harness/report/html_report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/sorted_by_key.h"
#include "harness/report/media_plots.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

constexpr char kP2p[] = "http://www.google.com/transport/p2p";

// The chart: three lanes, x positions in an SVG 640 wide.
constexpr int kChartWidth = 640;
constexpr int kRowHeight = 30;
constexpr int kPeerX = 90;
constexpr int kServerX = 320;
constexpr int kCutX = 550;

std::string Escape(const std::string& text) { return xmpp::EscapeText(text); }

// The lane of one end of a transcript direction ("peer", "cut", "server",
// "all"...): the peer's, the client's, or else the server's.
int LaneX(absl::string_view end) {
  if (end == "peer") return kPeerX;
  if (end == "cut") return kCutX;
  return kServerX;
}

// The lanes an arrow joins, from its transcript direction ("cut->peer").
std::pair<int, int> Ends(absl::string_view direction) {
  const size_t arrow = direction.find("->");
  if (arrow == absl::string_view::npos) return {kServerX, kServerX};
  return {LaneX(direction.substr(0, arrow)),
          LaneX(direction.substr(arrow + 2))};
}

// One arrow as an inline SVG row: the three lane lines, the arrow, its time
// and label.
std::string ArrowSvg(int64_t time_us, const std::string& direction,
                     const std::string& label) {
  const auto [from, to] = Ends(direction);
  const int y = kRowHeight / 2 + 4;
  const int head = to > from ? -8 : 8;
  std::string svg = absl::StrFormat(
      "<svg class=\"arrow\" data-direction=\"%s\" width=\"%d\" "
      "height=\"%d\" viewBox=\"0 0 %d %d\">",
      direction, kChartWidth, kRowHeight, kChartWidth, kRowHeight);
  for (int x : {kPeerX, kServerX, kCutX}) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%d\" y1=\"0\" x2=\"%d\" y2=\"%d\" "
                          "class=\"lane-line\"/>",
                          x, x, kRowHeight);
  }
  absl::StrAppendFormat(
      &svg,
      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"shaft\"/>"
      "<polygon points=\"%d,%d %d,%d %d,%d\" class=\"head\"/>",
      from, y, to, y, to, y, to + head, y - 5, to + head, y + 5);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%d\" y=\"%d\" class=\"label\">%s</text>",
                        (from + to) / 2, y - 5, Escape(label));
  absl::StrAppendFormat(&svg,
                        "<text x=\"2\" y=\"%d\" class=\"time\">%.3fs</text>",
                        y + 4, time_us / 1e6);
  return svg + "</svg>";
}

// "4" or "4.b.2" (StepResult.step_number; older reports: the number).
std::string StepNumber(const StepResult& step) {
  return step.step_number().empty() ? absl::StrCat(step.number())
                                    : step.step_number();
}

std::string StepRow(const StepResult& step) {
  std::string out = absl::StrFormat(
      "<div class=\"step %s\" data-step=\"%s\"><b>step %s (%s) %s</b> at "
      "%s:%d — %s",
      VerdictCssClass(step.verdict()), Escape(StepNumber(step)),
      Escape(StepNumber(step)), step.kind(), VerdictLabel(step.verdict()),
      Escape(step.location().file()), step.location().line(),
      Escape(step.message()));
  if (!step.diff().empty())
    absl::StrAppend(&out, "<pre class=\"diff\">", Escape(step.diff()),
                    "</pre>");
  return out + "</div>\n";
}

std::string MediaTable(const StepResult& step) {
  const MediaReport& m = step.media();
  std::string payload_types;
  for (const auto& [pt, count] : SortedByKey(m.received_payload_types()))
    absl::StrAppendFormat(&payload_types, "%s%d×%d",
                          payload_types.empty() ? "" : ", ", pt, count);
  return absl::StrFormat(
      "<table class=\"media\"><tr><th>channel</th><th>negotiated</th>"
      "<th>sent</th><th>received</th><th>loss</th><th>jitter</th>"
      "<th>rtt</th><th>payload types received</th></tr>"
      "<tr><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%.2f %%</td>"
      "<td>%.2f ms</td><td>%s</td><td>%s</td></tr></table>\n",
      Escape(m.channel()), Escape(m.negotiated()), m.packets_sent(),
      m.packets_received(), m.loss_percent(), m.jitter_ms(),
      m.echoed() > 0 ? absl::StrFormat("%.2f ms", m.rtt_ms()) : "n/a",
      Escape(payload_types));
}

}  // namespace

std::string HtmlScenarioSection(const ScenarioResult& s, int index) {
  std::string out = absl::StrFormat(
      "<section class=\"scenario %s\" id=\"s%d\"><h2><span "
      "class=\"verdict\">%s</span> %s</h2>\n<p class=\"meta\">%s · client "
      "%s · seed %d · %.3f s</p>\n",
      VerdictCssClass(s.verdict()), index, ScenarioVerdictLabel(s.verdict()),
      Escape(s.name()), Escape(s.file()), Escape(s.client()), s.seed(),
      s.duration_us() / 1e6);
  if (!s.failure().empty())
    absl::StrAppend(&out, "<p class=\"failure\">", Escape(s.failure()),
                    "</p>\n");
  for (const std::string& warning : s.warnings())
    absl::StrAppend(&out, "<p class=\"warning\">warning: ", Escape(warning),
                    "</p>\n");
  absl::StrAppendFormat(
      &out,
      "<div class=\"lanes\"><span class=\"lane\" style=\"left:%dpx\">peer"
      "</span><span class=\"lane\" style=\"left:%dpx\">fake server</span>"
      "<span class=\"lane\" style=\"left:%dpx\">client under test</span>"
      "</div>\n",
      kPeerX - 30, kServerX - 40, kCutX - 60);

  // Stanzas and failed or errored steps, in time order; a failure shows where
  // the run gave up on it (the end of the step).
  std::vector<const StepResult*> marks;
  for (const StepResult& step : s.steps()) {
    if (step.verdict() == FAIL || step.verdict() == ERROR)
      marks.push_back(&step);
  }
  size_t next_mark = 0;
  auto flush_marks = [&](int64_t before_us) {
    while (next_mark < marks.size() &&
           marks[next_mark]->start_us() + marks[next_mark]->duration_us() <=
               before_us) {
      absl::StrAppend(&out, StepRow(*marks[next_mark++]));
    }
  };
  for (const StanzaRecord& record : s.transcript()) {
    flush_marks(record.time_us());
    absl::StrAppend(&out, "<details class=\"stanza\"><summary>",
                    ArrowSvg(record.time_us(), record.direction(),
                             StanzaLabel(record.xml())),
                    "</summary><pre>", Escape(record.xml()),
                    "</pre></details>\n");
  }
  flush_marks(INT64_MAX);
  for (const StepResult& step : s.steps()) {
    if (step.has_media() && !step.media().channel().empty()) {
      absl::StrAppend(&out, "<h3>media, step ", Escape(StepNumber(step)),
                      "</h3>", MediaTable(step), MediaPlots(step.media()));
    }
  }
  return out + "</section>\n";
}

namespace {

constexpr char kReportStyle[] = R"css(
body{font:14px/1.4 sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin:1.2em 0 .2em}
.summary td,.summary th,.media td,.media th{padding:2px 10px;text-align:left}
.verdict{font-weight:bold}.pass .verdict,.summary .pass{color:#176b25}
.fail .verdict,.error .verdict,.summary .fail,.summary .error{color:#b00020}
.meta{color:#666;margin:0}.failure,.step.fail,.step.error{color:#b00020}
.warning{color:#8a5a00}.step{border-left:4px solid #b00020;padding:4px 8px;
margin:4px 0;background:#fff0f0}
.diff{white-space:pre-wrap;background:#fff8f8;border:1px solid #f2c0c0;
padding:6px;font-size:12px}
.lanes{position:relative;height:22px;width:640px;font-weight:bold}
.lane{position:absolute;top:0}
details.stanza summary{list-style:none;cursor:pointer}
details.stanza summary::-webkit-details-marker{display:none}
details.stanza pre{white-space:pre-wrap;font-size:12px;background:#f6f6f6;
margin:0 0 6px 0;padding:6px;max-width:900px}
.lane-line{stroke:#ccc;stroke-width:2}.shaft{stroke:#333;stroke-width:1.5}
.head{fill:#333}.label{font-size:12px;text-anchor:middle;fill:#0b3d91}
.time{font-size:11px;fill:#777}
.plot{display:block;margin:4px 0}.plot-area{fill:#fafafa;stroke:#ccc}
.plot-title{font-size:12px;font-weight:bold}.legend{font-size:11px}
.axis{font-size:10px;fill:#777;text-anchor:end}
.series{fill:none;stroke-width:1.5}.pair{margin:4px 0}
)css";

}  // namespace

const char* VerdictCssClass(Verdict verdict) {
  switch (verdict) {
    case PASS:
      return "pass";
    case FAIL:
      return "fail";
    case SKIPPED:
      return "skip";
    case VERDICT_UNSPECIFIED:  // still running (the live view)
      return "pending";
    default:
      return "error";
  }
}

const char* VerdictLabel(Verdict verdict) {
  switch (verdict) {
    case PASS:
      return "PASS";
    case FAIL:
      return "FAIL";
    case SKIPPED:
      return "SKIP";
    case VERDICT_UNSPECIFIED:
      return "PENDING";
    default:
      return "ERROR";
  }
}

const char* ScenarioVerdictLabel(Verdict verdict) {
  return verdict == SKIPPED ? "N/A" : VerdictLabel(verdict);
}

std::string VerdictCounts(int passed, int failed, int errors,
                          int not_applicable) {
  std::string out =
      absl::StrCat(passed, " passed, ", failed, " failed, ", errors, " errors");
  if (not_applicable > 0)
    absl::StrAppend(&out, ", ", not_applicable, " not applicable");
  return out;
}

std::string VerdictCounts(const RunReport& report) {
  return VerdictCounts(report.passed(), report.failed(), report.errors(),
                       report.not_applicable());
}

std::string StanzaLabel(const std::string& xml) {
  absl::StatusOr<xmpp::Element> parsed = xmpp::ParseElement(xml);
  if (!parsed.ok()) return "(unparsed)";
  const xmpp::Element& stanza = *parsed;
  const std::string type = stanza.AttrOr("type", "");
  if (stanza.name() != "iq") {
    return type.empty() ? stanza.name()
                        : absl::StrCat(stanza.name(), " ", type);
  }
  if (type == "result") return "result";
  if (type == "error") return "error";
  if (const xmpp::Element* session =
          stanza.FindChild(xmpp::ns::kGoogleSession, "session")) {
    std::string label = session->AttrOr("type", "session");
    if (label == "candidates" || label == "transport-info") {
      const xmpp::Element* holder = session;
      if (const xmpp::Element* transport =
              session->FindChild(kP2p, "transport"))
        holder = transport;
      if (const xmpp::Element* candidate = holder->FirstChild()) {
        absl::StrAppend(&label, " gen ", candidate->AttrOr("generation", "0"));
      }
    }
    return label;
  }
  if (const xmpp::Element* jingle =
          stanza.FindChild(xmpp::ns::kJingle, "jingle"))
    return absl::StrCat("jingle ", jingle->AttrOr("action", ""));
  if (const xmpp::Element* child = stanza.FirstChild()) {
    std::string ns = child->ns();
    const size_t slash = ns.find_last_of("/:");
    if (slash != std::string::npos) ns = ns.substr(slash + 1);
    return absl::StrCat(ns.empty() ? child->name() : ns, " ", type);
  }
  return absl::StrCat("iq ", type);
}

std::string HtmlSummary(const RunReport& report) {
  std::string out =
      absl::StrCat("<h1>talkcheck: ", VerdictCounts(report),
                   "</h1>\n<table class=\"summary\"><tr><th>verdict</th>"
                   "<th>scenario</th><th>time</th><th>why</th></tr>\n");
  for (int i = 0; i < report.scenarios_size(); ++i) {
    const ScenarioResult& s = report.scenarios(i);
    absl::StrAppendFormat(
        &out,
        "<tr class=\"%s\"><td>%s</td><td><a href=\"#s%d\">%s</a></td>"
        "<td>%.3f s</td><td>%s</td></tr>\n",
        VerdictCssClass(s.verdict()), ScenarioVerdictLabel(s.verdict()), i,
        Escape(s.name()), s.duration_us() / 1e6, Escape(s.failure()));
  }
  return out + "</table>\n";
}

std::string HtmlPage(const std::string& body, const std::string& head_extra) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>talkcheck report</title><style>",
      kReportStyle, "</style>", head_extra, "</head><body>\n", body,
      "</body></html>\n");
}

std::string HtmlReport(const RunReport& report) {
  std::string body = HtmlSummary(report);
  for (int i = 0; i < report.scenarios_size(); ++i)
    absl::StrAppend(&body, HtmlScenarioSection(report.scenarios(i), i));
  return HtmlPage(body, "");
}

}  // namespace talkcheck::harness

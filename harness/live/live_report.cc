#include "harness/live/live_report.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "harness/report/html_report.h"
#include "harness/report/report_writer.h"

namespace talkcheck::harness {
namespace {

const char* VerdictName(Verdict verdict) {
  return Verdict_Name(verdict).c_str();
}

// Replaces each section and the summary as messages come; says where it
// stands in #live-status and, for tests, in data- attributes of <body>.
constexpr char kScript[] = R"js(<script>
(function () {
  var status = document.getElementById('live-status');
  var events = 0;
  function put(index, html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    var fresh = t.content.firstElementChild;
    var old = document.getElementById('s' + index);
    if (old) old.replaceWith(fresh);
    else document.getElementById('sections').appendChild(fresh);
  }
  var ws = new WebSocket('ws://' + location.host + '/live');
  ws.onmessage = function (e) {
    var m = JSON.parse(e.data);
    if (m.summary !== undefined)
      document.getElementById('summary').innerHTML = m.summary;
    if (m.section !== undefined) put(m.scenario, m.section);
    if (m.sections) m.sections.forEach(function (h, i) { put(i, h); });
    if (m.events) events += m.events.length;
    document.body.dataset.events = events;
    document.body.dataset.messages = +(document.body.dataset.messages || 0) + 1;
    if (m.type === 'done') {
      document.body.dataset.state = 'done';
      status.textContent = 'run finished';
    } else {
      document.body.dataset.state = 'live';
      status.textContent = 'live: ' + events + ' events so far';
    }
  };
  ws.onclose = function () {
    if (document.body.dataset.state !== 'done')
      status.textContent = 'disconnected from talkcheck';
  };
})();
</script>)js";

std::string Sections(const RunReport& report) {
  std::vector<std::string> sections;
  for (int i = 0; i < report.scenarios_size(); ++i)
    sections.push_back(JsonString(HtmlScenarioSection(report.scenarios(i), i)));
  return absl::StrCat("[", absl::StrJoin(sections, ","), "]");
}

std::string DoneMessage(const RunReport& report) {
  return absl::StrFormat(
      "{\"type\":\"done\",\"passed\":%d,\"failed\":%d,\"errors\":%d,"
      "\"sections\":%s,\"summary\":%s}",
      report.passed(), report.failed(), report.errors(), Sections(report),
      JsonString(HtmlSummary(report)));
}

}  // namespace

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

LiveReport::LiveReport(const std::vector<LiveScenario>& scenarios)
    : events_(scenarios.size()) {
  for (const LiveScenario& s : scenarios) {
    ScenarioResult& result = *report_.add_scenarios();
    result.set_name(s.name);
    result.set_file(s.file);
  }
}

void LiveReport::Changed() {
  if (on_change_) on_change_();
}

StepResult& LiveReport::StepRecord(ScenarioResult& scenario, int index) {
  for (StepResult& step : *scenario.mutable_steps())
    if (step.index() == index) return step;
  StepResult& step = *scenario.add_steps();
  step.set_index(index);
  return step;
}

void LiveReport::Stanza(int index, const StanzaRecord& record) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index < 0 || index >= report_.scenarios_size()) return;
    *report_.mutable_scenarios(index)->add_transcript() = record;
    absl::StrAppendFormat(
        &events_[index],
        ",{\"kind\":\"stanza\",\"time_us\":%d,\"direction\":%s,\"label\":%s}",
        record.time_us(), JsonString(record.direction()),
        JsonString(StanzaLabel(record.xml())));
    dirty_.insert(index);
  }
  Changed();
}

void LiveReport::Step(int index, const StepResult& step) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index < 0 || index >= report_.scenarios_size()) return;
    ScenarioResult& scenario = *report_.mutable_scenarios(index);
    StepRecord(scenario, step.index()) = step;
    if (step.verdict() == FAIL || step.verdict() == ERROR) {
      scenario.set_failure(step.message());
    }
    absl::StrAppendFormat(
        &events_[index], ",{\"kind\":\"step\",\"number\":%d,\"verdict\":%s}",
        step.number(), JsonString(VerdictName(step.verdict())));
    dirty_.insert(index);
  }
  Changed();
}

void LiveReport::Sample(int index, const StepResult& step,
                        const MediaSample& sample) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index < 0 || index >= report_.scenarios_size()) return;
    StepResult& record =
        StepRecord(*report_.mutable_scenarios(index), step.index());
    if (!record.has_media()) {
      record = step;
      record.set_kind("media");
    }
    MediaReport& media = *record.mutable_media();
    media.set_channel("rtp");
    media.set_packets_sent(media.packets_sent() + sample.sent());
    media.set_packets_received(media.packets_received() + sample.received());
    media.set_jitter_ms(sample.jitter_ms());
    *media.add_samples() = sample;
    absl::StrAppendFormat(
        &events_[index],
        ",{\"kind\":\"media\",\"step\":%s,\"offset_us\":%d,\"sent\":%d,"
        "\"received\":%d,\"loss_percent\":%.2f,\"jitter_ms\":%.3f}",
        JsonString(step.step_number()), sample.offset_us(), sample.sent(),
        sample.received(), sample.loss_percent(), sample.jitter_ms());
    dirty_.insert(index);
  }
  Changed();
}

void LiveReport::Finished(int index, const ScenarioResult& result) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index < 0 || index >= report_.scenarios_size()) return;
    *report_.mutable_scenarios(index) = result;
    CountVerdicts(report_);
    absl::StrAppendFormat(&events_[index],
                          ",{\"kind\":\"finished\",\"verdict\":%s}",
                          JsonString(VerdictName(result.verdict())));
    dirty_.insert(index);
  }
  Changed();
}

void LiveReport::RunDone(const RunReport& report) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    report_ = report;
    run_done_ = true;
  }
  Changed();
}

std::string LiveReport::Page() {
  RunReport report;
  {
    std::lock_guard<std::mutex> lock(mu_);
    report = report_;
  }
  std::string body = absl::StrCat(
      "<p id=\"live-status\" class=\"meta\">connecting…</p>\n<div "
      "id=\"summary\">",
      HtmlSummary(report), "</div>\n<div id=\"sections\">");
  for (int i = 0; i < report.scenarios_size(); ++i)
    absl::StrAppend(&body, HtmlScenarioSection(report.scenarios(i), i));
  return HtmlPage(absl::StrCat(body, "</div>\n", kScript), "");
}

std::string LiveReport::SnapshotMessage() {
  RunReport report;
  bool over = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    report = report_;
    over = run_done_;
  }
  return SnapshotMessageOf(report, over);
}

std::string LiveReport::SnapshotMessageOf(const RunReport& report,
                                          bool over) const {
  // A browser that comes after the run gets the final state as such.
  if (over) return DoneMessage(report);
  return absl::StrCat("{\"type\":\"snapshot\",\"sections\":", Sections(report),
                      ",\"summary\":", JsonString(HtmlSummary(report)), "}");
}

LiveReport::Pending LiveReport::TakePendingLocked() {
  Pending pending;
  for (int index : dirty_) {
    // The final report may have fewer scenarios (a run cut short).
    if (index >= report_.scenarios_size()) continue;
    pending.changed.emplace_back(index, std::move(events_[index]));
    events_[index].clear();
    pending.scenarios.push_back(report_.scenarios(index));
  }
  dirty_.clear();
  RunReport& report = pending.report;
  report = report_;
  report.clear_scenarios();
  for (const ScenarioResult& s : report_.scenarios()) {
    // The summary needs names, verdicts, times and failures only.
    ScenarioResult& row = *report.add_scenarios();
    row.set_name(s.name());
    row.set_verdict(s.verdict());
    row.set_duration_us(s.duration_us());
    row.set_failure(s.failure());
  }
  if (run_done_ && !done_sent_) {
    pending.send_done = true;
    done_sent_ = true;
    report = report_;
  }
  return pending;
}

std::vector<std::string> LiveReport::Render(const Pending& pending) {
  std::vector<std::string> messages;
  const std::string summary = JsonString(HtmlSummary(pending.report));
  for (size_t i = 0; i < pending.changed.size(); ++i) {
    const auto& [index, events] = pending.changed[i];
    messages.push_back(absl::StrCat(
        "{\"type\":\"update\",\"scenario\":", index, ",\"events\":[",
        events.empty() ? "" : events.substr(1), "],\"section\":",
        JsonString(HtmlScenarioSection(pending.scenarios[i], index)),
        ",\"summary\":", summary, "}"));
  }
  if (pending.send_done) messages.push_back(DoneMessage(pending.report));
  return messages;
}

std::vector<std::string> LiveReport::TakeUpdates() {
  Pending pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = TakePendingLocked();
  }
  return Render(pending);
}

LiveReport::Handover LiveReport::TakeUpdatesAndSnapshot(bool render_updates) {
  Pending pending;
  RunReport report;
  bool over = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = TakePendingLocked();
    report = report_;
    over = run_done_;
  }
  Handover handover;
  if (render_updates) handover.updates = Render(pending);
  handover.snapshot = SnapshotMessageOf(report, over);
  return handover;
}

void LiveReport::DropUpdates() {
  std::lock_guard<std::mutex> lock(mu_);
  for (int index : dirty_) {
    if (index < static_cast<int>(events_.size())) events_[index].clear();
  }
  dirty_.clear();
  if (run_done_) done_sent_ = true;
}

bool LiveReport::done() {
  std::lock_guard<std::mutex> lock(mu_);
  return done_sent_;
}

}  // namespace talkcheck::harness

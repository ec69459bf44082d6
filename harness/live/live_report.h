// The model behind talkcheck run --serve: the run's report as it stands while
// the scenarios go on, fed from the worlds' threads (stanzas, step verdicts,
// media samples, finished scenarios) and read by the live server's thread as
// the page (the same HTML report as --html, with a script that follows the
// updates) and as JSON messages for the WebSocket:
//
//   {"type":"update","scenario":I,"events":[...],"section":"<section…>",
//    "summary":"<h1>…"}        what changed in scenario I since the last one
//   {"type":"snapshot","sections":[...],"summary":"…"}   everything, on connect
//                              (a "done" message once the run is over)
//   {"type":"done","passed":P,"failed":F,"errors":E,"sections":[...],
//    "summary":"…"}            the final report, last
//
// Events say what arrived: {"kind":"stanza","time_us":…,"direction":…,
// "label":…}, {"kind":"step","step":"4.b.2","verdict":…}, {"kind":"media",
// "step":"8","offset_us":…,"sent":…,"received":…,"loss_percent":…,
// "jitter_ms":…}, {"kind":"finished","verdict":…}.
//
// Feeding takes a lock and copies the record, nothing more: rendering happens
// on the reader's thread, in TakeUpdates and the other readers.
#ifndef TALKCHECK_HARNESS_LIVE_LIVE_REPORT_H_
#define TALKCHECK_HARNESS_LIVE_LIVE_REPORT_H_

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "harness/report/report.pb.h"

namespace talkcheck::harness {

struct LiveScenario {
  std::string name;
  std::string file;
};

class LiveReport {
 public:
  explicit LiveReport(const std::vector<LiveScenario>& scenarios);

  // Called after every change, on the thread that made it (set it before the
  // run starts).
  void set_on_change(std::function<void()> on_change) {
    on_change_ = std::move(on_change);
  }

  // From any thread. `index` is the scenario's place in the run.
  void Stanza(int index, const StanzaRecord& record);
  void Step(int index, const StepResult& step);
  // `step` is the media step's record so far (its index and number).
  void Sample(int index, const StepResult& step, const MediaSample& sample);
  void Finished(int index, const ScenarioResult& result);
  // The final report: after it, TakeUpdates ends with "done".
  void RunDone(const RunReport& report);

  // The page as it stands, with the script that follows /live.
  std::string Page();
  std::string SnapshotMessage();
  // One message per scenario changed since the last call, and "done" once
  // the run is over (then never again).
  std::vector<std::string> TakeUpdates();
  // The same with nobody to send them to: forgets the changes without
  // rendering them (a browser that connects later gets a snapshot).
  void DropUpdates();
  // For a browser that connects: the updates still owed to those connected
  // before it (none rendered when `render_updates` is false: nobody is), and
  // its snapshot, taken at one instant. A change is then in one of the two,
  // never in both: the newcomer's first update never repeats its snapshot.
  struct Handover {
    std::vector<std::string> updates;
    std::string snapshot;
  };
  Handover TakeUpdatesAndSnapshot(bool render_updates);
  bool done();

 private:
  // What TakeUpdates renders, taken under mu_.
  struct Pending {
    std::vector<std::pair<int, std::string>> changed;  // index, its events
    std::vector<ScenarioResult> scenarios;             // of `changed`
    RunReport report;  // the summary's rows (all of it with send_done)
    bool send_done = false;
  };
  Pending TakePendingLocked();
  static std::vector<std::string> Render(const Pending& pending);
  std::string SnapshotMessageOf(const RunReport& report, bool over) const;
  // The scenario's record of step `index` (StepResult.index) while it runs,
  // added when new: a media step's samples go into a provisional record until
  // the step's verdict replaces it.
  StepResult& StepRecord(ScenarioResult& scenario, int index);
  void Changed();
  std::string Summary(const RunReport& report) const;

  std::function<void()> on_change_;
  std::mutex mu_;
  RunReport report_;
  std::vector<std::string> events_;  // per scenario, ",{...}" each
  std::set<int> dirty_;
  bool run_done_ = false;
  bool done_sent_ = false;
};

// `text` as a JSON string literal, quotes included.
std::string JsonString(const std::string& text);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_LIVE_LIVE_REPORT_H_

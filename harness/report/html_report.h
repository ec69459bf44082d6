// A run's report as one self-contained HTML page for people (talkcheck run
// --html): per scenario, a sequence chart with lanes for the simulated peer,
// the fake server and the client under test, one arrow per stanza with its
// time and a short label ("initiate", "candidates gen 1", "result"), each
// arrow expandable to the whole stanza; the failing step with its message and
// diff in red where it happened; the media figures of each call. No script,
// no fetch: the page opens anywhere, offline.
#ifndef TALKCHECK_HARNESS_REPORT_HTML_REPORT_H_
#define TALKCHECK_HARNESS_REPORT_HTML_REPORT_H_

#include <string>

#include "harness/report/report.pb.h"

namespace talkcheck::harness {

std::string HtmlReport(const RunReport& report);

// The parts HtmlReport is made of, for the live view (harness/live/), which
// serves the same page and replaces its parts as the run goes on: the
// heading and summary table; one scenario's section (<section id="sINDEX">);
// the page around a body, with `head_extra` at the end of <head>.
std::string HtmlSummary(const RunReport& report);
std::string HtmlScenarioSection(const ScenarioResult& scenario, int index);
std::string HtmlPage(const std::string& body, const std::string& head_extra);

// A verdict's CSS class ("pass", "fail", "skip", "error"; "pending" while
// a scenario runs) and its word ("PASS", ...), shared by every HTML page
// talkcheck writes.
const char* VerdictCssClass(Verdict verdict);
const char* VerdictLabel(Verdict verdict);
// A scenario's: a skipped scenario did not apply to the client ("N/A").
const char* ScenarioVerdictLabel(Verdict verdict);
// "3 passed, 1 failed, 0 errors", then ", 2 not applicable" when any did not
// apply: the counts every report and the matrix head with.
std::string VerdictCounts(int passed, int failed, int errors,
                          int not_applicable);
std::string VerdictCounts(const RunReport& report);

// "initiate", "candidates gen 1", "result", "presence", "disco#info get":
// what a stanza is, in a few words. Visible for testing.
std::string StanzaLabel(const std::string& xml);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPORT_HTML_REPORT_H_

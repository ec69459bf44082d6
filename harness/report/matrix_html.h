// A conformance matrix (talkcheck matrix --html) as one self-contained HTML
// page: a table with a row per scenario and a column per client, each cell its
// verdict linked to that run's own report, its warnings and the PROTOCOL.md §8
// quirks it showed; then one row per quirk saying which client shows it. No
// script, no fetch: the page opens anywhere, offline, next to the reports.
#ifndef TALKCHECK_HARNESS_REPORT_MATRIX_HTML_H_
#define TALKCHECK_HARNESS_REPORT_MATRIX_HTML_H_

#include <string>

#include "harness/report/matrix.pb.h"

namespace talkcheck::harness {

// `reports_prefix` is put before each report path of `matrix` (which are
// relative to the output directory) to make links that work from where the
// page is written: "" when it is in the output directory, else e.g. "out/".
std::string MatrixHtml(const MatrixReport& matrix,
                       const std::string& reports_prefix);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPORT_MATRIX_HTML_H_

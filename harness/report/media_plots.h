// A call's media over time for the HTML report: the candidate pair and codec
// the media step used, and inline SVG plots (nothing fetched, no script) of
// packets per second each way, loss and jitter, one point per MediaSample.
#ifndef TALKCHECK_HARNESS_REPORT_MEDIA_PLOTS_H_
#define TALKCHECK_HARNESS_REPORT_MEDIA_PLOTS_H_

#include <string>

#include "harness/report/report.pb.h"

namespace talkcheck::harness {

// "<p class="pair">…</p><svg class="plot" data-plot="pps">…</svg>…". Each
// series is a polyline whose data-values attribute lists its points' values,
// so a browser test can read what is drawn.
std::string MediaPlots(const MediaReport& media);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPORT_MEDIA_PLOTS_H_

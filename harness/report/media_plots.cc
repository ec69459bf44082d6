#include "harness/report/media_plots.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

// One plot: an SVG this size, the plotting area inset for the axis labels.
constexpr int kWidth = 640;
constexpr int kHeight = 130;
constexpr int kLeft = 50;
constexpr int kRight = 10;
constexpr int kTop = 18;
constexpr int kBottom = 20;

struct Series {
  const char* name;   // data-series, and the legend
  const char* color;  // stroke
  std::vector<double> values;
};

// Plots `series` against the samples' end times; `floor` is the least top of
// the y axis, so a flat zero line stays at the bottom.
std::string Plot(const char* id, const char* title, const char* unit,
                 double floor, const std::vector<Series>& series,
                 const std::vector<double>& seconds) {
  double top = floor;
  for (const Series& s : series) {
    for (double v : s.values) top = std::max(top, v * 1.1);
  }
  const double span = seconds.empty() ? 1 : std::max(seconds.back(), 0.001);
  const int plot_w = kWidth - kLeft - kRight;
  const int plot_h = kHeight - kTop - kBottom;
  std::string svg = absl::StrFormat(
      "<svg class=\"plot\" data-plot=\"%s\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\"><text x=\"%d\" y=\"12\" class=\"plot-title\">%s"
      "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
      "class=\"plot-area\"/><text x=\"%d\" y=\"%d\" class=\"axis\">%.3g %s"
      "</text><text x=\"%d\" y=\"%d\" class=\"axis\">0</text><text x=\"%d\" "
      "y=\"%d\" class=\"axis end\">%.2f s</text>",
      id, kWidth, kHeight, kWidth, kHeight, kLeft, title, kLeft, kTop, plot_w,
      plot_h, kLeft - 4, kTop + 8, top, unit, kLeft - 4, kTop + plot_h,
      kWidth - kRight, kHeight - 4, span);
  int legend_x = kLeft + 260;
  for (const Series& s : series) {
    std::string points;
    std::string values;
    for (size_t i = 0; i < s.values.size() && i < seconds.size(); ++i) {
      absl::StrAppendFormat(&points, "%s%.1f,%.1f", points.empty() ? "" : " ",
                            kLeft + plot_w * seconds[i] / span,
                            kTop + plot_h - plot_h * s.values[i] / top);
      absl::StrAppendFormat(&values, "%s%.2f", values.empty() ? "" : " ",
                            s.values[i]);
    }
    absl::StrAppendFormat(
        &svg,
        "<polyline class=\"series\" data-series=\"%s\" data-values=\"%s\" "
        "points=\"%s\" style=\"stroke:%s\"/><text x=\"%d\" y=\"12\" "
        "class=\"legend\" style=\"fill:%s\">%s</text>",
        s.name, values, points, s.color, legend_x, s.color, s.name);
    legend_x += 150;
  }
  return svg + "</svg>\n";
}

}  // namespace

std::string MediaPlots(const MediaReport& media) {
  std::string out = absl::StrFormat(
      "<p class=\"pair\">codec <b class=\"codec\">%s/%d</b> (negotiated %s) · "
      "candidate pair <b class=\"local\">%s</b> ⇄ <b class=\"remote\">%s</b>"
      "</p>\n",
      xmpp::EscapeText(media.codec()), media.payload_type(),
      xmpp::EscapeText(media.negotiated().empty() ? "n/a" : media.negotiated()),
      xmpp::EscapeText(media.local_candidate().empty()
                           ? "none writable"
                           : media.local_candidate()),
      xmpp::EscapeText(media.remote_candidate().empty()
                           ? "none writable"
                           : media.remote_candidate()));
  if (media.samples().empty()) return out;
  std::vector<double> seconds;
  Series sent{"peer → client", "#0b3d91", {}};
  Series received{"client → peer", "#c05000", {}};
  Series loss{"client → peer", "#b00020", {}};
  Series jitter{"client → peer", "#176b25", {}};
  for (const MediaSample& sample : media.samples()) {
    const double duration = std::max<int64_t>(sample.duration_us(), 1) / 1e6;
    seconds.push_back(sample.offset_us() / 1e6);
    sent.values.push_back(sample.sent() / duration);
    received.values.push_back(sample.received() / duration);
    loss.values.push_back(sample.loss_percent());
    jitter.values.push_back(sample.jitter_ms());
  }
  absl::StrAppend(
      &out,
      Plot("pps", "packets per second", "pps", 10, {sent, received}, seconds),
      Plot("loss", "loss", "%", 5, {loss}, seconds),
      Plot("jitter", "jitter", "ms", 5, {jitter}, seconds));
  return out;
}

}  // namespace talkcheck::harness

#include "harness/report/media_plots.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MediaPlotsTest, PlotsEachSampleAndNamesPairAndCodec) {
  MediaReport media;
  media.set_codec("PCMU");
  media.set_payload_type(0);
  media.set_negotiated("PCMU/0/8000");
  media.set_local_candidate("127.0.0.1:40001 local gen 0");
  media.set_remote_candidate("127.0.0.1:20000 local gen 1");
  for (int i = 1; i <= 4; ++i) {
    MediaSample& sample = *media.add_samples();
    sample.set_offset_us(i * 250000);
    sample.set_duration_us(250000);
    sample.set_sent(12);
    sample.set_received(i == 3 ? 6 : 13);
    sample.set_loss_percent(i == 3 ? 50 : 0);
    sample.set_jitter_ms(0.5 * i);
  }
  const std::string html = MediaPlots(media);
  EXPECT_THAT(html, HasSubstr("<b class=\"codec\">PCMU/0</b>"));
  EXPECT_THAT(html, HasSubstr("127.0.0.1:40001 local gen 0</b> ⇄ "));
  EXPECT_THAT(html, HasSubstr("127.0.0.1:20000 local gen 1"));
  EXPECT_THAT(html, HasSubstr("data-plot=\"pps\""));
  // Packets per interval over its length.
  EXPECT_THAT(html, HasSubstr("data-series=\"peer → client\" "
                              "data-values=\"48.00 48.00 48.00 48.00\""));
  EXPECT_THAT(html, HasSubstr("data-values=\"52.00 52.00 24.00 52.00\""));
  EXPECT_THAT(html, HasSubstr("data-values=\"0.00 0.00 50.00 0.00\""));
  EXPECT_THAT(html, HasSubstr("data-values=\"0.50 1.00 1.50 2.00\""));
  EXPECT_THAT(html, HasSubstr("data-plot=\"jitter\""));
}

TEST(MediaPlotsTest, NoWritablePairAndNoSamples) {
  MediaReport media;
  media.set_codec("PCMU");
  const std::string html = MediaPlots(media);
  EXPECT_THAT(html, HasSubstr("none writable"));
  EXPECT_THAT(html, Not(HasSubstr("class=\"plot\"")));
}

}  // namespace
}  // namespace talkcheck::harness

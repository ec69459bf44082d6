#include "harness/fuzz/campaign_html.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

class CampaignHtmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int line : {10, 20, 30}) {
      Step& step = *scenario_.add_steps();
      step.mutable_location()->set_file("s.xml");
      step.mutable_location()->set_line(line);
    }
    summary_.set_scenario("s.xml");
    summary_.set_client("reference --fault=no-ack");
    summary_.set_runs(300);
    summary_.set_failing_runs(12);
    (*summary_.mutable_violations())["unacknowledged-session-iq"] = 12;
    (*summary_.mutable_violations())["scenario-expectation"] = 3;
    Replay& replay = *summary_.add_replays();
    replay.set_oracle("unacknowledged-session-iq");
    replay.set_run(17);
    Perturbation& delay = *replay.mutable_schedule()->add_perturbations();
    delay.set_kind(Perturbation::DELAY_BEFORE);
    delay.set_step(1);
    delay.set_delay_ms(15100);
    delay.set_aim("just after the 15 s ack timeout");
    Perturbation& ack = *replay.mutable_schedule()->add_perturbations();
    ack.set_kind(Perturbation::WITHHOLD_ACK);
    ack.set_ack(0);
    Violation& v = *replay.add_violations();
    v.set_oracle("unacknowledged-session-iq");
    v.set_detail("initiate never acked");

    // The shrunk run: the inserted delay shares step 2's place.
    run_.set_end_us(20000000);
    auto add_step = [&](int number, const char* kind, int line, int64_t start,
                        int64_t duration, Verdict verdict) {
      StepResult& step = *run_.add_steps();
      step.set_number(number);
      step.set_kind(kind);
      step.mutable_location()->set_file("s.xml");
      step.mutable_location()->set_line(line);
      step.set_start_us(start);
      step.set_duration_us(duration);
      step.set_verdict(verdict);
    };
    add_step(1, "send", 10, 0, 1000, PASS);
    add_step(2, "delay", 20, 1000, 15100000, PASS);
    add_step(3, "expect", 20, 15101000, 10000, PASS);
    add_step(4, "expect", 30, 15111000, 4000000, FAIL);
    StanzaRecord& initiate = *run_.add_transcript();
    initiate.set_time_us(500);
    initiate.set_direction("cut->peer");
    initiate.set_xml("<iq type=\"set\" id=\"1\"/>");
  }

  Scenario scenario_;
  FuzzSummary summary_;
  ScenarioResult run_;
};

TEST_F(CampaignHtmlTest, CountsOraclesAndDrawsTheShrunkSchedule) {
  const std::string html = FuzzHtmlReport(summary_, scenario_, {run_});
  EXPECT_THAT(html, HasSubstr("<td class=\"runs\">300</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"failing\">12</td>"));
  EXPECT_THAT(html, HasSubstr("data-oracle=\"unacknowledged-session-iq\" "
                              "data-count=\"12\""));
  EXPECT_THAT(
      html, HasSubstr("data-oracle=\"scenario-expectation\" data-count=\"3\""));
  EXPECT_EQ(Count(html, "<svg class=\"timeline\""), 1);
  EXPECT_EQ(Count(html, "class=\"step-bar"), 4);
  EXPECT_EQ(Count(html, "class=\"step-bar tl-fail\""), 1);
  EXPECT_EQ(Count(html, "class=\"tick from-cut\""), 1);
  // Both perturbations found their place: the delay on the inserted delay
  // step, the withheld ack on the client's first session iq.
  EXPECT_THAT(html, HasSubstr("data-kind=\"DELAY_BEFORE\""));
  EXPECT_THAT(html, HasSubstr("data-kind=\"WITHHOLD_ACK\""));
  EXPECT_THAT(html, HasSubstr("just after the 15 s ack timeout"));
  EXPECT_THAT(html, HasSubstr("class=\"violation\""));
  EXPECT_THAT(html, HasSubstr("initiate never acked"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

TEST_F(CampaignHtmlTest, WithoutItsRunAScheduleIsListedOnly) {
  const std::string html = FuzzHtmlReport(summary_, scenario_, {std::nullopt});
  EXPECT_THAT(html, HasSubstr("DELAY_BEFORE step 2 at s.xml:20 by 15.1s"));
  EXPECT_THAT(html, Not(HasSubstr("<svg class=\"timeline\"")));
}

TEST_F(CampaignHtmlTest, ACleanCampaignSaysSo) {
  FuzzSummary clean;
  clean.set_runs(50);
  const std::string html = FuzzHtmlReport(clean, scenario_, {});
  EXPECT_THAT(html, HasSubstr("no oracle violated"));
  EXPECT_THAT(html, Not(HasSubstr("class=\"replay\"")));
}

}  // namespace
}  // namespace talkcheck::harness

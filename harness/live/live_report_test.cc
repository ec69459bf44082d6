#include "harness/live/live_report.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

StanzaRecord Initiate(int64_t time_us) {
  StanzaRecord record;
  record.set_time_us(time_us);
  record.set_direction("peer->cut");
  record.set_xml(
      "<iq type=\"set\" id=\"1\"><session "
      "xmlns=\"http://www.google.com/session\" type=\"initiate\" "
      "id=\"s\"/></iq>");
  return record;
}

TEST(JsonStringTest, EscapesWhatJsonMust) {
  EXPECT_EQ(JsonString("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  EXPECT_EQ(JsonString("⇄"), "\"⇄\"");
}

TEST(LiveReportTest, OneUpdatePerChangedScenarioThenDone) {
  LiveReport live({{"a", "a.xml"}, {"b", "b.xml"}});
  int changes = 0;
  live.set_on_change([&changes] { ++changes; });
  EXPECT_THAT(live.TakeUpdates(), SizeIs(0));
  live.Stanza(1, Initiate(1000));
  live.Stanza(1, Initiate(2000));
  EXPECT_EQ(changes, 2);
  std::vector<std::string> updates = live.TakeUpdates();
  ASSERT_THAT(updates, SizeIs(1));
  EXPECT_THAT(updates[0], HasSubstr("{\"type\":\"update\",\"scenario\":1,"));
  EXPECT_THAT(updates[0],
              HasSubstr("{\"kind\":\"stanza\",\"time_us\":1000,\"direction\":"
                        "\"peer->cut\",\"label\":\"initiate\"},{\"kind\":"
                        "\"stanza\",\"time_us\":2000"));
  // The section as the HTML report draws it: two arrows so far, pending.
  EXPECT_THAT(updates[0],
              HasSubstr("class=\\\"scenario pending\\\" id=\\\"s1"));
  EXPECT_THAT(updates[0], HasSubstr("PENDING"));
  EXPECT_THAT(live.TakeUpdates(), SizeIs(0));

  // A media step's samples show before its verdict, then the verdict.
  MediaSample sample;
  sample.set_offset_us(250000);
  sample.set_duration_us(250000);
  sample.set_sent(12);
  sample.set_received(13);
  StepResult media_step;
  media_step.set_index(7);
  media_step.set_number(8);
  media_step.set_step_number("8");
  live.Sample(0, media_step, sample);
  updates = live.TakeUpdates();
  ASSERT_THAT(updates, SizeIs(1));
  EXPECT_THAT(updates[0], HasSubstr("\"kind\":\"media\",\"step\":\"8\","
                                    "\"offset_us\":250000,\"sent\":12,"
                                    "\"received\":13"));
  EXPECT_THAT(updates[0], HasSubstr("data-plot=\\\"pps\\\""));
  EXPECT_THAT(updates[0], HasSubstr("media, step 8"));

  ScenarioResult finished;
  finished.set_name("a");
  finished.set_verdict(PASS);
  live.Finished(0, finished);
  updates = live.TakeUpdates();
  ASSERT_THAT(updates, SizeIs(1));
  EXPECT_THAT(updates[0], HasSubstr("{\"kind\":\"finished\",\"verdict\":"
                                    "\"PASS\"}"));
  EXPECT_THAT(updates[0], HasSubstr("talkcheck: 1 passed"));
  EXPECT_FALSE(live.done());

  RunReport report;
  report.set_passed(1);
  report.set_failed(1);
  *report.add_scenarios() = finished;
  report.add_scenarios()->set_name("b");
  live.RunDone(report);
  updates = live.TakeUpdates();
  ASSERT_THAT(updates, SizeIs(1));
  EXPECT_THAT(updates[0], HasSubstr("{\"type\":\"done\",\"passed\":1,"
                                    "\"failed\":1,\"errors\":0,"));
  EXPECT_TRUE(live.done());
  EXPECT_THAT(live.TakeUpdates(), SizeIs(0));
}

TEST(LiveReportTest, DroppedUpdatesAreNotSentButShowInThePage) {
  LiveReport live(std::vector<LiveScenario>{{"a", "a.xml"}});
  live.Stanza(0, Initiate(1000));
  live.DropUpdates();
  EXPECT_THAT(live.TakeUpdates(), SizeIs(0));
  EXPECT_THAT(live.Page(), HasSubstr("class=\"arrow\""));
  live.RunDone(RunReport());
  live.DropUpdates();
  EXPECT_TRUE(live.done());
  // A browser that connects now gets the final state.
  EXPECT_THAT(live.SnapshotMessage(), HasSubstr("{\"type\":\"done\""));
}

TEST(LiveReportTest, ThePageIsTheReportWithItsScript) {
  LiveReport live(std::vector<LiveScenario>{{"a", "a.xml"}});
  live.Stanza(0, Initiate(1000));
  const std::string page = live.Page();
  EXPECT_THAT(page,
              HasSubstr("<section class=\"scenario pending\" id=\"s0\">"));
  EXPECT_THAT(page, HasSubstr("class=\"arrow\""));
  EXPECT_THAT(page, HasSubstr("new WebSocket('ws://' + location.host + "
                              "'/live')"));
  EXPECT_THAT(page, Not(HasSubstr("<script src")));
  EXPECT_THAT(live.SnapshotMessage(),
              HasSubstr("{\"type\":\"snapshot\",\"sections\":[\"<section"));
}

}  // namespace
}  // namespace talkcheck::harness

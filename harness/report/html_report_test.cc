#include "harness/report/html_report.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;

TEST(StanzaLabelTest, SaysWhatAStanzaIs) {
  EXPECT_EQ(StanzaLabel("<iq type='set' id='1'><session "
                        "xmlns='http://www.google.com/session' "
                        "type='initiate' id='s'/></iq>"),
            "initiate");
  EXPECT_EQ(StanzaLabel("<iq type='set' id='1'><session "
                        "xmlns='http://www.google.com/session' "
                        "type='candidates' id='s'><candidate name='rtp' "
                        "generation='1'/></session></iq>"),
            "candidates gen 1");
  EXPECT_EQ(StanzaLabel("<iq type='result' id='1'/>"), "result");
  EXPECT_EQ(StanzaLabel("<presence/>"), "presence");
  EXPECT_EQ(StanzaLabel("<presence type='unavailable'/>"),
            "presence unavailable");
  EXPECT_EQ(StanzaLabel("<iq type='get' id='d'><query "
                        "xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            "disco#info get");
  EXPECT_EQ(StanzaLabel("<iq"), "(unparsed)");
}

TEST(HtmlReportTest, OneArrowPerStanzaAndTheFailureInRed) {
  RunReport report;
  report.set_failed(1);
  ScenarioResult& s = *report.add_scenarios();
  s.set_name("seed-<initiate>-ack");
  s.set_verdict(FAIL);
  s.set_failure("expect at seed.xml:40: no matching stanza within 15s");
  for (int i = 0; i < 3; ++i) {
    StanzaRecord& r = *s.add_transcript();
    r.set_time_us(i * 1000);
    r.set_direction(i % 2 == 0 ? "peer->cut" : "cut->peer");
    r.set_xml("<presence/>");
  }
  StepResult& step = *s.add_steps();
  step.set_number(3);
  step.set_kind("expect");
  step.set_verdict(FAIL);
  step.set_start_us(1500);
  step.set_duration_us(15000000);
  step.set_message("no matching stanza within 15s");
  step.set_diff("expected:\n<iq type=\"result\"/>");
  const std::string html = HtmlReport(report);
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("seed-&lt;initiate&gt;-ack"));
  size_t arrows = 0;
  for (size_t at = html.find("class=\"arrow\""); at != std::string::npos;
       at = html.find("class=\"arrow\"", at + 1))
    ++arrows;
  EXPECT_EQ(arrows, 3u);
  EXPECT_THAT(html, HasSubstr("<div class=\"step fail\" data-step=\"3\">"));
  EXPECT_THAT(html, HasSubstr("&lt;iq type=\"result\"/&gt;"));
  // Nothing fetched from anywhere.
  EXPECT_THAT(html, ::testing::Not(HasSubstr("http://cdn")));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("<script src")));
}

// Verifies that a scenario that did not apply to the client reads N/A, with
// its reason, and is counted apart in the heading.
TEST(HtmlReportTest, NotApplicableScenarioReadsNa) {
  RunReport report;
  report.set_not_applicable(1);
  ScenarioResult& s = *report.add_scenarios();
  s.set_name("g2-transport-accept");
  s.set_verdict(SKIPPED);
  s.set_failure("not applicable: the client answered a G2 initiate in G1");
  const std::string summary = HtmlSummary(report);
  EXPECT_THAT(summary, HasSubstr("0 errors, 1 not applicable</h1>"));
  EXPECT_THAT(summary, HasSubstr("<td>N/A</td>"));
  const std::string section = HtmlScenarioSection(s, 0);
  EXPECT_THAT(section, HasSubstr("class=\"verdict\">N/A</span>"));
  EXPECT_THAT(section, HasSubstr("answered a G2 initiate in G1"));
}

}  // namespace
}  // namespace talkcheck::harness

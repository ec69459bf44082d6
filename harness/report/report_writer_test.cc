#include "harness/report/report_writer.h"

#include <tinyxml2.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RunReport OneFailure() {
  RunReport report;
  ScenarioResult& s = *report.add_scenarios();
  s.set_name("seed-initiate-ack");
  s.set_file("/lib/scenarios/seed-initiate-ack.xml");
  s.set_verdict(FAIL);
  s.set_failure("expect at seed-initiate-ack.xml:40: no stanza matched");
  s.set_failure_type("expect/no-match-within-bound");
  s.set_client_output("client: sending iq\x01 <result>\n");
  ScenarioResult& p = *report.add_scenarios();
  p.set_name("v1.2");
  p.set_verdict(PASS);
  CountVerdicts(report);
  return report;
}

TEST(JUnitXmlTest, IsWellFormed) {
  tinyxml2::XMLDocument doc;
  ASSERT_EQ(doc.Parse(JUnitXml(OneFailure()).c_str()), tinyxml2::XML_SUCCESS);
  const tinyxml2::XMLElement* suite =
      doc.RootElement()->FirstChildElement("testsuite");
  ASSERT_NE(suite, nullptr);
  EXPECT_STREQ(suite->Attribute("failures"), "1");
}

TEST(JUnitXmlTest, FailureCarriesTheStepKindAndReasonClass) {
  EXPECT_THAT(JUnitXml(OneFailure()),
              HasSubstr("<failure type=\"expect/no-match-within-bound\""));
}

TEST(JUnitXmlTest, ClassnameHasNoDotOfTheFileName) {
  const std::string xml = JUnitXml(OneFailure());
  EXPECT_THAT(xml, HasSubstr("classname=\"talkcheck.seed-initiate-ack\""));
  EXPECT_THAT(xml, HasSubstr("classname=\"talkcheck.v1_2\""));
  EXPECT_THAT(xml, Not(HasSubstr("classname=\"/lib")));
}

TEST(JUnitXmlTest, ClientOutputInSystemErrEscaped) {
  const std::string xml = JUnitXml(OneFailure());
  EXPECT_THAT(xml, HasSubstr("<system-err>client: sending iq\\x01 "
                             "&lt;result&gt;\n</system-err>"));
  // A scenario whose client printed nothing has no system-err.
  EXPECT_EQ(xml.find("<system-err>"), xml.rfind("<system-err>"));
}

// Verifies that an optional step that failed reads SKIP, not PASS, in the
// text report, and that steps are numbered alike in text and JSON.
TEST(TextSummaryTest, SkippedOptionalStepShowsAsSkip) {
  RunReport report;
  ScenarioResult& s = *report.add_scenarios();
  s.set_name("optional");
  s.set_verdict(PASS);
  StepResult& step = *s.add_steps();
  step.set_index(3);
  step.set_number(4);
  step.set_kind("expect");
  step.set_verdict(SKIPPED);
  step.mutable_location()->set_file("a.xml");
  step.mutable_location()->set_line(12);
  step.mutable_location()->set_column(3);
  step.set_message("no matching stanza within 5s (optional)");
  StepResult& unreached = *s.add_steps();
  unreached.set_verdict(SKIPPED);
  CountVerdicts(report);
  const std::string text = TextSummary(report);
  EXPECT_THAT(text, HasSubstr("SKIP step 4 (expect) at a.xml:12:3: no "
                              "matching stanza within 5s (optional)"));
  // A step never reached says nothing.
  EXPECT_EQ(text.find("SKIP step"), text.rfind("SKIP step"));
}

// Verifies that a scenario that does not apply to the client reads N/A with
// its reason, is counted apart from passed, failed and errors, and is a
// skipped test case in JUnit.
TEST(TextSummaryTest, NotApplicableScenarioIsCountedApart) {
  RunReport report = OneFailure();
  ScenarioResult& s = *report.add_scenarios();
  s.set_name("g2-caller-transport-accept");
  s.set_verdict(SKIPPED);
  s.set_failure("not applicable: the client placed its call in G1");
  CountVerdicts(report);
  EXPECT_EQ(report.not_applicable(), 1);
  const std::string text = TextSummary(report);
  EXPECT_THAT(text, HasSubstr("N/A   g2-caller-transport-accept"));
  EXPECT_THAT(text, HasSubstr("=== N/A g2-caller-transport-accept"));
  EXPECT_THAT(text,
              HasSubstr("1 passed, 1 failed, 0 errors, 1 not applicable "));
  EXPECT_THAT(TextSummary(OneFailure()), Not(HasSubstr("not applicable")));

  tinyxml2::XMLDocument doc;
  ASSERT_EQ(doc.Parse(JUnitXml(report).c_str()), tinyxml2::XML_SUCCESS);
  const tinyxml2::XMLElement* suite =
      doc.RootElement()->FirstChildElement("testsuite");
  ASSERT_NE(suite, nullptr);
  EXPECT_STREQ(suite->Attribute("skipped"), "1");
  EXPECT_STREQ(suite->Attribute("failures"), "1");
  const tinyxml2::XMLElement* last = suite->LastChildElement("testcase");
  ASSERT_NE(last, nullptr);
  const tinyxml2::XMLElement* skipped = last->FirstChildElement("skipped");
  ASSERT_NE(skipped, nullptr);
  EXPECT_STREQ(skipped->Attribute("message"),
               "not applicable: the client placed its call in G1");
}

// Verifies that a failure inside an included fragment names the include site.
TEST(TextSummaryTest, FailureNamesTheIncludeChain) {
  RunReport report = OneFailure();
  StepResult& step = *report.mutable_scenarios(0)->add_steps();
  step.set_number(2);
  step.set_kind("expect");
  step.set_verdict(FAIL);
  step.mutable_location()->set_file("fragments/prelude.xml");
  step.mutable_location()->set_line(4);
  step.mutable_location()->set_column(3);
  SourceLocation& site = *step.mutable_location()->add_included_from();
  site.set_file("main.xml");
  site.set_line(2);
  site.set_column(3);
  EXPECT_THAT(TextSummary(report),
              HasSubstr("step 2 (expect) at fragments/prelude.xml:4:3, "
                        "included from main.xml:2:3"));
}

// Verifies that a client that never became ready shows its last output lines.
TEST(TextSummaryTest, NeverReadyShowsTheClientsLastLines) {
  RunReport report;
  ScenarioResult& s = *report.add_scenarios();
  s.set_name("x");
  s.set_verdict(ERROR);
  s.set_failure("client under test never became ready within 5s");
  s.set_failure_type("client/never-ready");
  std::string output;
  for (int i = 1; i <= 30; ++i) output += "line " + std::to_string(i) + "\n";
  s.set_client_output(output);
  CountVerdicts(report);
  const std::string text = TextSummary(report);
  EXPECT_THAT(text, HasSubstr("last lines of the client's output:\nline 11\n"));
  EXPECT_THAT(text, HasSubstr("line 30\n"));
  EXPECT_THAT(text, Not(HasSubstr("line 10\n")));
}

// Verifies that zero values are present in the JSON report, and the step's
// number and structured difference are there.
TEST(JsonReportTest, ZeroValuesAndStructuredDifference) {
  RunReport report = OneFailure();
  StepResult& step = *report.mutable_scenarios(0)->add_steps();
  step.set_index(0);
  step.set_number(1);
  step.mutable_difference()->set_path("/iq[@type]");
  step.mutable_difference()->set_expected("type='result'");
  step.mutable_difference()->set_actual("get");
  absl::StatusOr<std::string> json = JsonReport(report);
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr("\"index\": 0"));
  EXPECT_THAT(*json, HasSubstr("\"number\": 1"));
  EXPECT_THAT(*json, HasSubstr("\"path\": \"/iq[@type]\""));
  EXPECT_THAT(*json, HasSubstr("\"actual\": \"get\""));
}

// Verifies that a step inside a one-of's branch carries the author's number
// ("4.b.2") alike in the text report, the JUnit XML and the JSON.
TEST(TextSummaryTest, StepNumberIsTheSameInEveryReport) {
  RunReport report = OneFailure();
  StepResult& step = *report.mutable_scenarios(0)->add_steps();
  step.set_index(9);
  step.set_number(4);
  step.set_step_number("4.b.2");
  step.set_kind("send");
  step.set_verdict(FAIL);
  step.mutable_location()->set_file("x.xml");
  step.mutable_location()->set_line(12);
  step.mutable_location()->set_column(7);
  const std::string heading = "step 4.b.2 (send) at x.xml:12:7";
  EXPECT_THAT(TextSummary(report), HasSubstr(heading));
  EXPECT_THAT(JUnitXml(report), HasSubstr(heading));
  absl::StatusOr<std::string> json = JsonReport(report);
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr("\"step_number\": \"4.b.2\""));
}

}  // namespace
}  // namespace talkcheck::harness

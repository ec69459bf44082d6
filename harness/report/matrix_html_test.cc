#include "harness/report/matrix_html.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

MatrixReport TwoByOne() {
  MatrixReport matrix;
  matrix.set_seed(1);
  matrix.set_profile("interop");
  for (const char* name : {"reference", "late<ack>"}) {
    MatrixClient* client = matrix.add_clients();
    client->set_name(name);
    client->set_spec(absl::StrCat("reference --fault=", name));
    client->set_report_html(absl::StrCat(name, "/report.html"));
    client->set_report_json(absl::StrCat(name, "/report.json"));
  }
  MatrixScenario* scenario = matrix.add_scenarios();
  scenario->set_name("reject-before-ack");
  scenario->add_quirks("8.15");
  MatrixCell* pass = matrix.add_cells();
  pass->set_client("reference");
  pass->set_scenario("reject-before-ack");
  pass->set_verdict(PASS);
  pass->set_report("reference/reject-before-ack.html");
  QuirkObservation* shown = pass->add_quirks();
  shown->set_quirk("8.15");
  shown->set_title("Reject before ack");
  shown->set_state(SHOWN);
  MatrixCell* fail = matrix.add_cells();
  fail->set_client("late<ack>");
  fail->set_scenario("reject-before-ack");
  fail->set_verdict(FAIL);
  fail->set_failure("expect at \"x.xml\":3");
  fail->add_warnings("warning: one");
  fail->set_report("late_ack_/reject-before-ack.html");
  QuirkObservation* not_shown = fail->add_quirks();
  not_shown->set_quirk("8.15");
  not_shown->set_state(NOT_SHOWN);
  return matrix;
}

TEST(MatrixHtmlTest, OneCellPerClientLinkedToItsReport) {
  const std::string html = MatrixHtml(TwoByOne(), "out/");
  EXPECT_THAT(html,
              HasSubstr("<td class=\"cell pass\" data-client=\"reference\""
                        " data-scenario=\"reject-before-ack\""));
  EXPECT_THAT(html,
              HasSubstr("href=\"out/reference/reject-before-ack.html\">PASS"));
  EXPECT_THAT(html, HasSubstr("<td class=\"cell fail\""));
  EXPECT_THAT(html, HasSubstr("href=\"out/reference/report.html\""));
  EXPECT_THAT(html, HasSubstr("1 warning</span>"));
}

TEST(MatrixHtmlTest, CellsNameTheQuirksTheyShowed) {
  const std::string html = MatrixHtml(TwoByOne(), "");
  EXPECT_THAT(html,
              HasSubstr("<span class=\"quirk shown\" data-quirk=\"8.15\""));
  EXPECT_THAT(html, HasSubstr(">shows 8.15</span>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"quirk not-shown\""));
  EXPECT_THAT(html, HasSubstr("probes §8.15"));
  // The quirk table: shown by reference (in reject-before-ack), not by the
  // other.
  EXPECT_THAT(html, HasSubstr("<tr data-quirk=\"8.15\"><th>§8.15 Reject "
                              "before ack</th><td class=\"quirk shown\" "
                              "data-client=\"reference\">shows "
                              "(reject-before-ack)</td><td class=\"quirk "
                              "not-shown\""));
}

TEST(MatrixHtmlTest, EscapesWhatTheRunsWrote) {
  const std::string html = MatrixHtml(TwoByOne(), "");
  EXPECT_THAT(html, HasSubstr("late&lt;ack&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("late<ack>")));
  EXPECT_THAT(html, HasSubstr("&quot;x.xml&quot;"));
}

TEST(MatrixHtmlTest, SelfContained) {
  const std::string html = MatrixHtml(TwoByOne(), "");
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
}

}  // namespace
}  // namespace talkcheck::harness

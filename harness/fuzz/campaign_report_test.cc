#include "harness/fuzz/campaign_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace talkcheck::harness {
namespace {

// Where each oracle's name first occurs in `text`, in name order.
std::vector<size_t> OraclePositions(const std::string& text, int oracles) {
  std::vector<size_t> at;
  for (int i = 0; i < oracles; ++i) {
    at.push_back(text.find(absl::StrFormat("oracle-%02d", i)));
  }
  return at;
}

// Verifies that the text summary and the JUnit XML list the oracles by name,
// whatever order the summary's map holds them in (a protobuf map's iteration
// order varies from process to process, so the same campaign's report did).
TEST(CampaignReportTest, OraclesAreListedByName) {
  constexpr int kOracles = 30;
  FuzzSummary summary;
  summary.set_runs(100);
  for (int i = kOracles - 1; i >= 0; --i) {
    const std::string oracle = absl::StrFormat("oracle-%02d", i);
    (*summary.mutable_violations())[oracle] = i + 1;
    (*summary.mutable_failing())[oracle].add_runs(i);
  }
  for (const std::string& report :
       {FuzzTextSummary(summary), FuzzJUnitXml(summary)}) {
    const std::vector<size_t> at = OraclePositions(report, kOracles);
    EXPECT_THAT(at, ::testing::Not(::testing::Contains(std::string::npos)));
    EXPECT_TRUE(std::is_sorted(at.begin(), at.end())) << report;
  }
  EXPECT_THAT(FuzzTextSummary(summary),
              ::testing::HasSubstr("oracle-07" + std::string(24, ' ') +
                                   "violated in 8 of 100 schedules: run 7\n"));
}

}  // namespace
}  // namespace talkcheck::harness

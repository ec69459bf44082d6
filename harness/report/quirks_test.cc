#include "harness/report/quirks.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// reject-before-ack's shape: an unmarked send, then two steps that the
// libjingle-0.4 profile requires.
Scenario ProbingScenario() {
  Scenario scenario;
  scenario.set_name("reject-before-ack");
  scenario.add_tags("quirk-8.15");
  scenario.add_steps();
  scenario.add_steps()->add_profiles("libjingle-0.4");
  scenario.add_steps()->add_profiles("libjingle-0.4");
  return scenario;
}

StepResult* AddStep(ScenarioResult& result, int index, Verdict verdict,
                    const std::string& message = "") {
  StepResult* step = result.add_steps();
  step->set_index(index);
  step->set_kind("expect");
  step->set_verdict(verdict);
  step->set_message(message);
  return step;
}

TEST(QuirksTest, TitlesFollowProtocolSection8) {
  EXPECT_EQ(QuirkTitle("8.15"), "Reject before ack");
  EXPECT_EQ(QuirkTitle("8.13"), "Stale-credentials race");
  EXPECT_EQ(QuirkTitle("8.24"), "");
}

TEST(QuirksTest, ProbedQuirksComeFromTags) {
  absl::StatusOr<std::vector<std::string>> quirks =
      ProbedQuirks(ProbingScenario());
  ASSERT_TRUE(quirks.ok()) << quirks.status();
  EXPECT_EQ(*quirks, std::vector<std::string>{"8.15"});
}

TEST(QuirksTest, UnknownQuirkTagIsRefused) {
  Scenario scenario = ProbingScenario();
  scenario.add_tags("quirk-8.99");
  absl::StatusOr<std::vector<std::string>> quirks = ProbedQuirks(scenario);
  ASSERT_FALSE(quirks.ok());
  EXPECT_THAT(quirks.status().message(), HasSubstr("quirk-8.99"));
}

TEST(QuirksTest, QuirkTagWithoutProfileStepIsRefused) {
  Scenario scenario;
  scenario.set_name("plain");
  scenario.add_tags("quirk-8.15");
  scenario.add_steps();
  absl::StatusOr<std::vector<std::string>> quirks = ProbedQuirks(scenario);
  ASSERT_FALSE(quirks.ok());
  EXPECT_THAT(quirks.status().message(), HasSubstr("profile"));
}

TEST(QuirksTest, ShownWhenEveryProfileStepPassed) {
  ScenarioResult result;
  AddStep(result, 0, PASS);
  AddStep(result, 1, PASS);
  AddStep(result, 2, PASS);
  std::vector<QuirkObservation> seen = ObserveQuirks(ProbingScenario(), result);
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].quirk(), "8.15");
  EXPECT_EQ(seen[0].title(), "Reject before ack");
  EXPECT_EQ(seen[0].state(), SHOWN);
}

TEST(QuirksTest, NotShownWhenAProfileStepOnlyWarned) {
  ScenarioResult result;
  AddStep(result, 0, PASS);
  AddStep(result, 1, PASS);
  AddStep(result, 2, SKIPPED, "warning: expect at x.xml:25 (required only...)");
  std::vector<QuirkObservation> seen = ObserveQuirks(ProbingScenario(), result);
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].state(), NOT_SHOWN);
  EXPECT_THAT(seen[0].evidence(), HasSubstr("step 3 (expect)"));
}

TEST(QuirksTest, NotShownWhenAProfileStepFailedUnderItsProfile) {
  ScenarioResult result;
  AddStep(result, 0, PASS);
  AddStep(result, 1, FAIL, "no matching stanza");
  std::vector<QuirkObservation> seen = ObserveQuirks(ProbingScenario(), result);
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].state(), NOT_SHOWN);
}

TEST(QuirksTest, NotSeenWhenTheRunStoppedBefore) {
  ScenarioResult result;
  AddStep(result, 0, FAIL, "the client never acked");
  AddStep(result, 1, SKIPPED, "not reached");
  std::vector<QuirkObservation> seen = ObserveQuirks(ProbingScenario(), result);
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].state(), NOT_SEEN);
}

TEST(QuirksTest, StaleCredentialsAnsweredShowTheRace) {
  Scenario scenario;
  scenario.add_steps();
  ScenarioResult result;
  AddStep(result, 0, PASS)->mutable_media()->set_stale_credentials_answered(2);
  std::vector<QuirkObservation> seen = ObserveQuirks(scenario, result);
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].quirk(), "8.13");
  EXPECT_EQ(seen[0].state(), SHOWN);
  EXPECT_THAT(seen[0].evidence(), HasSubstr("2 pings answered 430"));
}

TEST(QuirksTest, NothingToTellWithoutTagsOrRace) {
  Scenario scenario;
  scenario.add_steps();
  ScenarioResult result;
  AddStep(result, 0, PASS)->mutable_media()->set_packets_received(100);
  EXPECT_THAT(ObserveQuirks(scenario, result), IsEmpty());
}

}  // namespace
}  // namespace talkcheck::harness

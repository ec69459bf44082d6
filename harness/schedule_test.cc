#include "harness/schedule.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario_loader.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;

// send initiate (0), expect ack (1), send candidates (2), delay 1s..5s (3),
// expect accept with a capture (4), send terminate (5).
constexpr char kScenario[] = R"(<?xml version="1.0"?>
<scenario name="s" timeout="30s">
  <peer user="peer" resource="Talk.v104" role="caller" dialect="g1"/>
  <send>
    <iq to="${cut}" type="set" id="${iq}">
      <session xmlns="http://www.google.com/session" type="initiate" id="${sid}" initiator="${peer}"/>
    </iq>
  </send>
  <expect within="15s">
    <iq type="result" id="${last_id}"/>
  </expect>
  <send>
    <iq to="${cut}" type="set" id="${iq}">
      <session xmlns="http://www.google.com/session" type="candidates" id="${sid}" initiator="${peer}">${candidates:rtp}</session>
    </iq>
  </send>
  <delay for="1s..5s"/>
  <expect within="10s" fuzz="5s..20s">
    <iq type="set" id="${accept_id}"/>
  </expect>
  <send>
    <iq to="${cut}" type="set" id="${iq}">
      <session xmlns="http://www.google.com/session" type="terminate" id="${sid}" initiator="${peer}"/>
    </iq>
  </send>
</scenario>
)";

Scenario Load() {
  LoadResult loaded = LoadScenarioText(kScenario, "s.xml");
  for (const LoadError& e : loaded.errors) ADD_FAILURE() << e.ToString();
  return loaded.scenario;
}

Perturbation Make(Perturbation::Kind kind, int step, int64_t delay_ms = 0) {
  Perturbation p;
  p.set_kind(kind);
  p.set_step(step);
  p.set_delay_ms(delay_ms);
  return p;
}

TEST(ScheduleTest, TimingSitesAreTheRangesInDocumentOrder) {
  Scenario scenario = Load();
  std::vector<const Timing*> sites = TimingSites(scenario);
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0]->min_ms(), 1000);
  EXPECT_EQ(sites[0]->max_ms(), 5000);
  EXPECT_EQ(sites[1]->ms(), 10000);
  EXPECT_EQ(sites[1]->max_ms(), 20000);
}

TEST(ScheduleTest, DrawIsDeterministicAndVaries) {
  Scenario scenario = Load();
  std::set<std::string> distinct;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Schedule a = DrawSchedule(scenario, seed);
    Schedule b = DrawSchedule(scenario, seed);
    ASSERT_EQ(a.SerializeAsString(), b.SerializeAsString());
    distinct.insert(a.SerializeAsString());
    // Every draw applies: the drawer only makes what fits.
    ASSERT_TRUE(ApplySchedule(scenario, a).ok()) << a.DebugString();
    for (const TimingDraw& draw : a.timings()) {
      const Timing& site = *TimingSites(scenario)[draw.site()];
      EXPECT_GE(draw.ms(), site.min_ms());
      EXPECT_LE(draw.ms(), site.max_ms());
    }
  }
  EXPECT_GT(distinct.size(), 150u);
}

TEST(ScheduleTest, DrawsAimAtTheClientDeadlines) {
  Scenario scenario = Load();
  std::set<int64_t> aimed;
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    const Schedule schedule = DrawSchedule(scenario, seed);
    for (const Perturbation& p : schedule.perturbations()) {
      if (p.aim().empty()) continue;
      for (int64_t deadline : kClientDeadlinesMs) {
        if (std::abs(p.delay_ms() - deadline) <= 500) aimed.insert(deadline);
      }
    }
  }
  EXPECT_EQ(aimed.size(), std::size(kClientDeadlinesMs));
}

TEST(ScheduleTest, DontWaitMakesTheExpectBackground) {
  Scenario scenario = Load();
  Schedule schedule;
  *schedule.add_perturbations() = Make(Perturbation::DONT_WAIT, 1);
  absl::StatusOr<Scenario> out = ApplySchedule(scenario, schedule);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->steps_size(), scenario.steps_size());
  EXPECT_TRUE(out->steps(1).expect().background());
  EXPECT_TRUE(KeepsExpectations(scenario, schedule));
}

TEST(ScheduleTest, DontWaitRefusesAnExpectThatCaptures) {
  Scenario scenario = Load();
  Schedule schedule;
  *schedule.add_perturbations() = Make(Perturbation::DONT_WAIT, 4);
  absl::StatusOr<Scenario> out = ApplySchedule(scenario, schedule);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("DONT_WAIT step 4"));
}

TEST(ScheduleTest, DelayBeforeInsertsADelayAndStretchesTheDeadline) {
  Scenario scenario = Load();
  Schedule schedule;
  *schedule.add_perturbations() =
      Make(Perturbation::DELAY_BEFORE, 2, /*delay_ms=*/15200);
  absl::StatusOr<Scenario> out = ApplySchedule(scenario, schedule);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->steps_size(), scenario.steps_size() + 1);
  EXPECT_EQ(out->steps(2).delay().duration().ms(), 15200);
  EXPECT_TRUE(out->steps(3).has_send());
  EXPECT_EQ(out->timeout().ms(), 30000 + 15200);
  EXPECT_FALSE(KeepsExpectations(scenario, schedule));
}

TEST(ScheduleTest, DuplicateAndGenerationBump) {
  Scenario scenario = Load();
  Schedule schedule;
  *schedule.add_perturbations() = Make(Perturbation::DUPLICATE, 2);
  *schedule.add_perturbations() = Make(Perturbation::GENERATION_BUMP, 3);
  absl::StatusOr<Scenario> out = ApplySchedule(scenario, schedule);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->steps_size(), scenario.steps_size() + 2);
  EXPECT_EQ(out->steps(2).send().stanza(), out->steps(3).send().stanza());
  EXPECT_TRUE(out->steps(4).has_delay());
  EXPECT_THAT(out->steps(5).send().stanza(),
              HasSubstr("${candidates:rtp:next}"));
  EXPECT_TRUE(KeepsExpectations(scenario, schedule));
}

TEST(ScheduleTest, RejectsWhatDoesNotFit) {
  Scenario scenario = Load();
  {
    Schedule schedule;
    TimingDraw& draw = *schedule.add_timings();
    draw.set_site(0);
    draw.set_ms(9000);  // outside 1s..5s
    EXPECT_THAT(ApplySchedule(scenario, schedule).status().message(),
                HasSubstr("outside 1000..5000"));
  }
  {
    Schedule schedule;
    TimingDraw& draw = *schedule.add_timings();
    draw.set_site(7);
    EXPECT_THAT(ApplySchedule(scenario, schedule).status().message(),
                HasSubstr("does not exist"));
  }
  {
    Schedule schedule;
    *schedule.add_perturbations() = Make(Perturbation::DUPLICATE, 0);
    EXPECT_FALSE(ApplySchedule(scenario, schedule).ok());  // not candidates
  }
  {
    Schedule schedule;
    *schedule.add_perturbations() = Make(Perturbation::GENERATION_BUMP, 0);
    EXPECT_FALSE(ApplySchedule(scenario, schedule).ok());  // before any
  }
}

TEST(ScheduleTest, ShorterBoundsAndWithheldAcksDropTheExpectations) {
  Scenario scenario = Load();
  Schedule shorter;
  TimingDraw& draw = *shorter.add_timings();
  draw.set_site(1);
  draw.set_ms(5000);  // below the author's 10 s
  EXPECT_FALSE(KeepsExpectations(scenario, shorter));

  Schedule longer_delay;
  TimingDraw& delay = *longer_delay.add_timings();
  delay.set_site(0);
  delay.set_ms(1000);  // a delay anywhere in its range is fine
  EXPECT_TRUE(KeepsExpectations(scenario, longer_delay));

  Schedule withheld;
  Perturbation& p = *withheld.add_perturbations();
  p.set_kind(Perturbation::WITHHOLD_ACK);
  EXPECT_FALSE(KeepsExpectations(scenario, withheld));

  Schedule lossy;
  lossy.mutable_media()->set_loss_percent(1);
  EXPECT_FALSE(KeepsExpectations(scenario, lossy));
}

TEST(ScheduleTest, ComplexityOrdersPerturbationsFirst) {
  Schedule one;
  *one.add_perturbations() = Make(Perturbation::DONT_WAIT, 1);
  Schedule timings;
  for (int i = 0; i < 5; ++i) timings.add_timings()->set_site(i);
  EXPECT_GT(Complexity(one), Complexity(timings));
  EXPECT_GT(Complexity(timings), Complexity(Schedule()));
}

}  // namespace
}  // namespace talkcheck::harness

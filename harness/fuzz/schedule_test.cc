#include "harness/fuzz/schedule.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario/scenario_loader.h"

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
  // Named as people count steps, with the step's file:line.
  EXPECT_THAT(out.status().message(), HasSubstr("DONT_WAIT step 5 at "));
  EXPECT_THAT(
      out.status().message(),
      HasSubstr(absl::StrCat(":", scenario.steps(4).location().line())));
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

// Verifies that a perturbation is described with the author's step number
// and file:line, and its delay in scenario time and, when the run's timers
// are scaled, in real time too, each labelled.
TEST(ScheduleTest, DescribeShowsScenarioAndRealTime) {
  Scenario scenario = Load();
  const Perturbation p = Make(Perturbation::DELAY_BEFORE, 2, 15100);
  EXPECT_EQ(Describe(p, &scenario), "DELAY_BEFORE step 3 at s.xml:12 by 15.1s");
  EXPECT_EQ(Describe(p, &scenario, 0.1),
            "DELAY_BEFORE step 3 at s.xml:12 by 15.1s scenario time, 1.51s "
            "real");
  Perturbation ack;
  ack.set_kind(Perturbation::DELAY_ACK);
  ack.set_ack(1);
  ack.set_delay_ms(20000);
  EXPECT_EQ(Describe(ack, &scenario, 0.5),
            "DELAY_ACK ack 1 by 20s scenario time, 10s real");
}

// Two peers, each announcing candidates; steps 0-3 are alice's, 4-5 bob's.
constexpr char kTwoPeers[] = R"(<?xml version="1.0"?>
<scenario name="two" timeout="30s">
  <peer name="alice" user="alice" role="caller"/>
  <peer name="bob" user="bob" role="caller"/>
  <var name="sid_b" value="${sid}2"/>
  <send peer="alice"><iq to="${cut}" type="set" id="${iq}"><session xmlns="http://www.google.com/session" type="initiate" id="${sid}" initiator="${peer:alice}"/></iq></send>
  <expect within="5s" peer="alice"><iq type="result" id="${last_id}"/></expect>
  <send peer="alice"><iq to="${cut}" type="set" id="${iq}"><session xmlns="http://www.google.com/session" type="candidates" id="${sid}" initiator="${peer:alice}">${candidates:rtp}</session></iq></send>
  <delay for="1s"/>
  <send peer="bob"><iq to="${cut}" type="set" id="${iq}"><session xmlns="http://www.google.com/session" type="candidates" id="${sid_b}" initiator="${peer:bob}">${candidates:rtp}</session></iq></send>
  <delay for="1s"/>
</scenario>
)";

// Verifies that the fuzzer's inserted sends and its ack policy reach every
// peer: a generation bump after bob's candidates resends bob's, acks are
// drawn for both peers, and an ack of a peer the scenario lacks does not fit.
TEST(ScheduleTest, EveryPeerIsPerturbed) {
  LoadResult loaded = LoadScenarioText(kTwoPeers, "two.xml");
  ASSERT_THAT(loaded.errors, ::testing::IsEmpty());
  const Scenario& scenario = loaded.scenario;
  Schedule schedule;
  *schedule.add_perturbations() = Make(Perturbation::GENERATION_BUMP, 2);
  *schedule.add_perturbations() = Make(Perturbation::GENERATION_BUMP, 4);
  absl::StatusOr<Scenario> out = ApplySchedule(scenario, schedule);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->steps_size(), scenario.steps_size() + 2);
  EXPECT_EQ(out->steps(3).peer(), "alice");
  EXPECT_THAT(out->steps(3).send().stanza(),
              HasSubstr("${candidates:rtp:next}"));
  EXPECT_EQ(out->steps(6).peer(), "bob");
  EXPECT_THAT(out->steps(6).send().stanza(), HasSubstr("${sid_b}"));
  EXPECT_THAT(out->steps(6).send().stanza(),
              HasSubstr("${candidates:rtp:next}"));

  std::set<std::string> peers;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const Schedule drawn = DrawSchedule(scenario, seed);
    for (const Perturbation& p : drawn.perturbations()) {
      if (p.kind() == Perturbation::DELAY_ACK ||
          p.kind() == Perturbation::WITHHOLD_ACK) {
        peers.insert(p.peer());
      }
    }
  }
  EXPECT_EQ(peers, (std::set<std::string>{"", "bob"}));

  Perturbation carol;
  carol.set_kind(Perturbation::WITHHOLD_ACK);
  carol.set_peer("carol");
  Schedule bad;
  *bad.add_perturbations() = carol;
  EXPECT_FALSE(ApplySchedule(scenario, bad).ok());
  carol.set_peer("bob");
  EXPECT_EQ(Describe(carol, &scenario), "WITHHOLD_ACK ack 0 of peer 'bob'");
}

}  // namespace
}  // namespace talkcheck::harness

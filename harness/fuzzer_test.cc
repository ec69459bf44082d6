// Timeout fuzzing end to end, against the in-process reference client on the
// virtual clock: determinism, the campaigns that must find a fault that only
// shows under some timings (and must not find anything in the correct
// client), shrinking, and replay files.
#include "harness/fuzzer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/oracles.h"
#include "harness/replay_file.h"
#include "harness/scenario_loader.h"
#include "harness/schedule.h"
#include "harness/schedule_run.h"

namespace talkcheck::harness {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kCallee[] = "scenarios/callee-g1-basic.xml";

Scenario Load(const std::string& file) {
  LoadResult loaded = LoadScenarioFile(file);
  for (const LoadError& e : loaded.errors) ADD_FAILURE() << e.ToString();
  return loaded.scenario;
}

ClientSpec Reference(const std::string& faults = "") {
  ClientSpec client;
  client.faults = faults;
  return client;
}

std::vector<std::string> Oracles(const std::vector<Violation>& violations) {
  std::vector<std::string> out;
  for (const Violation& v : violations) out.push_back(v.oracle());
  return out;
}

// What must be identical between two runs: everything but wall time (maps
// serialized in key order).
std::string Fingerprint(ScenarioResult result) {
  result.clear_wall_us();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    result.SerializeToCodedStream(&coded);
  }
  return bytes;
}

TEST(ScheduleRunTest, TheUnperturbedScenarioPassesOnTheVirtualClock) {
  Scenario scenario = Load(kCallee);
  absl::StatusOr<ScheduleOutcome> outcome =
      RunSchedule(scenario, kCallee, Reference(), Schedule());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->result.verdict(), PASS) << outcome->result.failure();
  EXPECT_THAT(outcome->violations, IsEmpty());
  EXPECT_TRUE(outcome->keeps_expectations);
  // Media really flowed, on the in-memory network.
  EXPECT_GE(outcome->result.media_from_client(), 100u);
}

// The in-process adapter: any client behind ClientUnderTest, here the
// reference client made by hand the way another library would be.
TEST(ScheduleRunTest, RunsAClientLinkedInThroughTheAdapter) {
  ClientSpec client;
  client.in_process_name = "hand-made reference";
  client.in_process = [](boost::asio::io_context& io, Clock& clock,
                         absl::BitGenRef bitgen,
                         media_sim::DatagramNetwork& network) {
    reference_client::VoiceClientOptions options;
    options.network = &network;
    return MakeReferenceClient(io, clock, bitgen, options);
  };
  Scenario scenario = Load(kCallee);
  absl::StatusOr<ScheduleOutcome> outcome =
      RunSchedule(scenario, kCallee, client, Schedule());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->result.verdict(), PASS) << outcome->result.failure();
  EXPECT_EQ(outcome->result.client(), "reference");
  EXPECT_GE(outcome->result.media_from_client(), 100u);
}

TEST(ScheduleRunTest, SameScheduleSameBytes) {
  Scenario scenario = Load(kCallee);
  for (uint64_t seed : {3, 11, 12345}) {
    Schedule schedule = ScheduleForRun(scenario, seed, 0);
    absl::StatusOr<ScheduleOutcome> a =
        RunSchedule(scenario, kCallee, Reference(), schedule);
    absl::StatusOr<ScheduleOutcome> b =
        RunSchedule(scenario, kCallee, Reference(), schedule);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_GT(a->result.transcript_size(), 5);
    EXPECT_EQ(Fingerprint(a->result), Fingerprint(b->result))
        << schedule.DebugString();
  }
}

TEST(ScheduleRunTest, TheRingTimeoutTakesNoRealTime) {
  constexpr char kRing[] = "scenarios/ring-timeout.xml";
  absl::StatusOr<ScheduleOutcome> outcome =
      RunSchedule(Load(kRing), kRing, Reference(), Schedule());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->result.verdict(), PASS) << outcome->result.failure();
  EXPECT_GE(outcome->result.duration_us(), 180'000'000);
}

// The proof of issue 5: drop-early-candidates loses candidates that arrive
// before the client's (late) ack. The plain scenario never shows it; a
// schedule where the peer does not wait for the ack does.
TEST(FuzzerTest, FindsShrinksAndReplaysDropEarlyCandidates) {
  Scenario scenario = Load(kCallee);
  const ClientSpec faulty = Reference("drop-early-candidates");
  absl::StatusOr<ScheduleOutcome> plain =
      RunSchedule(scenario, kCallee, faulty, Schedule());
  ASSERT_TRUE(plain.ok());
  ASSERT_THAT(plain->violations, IsEmpty()) << "the fault must need timing";

  const std::string dir = ::testing::TempDir() + "/replays";
  FuzzOptions options;
  options.runs = 150;
  options.seed = 1;
  options.jobs = 2;
  options.replay_dir = dir;
  absl::StatusOr<FuzzSummary> summary =
      Fuzz(scenario, kCallee, faulty, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_GT(summary->violations().count(kOracleExpectation), 0u)
      << summary->DebugString();

  const Replay* replay = nullptr;
  for (const Replay& r : summary->replays()) {
    if (Oracles({r.violations().begin(), r.violations().end()}) ==
        std::vector<std::string>{kOracleExpectation}) {
      replay = &r;
    }
  }
  ASSERT_NE(replay, nullptr) << summary->DebugString();
  // Shrunk to the one perturbation that matters: not waiting for the ack
  // before sending candidates.
  ASSERT_EQ(replay->schedule().perturbations_size(), 1)
      << replay->DebugString();
  EXPECT_EQ(replay->schedule().perturbations(0).kind(),
            Perturbation::DONT_WAIT);
  EXPECT_EQ(replay->schedule().perturbations(0).step(), 1);
  EXPECT_THAT(replay->schedule().timings(), IsEmpty());

  // The file on disk replays to the same violation.
  ASSERT_EQ(summary->replay_files_size(), summary->replays_size());
  std::ifstream in(summary->replay_files(0));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("# Reproduce with: talkcheck replay"));
  absl::StatusOr<Replay> parsed = ParseReplay(text.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  for (const Replay& r : summary->replays()) {
    absl::StatusOr<ScheduleOutcome> again =
        RunSchedule(scenario, kCallee,
                    Reference(absl::StrJoin(r.faults(), ",")), r.schedule());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(Oracles(again->violations),
              Oracles({r.violations().begin(), r.violations().end()}));
  }
}

TEST(FuzzerTest, TheCorrectClientSurvivesTheSameCampaign) {
  Scenario scenario = Load(kCallee);
  FuzzOptions options;
  options.runs = 150;
  options.seed = 1;
  options.jobs = 2;
  absl::StatusOr<FuzzSummary> summary =
      Fuzz(scenario, kCallee, Reference(), options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->failing_runs(), 0) << summary->DebugString();
}

// A client that keeps a session open past its deadline is caught only by
// schedules that push it there (a withheld ack, a peer gone quiet).
TEST(FuzzerTest, FindsASessionLeftOpenPastItsDeadline) {
  Scenario scenario = Load(kCallee);
  FuzzOptions options;
  options.runs = 150;
  options.seed = 2;
  options.jobs = 2;
  absl::StatusOr<FuzzSummary> summary =
      Fuzz(scenario, kCallee, Reference("no-terminate-on-timeout"), options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GT(summary->violations().count(kOraclePastDeadline) +
                summary->violations().count(kOracleNoOutcome),
            0u)
      << summary->DebugString();
}

TEST(ReplayFileTest, BadFilesSayWhere) {
  absl::StatusOr<Replay> bad = ParseReplay("scenario: \"x.xml\"\nbogus: 1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("2:"));
  EXPECT_FALSE(ParseReplay("schedule { seed: 1 }").ok());  // no scenario
}

}  // namespace
}  // namespace talkcheck::harness

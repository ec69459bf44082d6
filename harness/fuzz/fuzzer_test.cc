// Timeout fuzzing end to end, against the in-process reference client on the
// virtual clock: determinism, the campaigns that must find a fault that only
// shows under some timings (and must not find anything in the correct
// client), shrinking, and replay files.
#include "harness/fuzz/fuzzer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/fuzz/oracles.h"
#include "harness/fuzz/replay_client.h"
#include "harness/fuzz/replay_file.h"
#include "harness/fuzz/schedule.h"
#include "harness/fuzz/schedule_run.h"
#include "harness/scenario/scenario_loader.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

using ::testing::AllOf;
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

// RunSchedule's oracles read the stanzas as the runner recorded them, not the
// transcript's XML: under the campaigns that find each fault (and the same
// schedules against the correct client) they judge exactly as the oracles
// reading the transcript alone, and the same schedule gives the same verdicts
// again when the run keeps no stanza text (as a campaign runs it).
TEST(ScheduleRunTest, ObservedStanzasJudgeAsTheTranscriptDoes) {
  Scenario scenario = Load(kCallee);
  const std::pair<std::string, uint64_t> campaigns[] = {
      {"", 1},
      {"drop-early-candidates", 1},    // as in FindsShrinksAndReplays...
      {"no-terminate-on-timeout", 2},  // as in FindsASessionLeftOpen...
  };
  for (const auto& [faults, seed] : campaigns) {
    int violated = 0;
    for (int64_t run = 0; run < 60; ++run) {
      Schedule schedule = ScheduleForRun(scenario, seed, run);
      absl::StatusOr<ScheduleOutcome> a =
          RunSchedule(scenario, kCallee, Reference(faults), schedule);
      absl::StatusOr<ScheduleOutcome> b =
          RunSchedule(scenario, kCallee, Reference(faults), schedule, {},
                      StanzaText::kDropped);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(b->result.transcript_size(), a->result.transcript_size());
      for (const StanzaRecord& record : b->result.transcript())
        EXPECT_EQ(record.xml(), "");
      for (const StepResult& step : b->result.steps())
        EXPECT_EQ(step.stanza(), "");
      std::vector<std::string> from_transcript =
          Oracles(CheckOracles(a->result, a->keeps_expectations));
      EXPECT_EQ(Oracles(a->violations), from_transcript)
          << faults << " " << schedule.DebugString();
      EXPECT_EQ(Oracles(b->violations), from_transcript)
          << faults << " " << schedule.DebugString();
      violated += !from_transcript.empty();
    }
    // The comparison saw violations, not only silence.
    if (!faults.empty()) {
      EXPECT_GT(violated, 0) << faults;
    }
  }
}

// A campaign hands XMPP across the in-memory pipe as whole elements, a replay
// and `talkcheck run --clock=virtual` as bytes: for every scenario of the
// library, under the reference client's dialects and a perturbed schedule, the
// two give the same run, transcripts and violations included.
TEST(ScheduleRunTest, ElementsHandedOverGiveTheSameRunAsBytes) {
  using Handover = xmpp::StreamPipeEnd::Handover;
  int compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator("scenarios")) {
    if (entry.path().extension() != ".xml") continue;
    const std::string file = entry.path().string();
    const Scenario scenario = Load(file);
    for (const std::string dialect : {"g1", "g2", "g3"}) {
      ClientSpec client = Reference();
      client.dialect = dialect;
      for (const Schedule& schedule :
           {Schedule(), ScheduleForRun(scenario, 7, compared)}) {
        absl::StatusOr<ScheduleOutcome> bytes =
            RunSchedule(scenario, file, client, schedule, {}, StanzaText::kKept,
                        Handover::kText);
        absl::StatusOr<ScheduleOutcome> elements =
            RunSchedule(scenario, file, client, schedule, {}, StanzaText::kKept,
                        Handover::kElements);
        ASSERT_EQ(bytes.ok(), elements.ok()) << file;
        if (!bytes.ok()) {
          EXPECT_EQ(bytes.status(), elements.status()) << file;
          continue;
        }
        bytes->result.clear_wall_us();
        elements->result.clear_wall_us();
        std::string differences;
        google::protobuf::util::MessageDifferencer differencer;
        differencer.ReportDifferencesToString(&differences);
        EXPECT_TRUE(differencer.Compare(bytes->result, elements->result))
            << file << " " << dialect << " " << schedule.ShortDebugString()
            << ":\n"
            << differences.substr(0, 2000);
        EXPECT_EQ(Oracles(bytes->violations), Oracles(elements->violations))
            << file << " " << dialect;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 400);  // 73 scenarios, 3 dialects, 2 schedules
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
  options.profile = "libjingle-0.4";  // whose timers the oracle holds
  absl::StatusOr<FuzzSummary> summary =
      Fuzz(scenario, kCallee, Reference("no-terminate-on-timeout"), options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GT(summary->violations().count(kOraclePastDeadline) +
                summary->violations().count(kOracleNoOutcome),
            0u)
      << summary->DebugString();
}

// libjingle's session timers are a habit (PROTOCOL.md §6: gabble, libpurple
// and Asterisk have none): under interop the same campaign flags nothing, and
// its summary says which oracles it did not check and which profile does.
TEST(FuzzerTest, LibjinglesTimersAreNotCheckedUnderInterop) {
  Scenario scenario = Load(kCallee);
  FuzzOptions options;
  options.runs = 150;
  options.seed = 2;
  options.jobs = 2;
  absl::StatusOr<FuzzSummary> summary =
      Fuzz(scenario, kCallee, Reference("no-terminate-on-timeout"), options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->failing_runs(), 0) << summary->DebugString();
  EXPECT_EQ(summary->profile(), "interop");
  EXPECT_THAT(summary->oracles_not_checked(),
              AllOf(HasSubstr("session-open-past-deadline (libjingle's session "
                              "timers, PROTOCOL.md §6; --profile=libjingle-0.4 "
                              "or libjingle-0.7)"),
                    HasSubstr("session-without-outcome"),
                    HasSubstr("media-to-stale-generation")));
}

// Verifies that a finding whose replay cannot be written is an error that
// says what was found and where it could not go, not a summary naming files
// that were never written.
TEST(FuzzerTest, ReplaysThatCannotBeWrittenAreAnError) {
  Scenario scenario = Load(kCallee);
  const std::string file = ::testing::TempDir() + "/not-a-directory";
  std::ofstream(file) << "a file where the replay directory should go";
  FuzzOptions options;
  options.runs = 150;
  options.seed = 2;
  options.jobs = 2;
  options.shrink_budget = 0;
  options.profile = "libjingle-0.4";
  options.replay_dir = file + "/replays";
  absl::StatusOr<FuzzSummary> summary =
      Fuzz(scenario, kCallee, Reference("no-terminate-on-timeout"), options);
  ASSERT_FALSE(summary.ok());
  EXPECT_THAT(summary.status().message(),
              AllOf(HasSubstr("of 150 schedules violated an oracle"),
                    HasSubstr(options.replay_dir), HasSubstr("--replay_dir")));
}

// Verifies that a budget of 0 writes the failing run itself as the replay,
// with its violations, and runs nothing again (no shrinking, no confirmation).
TEST(FuzzerTest, ZeroShrinkBudgetReplaysTheFailingRunAsItWas) {
  Scenario scenario = Load(kCallee);
  FuzzOptions options;
  options.runs = 150;
  options.seed = 2;
  options.jobs = 2;
  options.shrink_budget = 0;
  options.profile = "libjingle-0.4";
  int confirming = 0;
  options.progress = [&confirming](const FuzzProgress& p) {
    if (absl::StartsWith(p.phase, "confirming") ||
        absl::StartsWith(p.phase, "shrinking"))
      ++confirming;
  };
  absl::StatusOr<FuzzSummary> summary =
      Fuzz(scenario, kCallee, Reference("no-terminate-on-timeout"), options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_GT(summary->replays_size(), 0) << summary->DebugString();
  for (const Replay& replay : summary->replays()) {
    EXPECT_GT(replay.violations_size(), 0) << replay.DebugString();
    EXPECT_EQ(replay.schedule().DebugString(),
              ScheduleForRun(scenario, 2, replay.run()).DebugString());
  }
  EXPECT_EQ(confirming, 0);
}

// Verifies that shrinking stops at its wall-time budget (--shrink_time):
// with none left it runs nothing and keeps the schedule; with time it runs.
TEST(FuzzerTest, ShrinkStopsAtItsWallTimeBudget) {
  Scenario scenario = Load(kCallee);
  Schedule schedule;
  for (int64_t run = 0; schedule.perturbations_size() < 2 && run < 1000; ++run)
    schedule = ScheduleForRun(scenario, 5, run);
  ASSERT_GE(schedule.perturbations_size(), 2);
  int runs = 0;
  const Schedule kept =
      Shrink(scenario, kCallee, Reference(), schedule, kOracleExpectation,
             /*budget=*/200, absl::ZeroDuration(), [&](int n) { runs = n; });
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(kept.DebugString(), schedule.DebugString());
  Shrink(scenario, kCallee, Reference(), schedule, kOracleExpectation,
         /*budget=*/200, absl::Hours(1), [&](int n) { runs = n; });
  EXPECT_GT(runs, 0);
}

// The ids of the client's session iqs to `peer` that the peer acked.
std::set<std::string> AckedIds(const ScenarioResult& result,
                               const std::string& peer) {
  std::set<std::string> sent, acked;
  for (const StanzaRecord& r : result.transcript()) {
    absl::StatusOr<xmpp::Element> stanza = xmpp::ParseElement(r.xml());
    if (!stanza.ok()) continue;
    const std::string id = stanza->AttrOr("id", "");
    if (r.direction() == "cut->peer" && stanza->AttrOr("type", "") == "set" &&
        absl::StartsWith(stanza->AttrOr("to", ""), peer + "@")) {
      sent.insert(id);
    }
    if (r.direction() == "peer->cut" && stanza->AttrOr("type", "") == "result")
      acked.insert(id);
  }
  std::set<std::string> out;
  for (const std::string& id : sent)
    if (acked.count(id) > 0) out.insert(id);
  return out;
}

// Verifies that a withheld ack reaches the peer the schedule names: bob's
// first ack goes missing, alice's do not (the fuzzer's ack policy covers
// every peer, not only the first).
TEST(ScheduleRunTest, AckPolicyOfEveryPeer) {
  constexpr char kTwo[] = "scenarios/two-callers.xml";
  Scenario scenario = Load(kTwo);
  absl::StatusOr<ScheduleOutcome> plain =
      RunSchedule(scenario, kTwo, Reference(), Schedule());
  ASSERT_TRUE(plain.ok()) << plain.status();
  Schedule schedule;
  Perturbation& p = *schedule.add_perturbations();
  p.set_kind(Perturbation::WITHHOLD_ACK);
  p.set_ack(0);
  p.set_peer("bob");
  absl::StatusOr<ScheduleOutcome> withheld =
      RunSchedule(scenario, kTwo, Reference(), schedule);
  ASSERT_TRUE(withheld.ok()) << withheld.status();
  const std::set<std::string> bob = AckedIds(plain->result, "bob");
  ASSERT_FALSE(bob.empty());
  EXPECT_LT(AckedIds(withheld->result, "bob").size(), bob.size());
  EXPECT_EQ(AckedIds(withheld->result, "alice").size(),
            AckedIds(plain->result, "alice").size());
}

// Verifies that a replay records the client's mode (codecs, when it answers)
// and the profile, and that the file gives them back: a replay of a campaign
// run with --codecs or --answer_after runs that same client again.
TEST(FuzzerTest, ReplaysRecordTheClientsModeAndTheProfile) {
  Scenario scenario = Load(kCallee);
  ClientSpec client = Reference("no-terminate-on-timeout");
  client.codecs = "PCMU,PCMA";
  client.answer_after = absl::Seconds(3);
  FuzzOptions options;
  options.runs = 150;
  options.seed = 2;
  options.jobs = 2;
  options.shrink_budget = 0;
  options.profile = "libjingle-0.4";
  absl::StatusOr<FuzzSummary> summary =
      Fuzz(scenario, kCallee, client, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_GT(summary->replays_size(), 0) << summary->DebugString();
  const Replay& replay = summary->replays(0);
  EXPECT_EQ(replay.codecs(), "PCMU,PCMA");
  EXPECT_EQ(replay.answer_after(), "3s");
  EXPECT_EQ(replay.profile(), "libjingle-0.4");

  absl::StatusOr<Replay> parsed = ParseReplay(ReplayText(replay, &scenario));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<ClientSpec> again = ClientFromReplay(*parsed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Describe(), client.Describe());
  EXPECT_EQ(again->answer_after, absl::Seconds(3));
  EXPECT_EQ(ProfileFromReplay(*parsed), "libjingle-0.4");
}

// Verifies that a file without mode or profile (the default client, older
// files) replays the default client under the default profile, and that a
// bad duration is refused.
TEST(FuzzerTest, ReplaysWithoutAModeRunTheDefaultClient) {
  Replay replay;
  RecordClient(Reference(), kDefaultProfile, replay);
  EXPECT_EQ(replay.answer_after(), "");
  EXPECT_EQ(replay.profile(), "");
  absl::StatusOr<ClientSpec> client = ClientFromReplay(replay);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(client->Describe(), "reference");
  EXPECT_EQ(client->answer_after, absl::InfiniteDuration());
  EXPECT_EQ(ProfileFromReplay(replay), kDefaultProfile);
  replay.set_answer_after("soon");
  EXPECT_FALSE(ClientFromReplay(replay).ok());
}

// Verifies that a campaign judges the scenario by its profile: a libjingle
// 0.4 habit (reject before the ack) breaks the expectation oracle only when
// the campaign demands that profile.
TEST(FuzzerTest, JudgesByTheCampaignsProfile) {
  constexpr char kRejectBeforeAck[] = "scenarios/reject-before-ack.xml";
  Scenario scenario = Load(kRejectBeforeAck);
  FuzzOptions options;
  options.runs = 4;
  options.seed = 1;
  options.shrink_budget = 0;
  const ClientSpec faulty = Reference("ack-before-reject");
  absl::StatusOr<FuzzSummary> interop =
      Fuzz(scenario, kRejectBeforeAck, faulty, options);
  ASSERT_TRUE(interop.ok()) << interop.status();
  EXPECT_EQ(interop->violations().count(kOracleExpectation), 0u)
      << interop->DebugString();

  options.profile = "libjingle-0.4";
  absl::StatusOr<FuzzSummary> strict =
      Fuzz(scenario, kRejectBeforeAck, faulty, options);
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_GT(strict->violations().count(kOracleExpectation), 0u)
      << strict->DebugString();

  options.profile = "no-such-profile";
  EXPECT_FALSE(Fuzz(scenario, kRejectBeforeAck, faulty, options).ok());
}

TEST(ReplayFileTest, BadFilesSayWhere) {
  absl::StatusOr<Replay> bad = ParseReplay("scenario: \"x.xml\"\nbogus: 1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("2:"));
  EXPECT_FALSE(ParseReplay("schedule { seed: 1 }").ok());  // no scenario
}

}  // namespace
}  // namespace talkcheck::harness

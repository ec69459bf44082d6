// Timeout fuzzing campaigns: many schedules of one scenario against one
// client, the failing ones shrunk to the simplest schedule that still breaks
// the same oracle, and written as replay files.
//
// Run i of a campaign with seed S draws its schedule from a seed derived from
// (S, i) alone, so any run, and any shard of a campaign, can be repeated on
// its own. With shards, run i belongs to shard i % shard_count.
//
// Example:
//   FuzzOptions options;
//   options.runs = 1000;
//   options.seed = 7;
//   absl::StatusOr<FuzzSummary> summary =
//       Fuzz(scenario, "scenarios/callee-g1-basic.xml", client, options);
#ifndef TALKCHECK_HARNESS_FUZZ_FUZZER_H_
#define TALKCHECK_HARNESS_FUZZ_FUZZER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "harness/fuzz/fuzz.pb.h"
#include "harness/fuzz/schedule_run.h"
#include "harness/scenario/profiles.h"
#include "harness/scenario/scenario.pb.h"

namespace talkcheck::harness {

struct FuzzProgress {
  // "schedules" for the campaign, then "shrinking ORACLE" and "confirming
  // ORACLE" (the shrunk schedule run once more) per violated oracle; `done`
  // and `total` count the runs of the phase, `elapsed` its wall time.
  std::string phase = "schedules";
  int64_t done = 0;
  int64_t total = 0;
  int64_t failing = 0;
  absl::Duration elapsed;
};

struct FuzzOptions {
  int64_t runs = 1000;
  uint64_t seed = 1;
  int jobs = 1;
  int shard_index = 0;
  int shard_count = 1;
  // Replay files go here (created if missing); none are written when empty.
  std::string replay_dir;
  // Runs the shrinker may spend on each failing oracle, and wall time.
  int shrink_budget = 200;
  absl::Duration shrink_time = absl::InfiniteDuration();
  // Called from the calling thread about ten times a second, and once at the
  // end.
  std::function<void(const FuzzProgress&)> progress;
  // The profile the scenario is judged by (harness/scenario/profiles.h),
  // recorded in the replays.
  std::string profile = kDefaultProfile;
};

// The schedule of run `run` of a campaign seeded with `seed`.
Schedule ScheduleForRun(const Scenario& scenario, uint64_t seed, int64_t run);

// Reduces `schedule`, which violates `oracle`, to a simpler one that still
// does: drops perturbations, timing draws and media conditions one at a time,
// and moves delays that aim at no deadline to zero, for as long as the
// violation stays, within `budget` runs and `time` of wall time. `tried` is
// called after each run with the number of runs so far.
Schedule Shrink(const Scenario& scenario, const std::string& file,
                const ClientSpec& client, const Schedule& schedule,
                const std::string& oracle, int budget,
                absl::Duration time = absl::InfiniteDuration(),
                const std::function<void(int)>& tried = nullptr);

// kFailedPrecondition, with kCutNeverReady in the message, when the client
// never became ready in a run (it cannot start, or cannot log in): nothing
// about timings can be learned then, and no replay is written.
absl::StatusOr<FuzzSummary> Fuzz(const Scenario& scenario,
                                 const std::string& file,
                                 const ClientSpec& client,
                                 const FuzzOptions& options);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_FUZZER_H_

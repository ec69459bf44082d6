// `talkcheck fuzz` and `talkcheck replay`: the command-line side of timeout
// fuzzing (harness/fuzzer.h), with a progress bar on a terminal and a plain
// log elsewhere.
//
// Under `bazel test` the campaign splits across the target's shards
// (TEST_SHARD_INDEX / TEST_TOTAL_SHARDS, acknowledged through
// TEST_SHARD_STATUS_FILE) and replay files land in TEST_UNDECLARED_OUTPUTS_DIR.
#ifndef TALKCHECK_HARNESS_FUZZ_FUZZ_COMMAND_H_
#define TALKCHECK_HARNESS_FUZZ_FUZZ_COMMAND_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "harness/fuzz/schedule_run.h"
#include "harness/scenario/profiles.h"

namespace talkcheck::harness {

struct FuzzCommandOptions {
  std::string scenario;  // one scenario file
  int64_t runs = 1000;
  uint64_t seed = 1;
  int jobs = 1;
  ClientSpec client;
  // The profile the scenario is judged by (talkcheck run --profile).
  std::string profile = kDefaultProfile;
  // Empty: $TEST_UNDECLARED_OUTPUTS_DIR, else talkcheck-replays in the
  // directory `bazel run` was started from (or the current one).
  std::string replay_dir;
  // Runs per violated oracle for shrinking; -1: 200 in-process, 16 for an
  // external client (each of its runs takes real time).
  int shrink_budget = -1;
  // Wall time the shrinker may spend per violated oracle.
  absl::Duration shrink_time = absl::InfiniteDuration();
  std::string json;   // FuzzSummary as JSON
  std::string junit;  // empty: $XML_OUTPUT_FILE when set
  // The campaign as an HTML page (harness/fuzz/campaign_html.h); each shrunk
  // schedule is run once more for its timeline.
  std::string html;
  // -1: from TEST_SHARD_INDEX / TEST_TOTAL_SHARDS, else one shard.
  int shard_index = -1;
  int shard_count = -1;
};

// Exit codes as `talkcheck run`: 0 no violation, 1 violations, 2 bad input,
// 3 the client never became ready (no replay is written then).
int FuzzCommand(const FuzzCommandOptions& options);

struct ReplayCommandOptions {
  std::string file;
  // Instead of the client the file recorded (a fixed build, say): a command
  // for an external client; the file's time scale still applies.
  std::string client_cmd;
  std::string client_log;  // as --client_log
  std::string json;        // the run's RunReport as JSON
};

// Runs a replay file again and prints what the run broke, whether that is
// what the file recorded, the step report and the transcript. 0 when nothing
// is violated, 1 when something is, 2 for a bad file, 3 when the client never
// became ready.
int ReplayCommand(const ReplayCommandOptions& options);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_FUZZ_COMMAND_H_

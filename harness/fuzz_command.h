// `talkcheck fuzz` and `talkcheck replay`: the command-line side of timeout
// fuzzing (harness/fuzzer.h), with a progress bar on a terminal and a plain
// log elsewhere.
//
// Under `bazel test` the campaign splits across the target's shards
// (TEST_SHARD_INDEX / TEST_TOTAL_SHARDS, acknowledged through
// TEST_SHARD_STATUS_FILE) and replay files land in TEST_UNDECLARED_OUTPUTS_DIR.
#ifndef TALKCHECK_HARNESS_FUZZ_COMMAND_H_
#define TALKCHECK_HARNESS_FUZZ_COMMAND_H_

#include <cstdint>
#include <string>

#include "harness/schedule_run.h"

namespace talkcheck::harness {

struct FuzzCommandOptions {
  std::string scenario;  // one scenario file
  int64_t runs = 1000;
  uint64_t seed = 1;
  int jobs = 1;
  ClientSpec client;
  // Empty: $TEST_UNDECLARED_OUTPUTS_DIR, else talkcheck-replays in the
  // directory `bazel run` was started from (or the current one).
  std::string replay_dir;
  // Runs per violated oracle for shrinking; -1: 200 in-process, 16 for an
  // external client (each of its runs takes real time).
  int shrink_budget = -1;
  std::string json;   // FuzzSummary as JSON
  std::string junit;  // empty: $XML_OUTPUT_FILE when set
  // -1: from TEST_SHARD_INDEX / TEST_TOTAL_SHARDS, else one shard.
  int shard_index = -1;
  int shard_count = -1;
};

// Exit codes as `talkcheck run`: 0 no violation, 1 violations, 2 bad input.
int FuzzCommand(const FuzzCommandOptions& options);

// Runs a replay file again and prints what the run broke, whether that is
// what the file recorded, and the step report. 0 when nothing is violated, 1
// when something is, 2 for a bad file.
int ReplayCommand(const std::string& file);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_COMMAND_H_

// Replay files: a failing fuzzing run, exactly, as a textproto of `Replay`
// (harness/fuzz.proto) under a comment header that says what the schedule
// does. `talkcheck replay FILE` runs it again.
//
// Example file:
//   # talkcheck replay: run 117 of the campaign with seed 1, shrunk.
//   # Reproduce with: talkcheck replay THIS_FILE
//   #   DONT_WAIT step 2 at ../scenarios/callee-g1-basic.xml:20
//   scenario: "../scenarios/callee-g1-basic.xml"
//   faults: "drop-early-candidates"
//   schedule { seed: 123 perturbations { kind: DONT_WAIT step: 1 } }
#ifndef TALKCHECK_HARNESS_FUZZ_REPLAY_FILE_H_
#define TALKCHECK_HARNESS_FUZZ_REPLAY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "harness/fuzz/fuzz.pb.h"
#include "harness/scenario/scenario.pb.h"

namespace talkcheck::harness {

// The file's text. With the scenario, each perturbation in the header names
// its step's file:line, and delays show scenario and real time.
std::string ReplayText(const Replay& replay,
                       const Scenario* scenario = nullptr);

// The scenario path to write into a replay file that goes into `replay_dir`:
// relative to that folder, so the file replays from any working directory.
std::string ScenarioPathForReplay(const std::string& scenario,
                                  const std::string& replay_dir);

// Where the scenario a replay file names is: relative to the replay file's
// folder (as ScenarioPathForReplay writes it); a path that does not exist
// there is taken as given (older files, relative to the working directory).
std::string ResolveScenarioPath(const std::string& replay_file,
                                const std::string& scenario);

// kInvalidArgument, with line:column, for text that is not a replay.
absl::StatusOr<Replay> ParseReplay(const std::string& text);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_REPLAY_FILE_H_

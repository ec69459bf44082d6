// Replay files: a failing fuzzing run, exactly, as a textproto of `Replay`
// (harness/fuzz.proto) under a comment header that says what the schedule
// does. `talkcheck replay FILE` runs it again.
//
// Example file:
//   # talkcheck replay: run 117 of the campaign with seed 1, shrunk.
//   # Reproduce with: talkcheck replay THIS_FILE
//   #   DONT_WAIT step 1
//   scenario: "scenarios/callee-g1-basic.xml"
//   faults: "drop-early-candidates"
//   schedule { seed: 123 perturbations { kind: DONT_WAIT step: 1 } }
#ifndef TALKCHECK_HARNESS_REPLAY_FILE_H_
#define TALKCHECK_HARNESS_REPLAY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "harness/fuzz.pb.h"

namespace talkcheck::harness {

std::string ReplayText(const Replay& replay);

// kInvalidArgument, with line:column, for text that is not a replay.
absl::StatusOr<Replay> ParseReplay(const std::string& text);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPLAY_FILE_H_

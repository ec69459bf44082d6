// Schedules for timeout fuzzing: what may vary in a scenario, how the fuzzer
// draws a variation, and how a schedule turns a scenario into the one that
// actually runs.
//
// Beyond the author's `A..B` timings, the fuzzer perturbs the peer near the
// deadlines every Google Talk client keeps (PROTOCOL.md §6): the 15 s session
// iq timeout, the 20 s candidate generation period, the 50 s writability timer
// and the 180 s ring timeout. It reorders (an expect that stops blocking lets
// the next send overtake the client's answer: candidates before the ack),
// duplicates candidate messages, delays or withholds the peer's acks, bumps the
// candidate generation at awkward moments, and loses and delays datagrams.
//
// Example:
//   Schedule schedule = DrawSchedule(scenario, /*seed=*/42);
//   absl::StatusOr<Scenario> perturbed = ApplySchedule(scenario, schedule);
#ifndef TALKCHECK_HARNESS_FUZZ_SCHEDULE_H_
#define TALKCHECK_HARNESS_FUZZ_SCHEDULE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "harness/fuzz/fuzz.pb.h"
#include "harness/scenario/scaled_timings.h"
#include "harness/scenario/scenario.pb.h"

namespace talkcheck::harness {

// The deadlines the fuzzer aims at, in milliseconds (PROTOCOL.md §6).
inline constexpr int64_t kClientDeadlinesMs[] = {15000, 20000, 50000, 180000};

// Every range timing of `scenario`, in document order (a step's own timing,
// then the steps inside an any-order group). A TimingDraw's `site` indexes
// this list.
std::vector<const Timing*> TimingSites(const Scenario& scenario);

// A fresh schedule for `scenario`, fully determined by `seed`: draws for some
// of its timing ranges, zero to four perturbations, and sometimes lossy media.
Schedule DrawSchedule(const Scenario& scenario, uint64_t seed);

// The scenario `schedule` makes of `scenario`. kInvalidArgument when the
// schedule does not fit it (a draw outside its range, a perturbation of a step
// that cannot take it): replay files may be edited by hand.
absl::StatusOr<Scenario> ApplySchedule(const Scenario& scenario,
                                       const Schedule& schedule);

// Whether a correct client must still pass the scenario's own expectations
// under `schedule`: only reorderings, duplicates, generation bumps, small
// delays and draws inside the author's ranges that do not shorten a bound.
// Delays aimed at a deadline, withheld acks and lossy media change what a
// correct client does, so there only the oracles apply.
bool KeepsExpectations(const Scenario& scenario, const Schedule& schedule);

// One line for people: "DELAY_BEFORE step 3 by 15.1s (just after the 15 s ack
// timeout)". With the scenario, steps are named by number and file:line
// ("step 4 at scenarios/x.xml:23"); with a time scale other than 1, delays
// are shown in scenario time and in real time ("by 15.1s scenario time, 1.51s
// real").
std::string Describe(const Perturbation& perturbation,
                     const Scenario* scenario = nullptr,
                     double time_scale = 1.0);

// How complex a schedule is, for shrinking: perturbations first, then timings
// away from their defaults, then media conditions.
int64_t Complexity(const Schedule& schedule);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_SCHEDULE_H_

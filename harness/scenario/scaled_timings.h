// A scenario for a client whose timers run K times as fast: how `talkcheck run
// --time_scale` and `talkcheck fuzz --time_scale` keep a scenario's bounds
// meaningful against a client started with its timers scaled.
#ifndef TALKCHECK_HARNESS_SCENARIO_SCALED_TIMINGS_H_
#define TALKCHECK_HARNESS_SCENARIO_SCALED_TIMINGS_H_

#include "harness/scenario/scenario.pb.h"

namespace talkcheck::harness {

// `scenario` for a client whose timers run `k` times as fast (k = 0.1: the
// 15 s ack timeout is 1.5 s): every delay and bound, and the deadline, times
// k. A media step's bound stays, since media flows at its own rate.
Scenario ScaleTimings(const Scenario& scenario, double k);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCENARIO_SCALED_TIMINGS_H_

// How fast timeout fuzzing runs: whole scenarios against the in-process
// reference client on the virtual clock, one schedule per iteration, on one
// core.
//
//   bazel run -c opt //harness/bench:fuzz_benchmark
//   tools/fuzz_speed_vs.sh   # BM_Schedule against an earlier commit, same run
//
// BM_Unperturbed (a G1 call with 100 packets of media each way, no
// perturbation) is the baseline the others are read against: BM_Schedule
// draws a fresh campaign schedule each iteration (schedules per second per
// core), and the timeout scenarios show that a client deadline of 15, 50 or
// 180 s costs no real time.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "harness/fuzz/fuzzer.h"
#include "harness/fuzz/schedule_run.h"
#include "harness/scenario/scenario_loader.h"

namespace talkcheck::harness {
namespace {

const Scenario& LoadOnce(const std::string& file) {
  static auto* cache = new std::map<std::string, Scenario>();
  auto it = cache->find(file);
  if (it != cache->end()) return it->second;
  LoadResult loaded = LoadScenarioFile(file);
  if (!loaded.ok()) {
    for (const LoadError& e : loaded.errors) std::cerr << e.ToString() << "\n";
    std::abort();
  }
  return (*cache)[file] = loaded.scenario;
}

void RunOrDie(benchmark::State& state, const std::string& file,
              const Schedule& schedule) {
  absl::StatusOr<ScheduleOutcome> outcome =
      RunSchedule(LoadOnce(file), file, ClientSpec(), schedule, {},
                  StanzaText::kDropped);  // as a campaign runs it
  if (!outcome.ok()) {
    state.SkipWithError(std::string(outcome.status().message()).c_str());
    return;
  }
  benchmark::DoNotOptimize(outcome->result);
  state.counters["virtual_s"] = outcome->result.end_us() / 1e6;
}

void BM_Unperturbed(benchmark::State& state) {
  for (auto _ : state)
    RunOrDie(state, "scenarios/callee-g1-basic.xml", Schedule());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Unperturbed)->Unit(benchmark::kMillisecond);

void BM_Schedule(benchmark::State& state) {
  const std::string file = "scenarios/callee-g1-basic.xml";
  int64_t run = 0;
  for (auto _ : state)
    RunOrDie(state, file, ScheduleForRun(LoadOnce(file), 1, run++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Schedule)->Unit(benchmark::kMillisecond);

void BM_Timeout(benchmark::State& state, const char* file) {
  for (auto _ : state) RunOrDie(state, file, Schedule());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Timeout, ack_15s, "scenarios/ack-timeout.xml")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Timeout, writable_50s, "scenarios/writable-timeout.xml")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Timeout, ring_180s, "scenarios/ring-timeout.xml")
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace talkcheck::harness

BENCHMARK_MAIN();

#include "harness/fuzz/fuzzer.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "harness/fuzz/oracles.h"
#include "harness/fuzz/replay_client.h"
#include "harness/fuzz/replay_file.h"
#include "harness/fuzz/schedule.h"
#include "harness/report/report_files.h"

namespace talkcheck::harness {
namespace {

// SplitMix64: decorrelates the seeds of consecutive runs.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool Violates(const absl::StatusOr<ScheduleOutcome>& outcome,
              const std::string& oracle) {
  if (!outcome.ok()) return oracle == kOracleHarnessError;
  for (const Violation& v : outcome->violations) {
    if (v.oracle() == oracle) return true;
  }
  return false;
}

std::vector<Violation> ViolationsOf(
    const absl::StatusOr<ScheduleOutcome>& outcome) {
  if (outcome.ok()) return outcome->violations;
  Violation v;
  v.set_oracle(kOracleHarnessError);
  v.set_detail(std::string(outcome.status().message()));
  return {v};
}

// Every one-step simplification of `schedule`, simplest first.
std::vector<Schedule> Simplifications(const Schedule& schedule) {
  std::vector<Schedule> out;
  for (int i = 0; i < schedule.perturbations_size(); ++i) {
    Schedule s = schedule;
    s.mutable_perturbations()->DeleteSubrange(i, 1);
    out.push_back(std::move(s));
  }
  if (schedule.has_media()) {
    Schedule s = schedule;
    s.clear_media();
    out.push_back(std::move(s));
  }
  for (int i = 0; i < schedule.timings_size(); ++i) {
    Schedule s = schedule;
    s.mutable_timings()->DeleteSubrange(i, 1);
    out.push_back(std::move(s));
  }
  for (int i = 0; i < schedule.perturbations_size(); ++i) {
    const Perturbation& p = schedule.perturbations(i);
    if (p.aim().empty() && p.delay_ms() > 0) {
      Schedule s = schedule;
      s.mutable_perturbations(i)->set_delay_ms(0);
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::string FileStem(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

}  // namespace

Schedule ScheduleForRun(const Scenario& scenario, uint64_t seed, int64_t run) {
  return DrawSchedule(scenario, Mix(seed ^ Mix(static_cast<uint64_t>(run))));
}

Schedule Shrink(const Scenario& scenario, const std::string& file,
                const ClientSpec& client, const Schedule& schedule,
                const std::string& oracle, int budget, absl::Duration time,
                const std::function<void(int)>& tried) {
  Schedule best = schedule;
  bool improved = true;
  int runs = 0;
  const absl::Time stop = time == absl::InfiniteDuration()
                              ? absl::InfiniteFuture()
                              : absl::Now() + time;
  while (improved && budget > 0 && absl::Now() < stop) {
    improved = false;
    for (Schedule& candidate : Simplifications(best)) {
      if (budget-- <= 0 || absl::Now() >= stop) break;
      if (Complexity(candidate) >= Complexity(best)) continue;
      const bool violates =
          Violates(RunSchedule(scenario, file, client, candidate, {},
                               StanzaText::kDropped),
                   oracle);
      if (tried) tried(++runs);
      if (violates) {
        best = std::move(candidate);
        improved = true;
        break;
      }
    }
  }
  return best;
}

absl::StatusOr<FuzzSummary> Fuzz(const Scenario& given, const std::string& file,
                                 const ClientSpec& client,
                                 const FuzzOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 ||
      options.shard_index >= options.shard_count) {
    return absl::InvalidArgumentError("bad shard index or count");
  }
  // Judged by the campaign's profile: a habit it does not demand only warns,
  // so its step's failure is no violation of the expectation oracle.
  Scenario scenario = given;
  if (absl::Status applied = ApplyProfile(options.profile, scenario);
      !applied.ok()) {
    return applied;
  }
  std::vector<int64_t> runs;
  for (int64_t i = options.shard_index; i < options.runs;
       i += options.shard_count) {
    runs.push_back(i);
  }

  // The first failing run of each oracle, in run order, is what gets shrunk.
  struct Failure {
    int64_t run;
    Schedule schedule;
    std::vector<Violation> violations;
  };
  std::mutex mu;
  std::map<std::string, int64_t> counts;
  std::map<std::string, Failure> first;
  std::map<std::string, std::vector<int64_t>> failing_runs;
  std::atomic<bool> never_ready{false};
  std::string never_ready_reason;
  std::atomic<size_t> next{0};
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> failing{0};
  const absl::Time start = absl::Now();

  auto worker = [&] {
    for (size_t k = next++; k < runs.size() && !never_ready; k = next++) {
      Schedule schedule = ScheduleForRun(scenario, options.seed, runs[k]);
      if (client.external()) schedule.clear_media();
      absl::StatusOr<ScheduleOutcome> outcome = RunSchedule(
          scenario, file, client, schedule, {}, StanzaText::kDropped);
      if (outcome.ok() &&
          outcome->result.failure_type() == "client/never-ready") {
        std::lock_guard<std::mutex> lock(mu);
        if (!never_ready.exchange(true))
          never_ready_reason = outcome->result.failure();
        break;
      }
      std::vector<Violation> violations =
          DemandedViolations(ViolationsOf(outcome), options.profile);
      if (!violations.empty()) {
        ++failing;
        std::lock_guard<std::mutex> lock(mu);
        std::set<std::string> seen;  // a run counts once per oracle
        for (const Violation& v : violations) {
          if (!seen.insert(v.oracle()).second) continue;
          ++counts[v.oracle()];
          failing_runs[v.oracle()].push_back(runs[k]);
          auto it = first.find(v.oracle());
          if (it == first.end() || it->second.run > runs[k])
            first[v.oracle()] = Failure{runs[k], schedule, violations};
        }
      }
      ++done;
    }
  };
  auto report = [&] {
    if (options.progress) {
      options.progress(FuzzProgress{"schedules", done.load(),
                                    static_cast<int64_t>(runs.size()),
                                    failing.load(), absl::Now() - start});
    }
  };
  // With a progress callback every job gets a thread and this one reports.
  std::vector<std::thread> threads;
  const int jobs = std::max(1, options.jobs);
  for (int j = options.progress ? 0 : 1; j < jobs; ++j)
    threads.emplace_back(worker);
  if (!options.progress) {
    worker();
  } else {
    while (done.load() < static_cast<int64_t>(runs.size()) && !never_ready) {
      report();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  for (std::thread& t : threads) t.join();
  if (never_ready) {
    return absl::FailedPreconditionError(
        absl::StrCat(never_ready_reason,
                     " (no replay written: a client that cannot log in "
                     "shows nothing about timings)"));
  }
  report();
  const absl::Duration elapsed = absl::Now() - start;

  FuzzSummary summary;
  summary.set_scenario(file);
  summary.set_client(client.Describe());
  summary.set_seed(options.seed);
  summary.set_runs(static_cast<int64_t>(runs.size()));
  summary.set_failing_runs(failing.load());
  summary.set_wall_us(absl::ToInt64Microseconds(elapsed));
  summary.set_schedules_per_second(
      runs.empty() ? 0 : runs.size() / absl::ToDoubleSeconds(elapsed));
  summary.set_shard_index(options.shard_index);
  summary.set_shard_count(options.shard_count);
  summary.set_profile(options.profile);
  summary.set_oracles_not_checked(OraclesNotDemanded(options.profile));
  for (const auto& [oracle, count] : counts)
    (*summary.mutable_violations())[oracle] = count;
  for (auto& [oracle, numbers] : failing_runs) {
    std::sort(numbers.begin(), numbers.end());
    RunList& list = (*summary.mutable_failing())[oracle];
    for (int64_t n : numbers) list.add_runs(n);
  }

  // A finding whose replay cannot be written is an error that says what was
  // found, not a campaign that reports files that are not there.
  auto unwritten = [&](const std::string& what) {
    return absl::UnavailableError(
        absl::StrCat(summary.failing_runs(), " of ", summary.runs(),
                     " schedules violated an oracle, but ", what,
                     " (rerun with --replay_dir=DIR)"));
  };
  if (!options.replay_dir.empty() && !first.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.replay_dir, error);
    if (error) {
      return unwritten(absl::StrCat("the replay directory ", options.replay_dir,
                                    " cannot be made: ", error.message()));
    }
  }
  for (const auto& entry : first) {
    // Not a structured binding: the lambdas below capture it, which C++17
    // allows of variables only (clang, building the fuzzers, refuses it).
    const std::string& oracle = entry.first;
    const Failure& failure = entry.second;
    Replay& replay = *summary.add_replays();
    replay.set_scenario(options.replay_dir.empty()
                            ? file
                            : ScenarioPathForReplay(file, options.replay_dir));
    replay.set_oracle(oracle);
    RecordClient(client, options.profile, replay);
    replay.set_run(failure.run);
    replay.set_campaign_seed(options.seed);
    const absl::Time shrink_start = absl::Now();
    auto phase = [&](const std::string& name, int64_t done, int64_t total) {
      if (!options.progress) return;
      FuzzProgress p;
      p.phase = absl::StrCat(name, " ", oracle);
      p.done = done;
      p.total = total;
      p.failing = failing.load();
      p.elapsed = absl::Now() - shrink_start;
      options.progress(p);
    };
    if (options.shrink_budget <= 0) {
      // No shrinking: the replay is the failing run itself, whose violations
      // are known; nothing to run again (each run of an external client
      // costs real time).
      *replay.mutable_schedule() = failure.schedule;
      for (const Violation& v : failure.violations)
        *replay.add_violations() = v;
    } else {
      phase("shrinking", 0, options.shrink_budget);
      *replay.mutable_schedule() = Shrink(
          scenario, file, client, failure.schedule, oracle,
          options.shrink_budget, options.shrink_time,
          [&](int tried) { phase("shrinking", tried, options.shrink_budget); });
      phase("shrinking", options.shrink_budget, options.shrink_budget);
      phase("confirming", 0, 1);
      // Over bytes, as `talkcheck replay` runs it: what the replay file says
      // was seen through the server's framing and parsing too, not only
      // through elements handed over whole as the campaign ran.
      absl::StatusOr<ScheduleOutcome> again = RunSchedule(
          scenario, file, client, replay.schedule(), {}, StanzaText::kDropped,
          xmpp::StreamPipeEnd::Handover::kText);
      phase("confirming", 1, 1);
      for (const Violation& v :
           DemandedViolations(ViolationsOf(again), options.profile))
        *replay.add_violations() = v;
    }
    if (!options.replay_dir.empty()) {
      const std::string path = (std::filesystem::path(options.replay_dir) /
                                absl::StrCat(FileStem(file), "-", oracle,
                                             "-run", failure.run, ".replay"))
                                   .string();
      if (absl::Status written = WriteFile(path, ReplayText(replay, &scenario));
          !written.ok()) {
        return unwritten(std::string(written.message()));
      }
      summary.add_replay_files(path);
    }
  }
  return summary;
}

}  // namespace talkcheck::harness

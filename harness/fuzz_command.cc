#include "harness/fuzz_command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "harness/fuzzer.h"
#include "harness/replay_file.h"
#include "harness/report_writer.h"
#include "harness/scenario_loader.h"
#include "harness/schedule.h"

namespace talkcheck::harness {
namespace {

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitError = 2;

std::optional<Scenario> Load(const std::string& file) {
  LoadResult loaded = LoadScenarioFile(file, LoadOptions());
  for (const LoadError& error : loaded.errors)
    std::cerr << error.ToString() << "\n";
  if (!loaded.ok()) return std::nullopt;
  return std::move(loaded.scenario);
}

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  int parsed = 0;
  return value != nullptr && absl::SimpleAtoi(value, &parsed) ? parsed
                                                              : fallback;
}

// "[#####.....] 412/1000  1234/s  3 failing  ETA 0:01" on a terminal; a log
// line per tenth of the campaign elsewhere.
class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(isatty(STDERR_FILENO) == 1) {}

  void operator()(const FuzzProgress& p) {
    const double seconds = absl::ToDoubleSeconds(p.elapsed);
    const double rate = seconds > 0 ? p.done / seconds : 0;
    const int64_t left = p.total - p.done;
    const int64_t eta = rate > 0 ? static_cast<int64_t>(left / rate) : 0;
    const std::string figures =
        absl::StrFormat("%d/%d schedules  %.0f/s  %d failing  ETA %d:%02d",
                        p.done, p.total, rate, p.failing, eta / 60, eta % 60);
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled =
          p.total > 0 ? static_cast<int>(kWidth * p.done / p.total) : kWidth;
      std::cerr << "\r[" << std::string(filled, '#')
                << std::string(kWidth - filled, '.') << "] " << figures << "   "
                << (p.done == p.total ? "\n" : "") << std::flush;
      return;
    }
    const int64_t tenth = p.total > 0 ? p.done * 10 / p.total : 10;
    if (tenth > last_tenth_) {
      last_tenth_ = tenth;
      std::cerr << "talkcheck fuzz: " << figures << "\n";
    }
  }

 private:
  bool tty_;
  int64_t last_tenth_ = -1;
};

void PrintViolations(const std::vector<Violation>& violations) {
  for (const Violation& v : violations)
    std::cout << "  VIOLATED " << v.oracle() << ": " << v.detail() << "\n";
}

}  // namespace

int FuzzCommand(const FuzzCommandOptions& options) {
  std::optional<Scenario> scenario = Load(options.scenario);
  if (!scenario) return kExitError;
  if (!options.client.external()) {
    absl::Status valid =
        ReferenceClientOptions(options.client.faults, options.client.dialect)
            .status();
    if (!valid.ok()) {
      std::cerr << "talkcheck: " << valid.message() << "\n";
      return kExitError;
    }
  }
  if (options.client.time_scale <= 0 ||
      (options.client.time_scale != 1 && !options.client.external())) {
    std::cerr << "talkcheck: --time_scale must be positive, and is for a "
                 "--client_cmd client started with its timers scaled alike\n";
    return kExitError;
  }
  if (options.runs < 1 || options.jobs < 1) {
    std::cerr << "talkcheck: --runs and --jobs must be at least 1\n";
    return kExitError;
  }

  FuzzOptions fuzz;
  fuzz.runs = options.runs;
  fuzz.seed = options.seed;
  fuzz.jobs = options.jobs;
  fuzz.shard_count = options.shard_count >= 0 ? options.shard_count
                                              : EnvInt("TEST_TOTAL_SHARDS", 1);
  fuzz.shard_index = options.shard_index >= 0 ? options.shard_index
                                              : EnvInt("TEST_SHARD_INDEX", 0);
  if (const char* status_file = std::getenv("TEST_SHARD_STATUS_FILE")) {
    std::ofstream touch(status_file, std::ios::app);  // "we shard"
  }
  fuzz.shrink_budget = options.shrink_budget >= 0  ? options.shrink_budget
                       : options.client.external() ? 16
                                                   : 200;
  fuzz.replay_dir = options.replay_dir;
  if (fuzz.replay_dir.empty()) {
    // Under `bazel run` the working directory is the runfiles tree: write
    // where the user ran the command instead.
    const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
    fuzz.replay_dir = outputs != nullptr ? outputs
                      : cwd != nullptr ? absl::StrCat(cwd, "/talkcheck-replays")
                                       : "talkcheck-replays";
  }
  ProgressPrinter printer;
  fuzz.progress = [&printer](const FuzzProgress& p) { printer(p); };

  absl::StatusOr<FuzzSummary> summary =
      Fuzz(*scenario, options.scenario, options.client, fuzz);
  if (!summary.ok()) {
    std::cerr << "talkcheck: " << summary.status().message() << "\n";
    return kExitError;
  }
  std::cout << FuzzTextSummary(*summary);

  WriteReportFiles(options.junit, FuzzJUnitXml(*summary), options.json,
                   FuzzJsonReport(*summary));
  return summary->failing_runs() > 0 ? kExitFail : kExitPass;
}

int ReplayCommand(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "talkcheck: cannot read " << file << "\n";
    return kExitError;
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Replay> replay = ParseReplay(text.str());
  if (!replay.ok()) {
    std::cerr << file << ":" << replay.status().message() << "\n";
    return kExitError;
  }
  std::optional<Scenario> scenario = Load(replay->scenario());
  if (!scenario) return kExitError;
  ClientSpec client;
  client.faults = absl::StrJoin(replay->faults(), ",");
  if (!replay->dialect().empty()) client.dialect = replay->dialect();
  client.command = replay->client_cmd();
  if (replay->time_scale() > 0) client.time_scale = replay->time_scale();

  for (const Perturbation& p : replay->schedule().perturbations())
    std::cout << "perturbation: " << Describe(p) << "\n";
  absl::StatusOr<ScheduleOutcome> outcome =
      RunSchedule(*scenario, replay->scenario(), client, replay->schedule());
  if (!outcome.ok()) {
    std::cerr << "talkcheck: " << outcome.status().message() << "\n";
    return kExitError;
  }
  RunReport report;
  *report.add_scenarios() = outcome->result;
  report.set_seed(replay->schedule().seed());
  report.set_wall_us(outcome->result.wall_us());
  CountVerdicts(report);
  std::cout << TextSummary(report) << "\n";
  PrintViolations(outcome->violations);

  std::vector<std::string> now, then;
  for (const Violation& v : outcome->violations) now.push_back(v.oracle());
  for (const Violation& v : replay->violations()) then.push_back(v.oracle());
  std::cout << (now == then ? "reproduced: " : "NOT reproduced: ")
            << (now.empty() ? "no violation" : absl::StrJoin(now, ", "))
            << (now == then
                    ? ""
                    : absl::StrCat(" (the file recorded: ",
                                   then.empty() ? "no violation"
                                                : absl::StrJoin(then, ", "),
                                   ")"))
            << "\n";
  return outcome->violations.empty() ? kExitPass : kExitFail;
}

}  // namespace talkcheck::harness

#include "harness/fuzz/fuzz_command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "harness/fuzz/campaign_html.h"
#include "harness/fuzz/campaign_report.h"
#include "harness/fuzz/fuzzer.h"
#include "harness/fuzz/oracles.h"
#include "harness/fuzz/replay_client.h"
#include "harness/fuzz/replay_file.h"
#include "harness/fuzz/schedule.h"
#include "harness/report/exit_codes.h"
#include "harness/report/report_files.h"
#include "harness/report/report_writer.h"
#include "harness/run/runner.h"
#include "harness/scenario/profiles.h"
#include "harness/scenario/scenario_files.h"
#include "harness/scenario/scenario_loader.h"

namespace talkcheck::harness {
namespace {

std::optional<Scenario> Load(const std::string& file) {
  std::vector<LoadedScenario> loaded;
  if (!LoadScenarioFiles({file}, LoadOptions(), loaded, std::cerr))
    return std::nullopt;
  return std::move(loaded.front().scenario);
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
    if (p.phase != phase_) {
      // A new phase (shrinking, confirming) starts its own bar and log.
      if (tty_ && !phase_.empty() && last_done_ != last_total_)
        std::cerr << "\n";
      phase_ = p.phase;
      last_tenth_ = -1;
    }
    last_done_ = p.done;
    last_total_ = p.total;
    const double seconds = absl::ToDoubleSeconds(p.elapsed);
    const double rate = seconds > 0 ? p.done / seconds : 0;
    const int64_t left = p.total - p.done;
    const int64_t eta = rate > 0 ? static_cast<int64_t>(left / rate) : 0;
    // Real-clock campaigns run well under one schedule a second.
    const std::string figures = absl::StrFormat(
        "%s %d/%d  %s/s  %d failing  ETA %d:%02d", p.phase, p.done, p.total,
        rate >= 10 ? absl::StrFormat("%.0f", rate)
                   : absl::StrFormat("%.2f", rate),
        p.failing, eta / 60, eta % 60);
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
    // Shrinking runs are few and slow: a line for each.
    if (tenth > last_tenth_ || (p.phase != "schedules" && p.done > 0)) {
      last_tenth_ = tenth;
      std::cerr << "talkcheck fuzz: " << figures << "\n";
    }
  }

 private:
  bool tty_;
  int64_t last_tenth_ = -1;
  std::string phase_;
  int64_t last_done_ = 0;
  int64_t last_total_ = 0;
};

void PrintViolations(const std::vector<Violation>& violations) {
  for (const Violation& v : violations)
    std::cout << "  VIOLATED " << v.oracle() << ": " << v.detail() << "\n";
}

// Runs each shrunk schedule once more for the timeline of its run.
void WriteCampaignHtml(const FuzzCommandOptions& options,
                       const Scenario& scenario, const FuzzSummary& summary) {
  std::vector<std::optional<ScenarioResult>> runs;
  for (const Replay& replay : summary.replays()) {
    absl::StatusOr<ScheduleOutcome> outcome = RunSchedule(
        scenario, options.scenario, options.client, replay.schedule());
    if (outcome.ok()) {
      runs.push_back(std::move(outcome->result));
    } else {
      std::cerr << "talkcheck: the timeline of run " << replay.run()
                << " is left out: " << outcome.status().message() << "\n";
      runs.push_back(std::nullopt);
    }
  }
  if (absl::Status written =
          WriteFile(options.html, FuzzHtmlReport(summary, scenario, runs));
      !written.ok()) {
    std::cerr << "talkcheck: " << written.message() << "\n";
  }
}

}  // namespace

int FuzzCommand(const FuzzCommandOptions& options) {
  std::optional<Scenario> scenario = Load(options.scenario);
  if (!scenario) return kExitError;
  // Judged by the profile throughout: the campaign, and the reruns of its
  // shrunk schedules for --html.
  if (absl::Status applied = ApplyProfile(options.profile, *scenario);
      !applied.ok()) {
    std::cerr << "talkcheck: " << applied.message() << "\n";
    return kExitError;
  }
  if (!options.client.external()) {
    absl::Status valid = ReferenceClientOptions(
                             options.client.faults, options.client.dialect,
                             options.client.codecs, options.client.answer_after)
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
  fuzz.shrink_time = options.shrink_time;
  fuzz.profile = options.profile;
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
    // As `talkcheck run`: a client that never logged in is exit 3.
    return absl::StrContains(summary.status().message(), kCutNeverReady)
               ? kExitNotReady
               : kExitError;
  }
  std::cout << FuzzTextSummary(*summary);

  WriteReportFiles(options.junit, FuzzJUnitXml(*summary), options.json,
                   FuzzJsonReport(*summary));
  if (!options.html.empty()) WriteCampaignHtml(options, *scenario, *summary);
  return summary->failing_runs() > 0 ? kExitFail : kExitPass;
}

int ReplayCommand(const ReplayCommandOptions& options) {
  const std::string& file = options.file;
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
  const std::string scenario_file =
      ResolveScenarioPath(file, replay->scenario());
  std::optional<Scenario> scenario = Load(scenario_file);
  if (!scenario) return kExitError;
  // Judged as the campaign judged it, by the client it ran.
  if (absl::Status applied =
          ApplyProfile(ProfileFromReplay(*replay), *scenario);
      !applied.ok()) {
    std::cerr << file << ": " << applied.message() << "\n";
    return kExitError;
  }
  absl::StatusOr<ClientSpec> recorded = ClientFromReplay(*replay);
  if (!recorded.ok()) {
    std::cerr << file << ": " << recorded.status().message() << "\n";
    return kExitError;
  }
  ClientSpec client = *std::move(recorded);
  if (!options.client_cmd.empty()) {
    std::cout << "client: " << options.client_cmd << " (instead of the "
              << "recorded " << replay->client() << ")\n";
    client.command = options.client_cmd;
    client.faults.clear();
  }
  client.client_log = options.client_log;
  if (client.time_scale != 1 && !client.external()) {
    std::cerr << "talkcheck: the replay has a time scale, which needs a "
                 "--client_cmd client\n";
    return kExitError;
  }

  for (const Perturbation& p : replay->schedule().perturbations()) {
    std::cout << "perturbation: " << Describe(p, &*scenario, client.time_scale)
              << "\n";
  }
  absl::StatusOr<ScheduleOutcome> outcome =
      RunSchedule(*scenario, scenario_file, client, replay->schedule());
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
  // The transcript, failing or not: what the client did under this schedule.
  std::cout << "transcript:\n";
  for (const StanzaRecord& r : outcome->result.transcript()) {
    std::cout << absl::StrFormat("  %8.3fs %-11s %s\n", r.time_us() / 1e6,
                                 r.direction(), r.xml());
  }
  // Judged as the campaign judged it: only the oracles its profile demands.
  const std::vector<Violation> violations =
      DemandedViolations(outcome->violations, ProfileFromReplay(*replay));
  PrintViolations(violations);
  if (!options.json.empty()) {
    absl::StatusOr<std::string> json = JsonReport(report);
    if (!json.ok() || !WriteFile(options.json, *json).ok())
      std::cerr << "talkcheck: cannot write the JSON report to " << options.json
                << "\n";
  }

  if (outcome->result.failure_type() == "client/never-ready") {
    std::cout << "the client never became ready: nothing reproduced\n";
    return kExitNotReady;
  }
  std::vector<std::string> now, then;
  for (const Violation& v : violations) now.push_back(v.oracle());
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
  return violations.empty() ? kExitPass : kExitFail;
}

}  // namespace talkcheck::harness

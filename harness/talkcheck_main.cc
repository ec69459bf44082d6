// talkcheck: replays Google Talk voice scenarios against a client under test.
//
//   talkcheck lint FILE...
//   talkcheck run [--client=reference | --client-cmd='CMD {host} {port} {jid}
//   {password}']
//                 [--fault=NAME,...] [--seed=N] [--var=name=value,...]
//                 [--junit=PATH] [--json=PATH] FILE...
//
// Exit codes of `run`: 0 every scenario passed, 1 a scenario failed, 2 a
// harness or input error, 3 the client under test never became ready.
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/asio_clock.h"
#include "fake_server/server.h"
#include "harness/client_under_test.h"
#include "harness/fuzz_command.h"
#include "harness/report_writer.h"
#include "harness/runner.h"
#include "harness/scenario_loader.h"
#include "harness/schedule_run.h"
#include "media_sim/relay_server.h"
#include "media_sim/stun_server.h"
#include "reference_client/faults.h"

ABSL_FLAG(std::string, client, "reference",
          "The client under test: 'reference' (the bundled reference client)");
ABSL_FLAG(
    std::string, client_cmd, "",
    "Run this command (via /bin/sh) as the client under test; {host}, {port}, "
    "{jid} and {password} are replaced. Control steps arrive as lines on its "
    "stdin: 'call JID', 'hangup', 'answer', 'reject'");
ABSL_FLAG(std::string, client_log, "",
          "Append the --client_cmd process's stdout and stderr to this file");
ABSL_FLAG(
    std::string, fault, "",
    "Comma-separated misbehaviours for the reference client (e.g. no-ack)");
ABSL_FLAG(std::string, dialect, "g1",
          "Dialect the reference client uses for calls it places: g1 or g2");
ABSL_FLAG(std::string, candidates, "host",
          "Candidates the reference client announces: a comma list of host, "
          "stun and relay (stun and relay from the servers talkcheck starts, "
          "found through google:jingleinfo; real clock only)");
ABSL_FLAG(
    uint64_t, seed, 1,
    "Seed for ids, session ids and ufrags: the same seed gives the same run");
ABSL_FLAG(std::vector<std::string>, var, {},
          "Comma-separated name=value scenario variables");
ABSL_FLAG(
    std::string, junit, "",
    "Write JUnit XML here (default: $XML_OUTPUT_FILE when set, as under bazel "
    "test)");
ABSL_FLAG(std::string, json, "", "Write the JSON report here");
ABSL_FLAG(std::string, clock, "real",
          "run: 'real' (TCP, TLS and UDP on loopback, real time) or 'virtual' "
          "(the reference client in-process over an in-memory pipe and "
          "network, on a virtual clock: a 180 s timeout takes microseconds)");
ABSL_FLAG(std::string, scenario, "", "fuzz: the scenario file to fuzz");
ABSL_FLAG(int64_t, runs, 1000, "fuzz: how many schedules to run");
ABSL_FLAG(int32_t, jobs, 1, "fuzz: schedules run at once, one thread each");
ABSL_FLAG(double, time_scale, 1.0,
          "fuzz with --client_cmd: the client's timers run this many times as "
          "long (it was started with e.g. --time_scale=0.1); the scenario's "
          "timings, the schedule's delays and the oracles' deadlines follow");
ABSL_FLAG(int32_t, shrink_budget, -1,
          "fuzz: runs the shrinker may spend per violated oracle (default 200 "
          "in-process, 16 for a --client_cmd client on the real clock)");
ABSL_FLAG(std::string, replay_dir, "",
          "fuzz: where shrunk replay files go (default: "
          "$TEST_UNDECLARED_OUTPUTS_DIR, else ./talkcheck-replays)");
ABSL_FLAG(
    absl::Duration, cut_ready_timeout, absl::Seconds(20),
    "How long the client under test may take to log in and send presence");
ABSL_FLAG(std::string, tls, "required",
          "STARTTLS on the fake server: required, optional or off");
ABSL_FLAG(bool, quiet, false, "Print only the summary line");
ABSL_FLAG(int, stun_port, 0,
          "UDP port of media_sim's STUN server on 127.0.0.1, announced by "
          "google:jingleinfo (0: a free port)");
ABSL_FLAG(int, relay_http_port, 0,
          "TCP port of the relay's HTTP create_session endpoint on 127.0.0.1 "
          "(0: a free port; libjingle clients always ask port 80)");
ABSL_FLAG(int, relay_udp_port, 0,
          "UDP port of the relay on 127.0.0.1 (0: a free port)");

namespace talkcheck::harness {
namespace {

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitError = 2;
constexpr int kExitNotReady = 3;

struct Loaded {
  std::string file;
  Scenario scenario;
};

// Loads every file; prints every error. Returns false if any file has errors.
bool LoadAll(const std::vector<std::string>& files,
             const std::vector<std::string>& extra_vars,
             std::vector<Loaded>& out) {
  LoadOptions options;
  options.extra_variables = extra_vars;
  bool ok = true;
  for (const std::string& file : files) {
    LoadResult result = LoadScenarioFile(file, options);
    for (const LoadError& error : result.errors)
      std::cerr << error.ToString() << "\n";
    if (!result.ok()) {
      ok = false;
      continue;
    }
    out.push_back(Loaded{file, std::move(result.scenario)});
  }
  return ok;
}

int Lint(const std::vector<std::string>& files) {
  std::vector<Loaded> loaded;
  const bool ok = LoadAll(files, {}, loaded);
  if (ok) std::cout << files.size() << " file(s) OK\n";
  return ok ? kExitPass : kExitFail;
}

absl::StatusOr<reference_client::VoiceClientOptions> ReferenceOptions() {
  absl::StatusOr<reference_client::VoiceClientOptions> options =
      ReferenceClientOptions(absl::GetFlag(FLAGS_fault),
                             absl::GetFlag(FLAGS_dialect));
  if (!options.ok()) return options;
  absl::StatusOr<reference_client::VoiceClientOptions::CandidateTypes>
      candidates = reference_client::ParseCandidateTypes(
          absl::GetFlag(FLAGS_candidates));
  if (!candidates.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--candidates: ", candidates.status().message()));
  }
  options->candidates = *candidates;
  return options;
}

int Fuzz() {
  FuzzCommandOptions options;
  options.scenario = absl::GetFlag(FLAGS_scenario);
  if (options.scenario.empty()) {
    std::cerr << "talkcheck fuzz: --scenario=FILE is required\n";
    return kExitError;
  }
  options.runs = absl::GetFlag(FLAGS_runs);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.jobs = absl::GetFlag(FLAGS_jobs);
  options.client.faults = absl::GetFlag(FLAGS_fault);
  options.client.dialect = absl::GetFlag(FLAGS_dialect);
  options.client.command = absl::GetFlag(FLAGS_client_cmd);
  options.client.time_scale = absl::GetFlag(FLAGS_time_scale);
  options.shrink_budget = absl::GetFlag(FLAGS_shrink_budget);
  options.replay_dir = absl::GetFlag(FLAGS_replay_dir);
  options.json = absl::GetFlag(FLAGS_json);
  options.junit = absl::GetFlag(FLAGS_junit);
  return FuzzCommand(options);
}

void PrintVerdict(const RunReport& report) {
  if (absl::GetFlag(FLAGS_quiet)) return;
  const ScenarioResult& last = report.scenarios(report.scenarios_size() - 1);
  std::cout << (last.verdict() == PASS   ? "PASS "
                : last.verdict() == FAIL ? "FAIL "
                                         : "ERROR")
            << " " << last.name() << std::endl;
}

// One scenario in a world of its own on the virtual clock (the unperturbed
// schedule of timeout fuzzing): no socket, no real time.
ScenarioResult RunOnVirtualClock(const Loaded& item,
                                 const RunnerOptions& runner_options) {
  ClientSpec client;
  client.faults = absl::GetFlag(FLAGS_fault);
  client.dialect = absl::GetFlag(FLAGS_dialect);
  Schedule schedule;
  schedule.set_seed(runner_options.seed);
  absl::StatusOr<ScheduleOutcome> outcome = RunSchedule(
      item.scenario, item.file, client, schedule, runner_options.variables);
  if (outcome.ok()) return outcome->result;
  ScenarioResult result;
  result.set_name(item.scenario.name());
  result.set_file(item.file);
  result.set_client(client.Describe());
  result.set_verdict(ERROR);
  result.set_failure(std::string(outcome.status().message()));
  return result;
}

int Run(const std::vector<std::string>& files) {
  RunnerOptions runner_options;
  runner_options.seed = absl::GetFlag(FLAGS_seed);
  runner_options.cut_ready_timeout = absl::GetFlag(FLAGS_cut_ready_timeout);
  std::vector<std::string> var_names;
  for (const std::string& assignment : absl::GetFlag(FLAGS_var)) {
    std::vector<std::string> parts =
        absl::StrSplit(assignment, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      std::cerr << "talkcheck: --var wants name=value, not '" << assignment
                << "'\n";
      return kExitError;
    }
    runner_options.variables[parts[0]] = parts[1];
    var_names.push_back(parts[0]);
  }

  std::vector<Loaded> loaded;
  if (!LoadAll(files, var_names, loaded)) return kExitError;

  const std::string client_cmd = absl::GetFlag(FLAGS_client_cmd);
  if (client_cmd.empty() && absl::GetFlag(FLAGS_client) != "reference") {
    std::cerr
        << "talkcheck: --client must be 'reference' (or use --client_cmd)\n";
    return kExitError;
  }
  absl::StatusOr<reference_client::VoiceClientOptions> reference =
      ReferenceOptions();
  if (!reference.ok()) {
    std::cerr << "talkcheck: " << reference.status().message() << "\n";
    return kExitError;
  }

  boost::asio::io_context io;
  AsioClock clock(io);
  fake_server::ServerConfig config;
  const std::string tls = absl::GetFlag(FLAGS_tls);
  if (tls == "optional") {
    config.set_tls(fake_server::ServerConfig::TLS_OPTIONAL);
  } else if (tls == "off") {
    config.set_tls(fake_server::ServerConfig::TLS_OFF);
  } else if (tls != "required") {
    std::cerr << "talkcheck: --tls must be required, optional or off\n";
    return kExitError;
  }
  // STUN and relay servers, announced through google:jingleinfo (PROTOCOL.md
  // §5).
  media_sim::StunServerOptions stun_options;
  stun_options.port = static_cast<uint16_t>(absl::GetFlag(FLAGS_stun_port));
  absl::StatusOr<std::unique_ptr<media_sim::StunServer>> stun =
      media_sim::StunServer::Create(io, stun_options);
  if (!stun.ok()) {
    std::cerr << "talkcheck: STUN server: " << stun.status().message() << "\n";
    return kExitError;
  }
  std::mt19937_64 relay_bitgen(runner_options.seed ^ 0x7e1a);
  media_sim::RelayServerOptions relay_options;
  relay_options.http_port =
      static_cast<uint16_t>(absl::GetFlag(FLAGS_relay_http_port));
  relay_options.udp_port =
      static_cast<uint16_t>(absl::GetFlag(FLAGS_relay_udp_port));
  relay_options.stun_server = (*stun)->local_endpoint();
  absl::StatusOr<std::unique_ptr<media_sim::RelayServer>> relay =
      media_sim::RelayServer::Create(io, clock, relay_bitgen, relay_options);
  if (!relay.ok()) {
    std::cerr << "talkcheck: relay: " << relay.status().message() << "\n";
    return kExitError;
  }
  fake_server::JingleInfo& info = *config.mutable_jingle_info();
  fake_server::StunServer& stun_entry = *info.add_stun();
  stun_entry.set_host("127.0.0.1");
  stun_entry.set_udp((*stun)->local_endpoint().port());
  info.set_relay_token(relay_options.token);
  fake_server::RelayServer& relay_entry = *info.add_relay();
  relay_entry.set_host("127.0.0.1");
  relay_entry.set_udp((*relay)->udp_endpoint().port());
  // The same servers for the peer's stun / relay candidates (opt-in per
  // scenario: ${candidates:rtp:relay}).
  runner_options.candidate_servers.stun = (*stun)->local_endpoint();
  runner_options.candidate_servers.relay = media_sim::RelayServerAddress{
      (*relay)->http_endpoint(), relay_options.token};
  // jingleinfo names only the relay's host; the in-process client is told the
  // port of its create_session.
  reference->relay_http_port = (*relay)->http_endpoint().port();

  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(config, io, clock, runner_options.seed);
  if (!server.ok()) {
    std::cerr << "talkcheck: fake server: " << server.status().message()
              << "\n";
    return kExitError;
  }

  RunReport report;
  report.set_seed(runner_options.seed);
  const absl::Time wall_start = absl::Now();
  std::mt19937_64 client_bitgen(runner_options.seed ^ 0x5eed);
  bool never_ready = false;
  const std::string clock_name = absl::GetFlag(FLAGS_clock);
  if (clock_name != "real" && clock_name != "virtual") {
    std::cerr << "talkcheck: --clock must be real or virtual\n";
    return kExitError;
  }
  if (clock_name == "virtual" &&
      (reference->candidates.stun || reference->candidates.relay)) {
    std::cerr << "talkcheck: --clock=virtual has no STUN server or relay: "
                 "--candidates must be host\n";
    return kExitError;
  }
  if (clock_name == "virtual" && !client_cmd.empty()) {
    std::cerr << "talkcheck: --clock=virtual needs the in-process reference "
                 "client: an external client runs on the real clock\n";
    return kExitError;
  }
  for (const Loaded& item : loaded) {
    if (clock_name == "virtual") {
      *report.add_scenarios() = RunOnVirtualClock(item, runner_options);
      PrintVerdict(report);
      continue;
    }
    std::unique_ptr<ClientUnderTest> cut =
        client_cmd.empty()
            ? MakeReferenceClient(io, clock, client_bitgen, *reference)
            : MakeExternalClient(io, clock, client_cmd,
                                 absl::GetFlag(FLAGS_client_log));
    ScenarioRunner runner(io, clock, **server, item.scenario, item.file,
                          std::move(cut), runner_options);
    bool done = false;
    runner.Run([&](ScenarioResult result) {
      if (absl::StrContains(result.failure(), kCutNeverReady))
        never_ready = true;
      *report.add_scenarios() = std::move(result);
      done = true;
    });
    while (!done && io.run_one() > 0) {
    }
    PrintVerdict(report);
  }
  (*server)->Stop();
  io.poll();

  CountVerdicts(report);
  report.set_wall_us(absl::ToInt64Microseconds(absl::Now() - wall_start));

  std::cout << "\n" << TextSummary(report);
  WriteReportFiles(absl::GetFlag(FLAGS_junit), JUnitXml(report),
                   absl::GetFlag(FLAGS_json), JsonReport(report));

  if (never_ready) return kExitNotReady;
  if (report.errors() > 0) return kExitError;
  if (report.failed() > 0) return kExitFail;
  return kExitPass;
}

}  // namespace
}  // namespace talkcheck::harness

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "talkcheck lint FILE... | talkcheck run [flags] FILE... |\n"
      "talkcheck fuzz --scenario=FILE [--runs=N --seed=S --jobs=J] | "
      "talkcheck replay FILE\n"
      "Conformance harness for Google Talk voice clients.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  // A client under test that dies must not take the harness with it.
  signal(SIGPIPE, SIG_IGN);
  const std::string command = args.size() > 1 ? args[1] : "";
  const std::vector<std::string> files(
      args.begin() + std::min<size_t>(2, args.size()), args.end());
  if (command == "fuzz" && files.empty()) return talkcheck::harness::Fuzz();
  if (command == "replay" && files.size() == 1)
    return talkcheck::harness::ReplayCommand(files[0]);
  if (command == "lint" && !files.empty())
    return talkcheck::harness::Lint(files);
  if (command == "run" && !files.empty()) return talkcheck::harness::Run(files);
  std::cerr << "usage: talkcheck lint FILE... | talkcheck run [flags] FILE... "
               "|\n       talkcheck fuzz --scenario=FILE [flags] | talkcheck "
               "replay FILE\n(talkcheck --help for the flags)\n";
  return 2;
}

#include "harness/talkcheck_cli.h"

#include <signal.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "harness/fuzz/fuzz_command.h"
#include "harness/matrix_command.h"
#include "harness/record_command.h"
#include "harness/repeated_flags.h"
#include "harness/report/exit_codes.h"
#include "harness/report/quirks.h"
#include "harness/run/world.h"
#include "harness/run_command.h"
#include "harness/scenario/scenario_files.h"

ABSL_FLAG(std::string, client, "reference",
          "The client under test: 'reference' (the bundled reference client); "
          "use --client_cmd for any other. matrix: one column per --client, "
          "'[NAME=]reference[ --fault=F --codecs=C --dialect=D "
          "--answer_after=T]'");
ABSL_FLAG(
    std::string, client_cmd, "",
    "Run this command (via /bin/sh) as the client under test; {host}, {port}, "
    "{jid} and {password} are replaced, and {ws_url} by the ws:// URL of an "
    "XMPP-over-WebSocket listener (RFC 7395) opened for it. Control steps "
    "arrive as lines on its "
    "stdin: 'call JID', 'hangup', 'answer', 'reject'. matrix: one column "
    "per --client_cmd, '[NAME=]COMMAND' (NAME defaults to the program's "
    "name)");
ABSL_FLAG(std::string, client_log, "",
          "Append the --client_cmd process's stdout and stderr to this file, "
          "under a header line per scenario (per run for fuzz and replay)");
ABSL_FLAG(
    std::string, fault, "",
    "Comma-separated misbehaviours for the reference client (e.g. no-ack; "
    "reference_client --list_faults lists them)");
ABSL_FLAG(std::string, dialect, "g1",
          "Dialect of the reference client: g1, g2 (its calls offer the p2p "
          "transport), or g3 (libjingle >= 0.5: answers a hybrid initiate in "
          "Jingle; its calls are G1)");
ABSL_FLAG(std::string, profile, "interop",
          "Which implementation's habits to demand: interop (what every real "
          "implementation does), libjingle-0.4, libjingle-0.7; checks that "
          "only another profile requires are reported as warnings");
ABSL_FLAG(std::string, candidates, "host",
          "Candidates the reference client announces: a comma list of host, "
          "stun and relay (stun and relay from the servers talkcheck starts, "
          "found through google:jingleinfo; real clock only)");
ABSL_FLAG(std::string, codecs, "",
          "Codecs the reference client accepts, in its order of preference: "
          "a comma list of NAME (PCMU, PCMA, iLBC, ISAC, ...), NAME/ID or "
          "NAME/ID/CLOCKRATE (default: ISAC, iLBC, PCMU, PCMA, CN)");
ABSL_FLAG(absl::Duration, answer_after, absl::InfiniteDuration(),
          "When the reference client answers an incoming call by itself "
          "(e.g. 0s, 3s); default inf: it rings until a control step answers "
          "or rejects");
ABSL_FLAG(absl::Duration, call_caps_wait, absl::Seconds(2),
          "Before its first call to a peer, a --client_cmd client gets up to "
          "this long to ask the peer's caps (disco#info of node#voice-v1) "
          "and have the answer; the call line goes as soon as the peer "
          "answered. 0s: no wait");
ABSL_FLAG(std::string, media_address, "127.0.0.1",
          "Address the simulated peer's media sockets bind to and its host "
          "candidates announce (IPv4 or IPv6 literal, e.g. ::1); a "
          "scenario's <peer media-address> wins");
ABSL_FLAG(std::string, server_identity, "talkcheck",
          "The fake server's disco#info identity: talkcheck, or google-talk "
          "(name \"Google Talk\": libpurple asks google:jingleinfo only then)");
ABSL_FLAG(
    uint64_t, seed, 1,
    "Seed for ids, session ids and ufrags: the same seed gives the same run");
ABSL_FLAG(std::vector<std::string>, var, {},
          "Comma-separated name=value scenario variables");
ABSL_FLAG(
    std::string, junit, "",
    "Write JUnit XML here (empty: $XML_OUTPUT_FILE when set, as under bazel "
    "test)");
ABSL_FLAG(std::string, json, "", "Write the JSON report here");
ABSL_FLAG(std::string, clock, "real",
          "'real' (TCP, TLS and UDP on loopback, real time) or 'virtual' "
          "(the reference client in-process over an in-memory pipe and "
          "network, on a virtual clock: a 180 s timeout takes microseconds)");
ABSL_FLAG(std::string, scenario, "", "The scenario file to fuzz");
ABSL_FLAG(int64_t, runs, 1000, "How many schedules to run");
ABSL_FLAG(int32_t, jobs, 0,
          "How many at once, one thread each: scenarios for run (they mostly "
          "wait), schedules for fuzz");
ABSL_FLAG(double, time_scale, 1.0,
          "Timers that only wait run this many times as long: the scenario's "
          "bounds and delays, and the bundled client's libjingle timers (run), "
          "or the oracles' deadlines and schedule delays for a --client_cmd "
          "client started with its own timers scaled alike (fuzz). 1 is full "
          "real time");
ABSL_FLAG(std::string, filter, "",
          "Only the scenarios whose names match: comma-separated globs, a "
          "leading '-' excludes (e.g. 'callee-*,-*-timeout')");
ABSL_FLAG(std::vector<std::string>, tags, {},
          "Only the scenarios with one of these tags (tags=\"...\" on "
          "<scenario>); a leading '-' excludes a tag (e.g. -slow)");
ABSL_FLAG(int32_t, shrink_budget, -1,
          "Runs the shrinker may spend per violated oracle (0: none, and no "
          "confirmation run: the failing run itself is written as the replay)");
ABSL_FLAG(absl::Duration, shrink_time, absl::InfiniteDuration(),
          "Wall time the shrinker may spend per violated oracle (e.g. 10m), "
          "whatever --shrink_budget leaves");
ABSL_FLAG(std::string, replay_dir, "",
          "Where shrunk replay files go (empty: "
          "$TEST_UNDECLARED_OUTPUTS_DIR, else ./talkcheck-replays)");
ABSL_FLAG(
    absl::Duration, cut_ready_timeout, absl::Seconds(20),
    "How long the client under test may take to log in and send presence");
ABSL_FLAG(std::string, tls, "required",
          "STARTTLS on the fake server: required, optional or off");
ABSL_FLAG(bool, quiet, false, "Print only the summary line");
ABSL_FLAG(std::string, html, "",
          "Write the report as one self-contained HTML page here: a sequence "
          "chart per scenario (peer, fake server, client under test), the "
          "failing step in red, the media figures and plots (fuzz: the "
          "violations by oracle and each shrunk schedule as a timeline)");
ABSL_FLAG(std::string, trace, "",
          "Write every stanza and every STUN and RTP datagram of the run here, "
          "one line each with its time (real clock only)");
ABSL_FLAG(std::string, serve, "",
          "Serve the HTML report while the run goes on, updated over a "
          "WebSocket, at HOST:PORT (127.0.0.1:0 picks a free port and prints "
          "the URL); loopback only unless --serve_any_address");
ABSL_FLAG(bool, serve_any_address, false,
          "Let --serve listen on an address other than loopback: whoever "
          "connects sees every stanza of the run");
ABSL_FLAG(absl::Duration, serve_wait, absl::ZeroDuration(),
          "With --serve: hold the first scenario until a browser has the live "
          "report open, at most this long (0: start at once)");
ABSL_FLAG(absl::Duration, serve_linger, absl::ZeroDuration(),
          "How long --serve keeps serving the final report after the run");
ABSL_FLAG(std::string, pcap, "",
          "Write every stanza and datagram of the run to this capture file "
          "for Wireshark (empty: none, or talkcheck.pcap in "
          "$TEST_UNDECLARED_OUTPUTS_DIR under bazel test); real clock only");
ABSL_FLAG(int, stun_port, 0,
          "UDP port of media_sim's STUN server on 127.0.0.1, announced by "
          "google:jingleinfo (0: a free port per scenario; a fixed port runs "
          "scenarios one at a time)");
ABSL_FLAG(int, relay_http_port, 0,
          "TCP port of the relay's HTTP create_session endpoint on 127.0.0.1 "
          "(0: a free port; libjingle clients always ask port 80)");
ABSL_FLAG(std::string, out_dir, "",
          "Where matrix writes each client's reports (OUT_DIR/NAME/: one HTML "
          "page per scenario, the run's report.html, report.json, junit.xml) "
          "and, unless --html / --json say otherwise, matrix.html and "
          "matrix.json");
ABSL_FLAG(bool, fail_on_any, false,
          "matrix: exit as talkcheck run would for the worst client (1 a "
          "check failed, 2 an error, 3 never ready) instead of 0 once the "
          "matrix is written");
ABSL_FLAG(int, relay_udp_port, 0,
          "UDP port of the relay on 127.0.0.1 (0: a free port)");
ABSL_FLAG(std::string, out, "",
          "The scenario file to write the recorded call to");
ABSL_FLAG(std::vector<std::string>, accounts,
          std::vector<std::string>({"alice:alice", "bob:bob"}),
          "Comma-separated user:password accounts of the fake server (two at "
          "least), each the others' contact");
ABSL_FLAG(std::string, cut, "callee",
          "Which side of the recorded call becomes the client under test: "
          "caller, callee, or the JID (bare or full) of one side; the other "
          "becomes the simulated peer");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(120),
          "How long to wait for a call to begin and end");
ABSL_FLAG(std::string, listen, "127.0.0.1:0",
          "Address the fake server listens on for the clients (port 0: a "
          "free port, printed)");

namespace talkcheck::harness {
namespace {

constexpr int kRunJobs = 8;
constexpr int kFuzzJobs = 1;

struct Subcommand {
  const char* name;
  const char* usage;
  const char* summary;
  std::vector<const char*> flags;
  // Defaults that depend on the subcommand, as --help shows them.
  std::map<std::string, std::string> shown_defaults;
};

const std::vector<Subcommand>& Subcommands() {
  static const auto* const kSubcommands = new std::vector<Subcommand>{
      {"lint",
       "talkcheck lint FILE...",
       "Loads each scenario file and reports every error with "
       "file:line:column; runs nothing.",
       {"var"},
       {}},
      {"run",
       "talkcheck run [flags] FILE...",
       "Replays each scenario against the client under test (the bundled "
       "reference client unless --client_cmd), several at once, each with a "
       "fresh fake server, peer and client; prints a verdict per scenario in "
       "the order given, then the failures and a summary.",
       {"client",
        "client_cmd",
        "client_log",
        "fault",
        "dialect",
        "codecs",
        "answer_after",
        "call_caps_wait",
        "media_address",
        "server_identity",
        "candidates",
        "profile",
        "seed",
        "var",
        "jobs",
        "time_scale",
        "filter",
        "tags",
        "clock",
        "cut_ready_timeout",
        "tls",
        "quiet",
        "junit",
        "json",
        "html",
        "serve",
        "serve_any_address",
        "serve_wait",
        "serve_linger",
        "trace",
        "pcap",
        "stun_port",
        "relay_http_port",
        "relay_udp_port"},
       {{"jobs", absl::StrCat(kRunJobs)}}},
      {"fuzz",
       "talkcheck fuzz --scenario=FILE [flags]",
       "Runs one scenario under many schedules of delays, reorderings and "
       "media loss, deterministic from --seed; judges each run by the "
       "oracles, shrinks each violation to the simplest schedule that still "
       "shows it and writes it as a replay file (docs/fuzzing.md).",
       {"scenario", "runs", "seed", "jobs", "fault", "dialect", "codecs",
        "answer_after", "profile", "client_cmd", "client_log", "time_scale",
        "shrink_budget", "shrink_time", "replay_dir", "junit", "json", "html"},
       {{"jobs", absl::StrCat(kFuzzJobs)},
        {"shrink_budget", "200 in-process, 16 for a --client_cmd client"}}},
      {"replay",
       "talkcheck replay [flags] FILE",
       "Runs a replay file written by talkcheck fuzz again, prints the step "
       "report and the transcript and says whether it reproduced. "
       "--client_cmd replays against another client (a fixed build) instead "
       "of the recorded one.",
       {"client_cmd", "client_log", "json"},
       {}},
      {"matrix",
       "talkcheck matrix --client=[NAME=]reference[ FLAGS] "
       "--client_cmd=[NAME=]CMD... [flags] FILE...",
       "Runs the scenarios against several clients, one column each (every "
       "--client and --client_cmd, in order), each as talkcheck run would; "
       "writes one table, HTML and JSON, of which client passes which "
       "scenario and shows which quirk of PROTOCOL.md §8, each cell linked to "
       "that run's report in --out_dir. Exits 0 once the matrix is written, "
       "whatever its cells say, unless --fail_on_any.",
       {"client",        "client_cmd",
        "media_address", "server_identity",
        "candidates",    "profile",
        "seed",          "var",
        "jobs",          "time_scale",
        "filter",        "tags",
        "clock",         "cut_ready_timeout",
        "tls",           "quiet",
        "out_dir",       "html",
        "json",          "fail_on_any"},
       {{"jobs", absl::StrCat(kRunJobs)},
        {"client", "none: a column per --client"},
        {"out_dir",
         "\"\" (matrix in $TEST_UNDECLARED_OUTPUTS_DIR, else "
         "./talkcheck-matrix)"},
        {"html", "\"\" (OUT_DIR/matrix.html)"},
        {"json", "\"\" (OUT_DIR/matrix.json)"}}},
      {"record",
       "talkcheck record --out=FILE.xml [flags]",
       "Runs the fake server with --accounts, and the clients of "
       "--client_cmd (give it once per account, in the order of --accounts; "
       "{jid} is the account's bare JID) or clients you start yourself; when "
       "a call between two of them has ended, writes it as a scenario in "
       "which --cut is the client under test and the other side the "
       "simulated peer, with session ids, iq ids, JIDs, addresses, ports and "
       "usernames turned into variables and captures. Here exit code 1 means "
       "no call to write (none within --timeout, a second one, one that did "
       "not end) and 3 a client command that ended before any call.",
       {"out", "accounts", "client_cmd", "cut", "timeout", "listen", "tls",
        "client_log"},
       {{"client_cmd", "none (repeat the flag, one per account)"}}},
  };
  return *kSubcommands;
}

const Subcommand* FindSubcommand(const std::string& name) {
  for (const Subcommand& command : Subcommands())
    if (name == command.name) return &command;
  return nullptr;
}

// `text` in lines of at most 80 columns, each starting with `indent`.
std::string Wrapped(absl::string_view text, absl::string_view indent) {
  constexpr size_t kWidth = 80;
  std::string out;
  std::string line(indent);
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (line.size() > indent.size() && line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(&out, line, "\n");
      line = std::string(indent);
    }
    if (line.size() > indent.size()) line.push_back(' ');
    absl::StrAppend(&line, word);
  }
  absl::StrAppend(&out, line, "\n");
  return out;
}

void PrintOverview(std::ostream& out) {
  out << "talkcheck: a conformance harness for Google Talk voice clients.\n\n";
  for (const Subcommand& command : Subcommands())
    out << "  " << command.usage << "\n";
  out << "\n'talkcheck SUBCOMMAND --help' lists its flags.\n"
      << Wrapped(kExitCodesHelp, "");
}

// The subcommand's usage, then each of its flags with its default and help.
void PrintHelp(const Subcommand& command, std::ostream& out) {
  out << "usage: " << command.usage << "\n\n"
      << Wrapped(command.summary, "") << "\n";
  if (!command.flags.empty()) out << "Flags:\n";
  for (const char* name : command.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    auto shown = command.shown_defaults.find(name);
    std::string default_value = shown != command.shown_defaults.end()
                                    ? shown->second
                                    : flag->DefaultValue();
    if (default_value.empty()) default_value = "\"\"";
    out << "  --" << name << " (default: " << default_value << ")\n"
        << Wrapped(flag->Help(), "      ");
  }
  out << "\n" << Wrapped(kExitCodesHelp, "");
}

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-help" || arg == "-h" ||
        arg == "--helpfull" || arg == "--helpshort")
      return true;
  }
  return false;
}

// The first argument that is not a flag: the subcommand.
std::string SubcommandOf(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') return argv[i];
  }
  return "";
}

// Flags given on the command line that `command` does not take.
std::vector<std::string> ForeignFlags(const Subcommand& command, int argc,
                                      char** argv) {
  std::vector<std::string> foreign;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = arg.substr(0, arg.find('='));
    if (absl::StartsWith(name, "no")) {
      const std::string positive = name.substr(2);
      if (absl::FindCommandLineFlag(positive) != nullptr) name = positive;
    }
    if (std::find(command.flags.begin(), command.flags.end(), name) ==
        command.flags.end())
      foreign.push_back("--" + name);
  }
  return foreign;
}

absl::StatusOr<std::map<std::string, std::string>> Variables() {
  std::map<std::string, std::string> variables;
  for (const std::string& assignment : absl::GetFlag(FLAGS_var)) {
    std::vector<std::string> parts =
        absl::StrSplit(assignment, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("--var wants name=value, not '", assignment, "'"));
    }
    variables[parts[0]] = parts[1];
  }
  return variables;
}

int Lint(const std::vector<std::string>& files) {
  absl::StatusOr<std::map<std::string, std::string>> variables = Variables();
  if (!variables.ok()) {
    std::cerr << "talkcheck lint: " << variables.status().message() << "\n";
    return kExitError;
  }
  LoadOptions options;
  for (const auto& [name, value] : *variables)
    options.extra_variables.push_back(name);
  std::vector<LoadedScenario> loaded;
  // Warnings are printed, but only errors decide the exit status.
  if (!LoadScenarioFiles(files, options, loaded, std::cerr, &std::cerr)) {
    return kExitError;
  }
  // A quirk-8.N tag names a §8 item and has profile steps to tell it by.
  bool tags_ok = true;
  for (const LoadedScenario& item : loaded) {
    if (absl::StatusOr<std::vector<std::string>> quirks =
            ProbedQuirks(item.scenario);
        !quirks.ok()) {
      std::cerr << item.file << ": " << quirks.status().message() << "\n";
      tags_ok = false;
    }
  }
  if (!tags_ok) return kExitError;
  std::cout << files.size() << " file(s) OK\n";
  return kExitPass;
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
  const int jobs = absl::GetFlag(FLAGS_jobs);
  options.jobs = jobs > 0 ? jobs : kFuzzJobs;
  options.client.faults = absl::GetFlag(FLAGS_fault);
  options.client.dialect = absl::GetFlag(FLAGS_dialect);
  options.client.codecs = absl::GetFlag(FLAGS_codecs);
  options.client.answer_after = absl::GetFlag(FLAGS_answer_after);
  options.profile = absl::GetFlag(FLAGS_profile);
  options.client.command = absl::GetFlag(FLAGS_client_cmd);
  options.client.time_scale = absl::GetFlag(FLAGS_time_scale);
  options.shrink_budget = absl::GetFlag(FLAGS_shrink_budget);
  options.shrink_time = absl::GetFlag(FLAGS_shrink_time);
  options.client.client_log = absl::GetFlag(FLAGS_client_log);
  options.replay_dir = absl::GetFlag(FLAGS_replay_dir);
  options.json = absl::GetFlag(FLAGS_json);
  options.junit = absl::GetFlag(FLAGS_junit);
  options.html = absl::GetFlag(FLAGS_html);
  return FuzzCommand(options);
}

absl::StatusOr<fake_server::ServerConfig::TlsMode> TlsFromFlag() {
  const std::string tls = absl::GetFlag(FLAGS_tls);
  if (tls == "required") return fake_server::ServerConfig::TLS_REQUIRED;
  if (tls == "optional") return fake_server::ServerConfig::TLS_OPTIONAL;
  if (tls == "off") return fake_server::ServerConfig::TLS_OFF;
  return absl::InvalidArgumentError("--tls must be required, optional or off");
}

absl::StatusOr<RunCommandOptions> RunOptionsFromFlags(
    const std::vector<std::string>& files) {
  RunCommandOptions options;
  options.files = files;
  options.runner.seed = absl::GetFlag(FLAGS_seed);
  options.runner.cut_ready_timeout = absl::GetFlag(FLAGS_cut_ready_timeout);
  absl::StatusOr<std::map<std::string, std::string>> variables = Variables();
  if (!variables.ok()) return variables.status();
  options.runner.variables = *std::move(variables);

  options.client_cmd = absl::GetFlag(FLAGS_client_cmd);
  options.client_log = absl::GetFlag(FLAGS_client_log);
  options.faults = absl::GetFlag(FLAGS_fault);
  options.dialect = absl::GetFlag(FLAGS_dialect);
  options.codecs = absl::GetFlag(FLAGS_codecs);
  options.answer_after = absl::GetFlag(FLAGS_answer_after);
  options.runner.media_address = absl::GetFlag(FLAGS_media_address);
  options.runner.call_caps_wait = absl::GetFlag(FLAGS_call_caps_wait);
  options.server_identity = absl::GetFlag(FLAGS_server_identity);
  options.profile = absl::GetFlag(FLAGS_profile);
  absl::StatusOr<reference_client::VoiceClientOptions> reference =
      ReferenceClientOptions(options.faults, options.dialect, options.codecs,
                             options.answer_after);
  if (!reference.ok()) return reference.status();
  absl::StatusOr<reference_client::VoiceClientOptions::CandidateTypes>
      candidates = reference_client::ParseCandidateTypes(
          absl::GetFlag(FLAGS_candidates));
  if (!candidates.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--candidates: ", candidates.status().message()));
  }
  reference->candidates = *candidates;
  // The in-process reference client puts its host candidates on the same
  // address, so that the two can pair.
  reference->media_address = options.runner.media_address;
  options.reference = *std::move(reference);

  absl::StatusOr<fake_server::ServerConfig::TlsMode> tls = TlsFromFlag();
  if (!tls.ok()) return tls.status();
  options.tls = *tls;
  const std::string clock = absl::GetFlag(FLAGS_clock);
  if (clock != "real" && clock != "virtual")
    return absl::InvalidArgumentError("--clock must be real or virtual");
  options.virtual_clock = clock == "virtual";
  const int jobs = absl::GetFlag(FLAGS_jobs);
  options.jobs = jobs > 0 ? jobs : kRunJobs;
  options.time_scale = absl::GetFlag(FLAGS_time_scale);
  options.filter = absl::GetFlag(FLAGS_filter);
  options.tags = absl::GetFlag(FLAGS_tags);
  options.quiet = absl::GetFlag(FLAGS_quiet);
  for (auto [flag, port] :
       {std::pair{"--stun_port", absl::GetFlag(FLAGS_stun_port)},
        std::pair{"--relay_http_port", absl::GetFlag(FLAGS_relay_http_port)},
        std::pair{"--relay_udp_port", absl::GetFlag(FLAGS_relay_udp_port)}}) {
    if (port < 0 || port > 65535)
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " must be a port number (0-65535)"));
  }
  options.stun_port = static_cast<uint16_t>(absl::GetFlag(FLAGS_stun_port));
  options.relay_http_port =
      static_cast<uint16_t>(absl::GetFlag(FLAGS_relay_http_port));
  options.relay_udp_port =
      static_cast<uint16_t>(absl::GetFlag(FLAGS_relay_udp_port));
  options.junit = absl::GetFlag(FLAGS_junit);
  options.json = absl::GetFlag(FLAGS_json);
  options.pcap = absl::GetFlag(FLAGS_pcap);
  options.html = absl::GetFlag(FLAGS_html);
  options.serve = absl::GetFlag(FLAGS_serve);
  options.serve_any_address = absl::GetFlag(FLAGS_serve_any_address);
  options.serve_wait = absl::GetFlag(FLAGS_serve_wait);
  options.serve_linger = absl::GetFlag(FLAGS_serve_linger);
  options.trace = absl::GetFlag(FLAGS_trace);
  return options;
}

int Record(int argc, char** argv) {
  RecordCommandOptions options;
  options.out = absl::GetFlag(FLAGS_out);
  options.accounts = absl::GetFlag(FLAGS_accounts);
  for (auto& [flag, value] : RepeatedFlagValues({"client_cmd"}, argc, argv))
    options.client_cmds.push_back(std::move(value));
  options.cut = absl::GetFlag(FLAGS_cut);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.listen = absl::GetFlag(FLAGS_listen);
  options.client_log = absl::GetFlag(FLAGS_client_log);
  absl::StatusOr<fake_server::ServerConfig::TlsMode> tls = TlsFromFlag();
  if (!tls.ok()) {
    std::cerr << "talkcheck record: " << tls.status().message() << "\n";
    return kExitError;
  }
  options.tls = *tls;
  return RecordCommand(options);
}

int Run(const std::vector<std::string>& files) {
  if (absl::GetFlag(FLAGS_client_cmd).empty() &&
      absl::GetFlag(FLAGS_client) != "reference") {
    std::cerr << "talkcheck run: --client must be 'reference' (or use "
                 "--client_cmd)\n";
    return kExitError;
  }
  absl::StatusOr<RunCommandOptions> options = RunOptionsFromFlags(files);
  if (!options.ok()) {
    std::cerr << "talkcheck run: " << options.status().message() << "\n";
    return kExitError;
  }
  return RunCommand(*options);
}

// Every --client and --client_cmd is a column; the other flags are shared.
int Matrix(const std::vector<std::string>& files, int argc, char** argv) {
  absl::StatusOr<RunCommandOptions> run = RunOptionsFromFlags(files);
  if (!run.ok()) {
    std::cerr << "talkcheck matrix: " << run.status().message() << "\n";
    return kExitError;
  }
  absl::StatusOr<std::vector<MatrixColumn>> columns =
      MatrixColumnsFromArgs(argc, argv);
  if (!columns.ok()) {
    std::cerr << "talkcheck matrix: " << columns.status().message() << "\n";
    return kExitError;
  }
  MatrixCommandOptions options;
  options.run = *std::move(run);
  options.columns = *std::move(columns);
  options.out_dir = absl::GetFlag(FLAGS_out_dir);
  options.html = absl::GetFlag(FLAGS_html);
  options.json = absl::GetFlag(FLAGS_json);
  options.fail_on_any = absl::GetFlag(FLAGS_fail_on_any);
  return MatrixCommand(options);
}

}  // namespace

int TalkcheckMain(int argc, char** argv) {
  using talkcheck::harness::FindSubcommand;
  using talkcheck::harness::kExitError;
  using talkcheck::harness::kExitPass;
  const std::string name = talkcheck::harness::SubcommandOf(argc, argv);
  const talkcheck::harness::Subcommand* command = FindSubcommand(name);
  // Help comes before absl's parsing, which knows only the whole binary's
  // flags and exits 1 after printing them.
  if (name == "help" || (command == nullptr && (argc < 2 || name.empty()) &&
                         talkcheck::harness::WantsHelp(argc, argv))) {
    talkcheck::harness::PrintOverview(std::cout);
    return kExitPass;
  }
  if (command != nullptr && talkcheck::harness::WantsHelp(argc, argv)) {
    talkcheck::harness::PrintHelp(*command, std::cout);
    return kExitPass;
  }
  if (command == nullptr) {
    if (!name.empty())
      std::cerr << "talkcheck: no subcommand '" << name << "'\n";
    talkcheck::harness::PrintOverview(std::cerr);
    return kExitError;
  }
  if (std::vector<std::string> foreign =
          talkcheck::harness::ForeignFlags(*command, argc, argv);
      !foreign.empty()) {
    std::cerr << "talkcheck " << command->name << ": "
              << absl::StrJoin(foreign, ", ") << " not a flag of this "
              << "subcommand ('talkcheck " << command->name
              << " --help' lists them)\n";
    return kExitError;
  }
  absl::SetProgramUsageMessage("talkcheck help lists the subcommands");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  // A client under test that dies must not take the harness with it.
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> operands;
  bool seen_command = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (!seen_command && name == args[i]) {
      seen_command = true;
      continue;
    }
    operands.push_back(args[i]);
  }
  const std::string subcommand = command->name;
  if (subcommand == "fuzz" && operands.empty())
    return talkcheck::harness::Fuzz();
  if (subcommand == "replay" && operands.size() == 1) {
    talkcheck::harness::ReplayCommandOptions replay;
    replay.file = operands[0];
    replay.client_cmd = absl::GetFlag(FLAGS_client_cmd);
    replay.client_log = absl::GetFlag(FLAGS_client_log);
    replay.json = absl::GetFlag(FLAGS_json);
    return talkcheck::harness::ReplayCommand(replay);
  }
  if (subcommand == "lint" && !operands.empty())
    return talkcheck::harness::Lint(operands);
  if (subcommand == "run" && !operands.empty())
    return talkcheck::harness::Run(operands);
  if (subcommand == "matrix" && !operands.empty())
    return talkcheck::harness::Matrix(operands, argc, argv);
  if (subcommand == "record" && operands.empty())
    return talkcheck::harness::Record(argc, argv);
  std::cerr << "usage: " << command->usage << "\n('talkcheck " << subcommand
            << " --help' lists its flags)\n";
  return kExitError;
}

}  // namespace talkcheck::harness

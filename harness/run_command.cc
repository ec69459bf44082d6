#include "harness/run_command.h"

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/asio_clock.h"
#include "base/mt19937_64.h"
#include "fake_server/config.h"
#include "fake_server/server.h"
#include "harness/capture/pcap_file.h"
#include "harness/capture/trace_file.h"
#include "harness/capture/world_capture.h"
#include "harness/fuzz/schedule_run.h"
#include "harness/live/live_server.h"
#include "harness/report/exit_codes.h"
#include "harness/report/html_report.h"
#include "harness/report/report_files.h"
#include "harness/report/report_writer.h"
#include "harness/run/client_log.h"
#include "harness/run/client_under_test.h"
#include "harness/scenario/profiles.h"
#include "harness/scenario/scaled_timings.h"
#include "harness/scenario/scenario_files.h"
#include "media_sim/datagram_network.h"
#include "media_sim/relay_server.h"
#include "media_sim/stun_server.h"
#include "media_sim/tapped_network.h"

namespace talkcheck::harness {
namespace {

// Salts of the seed, one per consumer (as before scenarios ran in parallel),
// so a scenario draws the same whether it runs alone or in the library.
constexpr uint64_t kClientSeedSalt = 0x5eed;
constexpr uint64_t kRelaySeedSalt = 0x7e1a;

ScenarioResult ErrorResult(const LoadedScenario& item,
                           const std::string& client,
                           const std::string& message) {
  ScenarioResult result;
  result.set_name(item.scenario.name());
  result.set_file(item.file);
  result.set_client(client);
  result.set_verdict(ERROR);
  result.set_failure(message);
  return result;
}

// The in-process reference client as a ClientSpec.
ClientSpec SpecOf(const RunCommandOptions& options) {
  ClientSpec spec;
  spec.faults = options.faults;
  spec.dialect = options.dialect;
  spec.codecs = options.codecs;
  spec.answer_after = options.answer_after;
  return spec;
}

std::string ClientName(const RunCommandOptions& options) {
  if (!options.client_cmd.empty()) return options.client_cmd;
  return SpecOf(options).Describe();
}

// How much of an external client's output a report carries.
constexpr size_t kClientOutputLimit = 64 * 1024;

// The last kClientOutputLimit bytes of `output`, saying how much came before.
std::string Tail(const std::string& output) {
  if (output.size() <= kClientOutputLimit) return output;
  return absl::StrCat("[", output.size() - kClientOutputLimit,
                      " bytes before these left out]\n",
                      output.substr(output.size() - kClientOutputLimit));
}

// One scenario in a world of its own on the real clock: the fake server, the
// STUN server and relay it announces in google:jingleinfo (PROTOCOL.md §5),
// the peer and the client under test, all on one io_context.
ScenarioResult RunOnRealClock(const LoadedScenario& item,
                              const RunCommandOptions& options, PcapFile* pcap,
                              TraceFile* trace) {
  boost::asio::io_context io;
  AsioClock clock(io);
  RunnerOptions runner_options = options.runner;
  runner_options.call_caps_wait *= options.time_scale;
  runner_options.call_caps_grace *= options.time_scale;
  media_sim::StunServerOptions stun_options;
  stun_options.port = options.stun_port;
  absl::StatusOr<std::unique_ptr<media_sim::StunServer>> stun =
      media_sim::StunServer::Create(io, stun_options);
  if (!stun.ok()) {
    return ErrorResult(item, ClientName(options),
                       absl::StrCat("STUN server: ", stun.status().message()));
  }
  Mt19937_64 relay_bitgen(runner_options.seed ^ kRelaySeedSalt);
  media_sim::RelayServerOptions relay_options;
  relay_options.http_port = options.relay_http_port;
  relay_options.udp_port = options.relay_udp_port;
  relay_options.stun_server = (*stun)->local_endpoint();
  // The relay candidates the peer announces are media addresses: on the one
  // its host candidates use, so that a client that cannot reach 127.0.0.1
  // from its own address (libnice on another interface) reaches them too.
  relay_options.external_address = runner_options.media_address;
  absl::StatusOr<std::unique_ptr<media_sim::RelayServer>> relay =
      media_sim::RelayServer::Create(io, clock, relay_bitgen, relay_options);
  if (!relay.ok()) {
    return ErrorResult(item, ClientName(options),
                       absl::StrCat("relay: ", relay.status().message()));
  }
  fake_server::ServerConfig config;
  config.set_tls(options.tls);
  // A client that logs in over WebSocket (RFC 7395) gets a listener for it.
  if (absl::StrContains(options.client_cmd, "{ws_url}"))
    config.add_websocket_listen("127.0.0.1:0");
  if (absl::Status identity = fake_server::ApplyServerIdentityProfile(
          options.server_identity, config);
      !identity.ok()) {
    return ErrorResult(item, ClientName(options),
                       absl::StrCat("--server_identity: ", identity.message()));
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
  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(config, io, clock, runner_options.seed);
  if (!server.ok()) {
    return ErrorResult(
        item, ClientName(options),
        absl::StrCat("fake server: ", server.status().message()));
  }

  // The capture sees the client's TCP through the server's wire tap and the
  // peer's datagrams through the network its sockets come from.
  // The trace sees the routed stanzas and the same datagrams.
  std::optional<WorldCapture> capture;
  std::optional<media_sim::UdpNetwork> udp;
  std::optional<media_sim::TappedNetwork> tapped;
  int trace_observer = 0;
  if (pcap != nullptr || trace != nullptr) {
    media_sim::TappedNetwork::Tap pcap_tap;
    if (pcap != nullptr) {
      capture.emplace(*pcap, **server, runner_options.cut_username);
      (*server)->set_wire_tap(&*capture);
      pcap_tap = capture->UdpTap();
    }
    media_sim::TappedNetwork::Tap trace_tap;
    if (trace != nullptr) {
      trace_tap = trace->UdpTap(item.scenario.name());
      trace_observer = (*server)->router().AddObserver(
          [trace, name = item.scenario.name()](
              const fake_server::RoutedStanza& s) { trace->Stanza(name, s); });
    }
    udp.emplace(io);
    tapped.emplace(*udp,
                   [pcap_tap, trace_tap](const media_sim::UdpEndpoint& from,
                                         const media_sim::UdpEndpoint& to,
                                         absl::string_view datagram) {
                     if (pcap_tap) pcap_tap(from, to, datagram);
                     if (trace_tap) trace_tap(from, to, datagram);
                   });
    runner_options.network = &*tapped;
  }

  std::optional<ClientLog> log;
  Mt19937_64 client_bitgen(runner_options.seed ^ kClientSeedSalt);
  std::unique_ptr<ClientUnderTest> cut;
  if (options.client_cmd.empty()) {
    reference_client::VoiceClientOptions reference = options.reference;
    reference.ScaleTimers(options.time_scale);
    // jingleinfo names only the relay's host; the in-process client is told
    // the port of its create_session.
    reference.relay_http_port = (*relay)->http_endpoint().port();
    cut = MakeReferenceClient(io, clock, client_bitgen, reference);
  } else {
    log.emplace(options.client_log);
    cut = MakeExternalClient(clock, options.client_cmd, log->path());
  }
  std::optional<ScenarioResult> result;
  {
    ScenarioRunner runner(io, clock, **server,
                          ScaleTimings(item.scenario, options.time_scale),
                          item.file, std::move(cut), runner_options);
    runner.Run([&result](ScenarioResult r) { result = std::move(r); });
    while (!result.has_value() && io.run_one() > 0) {
    }
  }
  if (trace_observer != 0) (*server)->router().RemoveObserver(trace_observer);
  (*server)->Stop();
  io.restart();
  io.poll();
  const std::string output =
      log ? Tail(log->Finish(
                absl::StrCat(item.scenario.name(), " (", item.file, ")")))
          : "";
  if (!result.has_value()) {
    result = ErrorResult(item, ClientName(options),
                         "the run ended without a result");
  }
  result->set_client_output(output);
  return *std::move(result);
}

// One scenario in a world of its own on the virtual clock (the unperturbed
// schedule of timeout fuzzing): no socket, no real time.
ScenarioResult RunOnVirtualClock(const LoadedScenario& item,
                                 const RunCommandOptions& options) {
  const ClientSpec client = SpecOf(options);
  Schedule schedule;
  schedule.set_seed(options.runner.seed);
  absl::StatusOr<ScheduleOutcome> outcome = RunSchedule(
      item.scenario, item.file, client, schedule, options.runner.variables);
  if (outcome.ok()) return outcome->result;
  return ErrorResult(item, client.Describe(),
                     std::string(outcome.status().message()));
}

// A scenario tagged "g2-caller" needs a client that places its calls in G2
// (issue 9 §3): the bundled reference client is told to for that scenario. An
// external client is run as it is: its dialect is its own.
RunCommandOptions ForScenario(const RunCommandOptions& options,
                              const Scenario& scenario) {
  const bool g2_caller =
      std::find(scenario.tags().begin(), scenario.tags().end(), "g2-caller") !=
      scenario.tags().end();
  if (!g2_caller || !options.client_cmd.empty() || options.dialect == "g2")
    return options;
  RunCommandOptions adjusted = options;
  adjusted.dialect = "g2";
  adjusted.reference.dialect =
      reference_client::VoiceClientOptions::Dialect::kG2;
  return adjusted;
}

// How long the live view's browsers get to take the final report.
constexpr absl::Duration kLiveGrace = absl::Seconds(2);

// The runner's progress, into the live view as scenario `index`.
RunnerOptions::Progress LiveProgress(LiveReport& live, size_t index) {
  const int i = static_cast<int>(index);
  RunnerOptions::Progress progress;
  progress.stanza = [&live, i](const StanzaRecord& r) { live.Stanza(i, r); };
  progress.step = [&live, i](const StepResult& s) { live.Step(i, s); };
  progress.media_sample = [&live, i](const StepResult& step,
                                     const MediaSample& sample) {
    live.Sample(i, step, sample);
  };
  return progress;
}

const char* VerdictWord(Verdict verdict) {
  switch (verdict) {
    case PASS:
      return "PASS ";
    case FAIL:
      return "FAIL ";
    case SKIPPED:  // an <end verdict="not-applicable"> ended it
      return "N/A  ";
    default:
      return "ERROR";
  }
}

// The scenarios of a run, handed to worker threads one at a time, with what
// the progress line needs to know about those running.
class Pool {
 public:
  explicit Pool(const std::vector<LoadedScenario>& items)
      : items_(items),
        results_(items.size()),
        started_(items.size()),
        order_(StartOrder(Deadlines(items))) {}

  // The next scenario to run, or nullopt when all have been handed out.
  std::optional<size_t> Take(absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_ == order_.size()) return std::nullopt;
    const size_t index = order_[next_++];
    started_[index] = now;
    return index;
  }

  void Done(size_t index, ScenarioResult result) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (result.verdict() != PASS) ++failed_;
      results_[index] = std::move(result);
    }
    changed_.notify_all();
  }

  // Waits until a scenario ends or `timeout` passes; hands over the results,
  // in order, that follow those already handed over.
  std::vector<ScenarioResult> NextInOrder(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (printed_ < results_.size() && !results_[printed_].has_value()) {
      changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout));
    }
    std::vector<ScenarioResult> out;
    while (printed_ < results_.size() && results_[printed_].has_value()) {
      out.push_back(*std::move(results_[printed_]));
      results_[printed_].reset();
      ++printed_;
    }
    return out;
  }

  bool AllPrinted() {
    std::lock_guard<std::mutex> lock(mu_);
    return printed_ == results_.size();
  }

  // "12/31 done, 3 running, 1 failed; slowest: ring-timeout (17.2s left)".
  std::string Progress(absl::Time now, double time_scale) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t done = 0;
    int running = 0;
    std::optional<size_t> oldest;
    for (size_t i = 0; i < items_.size(); ++i) {
      if (!started_[i].has_value()) continue;
      // Printed results are moved out: everything before printed_ is done.
      if (i < printed_ || results_[i].has_value()) {
        ++done;
        continue;
      }
      ++running;
      if (!oldest.has_value() || started_[i] < started_[*oldest]) oldest = i;
    }
    std::string line = absl::StrFormat("%d/%d done, %d running, %d failed",
                                       done, results_.size(), running, failed_);
    if (oldest.has_value()) {
      const Scenario& s = items_[*oldest].scenario;
      const absl::Duration bound =
          absl::Milliseconds(s.timeout().ms()) * time_scale;
      const absl::Duration left = bound - (now - *started_[*oldest]);
      absl::StrAppendFormat(&line, "; slowest: %s (%.1fs left)", s.name(),
                            std::max(0.0, absl::ToDoubleSeconds(left)));
    }
    return line;
  }

 private:
  const std::vector<LoadedScenario>& items_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::optional<ScenarioResult>> results_;
  std::vector<std::optional<absl::Time>> started_;  // nullopt: not yet
  static std::vector<int64_t> Deadlines(
      const std::vector<LoadedScenario>& items) {
    std::vector<int64_t> ms;
    for (const LoadedScenario& item : items)
      ms.push_back(item.scenario.timeout().ms());
    return ms;
  }
  const std::vector<size_t> order_;
  size_t next_ = 0;
  size_t printed_ = 0;
  int failed_ = 0;
};

// Checks the options against each other before anything starts.
absl::Status Validate(const RunCommandOptions& options) {
  if (options.jobs < 1) return absl::InvalidArgumentError("--jobs must be ≥ 1");
  if (options.time_scale <= 0)
    return absl::InvalidArgumentError("--time_scale must be positive");
  if (!options.serve.empty()) {
    absl::StatusOr<boost::asio::ip::tcp::endpoint> where =
        ParseServeAddress(options.serve, options.serve_any_address);
    if (!where.ok()) return where.status();
  }
  if (options.virtual_clock) {
    if (options.reference.candidates.stun || options.reference.candidates.relay)
      return absl::InvalidArgumentError(
          "--clock=virtual has no STUN server or relay: --candidates must be "
          "host");
    if (!options.client_cmd.empty())
      return absl::InvalidArgumentError(
          "--clock=virtual needs the in-process reference client: an external "
          "client runs on the real clock");
    if (!options.pcap.empty() || !options.trace.empty())
      return absl::InvalidArgumentError(
          "--pcap and --trace record real sockets: the virtual clock has none");
    if (options.time_scale != 1.0)
      return absl::InvalidArgumentError(
          "--time_scale applies to the real clock: the virtual clock already "
          "skips every wait");
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<size_t> StartOrder(const std::vector<int64_t>& deadlines_ms) {
  std::vector<size_t> order(deadlines_ms.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return deadlines_ms[a] > deadlines_ms[b];
  });
  return order;
}

bool Selected(const std::string& name, const std::vector<std::string>& tags,
              const std::string& filter,
              const std::vector<std::string>& wanted_tags) {
  bool included = false;
  bool any_include = false;
  for (absl::string_view glob :
       absl::StrSplit(filter, ',', absl::SkipWhitespace())) {
    const bool exclude = absl::ConsumePrefix(&glob, "-");
    const std::string pattern(glob);
    const bool match = fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
    if (exclude && match) return false;
    if (!exclude) {
      any_include = true;
      included = included || match;
    }
  }
  if (any_include && !included) return false;
  bool tag_included = false;
  bool any_tag_include = false;
  for (std::string wanted : wanted_tags) {
    absl::string_view tag = wanted;
    const bool exclude = absl::ConsumePrefix(&tag, "-");
    const bool has =
        std::find(tags.begin(), tags.end(), std::string(tag)) != tags.end();
    if (exclude && has) return false;
    if (!exclude) {
      any_tag_include = true;
      tag_included = tag_included || has;
    }
  }
  return !any_tag_include || tag_included;
}

int RunCommand(const RunCommandOptions& options, RunReport* report_out) {
  if (absl::Status valid = Validate(options); !valid.ok()) {
    std::cerr << "talkcheck run: " << valid.message() << "\n";
    return kExitError;
  }
  LoadOptions load_options;
  for (const auto& [name, value] : options.runner.variables)
    load_options.extra_variables.push_back(name);
  std::vector<LoadedScenario> loaded;
  if (!LoadScenarioFiles(options.files, load_options, loaded, std::cerr))
    return kExitError;
  std::vector<LoadedScenario> items;
  for (LoadedScenario& item : loaded) {
    if (absl::Status applied = ApplyProfile(options.profile, item.scenario);
        !applied.ok()) {
      std::cerr << "talkcheck run: --profile: " << applied.message() << "\n";
      return kExitError;
    }
    const auto& tags = item.scenario.tags();
    if (Selected(item.scenario.name(), {tags.begin(), tags.end()},
                 options.filter, options.tags))
      items.push_back(std::move(item));
  }
  if (items.empty()) {
    std::cerr << "talkcheck run: no scenario matches --filter / --tags\n";
    return kExitError;
  }

  // Fixed ports cannot be shared by worlds running at once.
  const bool fixed_ports = options.stun_port != 0 ||
                           options.relay_http_port != 0 ||
                           options.relay_udp_port != 0;
  const int jobs =
      fixed_ports ? 1
                  : std::min<int>(options.jobs, static_cast<int>(items.size()));
  std::unique_ptr<PcapFile> pcap;
  std::string pcap_path = options.pcap;
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (pcap_path.empty() && outputs != nullptr && !options.virtual_clock)
    pcap_path = absl::StrCat(outputs, "/talkcheck.pcap");
  if (!pcap_path.empty()) {
    absl::StatusOr<std::unique_ptr<PcapFile>> file =
        PcapFile::Create(pcap_path);
    if (!file.ok()) {
      std::cerr << "talkcheck run: " << file.status().message() << "\n";
      return kExitError;
    }
    pcap = *std::move(file);
  }
  std::unique_ptr<TraceFile> trace;
  if (!options.trace.empty()) {
    absl::StatusOr<std::unique_ptr<TraceFile>> file =
        TraceFile::Create(options.trace);
    if (!file.ok()) {
      std::cerr << "talkcheck run: " << file.status().message() << "\n";
      return kExitError;
    }
    trace = *std::move(file);
  }
  std::unique_ptr<LiveReport> live;
  std::unique_ptr<LiveServer> server;
  if (!options.serve.empty()) {
    std::vector<LiveScenario> names;
    for (const LoadedScenario& item : items)
      names.push_back({item.scenario.name(), item.file});
    live = std::make_unique<LiveReport>(names);
    LiveServerOptions live_options;
    live_options.check_host = !options.serve_any_address;
    absl::StatusOr<std::unique_ptr<LiveServer>> started = LiveServer::Start(
        *live, *ParseServeAddress(options.serve, options.serve_any_address),
        live_options);
    if (!started.ok()) {
      std::cerr << "talkcheck run: " << started.status().message() << "\n";
      return kExitError;
    }
    server = *std::move(started);
    std::cout << "talkcheck: live report at " << server->url() << std::endl;
    if (options.serve_wait > absl::ZeroDuration()) {
      std::cout << "talkcheck: waiting up to "
                << absl::FormatDuration(options.serve_wait)
                << " for a browser to open it" << std::endl;
      if (!server->WaitForClient(options.serve_wait))
        std::cout << "talkcheck: no browser came; the run starts" << std::endl;
    }
  }
  const absl::Time wall_start = absl::Now();
  Pool pool(items);
  std::vector<std::thread> workers;
  for (int i = 0; i < jobs; ++i) {
    workers.emplace_back([&] {
      while (std::optional<size_t> index = pool.Take(absl::Now())) {
        const LoadedScenario& item = items[*index];
        RunCommandOptions scenario_options =
            ForScenario(options, item.scenario);
        if (live != nullptr)
          scenario_options.runner.progress = LiveProgress(*live, *index);
        ScenarioResult result = options.virtual_clock
                                    ? RunOnVirtualClock(item, scenario_options)
                                    : RunOnRealClock(item, scenario_options,
                                                     pcap.get(), trace.get());
        if (live != nullptr) live->Finished(*index, result);
        pool.Done(*index, std::move(result));
      }
    });
  }

  RunReport report;
  report.set_seed(options.runner.seed);
  const bool tty = isatty(STDERR_FILENO) == 1 && !options.quiet;
  bool never_ready = false;
  while (!pool.AllPrinted()) {
    std::vector<ScenarioResult> finished =
        pool.NextInOrder(absl::Milliseconds(250));
    if (tty) std::cerr << "\r\033[K" << std::flush;
    for (ScenarioResult& result : finished) {
      if (absl::StrContains(result.failure(), kCutNeverReady))
        never_ready = true;
      if (!options.quiet) {
        std::cout << VerdictWord(result.verdict()) << " " << result.name()
                  << std::endl;
        for (const std::string& warning : result.warnings())
          std::cout << "      " << warning << std::endl;
      }
      *report.add_scenarios() = std::move(result);
    }
    if (tty && !pool.AllPrinted())
      std::cerr << "talkcheck: "
                << pool.Progress(absl::Now(), options.time_scale) << std::flush;
  }
  for (std::thread& worker : workers) worker.join();

  CountVerdicts(report);
  report.set_wall_us(absl::ToInt64Microseconds(absl::Now() - wall_start));
  const std::string summary = TextSummary(report);
  if (options.quiet) {
    // The last line alone: "N passed, N failed, N errors (seed S, T s)".
    std::vector<absl::string_view> lines =
        absl::StrSplit(summary, '\n', absl::SkipEmpty());
    std::cout << lines.back() << "\n";
  } else {
    std::cout << "\n" << summary;
  }
  WriteReportFiles(options.junit, JUnitXml(report), options.json,
                   JsonReport(report));
  if (!options.html.empty()) {
    if (absl::Status s = WriteFile(options.html, HtmlReport(report)); !s.ok())
      std::cerr << "talkcheck: " << s.message() << "\n";
  }
  if (server != nullptr) {
    live->RunDone(report);
    if (options.serve_linger > absl::ZeroDuration()) {
      std::cout << "talkcheck: the final report stays at " << server->url()
                << " for " << absl::FormatDuration(options.serve_linger)
                << std::endl;
      absl::SleepFor(options.serve_linger);
    }
    server->Stop(kLiveGrace);
  }

  const bool errors = report.errors() > 0;
  const bool failed = report.failed() > 0;
  if (report_out != nullptr) *report_out = std::move(report);
  if (never_ready) return kExitNotReady;
  if (errors) return kExitError;
  if (failed) return kExitFail;
  return kExitPass;
}

}  // namespace talkcheck::harness

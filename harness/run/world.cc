#include "harness/run/world.h"

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/asio_clock.h"
#include "base/mt19937_64.h"
#include "base/virtual_clock.h"
#include "base/virtual_driver.h"
#include "fake_server/server.h"
#include "harness/run/client_log.h"
#include "reference_client/faults.h"

namespace talkcheck::harness {
namespace {

// Seeds derived from the run's, one per consumer, so that adding a draw in one
// place does not shift another's.
constexpr uint64_t kClientSeedSalt = 0x5eed;

absl::Duration RunLimit(const Scenario& scenario,
                        const RunnerOptions& options) {
  return absl::Milliseconds(scenario.timeout().ms()) + options.settle +
         absl::Seconds(60);
}

}  // namespace

std::string ClientSpec::Describe() const {
  if (in_process) return in_process_name;
  if (external()) return command;
  std::string text = "reference";
  if (!faults.empty()) absl::StrAppend(&text, " --fault=", faults);
  if (dialect != "g1") absl::StrAppend(&text, " --dialect=", dialect);
  if (!codecs.empty()) absl::StrAppend(&text, " --codecs=", codecs);
  if (answer_after != absl::InfiniteDuration()) {
    absl::StrAppend(&text,
                    " --answer_after=", absl::FormatDuration(answer_after));
  }
  return text;
}

absl::StatusOr<reference_client::VoiceClientOptions> ReferenceClientOptions(
    const std::string& faults, const std::string& dialect,
    const std::string& codecs, absl::Duration answer_after) {
  reference_client::VoiceClientOptions options;
  options.auto_answer_after = answer_after;
  if (!codecs.empty()) {
    absl::StatusOr<std::vector<reference_client::Codec>> parsed =
        reference_client::ParseCodecList(codecs);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--codecs: ", parsed.status().message()));
    }
    options.codecs = *std::move(parsed);
  }
  absl::StatusOr<reference_client::FaultSet> parsed =
      reference_client::ParseFaults(faults);
  if (!parsed.ok()) return parsed.status();
  for (reference_client::Fault fault : *parsed) {
    if (reference_client::IsProcessFault(fault)) {
      const absl::string_view name = reference_client::FaultName(fault);
      return absl::InvalidArgumentError(absl::StrCat(
          "--fault=", name,
          " acts on the client's own process, which is talkcheck's for the "
          "linked-in reference client: run the reference client binary "
          "instead, --client_cmd='reference_client --server={host}:{port} "
          "--jid={jid} --password={password} --fault=",
          name, "'"));
    }
  }
  options.faults = *std::move(parsed);
  if (dialect == "g2") {
    options.dialect = reference_client::VoiceClientOptions::Dialect::kG2;
  } else if (dialect == "g3") {
    options.dialect = reference_client::VoiceClientOptions::Dialect::kG3;
  } else if (dialect != "g1") {
    return absl::InvalidArgumentError("--dialect must be g1, g2 or g3");
  }
  return options;
}

absl::StatusOr<ScenarioResult> RunInVirtualWorld(
    Scenario scenario, const std::string& file, const ClientSpec& client,
    RunnerOptions options, media_sim::InMemoryNetwork::FateFunction fate) {
  absl::StatusOr<reference_client::VoiceClientOptions> client_options =
      ReferenceClientOptions(client.faults, client.dialect, client.codecs,
                             client.answer_after);
  if (!client.in_process && !client_options.ok())
    return client_options.status();

  // Nothing in a virtual world runs on another thread (docs/fuzzing.md), so
  // the scheduler need not lock.
  boost::asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE);
  VirtualClock clock;
  fake_server::ServerConfig config;
  config.set_tls(fake_server::ServerConfig::TLS_OFF);
  config.set_in_memory_only(true);
  // Schedules stretch runs past the server's 5 min idle limit; what a client
  // does about XMPP keepalives is not what timeout fuzzing checks.
  config.mutable_limits()->set_idle_timeout_ms(3600 * 1000);
  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(config, io, clock, options.seed);
  if (!server.ok()) return server.status();
  media_sim::InMemoryNetwork network(clock);
  network.set_fate(std::move(fate));
  Mt19937_64 client_bitgen(options.seed ^ kClientSeedSalt);
  std::unique_ptr<ClientUnderTest> cut;
  if (client.in_process) {
    cut = client.in_process(io, clock, client_bitgen, network);
  } else {
    client_options->network = &network;
    cut = MakeReferenceClient(io, clock, client_bitgen, *client_options);
  }

  options.in_memory = true;
  options.network = &network;
  const absl::Duration limit = RunLimit(scenario, options);
  std::optional<ScenarioResult> result;
  {
    ScenarioRunner runner(io, clock, **server, std::move(scenario), file,
                          std::move(cut), std::move(options));
    runner.Run([&result](ScenarioResult r) { result = std::move(r); });
    const bool done = RunVirtual(
        io, clock, [&result] { return result.has_value(); },
        clock.Now() + limit);
    if (!done) {
      return absl::InternalError(
          absl::StrCat("the run neither finished nor stalled within ",
                       absl::FormatDuration(limit), " of virtual time"));
    }
  }
  (*server)->Stop();
  io.restart();
  io.poll();
  return *std::move(result);
}

absl::StatusOr<ScenarioResult> RunInRealWorld(const Scenario& scenario,
                                              const std::string& file,
                                              const ClientSpec& client,
                                              RunnerOptions options) {
  boost::asio::io_context io;
  AsioClock clock(io);
  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(fake_server::ServerConfig(), io, clock,
                                      options.seed);
  if (!server.ok()) return server.status();
  // Only when asked for: a fuzz campaign's runs keep no output otherwise.
  std::optional<ClientLog> log;
  if (!client.client_log.empty()) log.emplace(client.client_log);
  const uint64_t seed = options.seed;
  std::optional<ScenarioResult> result;
  {
    ScenarioRunner runner(
        io, clock, **server, scenario, file,
        MakeExternalClient(
            clock, client.command,
            log && !log->path().empty() ? log->path() : "/dev/null"),
        std::move(options));
    runner.Run([&result](ScenarioResult r) { result = std::move(r); });
    while (!result.has_value() && io.run_one() > 0) {
    }
  }
  (*server)->Stop();
  io.restart();
  io.poll();
  if (log) {
    const std::string output = log->Finish(
        absl::StrCat(scenario.name(), " (", file, "), schedule seed ", seed));
    if (result.has_value() && !log->path().empty())
      result->set_client_output(output);
  }
  if (!result.has_value())
    return absl::InternalError("the run ended without a result");
  return *std::move(result);
}

}  // namespace talkcheck::harness

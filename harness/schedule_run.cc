#include "harness/schedule_run.h"

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/asio_clock.h"
#include "base/virtual_clock.h"
#include "base/virtual_driver.h"
#include "fake_server/server.h"
#include "harness/client_under_test.h"
#include "harness/oracles.h"
#include "harness/runner.h"
#include "harness/schedule.h"
#include "media_sim/datagram_network.h"
#include "reference_client/faults.h"

namespace talkcheck::harness {
namespace {

// Seeds derived from the schedule's, one per consumer, so that adding a draw
// in one place does not shift another's.
constexpr uint64_t kClientSeedSalt = 0x5eed;
constexpr uint64_t kMediaSeedSalt = 0x3ed1a;

// The peer's automatic acks as the schedule wants them.
SimulatedPeer::AckPolicy AckPolicyOf(const Schedule& schedule, double k) {
  std::map<int, std::optional<absl::Duration>> acks;
  for (const Perturbation& p : schedule.perturbations()) {
    if (p.kind() == Perturbation::WITHHOLD_ACK) acks[p.ack()] = std::nullopt;
    if (p.kind() == Perturbation::DELAY_ACK && acks.count(p.ack()) == 0)
      acks[p.ack()] = absl::Milliseconds(p.delay_ms()) * k;
  }
  if (acks.empty()) return nullptr;
  return [acks](int ordinal) -> std::optional<absl::Duration> {
    auto it = acks.find(ordinal);
    return it == acks.end() ? absl::ZeroDuration() : it->second;
  };
}

// Loss and delay per datagram, from the schedule's seed.
media_sim::InMemoryNetwork::FateFunction FateOf(const Schedule& schedule) {
  const MediaConditions& media = schedule.media();
  if (media.loss_percent() <= 0 && media.max_delay_ms() <= 0) return nullptr;
  auto rng =
      std::make_shared<std::mt19937_64>(schedule.seed() ^ kMediaSeedSalt);
  return [rng, media](const media_sim::UdpEndpoint&,
                      const media_sim::UdpEndpoint&, absl::string_view) {
    media_sim::InMemoryNetwork::Fate fate;
    // 1/10000 steps: loss_percent has one decimal.
    fate.drop =
        static_cast<double>((*rng)() % 10000) < media.loss_percent() * 100.0;
    const int64_t span = media.max_delay_ms() - media.min_delay_ms();
    const int64_t ms =
        media.min_delay_ms() +
        (span > 0 ? static_cast<int64_t>((*rng)() % (span + 1)) : 0);
    fate.delay = absl::Milliseconds(ms);
    return fate;
  };
}

absl::Duration RunLimit(const Scenario& scenario) {
  return absl::Milliseconds(scenario.timeout().ms()) + kSettleLimit +
         absl::Seconds(60);
}

ScheduleOutcome Judge(ScenarioResult result, const Scenario& scenario,
                      const Schedule& schedule, double time_scale) {
  ScheduleOutcome outcome;
  outcome.keeps_expectations = KeepsExpectations(scenario, schedule);
  outcome.violations = CheckOracles(result, outcome.keeps_expectations,
                                    ClientDeadlines::Scaled(time_scale));
  outcome.result = std::move(result);
  return outcome;
}

RunnerOptions OptionsFor(const Schedule& schedule,
                         const std::map<std::string, std::string>& variables,
                         double time_scale) {
  RunnerOptions options;
  options.variables = variables;
  options.seed = schedule.seed();
  options.ack_policy = AckPolicyOf(schedule, time_scale);
  options.settle = kSettleLimit * time_scale;
  options.settled = [state = std::make_shared<SettleState>(),
                     deadlines = ClientDeadlines::Scaled(time_scale)](
                        const ScenarioResult& result) {
    return Settled(result, *state, deadlines);
  };
  return options;
}

absl::StatusOr<ScheduleOutcome> RunVirtualWorld(
    const Scenario& original, const Scenario& scenario, const std::string& file,
    const ClientSpec& client, const Schedule& schedule,
    const std::map<std::string, std::string>& variables) {
  absl::StatusOr<reference_client::VoiceClientOptions> client_options =
      ReferenceClientOptions(client.faults, client.dialect);
  if (!client.in_process && !client_options.ok())
    return client_options.status();

  boost::asio::io_context io;
  VirtualClock clock;
  fake_server::ServerConfig config;
  config.set_tls(fake_server::ServerConfig::TLS_OFF);
  config.set_in_memory_only(true);
  // Schedules stretch runs past the server's 5 min idle limit; what a client
  // does about XMPP keepalives is not what timeout fuzzing checks.
  config.mutable_limits()->set_idle_timeout_ms(3600 * 1000);
  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(config, io, clock, schedule.seed());
  if (!server.ok()) return server.status();
  media_sim::InMemoryNetwork network(clock);
  network.set_fate(FateOf(schedule));
  std::mt19937_64 client_bitgen(schedule.seed() ^ kClientSeedSalt);
  std::unique_ptr<ClientUnderTest> cut;
  if (client.in_process) {
    cut = client.in_process(io, clock, client_bitgen, network);
  } else {
    client_options->network = &network;
    cut = MakeReferenceClient(io, clock, client_bitgen, *client_options);
  }

  RunnerOptions options = OptionsFor(schedule, variables, 1.0);
  options.in_memory = true;
  options.network = &network;
  std::optional<ScenarioResult> result;
  {
    ScenarioRunner runner(io, clock, **server, scenario, file, std::move(cut),
                          options);
    runner.Run([&result](ScenarioResult r) { result = std::move(r); });
    const bool done = RunVirtual(
        io, clock, [&result] { return result.has_value(); },
        clock.Now() + RunLimit(scenario));
    if (!done) {
      return absl::InternalError(absl::StrCat(
          "the run neither finished nor stalled within ",
          absl::FormatDuration(RunLimit(scenario)), " of virtual time"));
    }
  }
  (*server)->Stop();
  io.restart();
  io.poll();
  return Judge(*std::move(result), original, schedule, 1.0);
}

absl::StatusOr<ScheduleOutcome> RunRealWorld(
    const Scenario& original, const Scenario& scenario, const std::string& file,
    const ClientSpec& client, const Schedule& schedule,
    const std::map<std::string, std::string>& variables) {
  boost::asio::io_context io;
  AsioClock clock(io);
  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(fake_server::ServerConfig(), io, clock,
                                      schedule.seed());
  if (!server.ok()) return server.status();
  std::optional<ScenarioResult> result;
  {
    ScenarioRunner runner(
        io, clock, **server, scenario, file,
        MakeExternalClient(io, clock, client.command, "/dev/null"),
        OptionsFor(schedule, variables, client.time_scale));
    runner.Run([&result](ScenarioResult r) { result = std::move(r); });
    while (!result.has_value() && io.run_one() > 0) {
    }
  }
  (*server)->Stop();
  io.restart();
  io.poll();
  if (!result.has_value())
    return absl::InternalError("the run ended without a result");
  return Judge(*std::move(result), original, schedule, client.time_scale);
}

}  // namespace

std::string ClientSpec::Describe() const {
  if (in_process) return in_process_name;
  if (external()) return command;
  std::string text = "reference";
  if (!faults.empty()) absl::StrAppend(&text, " --fault=", faults);
  if (dialect != "g1") absl::StrAppend(&text, " --dialect=", dialect);
  return text;
}

absl::StatusOr<reference_client::VoiceClientOptions> ReferenceClientOptions(
    const std::string& faults, const std::string& dialect) {
  reference_client::VoiceClientOptions options;
  absl::StatusOr<reference_client::FaultSet> parsed =
      reference_client::ParseFaults(faults);
  if (!parsed.ok()) return parsed.status();
  options.faults = *std::move(parsed);
  if (dialect == "g2") {
    options.dialect = reference_client::VoiceClientOptions::Dialect::kG2;
  } else if (dialect != "g1") {
    return absl::InvalidArgumentError("--dialect must be g1 or g2");
  }
  return options;
}

absl::StatusOr<ScheduleOutcome> RunSchedule(
    const Scenario& scenario, const std::string& file, const ClientSpec& client,
    const Schedule& schedule,
    const std::map<std::string, std::string>& variables) {
  absl::StatusOr<Scenario> perturbed = ApplySchedule(scenario, schedule);
  if (!perturbed.ok()) return perturbed.status();
  if (client.time_scale <= 0 ||
      (!client.external() && client.time_scale != 1)) {
    return absl::InvalidArgumentError(
        "a time scale must be positive, and needs an external client");
  }
  return client.external()
             ? RunRealWorld(scenario,
                            ScaleTimings(*perturbed, client.time_scale), file,
                            client, schedule, variables)
             : RunVirtualWorld(scenario, *perturbed, file, client, schedule,
                               variables);
}

}  // namespace talkcheck::harness

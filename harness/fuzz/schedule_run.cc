#include "harness/fuzz/schedule_run.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "base/mt19937_64.h"
#include "harness/fuzz/oracles.h"
#include "harness/fuzz/schedule.h"
#include "media_sim/datagram_network.h"

namespace talkcheck::harness {
namespace {

// Derived from the schedule's seed, so that the client's draws (salted in
// run/world.cc) and the network's do not shift each other.
constexpr uint64_t kMediaSeedSalt = 0x3ed1a;

// Each peer's automatic acks as the schedule wants them, by peer name ("" for
// the first peer).
std::map<std::string, SimulatedPeer::AckPolicy> AckPoliciesOf(
    const Schedule& schedule, double k) {
  std::map<std::string, std::map<int, std::optional<absl::Duration>>> acks;
  for (const Perturbation& p : schedule.perturbations()) {
    auto& of_peer = acks[p.peer()];
    if (p.kind() == Perturbation::WITHHOLD_ACK) of_peer[p.ack()] = std::nullopt;
    if (p.kind() == Perturbation::DELAY_ACK && of_peer.count(p.ack()) == 0)
      of_peer[p.ack()] = absl::Milliseconds(p.delay_ms()) * k;
  }
  std::map<std::string, SimulatedPeer::AckPolicy> policies;
  for (auto& [peer, of_peer] : acks) {
    if (of_peer.empty()) continue;
    policies[peer] = [of_peer = std::move(of_peer)](
                         int ordinal) -> std::optional<absl::Duration> {
      auto it = of_peer.find(ordinal);
      return it == of_peer.end() ? absl::ZeroDuration() : it->second;
    };
  }
  return policies;
}

// Loss and delay per datagram, from the schedule's seed.
media_sim::InMemoryNetwork::FateFunction FateOf(const Schedule& schedule) {
  const MediaConditions& media = schedule.media();
  if (media.loss_percent() <= 0 && media.max_delay_ms() <= 0) return nullptr;
  auto rng = std::make_shared<Mt19937_64>(schedule.seed() ^ kMediaSeedSalt);
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

ScheduleOutcome Judge(ScenarioResult result, TranscriptIqs& iqs,
                      const Scenario& scenario, const Schedule& schedule,
                      double time_scale) {
  ScheduleOutcome outcome;
  outcome.keeps_expectations = KeepsExpectations(scenario, schedule);
  outcome.violations = CheckOracles(result, outcome.keeps_expectations,
                                    ClientDeadlines::Scaled(time_scale), iqs);
  outcome.result = std::move(result);
  return outcome;
}

// `iqs` is fed the transcript as the run records it, for the settling check
// and the verdict alike.
RunnerOptions OptionsFor(const Schedule& schedule,
                         const std::map<std::string, std::string>& variables,
                         double time_scale, StanzaText text,
                         xmpp::StreamPipeEnd::Handover handover,
                         const std::shared_ptr<TranscriptIqs>& iqs) {
  RunnerOptions options;
  options.stanza_text = text == StanzaText::kKept;
  options.xmpp_handover = handover;
  options.variables = variables;
  options.seed = schedule.seed();
  options.ack_policies = AckPoliciesOf(schedule, time_scale);
  options.settle = kSettleLimit * time_scale;
  // An external client's wait for caps before its first call, as its timers.
  options.call_caps_wait *= time_scale;
  options.call_caps_grace *= time_scale;
  options.settled = [iqs, deadlines = ClientDeadlines::Scaled(time_scale)](
                        const ScenarioResult& result) {
    return Settled(result, *iqs, deadlines);
  };
  options.on_transcript = [iqs](const StanzaRecord& record,
                                const xmpp::Element& stanza) {
    iqs->Observe(record, stanza);
  };
  return options;
}

}  // namespace

absl::StatusOr<ScheduleOutcome> RunSchedule(
    const Scenario& scenario, const std::string& file, const ClientSpec& client,
    const Schedule& schedule,
    const std::map<std::string, std::string>& variables, StanzaText text,
    std::optional<xmpp::StreamPipeEnd::Handover> handover) {
  const xmpp::StreamPipeEnd::Handover xmpp_handover = handover.value_or(
      text == StanzaText::kDropped ? xmpp::StreamPipeEnd::Handover::kElements
                                   : xmpp::StreamPipeEnd::Handover::kText);
  absl::StatusOr<Scenario> perturbed = ApplySchedule(scenario, schedule);
  if (!perturbed.ok()) return perturbed.status();
  if (client.time_scale <= 0 ||
      (!client.external() && client.time_scale != 1)) {
    return absl::InvalidArgumentError(
        "a time scale must be positive, and needs an external client");
  }
  auto iqs = std::make_shared<TranscriptIqs>();
  if (client.external()) {
    absl::StatusOr<ScenarioResult> result = RunInRealWorld(
        ScaleTimings(*perturbed, client.time_scale), file, client,
        OptionsFor(schedule, variables, client.time_scale, text, xmpp_handover,
                   iqs));
    if (!result.ok()) return result.status();
    return Judge(*std::move(result), *iqs, scenario, schedule,
                 client.time_scale);
  }
  absl::StatusOr<ScenarioResult> result = RunInVirtualWorld(
      *std::move(perturbed), file, client,
      OptionsFor(schedule, variables, 1.0, text, xmpp_handover, iqs),
      FateOf(schedule));
  if (!result.ok()) return result.status();
  return Judge(*std::move(result), *iqs, scenario, schedule, 1.0);
}

}  // namespace talkcheck::harness

#include "harness/fuzz/schedule.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "base/mt19937_64.h"
#include "harness/scenario/variables.h"

namespace talkcheck::harness {
namespace {

constexpr char kCandidates[] = "${candidates:rtp}";
constexpr char kNextCandidates[] = "${candidates:rtp:next}";
// Delays up to this long leave a correct client's behaviour unchanged.
constexpr int64_t kSmallDelayMs = 2000;
// How close to a deadline "just before / after" is.
constexpr int64_t kNearDeadlineMs = 500;

// Names the runner binds before the first step (harness/run/runner.cc).
const std::set<std::string>& BuiltInVariables() {
  static const auto* names = new std::set<std::string>{
      "cut", "cut_bare", "peer", "peer_bare", "server", "sid", "iq", "last_id"};
  return *names;
}

// Stable across standard libraries, unlike std::uniform_int_distribution.
int64_t Uniform(Mt19937_64& rng, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

bool Chance(Mt19937_64& rng, int percent) {
  return Uniform(rng, 1, 100) <= percent;
}

const char* DeadlineName(int64_t ms) {
  switch (ms) {
    case 15000:
      return "15 s session iq timeout";
    case 20000:
      return "20 s candidate generation period";
    case 50000:
      return "50 s writability timeout";
    case 180000:
      return "180 s ring timeout";
  }
  return "deadline";
}

// A small delay, or one just before or after one of the client's deadlines.
std::pair<int64_t, std::string> DrawDelay(Mt19937_64& rng) {
  if (Chance(rng, 40)) return {Uniform(rng, 0, kSmallDelayMs), ""};
  const int64_t deadline =
      kClientDeadlinesMs[Uniform(rng, 0, std::size(kClientDeadlinesMs) - 1)];
  const int64_t offset = Uniform(rng, 1, kNearDeadlineMs);
  const bool before = Chance(rng, 50);
  return {before ? deadline - offset : deadline + offset,
          absl::StrCat(before ? "just before the " : "just after the ",
                       DeadlineName(deadline))};
}

void CollectSites(const Step& step, std::vector<const Timing*>& out) {
  const Timing* own = nullptr;
  switch (step.kind_case()) {
    case Step::kExpect:
      own = &step.expect().within();
      break;
    case Step::kExpectNone:
      own = &step.expect_none().period();
      break;
    case Step::kDelay:
      own = &step.delay().duration();
      break;
    case Step::kAnyOrder:
      own = &step.any_order().within();
      break;
    case Step::kMedia:
      own = &step.media().within();
      break;
    default:
      break;
  }
  if (own != nullptr && own->is_range()) out.push_back(own);
  if (step.has_any_order()) {
    for (const Step& inner : step.any_order().steps()) CollectSites(inner, out);
  }
}

bool IsCandidatesSend(const Step& step) {
  return step.has_send() &&
         (absl::StrContains(step.send().stanza(), "\"candidates\"") ||
          absl::StrContains(step.send().stanza(), "\"transport-info\""));
}

// An expect the peer may stop waiting for: nothing later depends on its
// position (no label, order constraint or goto) or on what it captures.
bool CanStopWaiting(const Scenario& scenario, int i) {
  if (i + 1 >= scenario.steps_size()) return false;
  const Step& step = scenario.steps(i);
  if (!step.has_expect() || !scenario.steps(i + 1).has_send()) return false;
  if (!step.label().empty() || step.optional() ||
      step.on_timeout() != ON_TIMEOUT_FAIL || step.expect().next() ||
      !step.expect().after().empty()) {
    return false;
  }
  std::set<std::string> declared = BuiltInVariables();
  for (const Variable& v : scenario.variables()) declared.insert(v.name());
  for (const std::string& name : ReferencedVariables(step.expect().pattern())) {
    if (declared.count(name) == 0) return false;  // a capture
  }
  return true;
}

// The last send announcing `${candidates:rtp}` at or before step `at`: what a
// generation bump after `at` resends, as that send's peer (so bumps reach
// every peer of a scenario with several).
int CandidatesSendUpTo(const Scenario& scenario, int at) {
  for (int i = std::min(at, scenario.steps_size() - 1); i >= 0; --i) {
    const Step& step = scenario.steps(i);
    if (step.has_send() && absl::StrContains(step.send().stanza(), kCandidates))
      return i;
  }
  return -1;
}

// The names steps use for the scenario's peers ("" for the first, which
// steps without peer= use), in file order.
std::vector<std::string> PeerNames(const Scenario& scenario) {
  std::vector<std::string> names = {""};
  for (const PeerSpec& peer : scenario.more_peers())
    names.push_back(!peer.name().empty() ? peer.name() : peer.user());
  return names;
}

bool PeerKnown(const Scenario& scenario, const Perturbation& p) {
  const std::vector<std::string> names = PeerNames(scenario);
  return std::find(names.begin(), names.end(), p.peer()) != names.end();
}

bool PerturbationFits(const Scenario& scenario, const Perturbation& p) {
  const int n = scenario.steps_size();
  const bool step_ok = p.step() >= 0 && p.step() < n;
  switch (p.kind()) {
    case Perturbation::DELAY_BEFORE:
      return step_ok && p.delay_ms() >= 0 &&
             (scenario.steps(p.step()).has_send() ||
              scenario.steps(p.step()).has_control());
    case Perturbation::DUPLICATE:
      return step_ok && IsCandidatesSend(scenario.steps(p.step()));
    case Perturbation::DONT_WAIT:
      return step_ok && CanStopWaiting(scenario, p.step());
    case Perturbation::DELAY_ACK:
      return p.ack() >= 0 && p.delay_ms() >= 0 && PeerKnown(scenario, p);
    case Perturbation::WITHHOLD_ACK:
      return p.ack() >= 0 && PeerKnown(scenario, p);
    case Perturbation::GENERATION_BUMP:
      return step_ok && CandidatesSendUpTo(scenario, p.step()) >= 0;
    default:
      return false;
  }
}

Step DelayStepFor(const Step& before, int64_t ms) {
  Step delay;
  *delay.mutable_location() = before.location();
  Timing& duration = *delay.mutable_delay()->mutable_duration();
  duration.set_ms(ms);
  duration.set_min_ms(ms);
  duration.set_max_ms(ms);
  return delay;
}

}  // namespace

std::vector<const Timing*> TimingSites(const Scenario& scenario) {
  std::vector<const Timing*> sites;
  for (const Step& step : scenario.steps()) CollectSites(step, sites);
  return sites;
}

Schedule DrawSchedule(const Scenario& scenario, uint64_t seed) {
  Mt19937_64 rng(seed);
  Schedule schedule;
  schedule.set_seed(rng());

  const std::vector<const Timing*> sites = TimingSites(scenario);
  for (size_t i = 0; i < sites.size(); ++i) {
    const Timing& site = *sites[i];
    const int64_t roll = Uniform(rng, 0, 3);
    const int64_t ms = roll == 0   ? site.min_ms()
                       : roll == 1 ? site.max_ms()
                                   : Uniform(rng, site.min_ms(), site.max_ms());
    if (ms == site.ms()) continue;
    TimingDraw& draw = *schedule.add_timings();
    draw.set_site(static_cast<int>(i));
    draw.set_ms(ms);
  }

  // Candidate perturbations, each drawn until it fits.
  const int wanted = static_cast<int>(Uniform(rng, 0, 4));
  const int n = scenario.steps_size();
  std::vector<std::string> peers;
  if (scenario.more_peers_size() > 0) peers = PeerNames(scenario);
  for (int attempt = 0;
       schedule.perturbations_size() < wanted && n > 0 && attempt < 8 * wanted;
       ++attempt) {
    Perturbation p;
    p.set_kind(static_cast<Perturbation::Kind>(Uniform(
        rng, Perturbation::DELAY_BEFORE, Perturbation::GENERATION_BUMP)));
    p.set_step(static_cast<int>(Uniform(rng, 0, n - 1)));
    if (p.kind() == Perturbation::DELAY_ACK ||
        p.kind() == Perturbation::WITHHOLD_ACK) {
      p.clear_step();
      p.set_ack(static_cast<int>(Uniform(rng, 0, 3)));
      // Any peer's acks; with one peer nothing is drawn, so single-peer
      // schedules stay what they were.
      if (!peers.empty()) {
        p.set_peer(
            peers[Uniform(rng, 0, static_cast<int64_t>(peers.size()) - 1)]);
      }
    }
    if (p.kind() == Perturbation::DELAY_BEFORE ||
        p.kind() == Perturbation::DELAY_ACK) {
      auto [ms, aim] = DrawDelay(rng);
      p.set_delay_ms(ms);
      p.set_aim(aim);
    }
    if (PerturbationFits(scenario, p)) *schedule.add_perturbations() = p;
  }

  if (Chance(rng, 25)) {
    MediaConditions& media = *schedule.mutable_media();
    media.set_loss_percent(static_cast<double>(Uniform(rng, 0, 50)) / 10.0);
    media.set_max_delay_ms(Uniform(rng, 0, 200));
    media.set_min_delay_ms(Uniform(rng, 0, media.max_delay_ms()));
  }
  return schedule;
}

absl::StatusOr<Scenario> ApplySchedule(const Scenario& scenario,
                                       const Schedule& schedule) {
  Scenario out = scenario;
  int64_t extra_ms = 0;

  // Timing draws first: sites are addressed in the unperturbed scenario.
  std::vector<const Timing*> sites = TimingSites(out);
  for (const TimingDraw& draw : schedule.timings()) {
    if (draw.site() < 0 || draw.site() >= static_cast<int>(sites.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "timing site ", draw.site(), " does not exist (the scenario has ",
          sites.size(), ")"));
    }
    Timing& site = const_cast<Timing&>(*sites[draw.site()]);
    if (draw.ms() < site.min_ms() || draw.ms() > site.max_ms()) {
      return absl::InvalidArgumentError(
          absl::StrCat("timing site ", draw.site(), ": ", draw.ms(),
                       " ms is outside ", site.min_ms(), "..", site.max_ms()));
    }
    extra_ms += std::max<int64_t>(0, draw.ms() - site.ms());
    site.set_ms(draw.ms());
  }

  std::vector<std::vector<const Perturbation*>> at(scenario.steps_size());
  for (const Perturbation& p : schedule.perturbations()) {
    if (!PerturbationFits(scenario, p)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "perturbation does not fit the scenario: ", Describe(p, &scenario)));
    }
    if (p.kind() == Perturbation::DELAY_ACK) extra_ms += p.delay_ms();
    if (p.kind() != Perturbation::DELAY_ACK &&
        p.kind() != Perturbation::WITHHOLD_ACK) {
      at[p.step()].push_back(&p);
    }
  }

  google::protobuf::RepeatedPtrField<Step> steps;
  for (int i = 0; i < out.steps_size(); ++i) {
    const Step& original = out.steps(i);
    for (const Perturbation* p : at[i]) {
      if (p->kind() != Perturbation::DELAY_BEFORE) continue;
      *steps.Add() = DelayStepFor(original, p->delay_ms());
      extra_ms += p->delay_ms();
    }
    Step& step = *steps.Add();
    step = original;
    for (const Perturbation* p : at[i]) {
      switch (p->kind()) {
        case Perturbation::DONT_WAIT:
          step.mutable_expect()->set_background(true);
          break;
        case Perturbation::DUPLICATE: {
          Step& copy = *steps.Add();
          copy = original;
          copy.clear_label();
          copy.mutable_send()->set_keep_last_id(true);
          break;
        }
        case Perturbation::GENERATION_BUMP: {
          Step& bump = *steps.Add();
          bump = out.steps(CandidatesSendUpTo(out, i));
          bump.clear_label();
          *bump.mutable_location() = original.location();
          bump.mutable_send()->set_keep_last_id(true);
          bump.mutable_send()->set_stanza(absl::StrReplaceAll(
              bump.send().stanza(), {{kCandidates, kNextCandidates}}));
          break;
        }
        default:
          break;
      }
    }
  }
  *out.mutable_steps() = std::move(steps);

  // The scenario's deadline must not cut short what the schedule stretched.
  Timing& timeout = *out.mutable_timeout();
  if (!scenario.has_timeout()) timeout.set_ms(120000);
  timeout.set_ms(timeout.ms() + extra_ms);
  timeout.set_max_ms(std::max(timeout.max_ms(), timeout.ms()));
  return out;
}

bool KeepsExpectations(const Scenario& scenario, const Schedule& schedule) {
  std::vector<const Timing*> sites = TimingSites(scenario);
  for (const TimingDraw& draw : schedule.timings()) {
    if (draw.site() < 0 || draw.site() >= static_cast<int>(sites.size()))
      return false;
    // A shorter bound than the author's own value may fail a correct client;
    // delays anywhere in their range may not.
    const Timing& site = *sites[draw.site()];
    bool is_delay = false;
    for (const Step& step : scenario.steps()) {
      if (step.has_delay() && &step.delay().duration() == &site)
        is_delay = true;
    }
    if (!is_delay && draw.ms() < site.ms()) return false;
  }
  for (const Perturbation& p : schedule.perturbations()) {
    switch (p.kind()) {
      case Perturbation::DELAY_BEFORE:
      case Perturbation::DELAY_ACK:
        if (p.delay_ms() > kSmallDelayMs) return false;
        break;
      case Perturbation::WITHHOLD_ACK:
        return false;
      default:
        break;
    }
  }
  const MediaConditions& media = schedule.media();
  return media.loss_percent() == 0 && media.max_delay_ms() == 0;
}

std::string Describe(const Perturbation& p, const Scenario* scenario,
                     double time_scale) {
  auto step = [&] {
    // The author's step number ("4", "4.b.2") when the scenario has one.
    const Step* s = scenario != nullptr && p.step() >= 0 &&
                            p.step() < scenario->steps_size()
                        ? &scenario->steps(p.step())
                        : nullptr;
    std::string text =
        absl::StrCat("step ", s != nullptr && !s->number().empty()
                                  ? s->number()
                                  : absl::StrCat(p.step() + 1));
    if (s != nullptr) {
      absl::StrAppend(&text, " at ", s->location().file(), ":",
                      s->location().line());
    }
    return text;
  };
  auto of_peer = [&] {
    return p.peer().empty() ? std::string()
                            : absl::StrCat(" of peer '", p.peer(), "'");
  };
  auto delay = [&] {
    const absl::Duration d = absl::Milliseconds(p.delay_ms());
    if (time_scale == 1.0) return absl::FormatDuration(d);
    return absl::StrCat(absl::FormatDuration(d), " scenario time, ",
                        absl::FormatDuration(
                            absl::Trunc(d * time_scale, absl::Milliseconds(1))),
                        " real");
  };
  std::string text = Perturbation::Kind_Name(p.kind());
  switch (p.kind()) {
    case Perturbation::DELAY_ACK:
      absl::StrAppend(&text, " ack ", p.ack(), of_peer(), " by ", delay());
      break;
    case Perturbation::WITHHOLD_ACK:
      absl::StrAppend(&text, " ack ", p.ack(), of_peer());
      break;
    case Perturbation::DELAY_BEFORE:
      absl::StrAppend(&text, " ", step(), " by ", delay());
      break;
    case Perturbation::GENERATION_BUMP:
      absl::StrAppend(&text, " after ", step());
      break;
    default:
      absl::StrAppend(&text, " ", step());
      break;
  }
  if (!p.aim().empty()) absl::StrAppend(&text, " (", p.aim(), ")");
  return text;
}

int64_t Complexity(const Schedule& schedule) {
  int64_t score =
      1000000 * schedule.perturbations_size() + 1000 * schedule.timings_size();
  for (const Perturbation& p : schedule.perturbations())
    score += p.delay_ms() / 1000;
  if (schedule.media().loss_percent() > 0) score += 100;
  if (schedule.media().max_delay_ms() > 0) score += 100;
  return score;
}

}  // namespace talkcheck::harness

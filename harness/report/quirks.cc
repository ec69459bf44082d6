#include "harness/report/quirks.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace talkcheck::harness {
namespace {

constexpr char kQuirkTagPrefix[] = "quirk-";
constexpr char kStaleCredentials[] = "8.13";

// PROTOCOL.md §8's items, by number, with their headings.
const std::map<std::string, std::string>& Titles() {
  static const auto* const kTitles = new std::map<std::string, std::string>{
      {"8.1", "Two candidate formats, and duplicates"},
      {"8.2", "LJ05+ silently ignore G2 transport-info"},
      {"8.3", "PUR ignores transport-info and transport-accept entirely"},
      {"8.4", "PUR as callee sends no candidates until the user accepts"},
      {"8.5", "rtcp candidates sent to LJ04 draw unknown-channel-name"},
      {"8.6", "Codec name case"},
      {"8.7", "Missing password attribute"},
      {"8.8", "Preference scales differ"},
      {"8.9", "STUN strictness of LJ04/LJ05"},
      {"8.10", "Cookie without RFC 5389 semantics"},
      {"8.11", "ERROR-CODE encoding"},
      {"8.12", "Readability needs pings"},
      {"8.13", "Stale-credentials race"},
      {"8.14", "initiator must match exactly"},
      {"8.15", "Reject before ack"},
      {"8.16", "Hybrid initiates (LJ >=0.5)"},
      {"8.17", "Ringing semantics"},
      {"8.18", "Unknown-session error varies by implementation"},
      {"8.19", "Video needs dimensions"},
      {"8.20", "Asterisk chan_gtalk bugs"},
      {"8.21", "GTalk4 callee must send transport-accept"},
      {"8.22", "Old clients with an empty description"},
      {"8.23", "Old Google Talk answers discovery badly"},
  };
  return *kTitles;
}

QuirkObservation Observation(const std::string& quirk, QuirkState state,
                             std::string evidence) {
  QuirkObservation observation;
  observation.set_quirk(quirk);
  observation.set_title(QuirkTitle(quirk));
  observation.set_state(state);
  observation.set_evidence(std::move(evidence));
  return observation;
}

const StepResult* ResultOfStep(const ScenarioResult& result, int index) {
  for (const StepResult& step : result.steps())
    if (step.index() == index) return &step;
  return nullptr;
}

// A step the run reached and judged, as opposed to one it never got to: a
// profile step's failure under another profile is a warning
// (harness/run/runner.cc), and is skipped with its message.
bool FailedOrWarned(const StepResult& step) {
  return step.verdict() == FAIL ||
         (step.verdict() == SKIPPED &&
          absl::StartsWith(step.message(), "warning:"));
}

std::string StepName(const StepResult& step) {
  return absl::StrCat("step ", step.index() + 1, " (", step.kind(), ") at ",
                      step.location().file(), ":", step.location().line());
}

// The profile-marked steps of `scenario` as `result` judged them: shown when
// every one passed, not shown when one failed, else not seen.
QuirkObservation FromProfileSteps(const std::string& quirk,
                                  const Scenario& scenario,
                                  const ScenarioResult& result) {
  int passed = 0;
  std::string unreached;
  for (int i = 0; i < scenario.steps_size(); ++i) {
    if (scenario.steps(i).profiles().empty()) continue;
    const StepResult* step = ResultOfStep(result, i);
    if (step != nullptr && FailedOrWarned(*step)) {
      return Observation(quirk, NOT_SHOWN,
                         absl::StrCat(StepName(*step), ": ", step->message()));
    }
    if (step != nullptr && step->verdict() == PASS) {
      ++passed;
    } else if (unreached.empty()) {
      unreached = absl::StrCat("step ", i + 1, " not reached");
    }
  }
  if (!unreached.empty() || passed == 0)
    return Observation(quirk, NOT_SEEN, unreached);
  return Observation(quirk, SHOWN,
                     absl::StrCat(passed, " profile step(s) passed"));
}

}  // namespace

std::string QuirkTitle(const std::string& quirk) {
  auto it = Titles().find(quirk);
  return it == Titles().end() ? "" : it->second;
}

absl::StatusOr<std::vector<std::string>> ProbedQuirks(
    const Scenario& scenario) {
  std::vector<std::string> quirks;
  for (absl::string_view tag : scenario.tags()) {
    if (!absl::ConsumePrefix(&tag, kQuirkTagPrefix)) continue;
    const std::string quirk(tag);
    if (QuirkTitle(quirk).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(scenario.name(), ": tag quirk-", quirk,
                       " names no item of PROTOCOL.md §8 (8.1 to 8.23)"));
    }
    quirks.push_back(quirk);
  }
  if (quirks.empty()) return quirks;
  for (const Step& step : scenario.steps())
    if (!step.profiles().empty()) return quirks;
  return absl::InvalidArgumentError(
      absl::StrCat(scenario.name(),
                   ": a quirk-8.N tag needs a step marked profile=\"...\" "
                   "to tell it by"));
}

std::vector<QuirkObservation> ObserveQuirks(const Scenario& scenario,
                                            const ScenarioResult& result) {
  std::vector<QuirkObservation> observations;
  absl::StatusOr<std::vector<std::string>> probed = ProbedQuirks(scenario);
  if (probed.ok()) {
    for (const std::string& quirk : *probed)
      observations.push_back(FromProfileSteps(quirk, scenario, result));
  }
  uint64_t stale = 0;
  for (const StepResult& step : result.steps())
    stale += step.media().stale_credentials_answered();
  if (stale > 0) {
    observations.push_back(Observation(
        kStaleCredentials, SHOWN,
        absl::StrCat(stale,
                     " pings answered 430 Stale Credentials by the peer "
                     "(pings before its candidates)")));
  }
  return observations;
}

}  // namespace talkcheck::harness

#include "harness/scenario/profiles.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace talkcheck::harness {
namespace {

constexpr const char* kProfiles[] = {kDefaultProfile, "libjingle-0.4",
                                     "libjingle-0.7"};

}  // namespace

bool IsKnownProfile(absl::string_view name) {
  return std::find(std::begin(kProfiles), std::end(kProfiles), name) !=
         std::end(kProfiles);
}

std::string KnownProfiles() { return absl::StrJoin(kProfiles, ", "); }

absl::Status ApplyProfile(absl::string_view profile, Scenario& scenario) {
  if (!IsKnownProfile(profile)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown profile '", profile, "'; known: ", KnownProfiles()));
  }
  for (Step& step : *scenario.mutable_steps()) {
    if (step.profiles().empty()) continue;
    if (std::find(step.profiles().begin(), step.profiles().end(), profile) ==
        step.profiles().end()) {
      step.set_optional(true);
    }
  }
  return absl::OkStatus();
}

bool IsProfileWarning(const Step& step) {
  return step.optional() && !step.profiles().empty();
}

}  // namespace talkcheck::harness

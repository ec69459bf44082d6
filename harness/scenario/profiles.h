// Profiles: which implementation's habits a run demands.
//
// Some checks are rules of the protocol that every real implementation keeps
// (ack every session iq, echo the initiator); others are habits of one
// implementation that its peers may depend on but others do without (libjingle
// 0.4 sends its automatic reject before the ack, libjingle ≥0.5 prefers the
// younger candidate generation, libjingle 0.4 marks a peer voice-capable only
// with Google's caps node). A scenario marks such a check with the profiles
// that require it (`profile="libjingle-0.4"` on a step or on `<scenario>`);
// `talkcheck run --profile=NAME` says which one the user demands. Under any
// other profile the step becomes optional, and its failure is reported as a
// warning that names the profile. The default, `interop`, demands only what
// every implementation in PROTOCOL.md §0 does. docs/protocol-notes.md lists
// each decision and its source.
//
// Example:
//   ApplyProfile("interop", scenario);  // libjingle-0.4 steps now only warn
#ifndef TALKCHECK_HARNESS_SCENARIO_PROFILES_H_
#define TALKCHECK_HARNESS_SCENARIO_PROFILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "harness/scenario/scenario.pb.h"

namespace talkcheck::harness {

// The profile a run demands when none is named.
inline constexpr char kDefaultProfile[] = "interop";

// `interop`, `libjingle-0.4` (the LJ04 source of PROTOCOL.md),
// `libjingle-0.7` (LJ13, libjingle as of 2013).
bool IsKnownProfile(absl::string_view name);
// "interop, libjingle-0.4, libjingle-0.7", for error messages and --help.
std::string KnownProfiles();

// Makes every top-level step that lists profiles, none of them `profile`,
// optional: its failure becomes a warning (ScenarioResult.warnings).
// InvalidArgument for an unknown profile name.
absl::Status ApplyProfile(absl::string_view profile, Scenario& scenario);

// Whether `step`'s failure is a warning rather than a failure: it is optional
// because the run's profile does not require it.
bool IsProfileWarning(const Step& step);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCENARIO_PROFILES_H_

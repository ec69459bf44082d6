// Loads scenario files (scenarios/*.xml) into the Scenario model, checking them
// fully before anything runs. Also the engine of `talkcheck lint`.
//
// The format (see scenarios/README.md for the author's guide):
//
//   <scenario name="..." timeout="60s" tags="slow video">
//     <description>...</description>
//     <peer user="originatingparty" resource="Talk.v64EC3F606D" role="caller"
//           dialect="g1" caps-ver="1.0.0.64" caps-ext="voice-v1"
//           ack-session-iqs="true" answer-disco="true" send-presence="true"/>
//     <var name="codec" value="PCMU"/>
//     <include file="fragments/caps-prelude.xml"/>
//     <send [from="peer|server"]> one stanza </send>
//     <expect within="15s" [fuzz="0s..20s"] [exact="true"]
//             [next="true"] [after="LABEL"]> pattern </expect>
//     <expect-none for="5s"> [pattern] </expect-none>
//     <delay for="2s" [fuzz="..."]/>
//     <any-order within="10s"> <expect>...</expect> ... </any-order>
//     <control action="call|hangup|answer|reject" [target="${peer}"]/>
//     <peer-behaviour ack-session-iqs="false"/>
//     <media codec="PCMU" min-packets="100" within="3s" max-loss="1%"
//            max-jitter="20ms"/>
//     <one-of within="10s"> <branch> <expect>..</expect> steps </branch>
//       <branch>...</branch> </one-of>
//     <repeat max="5" [until="LABEL"]> steps </repeat>
//   </scenario>
//
// Every step may carry label="...", optional="true", and
// on-timeout="fail|continue|goto:LABEL". Durations: "250ms", "15s", "3m", or a
// range "A..B" where fuzzing is allowed. Errors are reported as
// "file:line:column: message", all of them, not just the first.
#ifndef TALKCHECK_HARNESS_SCENARIO_SCENARIO_LOADER_H_
#define TALKCHECK_HARNESS_SCENARIO_SCENARIO_LOADER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "harness/scenario/scenario.pb.h"

namespace talkcheck::harness {

struct LoadError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  // "file:line:column: message"
  std::string ToString() const;
  // "file:line:column: warning: message"
  std::string ToWarningString() const;
};

struct LoadOptions {
  // Variables defined outside the file (command line); they count as defined
  // for the undefined-variable check.
  std::vector<std::string> extra_variables;
};

// The result of loading one file: the scenario when there are no errors.
// Warnings (a capture never used again, a name one edit away from a variable,
// an unknown Google namespace, ...) are likely mistakes that do not stop a
// run; `talkcheck lint` prints them and its exit status ignores them.
struct LoadResult {
  Scenario scenario;
  std::vector<LoadError> errors;
  std::vector<LoadError> warnings;
  bool ok() const { return errors.empty(); }
};

// Limits on what one scenario may make the loader and the runner do, so that
// an author's mistake ends with an error instead of a hang or a crash.
// A scenario or included file larger than this is refused.
inline constexpr size_t kMaxScenarioFileBytes = 1 << 20;
// <include> elements expanded per scenario (a fragment included from many
// places counts each time; each file is read once).
inline constexpr int kMaxIncludes = 500;
// Steps per scenario, after includes and flattening.
inline constexpr int kMaxSteps = 10000;
// The expanded value of a <var>.
inline constexpr size_t kMaxVariableBytes = 64 * 1024;
// Rounds of a <repeat>.
inline constexpr int kMaxRepeatRounds = 1000;

// Reads and checks `path`; includes are resolved relative to the including
// file.
LoadResult LoadScenarioFile(const std::string& path,
                            const LoadOptions& options = {});

// The same for text already in memory (`path` is used for messages and
// includes).
LoadResult LoadScenarioText(absl::string_view text, const std::string& path,
                            const LoadOptions& options = {});

// Parses "250ms", "15s", "2m", "1.5s", or "A..B" (a fuzzing range).
absl::StatusOr<Timing> ParseTiming(absl::string_view text);

// The variables the runner defines before a scenario starts.
const std::vector<std::string>& BuiltinVariableNames();

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCENARIO_SCENARIO_LOADER_H_

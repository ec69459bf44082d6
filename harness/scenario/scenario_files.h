// Loading several scenario files at once, as the command line does: every
// error of every file is printed, and nothing runs unless all load.
#ifndef TALKCHECK_HARNESS_SCENARIO_SCENARIO_FILES_H_
#define TALKCHECK_HARNESS_SCENARIO_SCENARIO_FILES_H_

#include <ostream>
#include <string>
#include <vector>

#include "harness/scenario/scenario.pb.h"
#include "harness/scenario/scenario_loader.h"

namespace talkcheck::harness {

struct LoadedScenario {
  std::string file;
  Scenario scenario;
};

// Loads each of `files` into `out`, writing every error to `errors` (one per
// line, file:line:col first) and, when `warnings` is set, every warning to it
// ("file:line:col: warning: ...": `talkcheck lint` shows them, `run` does
// not). False if any file has errors (warnings do not count).
bool LoadScenarioFiles(const std::vector<std::string>& files,
                       const LoadOptions& options,
                       std::vector<LoadedScenario>& out, std::ostream& errors,
                       std::ostream* warnings = nullptr);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCENARIO_SCENARIO_FILES_H_

#include "harness/scenario/scenario_files.h"

#include <utility>

namespace talkcheck::harness {

bool LoadScenarioFiles(const std::vector<std::string>& files,
                       const LoadOptions& options,
                       std::vector<LoadedScenario>& out, std::ostream& errors,
                       std::ostream* warnings) {
  bool ok = true;
  for (const std::string& file : files) {
    LoadResult result = LoadScenarioFile(file, options);
    for (const LoadError& error : result.errors)
      errors << error.ToString() << "\n";
    for (const LoadError& warning : result.warnings) {
      if (warnings != nullptr) *warnings << warning.ToWarningString() << "\n";
    }
    if (!result.ok()) {
      ok = false;
      continue;
    }
    out.push_back(LoadedScenario{file, std::move(result.scenario)});
  }
  return ok;
}

}  // namespace talkcheck::harness

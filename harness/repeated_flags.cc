#include "harness/repeated_flags.h"

#include <algorithm>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace talkcheck::harness {

std::vector<std::pair<std::string, std::string>> RepeatedFlagValues(
    const std::vector<std::string>& names, int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> values;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-"))
      continue;
    const size_t equals = arg.find('=');
    const std::string name(arg.substr(0, equals));
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;
    if (equals != absl::string_view::npos) {
      values.emplace_back(name, std::string(arg.substr(equals + 1)));
    } else if (i + 1 < argc) {
      values.emplace_back(name, argv[++i]);
    }
  }
  return values;
}

}  // namespace talkcheck::harness

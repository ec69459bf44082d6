// Flags a subcommand takes several times (`--client_cmd` once per account or
// per matrix column): absl keeps only the last value, so these are read from
// argv as well.
#ifndef TALKCHECK_HARNESS_REPEATED_FLAGS_H_
#define TALKCHECK_HARNESS_REPEATED_FLAGS_H_

#include <string>
#include <utility>
#include <vector>

namespace talkcheck::harness {

// Every (name, value) of the flags `names`, in command-line order, written as
// absl takes them: --NAME=V, -NAME=V, --NAME V or -NAME V. Stops at "--".
std::vector<std::pair<std::string, std::string>> RepeatedFlagValues(
    const std::vector<std::string>& names, int argc, char** argv);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPEATED_FLAGS_H_

// A --help that helps, for the programs of this repository.
//
// Abseil's --help (LTS 20220623, Debian 12) lists only the flags of a file
// named after the program (`reference_client.cc`, not `main.cc`), so our
// binaries answered "No flags matched.", and it exits 1. ParseCommandLine here
// replaces it: --help (and --helpshort) prints the program's usage and every
// flag defined under the program's own folder, each with its default and its
// help text, and exits 0. The other help flags (--helpfull, --help=SUBSTRING,
// --helpon, --helpmatch) stay Abseil's, with "the program's own flags" set to
// the same folder.
//
// Example:
//   int main(int argc, char** argv) {
//     talkcheck::ParseCommandLine(argc, argv, "reference_client/",
//                                 "A Google Talk voice client for talkcheck.");
//     ...
//   }
#ifndef TALKCHECK_BASE_FLAG_HELP_H_
#define TALKCHECK_BASE_FLAG_HELP_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace talkcheck {

// absl::ParseCommandLine with the --help above. `flags_folder` is the source
// folder whose flags are the program's own (e.g. "fake_server/"); `usage` is
// the program's description, set as Abseil's program usage message too.
// Returns the positional arguments, argv[0] first, as Abseil does.
std::vector<char*> ParseCommandLine(int argc, char** argv,
                                    absl::string_view flags_folder,
                                    absl::string_view usage);

// True when the flag named `flag_name` was given on the command line (or in a
// --flagfile), whatever its value: lets a flag with a true default override a
// configuration file only when the user asked for it. Call after
// ParseCommandLine. Abseil of Debian 12 has no public API for this
// (CommandLineFlag::IsSpecifiedOnCommandLine is private); this wraps its
// flags_internal::WasPresentOnCommandLine in this one place.
bool GivenOnCommandLine(absl::string_view flag_name);

// The text --help prints: `usage`, then every flag defined in a file under
// `flags_folder`, sorted by name, each as
//   --name (default: VALUE)
//       help text, wrapped at 80 columns
// String defaults are quoted ("" when empty). Visible for testing.
std::string FlagsHelp(absl::string_view program, absl::string_view flags_folder,
                      absl::string_view usage);

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_FLAG_HELP_H_

#include "base/flag_help.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/internal/parse.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace talkcheck {
namespace {

constexpr size_t kWidth = 80;
constexpr absl::string_view kHelpIndent = "      ";

// True when the flag named on the command line asks for our --help.
bool IsOwnHelpFlag(absl::string_view arg) {
  if (!absl::ConsumePrefix(&arg, "--")) absl::ConsumePrefix(&arg, "-");
  return arg == "help" || arg == "helpshort";
}

// Appends `text` word-wrapped at kWidth, each line starting with `indent`.
void AppendWrapped(absl::string_view text, absl::string_view indent,
                   std::string& out) {
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() &&
        indent.size() + line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
}

std::string DefaultText(const absl::CommandLineFlag& flag) {
  const std::string value = flag.DefaultValue();
  if (flag.IsOfType<std::string>()) return absl::StrCat("\"", value, "\"");
  if (value.empty()) return "none";
  return value;
}

}  // namespace

std::string FlagsHelp(absl::string_view program, absl::string_view flags_folder,
                      absl::string_view usage) {
  std::vector<const absl::CommandLineFlag*> own;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StartsWith(flag->Filename(), flags_folder)) own.push_back(flag);
  }
  std::sort(own.begin(), own.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::string out = absl::StrCat("Usage: ", program, " [flags]\n\n");
  AppendWrapped(usage, "", out);
  absl::StrAppend(&out, "\nFlags:\n");
  for (const absl::CommandLineFlag* flag : own) {
    absl::StrAppend(&out, "  --", flag->Name(),
                    " (default: ", DefaultText(*flag), ")\n");
    AppendWrapped(flag->Help(), kHelpIndent, out);
  }
  absl::StrAppend(
      &out, "\n  --help: this text. --helpfull adds Abseil's own flags.\n");
  return out;
}

std::vector<char*> ParseCommandLine(int argc, char** argv,
                                    absl::string_view flags_folder,
                                    absl::string_view usage) {
  const std::string folder(flags_folder);
  const auto own_file = [folder](absl::string_view file) {
    return absl::StartsWith(file, folder);
  };
  absl::FlagsUsageConfig config;
  config.contains_helpshort_flags = own_file;
  config.contains_help_flags = own_file;
  config.contains_helppackage_flags = own_file;
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);

  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (IsOwnHelpFlag(arg)) {
      absl::string_view program = argv[0];
      if (const size_t slash = program.rfind('/');
          slash != absl::string_view::npos) {
        program.remove_prefix(slash + 1);
      }
      std::cout << FlagsHelp(program, flags_folder, usage) << std::flush;
      std::exit(0);
    }
  }
  return absl::ParseCommandLine(argc, argv);
}

bool GivenOnCommandLine(absl::string_view flag_name) {
  return absl::flags_internal::WasPresentOnCommandLine(flag_name);
}

}  // namespace talkcheck

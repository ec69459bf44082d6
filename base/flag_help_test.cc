#include "base/flag_help.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, test_host, "127.0.0.1", "where the test listens");
ABSL_FLAG(std::string, test_name, "", "a name with no default");
ABSL_FLAG(int64_t, test_limit, 262144,
          "a long help text that goes on and on about what the limit is for, "
          "so that it must be wrapped over more than one line of the help");
ABSL_FLAG(std::vector<std::string>, test_list, {}, "an empty list");

namespace talkcheck {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Test that every flag of the folder is listed with its default and help.
TEST(FlagHelpTest, ListsOwnFlagsWithDefaults) {
  const std::string help = FlagsHelp("prog", "base/", "What prog does.");
  EXPECT_THAT(help, HasSubstr("Usage: prog [flags]"));
  EXPECT_THAT(help, HasSubstr("What prog does."));
  EXPECT_THAT(help, HasSubstr("--test_host (default: \"127.0.0.1\")\n"
                              "      where the test listens\n"));
  EXPECT_THAT(help, HasSubstr("--test_name (default: \"\")"));
  EXPECT_THAT(help, HasSubstr("--test_limit (default: 262144)"));
  EXPECT_THAT(help, HasSubstr("--test_list (default: none)"));
}

// Test that flags from other folders (Abseil's own --flagfile) are left out.
TEST(FlagHelpTest, LeavesOutOtherFolders) {
  const std::string help = FlagsHelp("prog", "base/", "What prog does.");
  EXPECT_THAT(help, Not(HasSubstr("--flagfile")));
  EXPECT_THAT(FlagsHelp("prog", "no_such_folder/", "x"),
              Not(HasSubstr("--test_host")));
}

// Test that long help is wrapped at 80 columns and nothing is lost.
TEST(FlagHelpTest, WrapsLongHelp) {
  const std::string help = FlagsHelp("prog", "base/", "What prog does.");
  size_t start = 0;
  while (start < help.size()) {
    size_t end = help.find('\n', start);
    if (end == std::string::npos) end = help.size();
    EXPECT_LE(end - start, 80u) << help.substr(start, end - start);
    start = end + 1;
  }
  EXPECT_THAT(help, HasSubstr("      a long help text"));
  EXPECT_THAT(help, HasSubstr("than one line of the help\n"));
}

// Test that flags sort by name.
TEST(FlagHelpTest, SortsByName) {
  const std::string help = FlagsHelp("prog", "base/", "What prog does.");
  EXPECT_LT(help.find("--test_host"), help.find("--test_limit"));
  EXPECT_LT(help.find("--test_limit"), help.find("--test_list"));
  EXPECT_LT(help.find("--test_list"), help.find("--test_name"));
}

}  // namespace
}  // namespace talkcheck

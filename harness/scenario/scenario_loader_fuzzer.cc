// libFuzzer target: the scenario loader (issue 13 §3), includes and variables
// included.
//
// Input: a scenario file, optionally followed by fragments, each after a line
// "--8<--". The scenario is loaded from memory as <dir>/main.xml; fragment i
// is written to <dir>/f<i>.xml, so `<include file="f1.xml"/>` reaches it.
// Properties: the loader never crashes or hangs (its limits bound the work);
// a loaded scenario has errors or none, and every error names a file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "harness/scenario/scenario_loader.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr int kMaxFragments = 3;

void RemoveFragmentDir();

// A directory of our own for the fragments, made once per process: the
// test's own under Bazel, else in memory (/dev/shm) where there is one, since
// rewriting three files per input on a disk cost more than the loader (an
// ext4 /tmp with online discard spent a block discard per truncation).
const std::string& FragmentDir() {
  static const std::string* dir = [] {
    const char* base = std::getenv("TEST_TMPDIR");
    if (base == nullptr)
      base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string pattern = absl::StrCat(base, "/scenario_fuzz.XXXXXX");
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr, "mkdtemp " << pattern);
    std::atexit(RemoveFragmentDir);  // /dev/shm is memory
    return new std::string(pattern);
  }();
  return *dir;
}

void RemoveFragmentDir() {
  const std::string& dir = FragmentDir();
  for (int i = 1; i <= kMaxFragments; ++i) {
    unlink(absl::StrCat(dir, "/f", i, ".xml").c_str());
  }
  rmdir(dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<absl::string_view> parts =
      absl::StrSplit(input, "\n--8<--\n");
  const std::string& dir = FragmentDir();
  for (int i = 1; i <= kMaxFragments; ++i) {
    const std::string path = absl::StrCat(dir, "/f", i, ".xml");
    if (static_cast<size_t>(i) < parts.size()) {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << parts[i];
    } else {
      unlink(path.c_str());  // what an earlier input wrote is not there
    }
  }
  talkcheck::harness::LoadOptions options;
  options.extra_variables = {"cli"};
  const talkcheck::harness::LoadResult result =
      talkcheck::harness::LoadScenarioText(parts[0], dir + "/main.xml",
                                           options);
  for (const talkcheck::harness::LoadError& error : result.errors) {
    FUZZ_CHECK(!error.file.empty() && !error.message.empty(),
               "an error without a file or message: " << error.ToString());
  }
  return 0;
}

// libFuzzer target: replay files (issue 13 §3).
//
// Input: a replay file's text. Properties: ParseReplay never crashes; a replay
// it accepts is written by ReplayText (with its comment lines describing each
// perturbation) as text that parses back to the same replay.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "harness/fuzz/replay_file.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using talkcheck::harness::ParseReplay;
  using talkcheck::harness::Replay;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Replay> replay = ParseReplay(text);
  if (!replay.ok()) return 0;
  const std::string written = talkcheck::harness::ReplayText(*replay);
  absl::StatusOr<Replay> again = ParseReplay(written);
  FUZZ_CHECK(again.ok(), "written as "
                             << absl::CHexEscape(written)
                             << "\nwhich does not parse: " << again.status());
  FUZZ_CHECK(again->DebugString() == replay->DebugString(),
             "written as " << absl::CHexEscape(written) << "\nwhich parses to "
                           << again->DebugString());
  (void)talkcheck::harness::ResolveScenarioPath("/nonexistent/x.replay",
                                                replay->scenario());
  return 0;
}

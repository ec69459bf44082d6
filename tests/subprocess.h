// Runs an external program (a third-party XMPP client) under a hard time limit
// and captures what it prints.
#ifndef TALKCHECK_TESTS_SUBPROCESS_H_
#define TALKCHECK_TESTS_SUBPROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace talkcheck::integration {

struct ProcessResult {
  // The exit status, or -1 when the process was killed by a signal (then
  // `signal`).
  int exit_code = -1;
  int signal = 0;
  // The process was killed with SIGKILL because it outlived its time limit.
  bool timed_out = false;
  // Standard output and standard error, interleaved as written.
  std::string output;
};

// Starts `argv[0]` (a path, not searched in PATH) with `argv`, the test's
// environment and stdin from /dev/null, and waits for it to exit; kills it
// after `timeout`. Errors only when the process cannot be started.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         absl::Duration timeout);

// The path of a data dependency of the test, by its workspace-relative name
// (e.g. "tests/slixmpp_client.py"), from Bazel's TEST_SRCDIR and
// TEST_WORKSPACE.
std::string RunfilePath(absl::string_view workspace_relative);

}  // namespace talkcheck::integration

#endif  // TALKCHECK_TESTS_SUBPROCESS_H_

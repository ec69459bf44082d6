// Runs an external program (a third-party XMPP client) under a hard time limit
// and captures what it prints.
#ifndef TALKCHECK_TESTS_SUBPROCESS_H_
#define TALKCHECK_TESTS_SUBPROCESS_H_

#include <atomic>
#include <string>
#include <thread>
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

// `name` in PATH (or /usr/bin: Bazel's test PATH may be minimal), or "".
std::string FindProgram(const std::string& name);

// Runs RunProcess(argv, timeout) on its own thread, for a program that must run
// while the test does something else (a receiver while the test sends).
class BackgroundProcess {
 public:
  BackgroundProcess(std::vector<std::string> argv, absl::Duration timeout);
  ~BackgroundProcess();  // waits for the process (bounded by `timeout`)
  bool done() const { return done_; }
  // Waits for the process (bounded by its timeout) and returns its result.
  const absl::StatusOr<ProcessResult>& Wait();

 private:
  absl::StatusOr<ProcessResult> result_ = absl::UnknownError("not run");
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace talkcheck::integration

#endif  // TALKCHECK_TESTS_SUBPROCESS_H_

#include "tests/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace talkcheck::integration {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

int MillisecondsUntil(SteadyTime deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// A descriptor that becomes readable when `pid` exits (Linux 5.3+), or -1.
int OpenPidFd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("no program");
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr,
                                  args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (spawned != 0) {
    close(out[0]);
    return absl::ErrnoToStatus(spawned, absl::StrCat("posix_spawn ", argv[0]));
  }

  ProcessResult result;
  const SteadyTime deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  // Collect output until the pipe closes (the process and anything it started
  // are gone, or closed it) or the time is up.
  char buffer[4096];
  for (;;) {
    pollfd fd{out[0], POLLIN, 0};
    const int ready = poll(&fd, 1, MillisecondsUntil(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      result.timed_out = true;
      break;
    }
    const ssize_t n = read(out[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);

  // The pipe may close before the process exits: wait for the exit within the
  // limit.
  if (!result.timed_out) {
    const int pidfd = OpenPidFd(pid);
    if (pidfd >= 0) {
      pollfd fd{pidfd, POLLIN, 0};
      int ready;
      do {
        ready = poll(&fd, 1, MillisecondsUntil(deadline));
      } while (ready < 0 && errno == EINTR);
      close(pidfd);
      if (ready == 0) result.timed_out = true;
    }
  }
  if (result.timed_out) kill(pid, SIGKILL);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::ErrnoToStatus(errno, "waitpid");
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

std::string RunfilePath(absl::string_view workspace_relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/",
                      workspace != nullptr ? workspace : "talkcheck", "/",
                      workspace_relative);
}

std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> dirs =
      absl::StrSplit(path != nullptr ? path : "", ':', absl::SkipEmpty());
  dirs.push_back("/usr/bin");
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (std::ifstream(candidate).good()) return candidate;
  }
  return "";
}

BackgroundProcess::BackgroundProcess(std::vector<std::string> argv,
                                     absl::Duration timeout)
    : thread_([this, argv = std::move(argv), timeout] {
        result_ = RunProcess(argv, timeout);
        done_ = true;
      }) {}

BackgroundProcess::~BackgroundProcess() {
  if (thread_.joinable()) thread_.join();
}

const absl::StatusOr<ProcessResult>& BackgroundProcess::Wait() {
  if (thread_.joinable()) thread_.join();
  return result_;
}

}  // namespace talkcheck::integration

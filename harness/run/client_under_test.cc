#include "harness/run/client_under_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "harness/run/process_state.h"
#include "reference_client/client_stream.h"

namespace talkcheck::harness {
namespace {

// The reference client linked in, on the harness's io_context.
class ReferenceClientUnderTest : public ClientUnderTest {
 public:
  ReferenceClientUnderTest(boost::asio::io_context& io, Clock& clock,
                           absl::BitGenRef bitgen,
                           reference_client::VoiceClientOptions options)
      : io_(io), clock_(clock), bitgen_(bitgen), options_(std::move(options)) {}
  ~ReferenceClientUnderTest() override { Stop(); }

  std::string description() const override {
    std::vector<std::string> names;
    for (reference_client::Fault fault : options_.faults)
      names.emplace_back(reference_client::FaultName(fault));
    return names.empty()
               ? "reference"
               : absl::StrCat("reference --fault=", absl::StrJoin(names, ","));
  }

  bool may_learn_caps_by_disco() const override {
    return options_.voice_caps_from_disco;
  }

  absl::Status Start(
      const CutLogin& login,
      std::function<void(const std::string&)> on_failure) override {
    on_failure_ = std::move(on_failure);
    reference_client::ClientStreamOptions stream_options;
    stream_options.host = login.host;
    stream_options.port = login.port;
    absl::StatusOr<xmpp::Jid> jid = login.jid.WithResource("Talk.reference");
    if (!jid.ok()) return jid.status();
    stream_options.jid = *jid;
    stream_options.password = login.password;
    if (login.connect_in_memory) {
      // Nobody can listen on a pipe, and SCRAM's 4096 PBKDF2 rounds would cost
      // more than the rest of a fuzzed run.
      stream_options.connect_in_memory = login.connect_in_memory;
      stream_options.require_tls = false;
      stream_options.sasl_mechanism = "PLAIN";
    }
    stream_ = std::make_unique<reference_client::ClientStream>(
        io_, clock_, bitgen_, stream_options);
    stream_->set_closed_handler([this](absl::Status status) {
      if (!stopping_)
        Fail(absl::StrCat("connection closed: ", status.ToString()));
    });
    stream_->Connect([this](absl::Status ready) {
      if (!ready.ok())
        return Fail(absl::StrCat("login failed: ", ready.message()));
      voice_ = std::make_unique<reference_client::VoiceClient>(
          io_, clock_, bitgen_, *stream_, options_);
      voice_->Start();
    });
    return absl::OkStatus();
  }

  absl::Status Control(const std::string& action,
                       const std::string& target) override {
    if (voice_ == nullptr)
      return absl::FailedPreconditionError("not logged in");
    if (action == "call") {
      absl::StatusOr<xmpp::Jid> callee = xmpp::Jid::Parse(target);
      if (!callee.ok()) return callee.status();
      return voice_->Call(*callee);
    }
    // A target (`<control peer="bob">`) picks the call.
    std::optional<xmpp::Jid> remote;
    if (!target.empty()) {
      absl::StatusOr<xmpp::Jid> jid = xmpp::Jid::Parse(target);
      if (!jid.ok()) return jid.status();
      remote = *jid;
    }
    if (action == "hangup") return voice_->Hangup(remote);
    if (action == "answer") return voice_->Answer(remote);
    if (action == "reject") return voice_->Reject(remote);
    return absl::InvalidArgumentError(absl::StrCat("unknown action ", action));
  }

  void Stop() override {
    if (stopping_) return;
    stopping_ = true;
    voice_.reset();
    if (stream_ != nullptr) stream_->Close();
    stream_.reset();
  }

 private:
  void Fail(const std::string& reason) {
    if (on_failure_) std::exchange(on_failure_, nullptr)(reason);
  }

  boost::asio::io_context& io_;
  Clock& clock_;
  absl::BitGenRef bitgen_;
  reference_client::VoiceClientOptions options_;
  std::unique_ptr<reference_client::ClientStream> stream_;
  std::unique_ptr<reference_client::VoiceClient> voice_;
  std::function<void(const std::string&)> on_failure_;
  bool stopping_ = false;
};

}  // namespace

std::string SignalName(int signal) {
  if (const char* abbrev = sigabbrev_np(signal)) {
    return absl::StrCat("SIG", abbrev);
  }
  return absl::StrCat("signal ", signal);
}

std::string ExitReason(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("client process killed by ",
                        SignalName(WTERMSIG(status)),
                        WCOREDUMP(status) ? " (core dumped)" : "");
  }
  const int code = WEXITSTATUS(status);
  // /bin/sh reports a command it waited for that died of signal N as
  // 128 + N: the client itself was killed, not the shell.
  if (code > 128 && code < 128 + NSIG) {
    return absl::StrCat("client process killed by ", SignalName(code - 128),
                        " (the shell that started it exited with status ", code,
                        ")");
  }
  return absl::StrCat("client process exited with status ", code);
}

namespace {

// Any client as a child process of /bin/sh; control lines go to its stdin.
class ExternalClientUnderTest : public ClientUnderTest {
 public:
  ExternalClientUnderTest(Clock& clock, std::string command,
                          std::string log_path)
      : clock_(clock),
        command_(std::move(command)),
        log_path_(std::move(log_path)) {}
  ~ExternalClientUnderTest() override { Stop(); }

  std::string description() const override { return command_; }

  absl::Status Start(
      const CutLogin& login,
      std::function<void(const std::string&)> on_failure) override {
    if (login.connect_in_memory) {
      return absl::FailedPreconditionError(
          "an external client cannot log in over an in-memory pipe: run it on "
          "the real clock");
    }
    on_failure_ = std::move(on_failure);
    const std::string command =
        absl::StrReplaceAll(command_, {{"{host}", login.host},
                                       {"{port}", absl::StrCat(login.port)},
                                       {"{jid}", login.jid.ToString()},
                                       {"{password}", login.password},
                                       {"{ws_url}", login.websocket_url}});
    int stdin_pipe[2];
    if (pipe2(stdin_pipe, O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    int log_fd = -1;
    if (!log_path_.empty()) {
      log_fd = open(log_path_.c_str(),
                    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    pid_ = fork();
    if (pid_ < 0)
      return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    if (pid_ == 0) {
      // Child: own process group so Stop() reaches the whole command line.
      setpgid(0, 0);
      dup2(stdin_pipe[0], STDIN_FILENO);
      if (log_fd >= 0) {
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
      }
      execl("/bin/sh", "sh", "-c", command.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(stdin_pipe[0]);
    if (log_fd >= 0) close(log_fd);
    stdin_fd_ = stdin_pipe[1];
    PollExit();
    return absl::OkStatus();
  }

  absl::Status Control(const std::string& action,
                       const std::string& target) override {
    if (stdin_fd_ < 0)
      return absl::FailedPreconditionError("client not running");
    std::string line = target.empty() ? absl::StrCat(action, "\n")
                                      : absl::StrCat(action, " ", target, "\n");
    if (write(stdin_fd_, line.data(), line.size()) !=
        static_cast<ssize_t>(line.size())) {
      if (errno == EPIPE) return ClosedStdin();
      return absl::UnavailableError(absl::StrCat(
          "cannot write to the client's stdin: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  void Stop() override {
    poll_timer_.reset();
    if (stdin_fd_ >= 0) {
      close(stdin_fd_);
      stdin_fd_ = -1;
    }
    if (pid_ <= 0) return;
    kill(-pid_, SIGTERM);
    // A stopped client (SIGSTOP, a debugger) would handle SIGTERM only once
    // continued.
    kill(-pid_, SIGCONT);
    // A bounded wait, for the whole process group: the shell that started the
    // client may die on SIGTERM before the client it started does. SIGKILL
    // after two seconds.
    bool shell_reaped = false;
    for (int i = 0; i < 200; ++i) {
      if (!shell_reaped && waitpid(pid_, nullptr, WNOHANG) == pid_)
        shell_reaped = true;
      if (shell_reaped && kill(-pid_, 0) != 0) {
        pid_ = -1;
        return;
      }
      usleep(10000);
    }
    kill(-pid_, SIGKILL);
    if (!shell_reaped) waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  // Nothing reads the client's stdin any more: the client exited (before the
  // 100 ms poll saw it) or closed it. Either way it failed the step, which
  // says why: the exit status when the process is gone by then. A death
  // reaped here is also reported as the poll would have, on the next turn:
  // the step's failure alone may be excused (a step the run's profile does
  // not demand), a client that died never is.
  absl::Status ClosedStdin() {
    for (int i = 0; i < 100 && pid_ > 0; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        const std::string reason = ExitReason(status);
        poll_timer_ = clock_.CallAfter(absl::ZeroDuration(), [this, reason] {
          if (on_failure_) std::exchange(on_failure_, nullptr)(reason);
        });
        return absl::FailedPreconditionError(
            absl::StrCat(reason, " (its stdin was closed)"));
      }
      usleep(1000);
    }
    return absl::FailedPreconditionError(
        "the client closed its stdin: it takes no control lines");
  }

  // Checks every 100 ms whether the child is gone.
  void PollExit() {
    poll_timer_ = clock_.CallAfter(absl::Milliseconds(100), [this] {
      int status = 0;
      if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        const std::string reason = ExitReason(status);
        if (on_failure_) std::exchange(on_failure_, nullptr)(reason);
        return;
      }
      // A stopped client is still there, connected, and answers nothing: it
      // hangs, and Stop() ends it.
      if (pid_ > 0) {
        if (std::optional<pid_t> stopped = StoppedProcessInGroup(pid_)) {
          if (on_failure_) {
            std::exchange(on_failure_, nullptr)(absl::StrCat(
                "client process ", *stopped,
                " stopped (SIGSTOP or SIGTSTP): it hangs, connected and "
                "answering nothing"));
          }
          return;
        }
      }
      PollExit();
    });
  }

  Clock& clock_;
  std::string command_;
  std::string log_path_;
  std::function<void(const std::string&)> on_failure_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::unique_ptr<Timer> poll_timer_;
};

}  // namespace

std::unique_ptr<ClientUnderTest> MakeReferenceClient(
    boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
    reference_client::VoiceClientOptions options) {
  return std::make_unique<ReferenceClientUnderTest>(io, clock, bitgen,
                                                    std::move(options));
}

std::unique_ptr<ClientUnderTest> MakeExternalClient(Clock& clock,
                                                    std::string command,
                                                    std::string log_path) {
  return std::make_unique<ExternalClientUnderTest>(clock, std::move(command),
                                                   std::move(log_path));
}

}  // namespace talkcheck::harness

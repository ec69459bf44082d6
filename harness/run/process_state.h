// What /proc says about an external client's processes: whether one of them
// is stopped (SIGSTOP, SIGTSTP), i.e. the client hangs while its socket stays
// open. A parent cannot see that with waitpid() when the stopped process is a
// grandchild (the client under /bin/sh).
#ifndef TALKCHECK_HARNESS_RUN_PROCESS_STATE_H_
#define TALKCHECK_HARNESS_RUN_PROCESS_STATE_H_

#include <sys/types.h>

#include <optional>
#include <string>

namespace talkcheck::harness {

// The pid of a stopped process (state 'T' in /proc/PID/stat) of process group
// `group`; nullopt when none is (or /proc cannot be read).
std::optional<pid_t> StoppedProcessInGroup(pid_t group);

// Parses one /proc/PID/stat line into its state and process group; false for
// a line that is not one.
bool ParseProcStat(const std::string& line, char& state, pid_t& group);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RUN_PROCESS_STATE_H_

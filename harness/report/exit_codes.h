// The exit codes of every talkcheck subcommand, so that a CI script reads them
// the same way whichever it ran. `talkcheck matrix` exits kExitPass once its
// table is written, since failing cells are what it shows; with --fail_on_any
// it exits as `talkcheck run` would for its worst column.
#ifndef TALKCHECK_HARNESS_REPORT_EXIT_CODES_H_
#define TALKCHECK_HARNESS_REPORT_EXIT_CODES_H_

namespace talkcheck::harness {

inline constexpr int kExitPass = 0;      // every check passed
inline constexpr int kExitFail = 1;      // the client failed a check
inline constexpr int kExitError = 2;     // bad input, or the harness failed
inline constexpr int kExitNotReady = 3;  // the client never became ready

// For --help: one line per code.
inline constexpr char kExitCodesHelp[] =
    "Exit codes: 0 every check passed; 1 the client failed a check; 2 bad "
    "input (a scenario, a flag) or a harness error; 3 the client under test "
    "never became ready.";

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_REPORT_EXIT_CODES_H_

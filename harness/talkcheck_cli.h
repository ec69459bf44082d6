// talkcheck: replays Google Talk voice scenarios against a client under test.
//
//   talkcheck lint FILE...
//   talkcheck run [flags] FILE...
//   talkcheck fuzz --scenario=FILE [flags]
//   talkcheck replay [flags] FILE
//   talkcheck matrix --client=... --client_cmd=... [flags] FILE...
//   talkcheck record --out=FILE.xml [flags]
//
// `talkcheck help` lists the subcommands; `talkcheck SUBCOMMAND --help` the
// flags that subcommand takes, with their defaults. Exit codes are the same in
// every subcommand (harness/report/exit_codes.h).
//
// The command line lives in the commands library, beside the subcommands it
// dispatches to, so that it compiles with them as one unit
// (tools/cc_library.bzl); talkcheck_main.cc only calls it.
#ifndef TALKCHECK_HARNESS_TALKCHECK_CLI_H_
#define TALKCHECK_HARNESS_TALKCHECK_CLI_H_

namespace talkcheck::harness {

// The whole of `talkcheck`: parses the flags, runs the subcommand, returns the
// exit code.
int TalkcheckMain(int argc, char** argv);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_TALKCHECK_CLI_H_

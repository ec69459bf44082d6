// `talkcheck record`: the fake server with two (or more) accounts, real
// clients logged in to it (started by the user, or by --client_cmd), and the
// first call between two of them written as a scenario in which one side is
// the client under test and the other the simulated peer
// (harness/record/scenario_writer.h).
#ifndef TALKCHECK_HARNESS_RECORD_COMMAND_H_
#define TALKCHECK_HARNESS_RECORD_COMMAND_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fake_server/config.pb.h"

namespace talkcheck::harness {

struct RecordCommandOptions {
  std::string out;                    // the scenario file to write
  std::vector<std::string> accounts;  // "user:password", two at least
  // Commands run by /bin/sh, the i-th logged in as the i-th account ({host},
  // {port}, {jid} (bare) and {password} replaced); fewer than the accounts
  // leave the others to clients the user starts.
  std::vector<std::string> client_cmds;
  // Which side becomes the client under test: "caller", "callee", or a JID
  // (bare or full) of one side.
  std::string cut = "callee";
  // How long to wait for a call to begin and end.
  absl::Duration timeout = absl::Seconds(120);
  // How long after the terminate (or reject) its answer may take.
  absl::Duration settle = absl::Seconds(3);
  std::string listen = "127.0.0.1:0";
  std::string domain = "localhost";
  fake_server::ServerConfig::TlsMode tls =
      fake_server::ServerConfig::TLS_REQUIRED;
  std::string client_log;  // the commands' output, appended here
  std::string name;        // the scenario's (default: from `out`)
};

// Records, writes `out` and prints what it did. Exit codes: 0 written, 1 no
// call to write (none within the timeout, a second one, one that did not
// end), 2 bad options or a harness error, 3 a client command ended before any
// call began.
int RecordCommand(const RecordCommandOptions& options);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RECORD_COMMAND_H_

// Runs scenarios: the heart of talkcheck.
//
// For each scenario the runner attaches a fresh simulated peer to the fake
// server, starts a fresh client under test and waits (bounded) until it is
// logged in and available, binds the built-in variables, then executes the
// steps in order on the shared `Clock`: sends go out through the peer (or the
// server), expects wait for a matching stanza in the peer's inbox within their
// bound, and so on. Every step gets a verdict and timings; a failed expect
// carries the pattern next to the nearest stanza that did arrive with the first
// difference marked, plus the last stanzas exchanged. A client that crashes or
// disconnects fails the scenario with that reason, and the run goes on with the
// next scenario.
//
// Everything runs on one io_context thread; `Run()` is asynchronous and calls
// back once with the result.
#ifndef TALKCHECK_HARNESS_RUNNER_H_
#define TALKCHECK_HARNESS_RUNNER_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "base/clock.h"
#include "fake_server/server.h"
#include "harness/client_under_test.h"
#include "harness/peer.h"
#include "harness/report.pb.h"
#include "harness/scenario.pb.h"
#include "media_sim/datagram_network.h"

namespace talkcheck::harness {

struct RunnerOptions {
  // Bound on "started → logged in and available".
  absl::Duration cut_ready_timeout = absl::Seconds(20);
  // Seeds ids, session ids and ufrags: the same seed gives the same stanzas.
  uint64_t seed = 1;
  // Values from the command line (--var=name=value).
  std::map<std::string, std::string> variables;
  // The CUT's account on the fake server.
  std::string cut_username = "cut";
  std::string cut_password = "cutpass";
  // How many stanzas of context a failure report shows.
  int context_stanzas = 8;
  // The STUN server and relay the peer gathers `stun` / `relay` candidates
  // from (`${candidates:rtp:relay}`); talkcheck passes the ones it started.
  CandidateServers candidate_servers;

  // Timeout fuzzing (harness/virtual_run.h). An in-process client logs in over
  // an in-memory pipe instead of TCP, and the peer's GICE sockets live on
  // `network` (null: real UDP).
  bool in_memory = false;
  media_sim::DatagramNetwork* network = nullptr;
  // Late and withheld automatic acks of the peer.
  SimulatedPeer::AckPolicy ack_policy;
  // After the verdict the client and the peer keep running, for at most
  // `settle` and until `settled` says the run has nothing left to show, so
  // that the oracles see what the client does after the scenario's last step.
  absl::Duration settle = absl::ZeroDuration();
  std::function<bool(const ScenarioResult&)> settled;
};

// Reason code in ScenarioResult.failure when the CUT never logged in; the
// command line maps it to exit code 3.
inline constexpr char kCutNeverReady[] = "client under test never became ready";

class ScenarioRunner {
 public:
  using Done = std::function<void(ScenarioResult)>;

  // Nothing is owned except `cut`. `server` must be running on `io`.
  ScenarioRunner(boost::asio::io_context& io, Clock& clock,
                 fake_server::FakeServer& server, Scenario scenario,
                 std::string file, std::unique_ptr<ClientUnderTest> cut,
                 RunnerOptions options);
  ~ScenarioRunner();

  // Starts the run; `done` is called exactly once, on the io thread.
  void Run(Done done);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RUNNER_H_

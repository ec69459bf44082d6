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
#ifndef TALKCHECK_HARNESS_RUN_RUNNER_H_
#define TALKCHECK_HARNESS_RUN_RUNNER_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "base/clock.h"
#include "fake_server/server.h"
#include "harness/peer/peer.h"
#include "harness/report/report.pb.h"
#include "harness/run/client_under_test.h"
#include "harness/scenario/scenario.pb.h"
#include "media_sim/datagram_network.h"
#include "xmpp/element.h"
#include "xmpp/stream_pipe.h"

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
  // Where the peer's media sockets bind and what its host candidates announce
  // (IPv4 or IPv6 literal); a scenario's <peer media-address> wins.
  std::string media_address = "127.0.0.1";
  // Before its first `call` to a simulated peer, a client that may learn
  // voice support by disco (ClientUnderTest::may_learn_caps_by_disco: any
  // external client) gets up to this long to ask that peer's caps and have
  // the answer: the call goes as soon as the peer has answered a disco#info
  // of the client, or when this passes (a client that reads the caps ext
  // tokens asks nothing). Zero: no wait.
  absl::Duration call_caps_wait = absl::Seconds(2);
  // After the peer's answer, the call waits this much longer: the answer is
  // still on its way through the server to the client.
  absl::Duration call_caps_grace = absl::Milliseconds(200);

  // Timeout fuzzing (harness/run/world.h). An in-process client logs in over
  // an in-memory pipe instead of TCP, and the peer's GICE sockets live on
  // `network` (null: real UDP).
  bool in_memory = false;
  media_sim::DatagramNetwork* network = nullptr;
  // How XMPP crosses that pipe: as the bytes each side wrote, or as whole
  // elements where only the verdict and violations are kept (a campaign; the
  // same run either way, xmpp/stream_pipe.h).
  xmpp::StreamPipeEnd::Handover xmpp_handover =
      xmpp::StreamPipeEnd::Handover::kText;
  // Late and withheld automatic acks, per peer: by the name steps use for it
  // (PeerSpec.name, else its user); "" is the scenario's first peer.
  std::map<std::string, SimulatedPeer::AckPolicy> ack_policies;
  // After the verdict the client and the peer keep running, for at most
  // `settle` and until `settled` says the run has nothing left to show, so
  // that the oracles see what the client does after the scenario's last step.
  // `settled` sees the result with end_us and the peers' media and ping counts
  // up to date; the peers' findings are filled in once settling is over.
  absl::Duration settle = absl::ZeroDuration();
  std::function<bool(const ScenarioResult&)> settled;
  // Called with each transcript record as it is added and the stanza it was
  // written from, so that readers of the transcript (the oracles) need not
  // parse StanzaRecord.xml back.
  std::function<void(const StanzaRecord&, const xmpp::Element&)> on_transcript;
  // Whether the result holds stanzas as text (StanzaRecord.xml, each step's
  // stanza). Off where only the verdict is kept, as in a fuzz campaign: the
  // text is then never read, and writing it was a twentieth of a schedule.
  bool stanza_text = true;

  // The run as it goes, for a live view (talkcheck run --serve), called on
  // the io thread: each stanza as it is recorded, each step as it gets its
  // verdict, each media sample of a media step (with the step's record so
  // far). Steps are told apart by StepResult.index. Unset members are not
  // called.
  struct Progress {
    std::function<void(const StanzaRecord&)> stanza;
    std::function<void(const StepResult&)> step;
    std::function<void(const StepResult& step, const MediaSample&)>
        media_sample;
  };
  Progress progress;
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

#endif  // TALKCHECK_HARNESS_RUN_RUNNER_H_

// ScenarioRunner's implementation, shared by the files that define it:
// runner.cc (start, client readiness, verdicts and settling), runner_steps.cc
// (the step machine: sends, controls, candidate placeholders, media) and
// runner_expects.cc (expects, any-order, expect-none, background expects).
// Internal to harness/run: include runner.h instead.
#ifndef TALKCHECK_HARNESS_RUN_RUNNER_IMPL_H_
#define TALKCHECK_HARNESS_RUN_RUNNER_IMPL_H_

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/mt19937_64.h"
#include "harness/peer/media_loopback.h"
#include "harness/peer/peer.h"
#include "harness/run/runner.h"
#include "harness/scenario/matcher.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness {

// "send", "expect", ...: a step's kind as reports name it.
const char* StepKind(const Step& step);
// "file:line", then ", included from file:line" per include of the chain.
std::string Where(const SourceLocation& location);
// "step 4.b.2 (expect) at file:line...": how failures name a step (only
// "expect at file:line" for a step without a number, e.g. hand-built).
std::string StepTitle(const Step& step);

// Whether a step is control flow of a flattened <one-of> or <repeat>: run
// without a step record and never reported as skipped.
bool IsFlowStep(const Step& step);

inline absl::Duration Ms(int64_t ms) { return absl::Milliseconds(ms); }
inline int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }
// A duration to the millisecond, for messages ("1.5s").
inline std::string Pretty(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(1)));
}

class ScenarioRunner::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::io_context& io, Clock& clock,
       fake_server::FakeServer& server, Scenario scenario, std::string file,
       std::unique_ptr<ClientUnderTest> cut, RunnerOptions options)
      : io_(io),
        clock_(clock),
        server_(server),
        scenario_(std::move(scenario)),
        cut_(std::move(cut)),
        options_(std::move(options)),
        bitgen_(options_.seed),
        keeps_client_out_(ReadsClientOut(scenario_)) {
    result_.set_name(scenario_.name());
    result_.set_file(std::move(file));
    result_.set_client(cut_->description());
    result_.set_seed(options_.seed);
  }

  ~Impl() { Teardown(); }

  void Run(Done done);

 private:
  // An expect the peer stopped waiting for (ExpectStep.background).
  struct BackgroundExpect {
    const Step* step = nullptr;
    StepResult* record = nullptr;
    std::shared_ptr<const xmpp::Element> pattern;
    absl::Duration start;
    std::unique_ptr<Timer> timer;
  };

  // --- Client readiness and failure
  // ------------------------------------------------

  void Observe(const fake_server::RoutedStanza& routed);
  void OnCutReady();
  void OnCutFailure(const std::string& reason);
  // How far a client that is not ready got ("connected, STARTTLS done, SASL
  // PLAIN failed: not-authorized"), from the fake server's login log; writes
  // the login transcript into the result.
  std::string LoginProgress();

  // --- Step machine
  // ----------------------------------------------------------------

  // Runs the next step from a fresh handler, so long scenarios do not recurse.
  void ContinueSoon();
  void RunCurrent();

  // One `${candidates:NAME[:KINDS][:next]}` placeholder (scenarios/README.md).
  struct CandidatesPlaceholder {
    size_t start = 0;
    size_t end = 0;  // one past the '}'
    std::string name;
    bool next = false;
    std::optional<CandidateKinds> kinds;  // unset: every kind of the round
  };

  // `${codecs:answer}`: the peer's accept of the client's initiate, as
  // payload-type elements (Negotiation::AnswerToClient).
  absl::StatusOr<std::string> CodecsAnswerXml() const;

  static absl::StatusOr<std::vector<CandidatesPlaceholder>> FindPlaceholders(
      const std::string& text);

  // Substitutes `${candidates:...}` (raw XML) and then ordinary variables.
  // Placeholders whose round was gathered for this step (`gathered_`) write
  // that round instead of allocating one.
  absl::StatusOr<std::string> ExpandStanza(const std::string& text);

  // Starts gathering the first round a placeholder of `text` needs from the
  // STUN server or the relay (a new round with stun or relay kinds); true
  // while one is under way, and RunSend runs again when it is done.
  absl::StatusOr<bool> GatherForSend(const std::string& text);
  void RunSend(const SendStep& send);
  void RunControl(const ControlStep& control);
  void RunEnd(const EndStep& end);
  // Before the first `call` to a simulated peer, a client that may learn
  // voice support by disco (PROTOCOL.md §7) gets up to
  // RunnerOptions.call_caps_wait to ask the peer's caps and have the answer;
  // true while that wait runs (RunControl runs again after it).
  bool WaitForCapsBeforeCall(const std::string& target);
  void PollCapsBeforeCall(SimulatedPeer* callee, absl::Duration until);

  // --- Expects
  // ---------------------------------------------------------------------

  using Inbox = std::deque<SimulatedPeer::Received>;

  // The peer a step sends as, listens on or measures media with (Step.peer;
  // the first peer when unset).
  SimulatedPeer* PeerFor(const Step& step);
  // Where a step's expects look: every stanza the client sent (to="any"), or
  // what reached the step's peer.
  Inbox* InboxFor(const Step& step);
  // Whether any step looks at client_out_: if none does, the stanzas need not
  // be copied there (most scenarios; those copies were 97 of a fuzz
  // schedule's 2,010 allocations in callee-g1-basic).
  static bool ReadsClientOut(const Scenario& scenario);

  struct PendingExpect {
    const Step* step;
    std::shared_ptr<const xmpp::Element> pattern;
    bool matched = false;
  };

  // Sets a step's stanza, as text unless options_.stanza_text is off.
  void SetStepStanza(StepResult& record, const xmpp::Element& stanza) const;
  // Parses a pattern; on failure ends the step with an error and returns
  // null. Parsed patterns are shared by the runs of a thread (a fuzz campaign
  // starts the same steps thousands of times).
  std::shared_ptr<const xmpp::Element> ParsePattern(const std::string& text);
  void StartExpect(const Step& step);
  void StartAnyOrder(const Step& step);
  void StartExpectNone(const ExpectNoneStep& none);
  // <one-of>: waits for the first expect of every branch; the first stanza
  // that matches one takes that branch (scenario.proto, OneOfStep).
  void StartOneOf(const Step& step);
  void CheckOneOf();
  // Runs a jump, a repeat head or a repeat end (no step record); false when
  // the step fails (a repeat whose `until` never matched) and needs one.
  bool RunFlow(const Step& step);
  void OnInboxChanged();
  void CheckInbox();
  void CheckForbidden();
  void ExpectTimedOut();
  // The pattern of `step` with the variables defined so far written in (the
  // rest stay `${name}`), for failure reports; nullopt if it does not parse.
  std::optional<xmpp::Element> ExpandedPattern(const Step& step) const;
  // After an expect timed out (failed, skipped or gone on elsewhere): notes
  // in its report when a matching stanza arrives late, while the run goes on
  // or settles.
  void WatchForLate(const Step& step);
  void CheckLate();
  // "; a matching stanza did arrive, early, ...": when one came before the
  // step began and an earlier step consumed it; else empty.
  std::string EarlyNote(const Step& step) const;

  // --- Background expects
  // ---------------------------------------------------------

  // The pattern is fixed now (${last_id} and friends take their current
  // values); names still undefined stay captures.
  void StartBackgroundExpect(const Step& step);
  void CheckBackground();
  void BackgroundTimedOut(BackgroundExpect* expect);
  std::string RecentTranscript() const;

  // --- Media
  // ------------------------------------------------------------------

  void StartMedia(const MediaStep& media);

  // Ends the step early once enough packets went each way.
  void PollMedia();
  void FinishMedia(bool timed_out);

  // --- Verdicts
  // --------------------------------------------------------------------

  void FinishStepRecord(Verdict verdict, const std::string& message);
  void StepDone(Verdict verdict, const std::string& message);
  void StepFailed(const std::string& message, const std::string& diff);
  void StepError(const std::string& message);
  // Skips `step`, which the run's profile does not demand, with a warning.
  void ProfileWarning(const Step& step, const std::string& message);

  // Fails whatever is running (deadline, client failure).
  // `failure_class` names the reason for CI tools
  // (ScenarioResult.failure_type).
  void FailCurrent(const std::string& message,
                   const std::string& failure_class);
  // The reason class of a failed step of this kind.
  static const char* FailureClassOf(const Step& step);
  // "KIND/CLASS" into the result, unless a failure was classed already.
  void SetFailureType(const Step& step, absl::string_view failure_class);

  // Background expects still pending decide the verdict when they resolve.
  void FinishFromSteps();
  void FinishWithError(const std::string& message);

  // VERDICT_UNSPECIFIED is used for "never ready": reported as an error with
  // the kCutNeverReady text so the command line can tell it apart.
  void Finish(Verdict verdict, const std::string& failure);

  // Keeps the client and the peer running after the verdict (oracles only).
  void Settle();
  void Complete();

  // The run's end time and the peers' media and ping counts: what `settled`
  // reads, refreshed on every settling tick. Idempotent.
  void CollectPeerCounts();
  // Those and the peers' findings (GiceFindings builds them as text, so only
  // once, at the end). Idempotent.
  void CollectPeerFigures();
  void ForEachPeerChannel(
      const std::function<void(const media_sim::GiceStats&)>& visit) const;
  void Teardown();

  enum class Wait { kNone, kExpect, kExpectNone };

  boost::asio::io_context& io_;
  Clock& clock_;
  fake_server::FakeServer& server_;
  Scenario scenario_;
  std::unique_ptr<ClientUnderTest> cut_;
  RunnerOptions options_;
  Mt19937_64 bitgen_;
  Done done_;

  // Every simulated peer, in the scenario's order; peer_ is the first, the
  // default of steps without peer=. step_peer_ and inbox_ are the running
  // step's (RunCurrent).
  std::vector<std::unique_ptr<SimulatedPeer>> peers_;
  std::map<std::string, SimulatedPeer*> peers_by_name_;
  SimulatedPeer* peer_ = nullptr;
  SimulatedPeer* step_peer_ = nullptr;
  Inbox* inbox_ = nullptr;
  // Every stanza the client sent, to any address, from login on (the router
  // observer's copy): what to="any" expects match. Consumed independently of
  // the peers' inboxes. Kept only for a scenario with such expects.
  Inbox client_out_;
  const bool keeps_client_out_;
  xmpp::Jid cut_bare_;
  xmpp::Jid cut_jid_;
  bool ready_ = false;
  bool finished_ = false;
  absl::Duration start_;
  absl::Duration ready_at_;
  absl::Time wall_start_;
  int observer_id_ = 0;

  Variables vars_;
  std::map<std::string, int> labels_;
  // The stanza each labelled expect matched: its inbox, position and time
  // (an `after` on another inbox compares times).
  struct MatchedAt {
    const Inbox* inbox = nullptr;
    size_t index = 0;
    absl::Duration time;
  };
  std::map<std::string, MatchedAt> matched_at_;
  // The first position of `inbox` an expect with `after` may match from.
  size_t AfterPosition(const std::string& label, const Inbox& inbox) const;
  int pc_ = 0;
  StepResult* current_ = nullptr;
  absl::Duration step_start_;
  Wait waiting_ = Wait::kNone;
  std::vector<PendingExpect> pending_;
  bool one_of_ = false;  // pending_ are the branches of a <one-of>
  size_t inbox_mark_ = 0;
  // Inbox size when the current expect or any-order step began: the nearest
  // stanza of a failure report is one that arrived since.
  size_t expect_inbox_start_ = 0;
  // The expect that failed by timing out, watched for a late match.
  struct LateWatch {
    std::optional<xmpp::Element> pattern;
    MatchOptions options;
    StepResult* record = nullptr;
    Inbox* inbox = nullptr;
    size_t from = 0;       // inbox position to look from
    absl::Duration bound;  // run time of the bound
  };
  LateWatch late_;
  // Rounds of each running <repeat>, by its head's anchor; the anchor of the
  // repeat whose end just sent the run back to its head.
  std::map<std::string, int> rounds_;
  std::string looping_back_;

  std::unique_ptr<Timer> ready_timer_;
  std::unique_ptr<Timer> deadline_timer_;
  std::unique_ptr<Timer> step_timer_;
  std::unique_ptr<Timer> media_poll_;
  std::unique_ptr<Timer> settle_timer_;
  absl::Duration settle_end_;
  std::vector<std::unique_ptr<BackgroundExpect>> background_;
  bool steps_over_ = false;
  // A step the run's profile does not demand has failed and been skipped.
  bool profile_step_skipped_ = false;
  std::unique_ptr<MediaLoopback> loopback_;
  // The running media step's codec= assertion and negotiated set.
  std::optional<media_sim::RtpCodec> media_asserted_;
  std::string media_asserted_because_;  // "" for the step's own codec
  std::string media_negotiated_;
  // Peers whose caps a call already waited for (WaitForCapsBeforeCall).
  std::set<const SimulatedPeer*> caps_waited_;
  // Placeholders of the current send step whose round was gathered.
  std::set<size_t> gathered_;
  ScenarioResult result_;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RUN_RUNNER_IMPL_H_

// The properties a Google Talk client must keep under every schedule the
// timeout fuzzer draws (PROTOCOL.md §6, §8), checked on a finished run.
//
// They read only what the runner recorded: the transcript of stanzas between
// the client and the peer, the client's failure if any, and the RTP packets and
// GICE findings the peer's channels saw. Each violated property is reported
// by its name, with the evidence.
#ifndef TALKCHECK_HARNESS_FUZZ_ORACLES_H_
#define TALKCHECK_HARNESS_FUZZ_ORACLES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "harness/fuzz/fuzz.pb.h"
#include "harness/report/report.pb.h"
#include "xmpp/element.h"

namespace talkcheck::harness {

// The client crashed, exited or lost its XMPP connection.
inline constexpr char kOracleClientFailed[] = "client-crashed-or-disconnected";
// A session iq from the peer got neither a result nor an error within the
// 15 s every libjingle peer waits.
inline constexpr char kOracleUnacknowledged[] = "unacknowledged-session-iq";
// A session stayed open past the client's own deadline: 180 s without an
// accept, or 50 s after the initiate without media once accepted.
inline constexpr char kOraclePastDeadline[] = "session-open-past-deadline";
// At the end of the run a session had neither ended nor reached media.
inline constexpr char kOracleNoOutcome[] = "session-without-outcome";
// RTP from the client to one of our candidates of an older generation.
inline constexpr char kOracleStaleGeneration[] = "media-to-stale-generation";
// RTP from the client on a pair it could not yet know to be writable.
inline constexpr char kOracleBeforeWritable[] = "media-before-writable";
// The scenario's own expectations failed under a schedule that keeps them
// meaningful (harness/schedule.h: KeepsExpectations).
inline constexpr char kOracleExpectation[] = "scenario-expectation";
// The harness could not run the schedule (a bug of ours, never the client's).
inline constexpr char kOracleHarnessError[] = "harness-error";

// Oracles that hold one implementation's habit rather than a rule every client
// keeps are checked only under the profiles that demand it, as a scenario's
// profile steps (harness/scenario/profiles.h): libjingle's session timers
// (PROTOCOL.md §6: gabble, libpurple and Asterisk have none) under
// libjingle-0.4 and libjingle-0.7, its generation tie-break (§3.3) under
// libjingle-0.7. Every other oracle, under every profile.
bool OracleDemanded(absl::string_view oracle, absl::string_view profile);

// The oracles `profile` does not demand, each with its habit and the profiles
// that check it, for a campaign's report; empty when it demands them all.
std::string OraclesNotDemanded(absl::string_view profile);

// `violations` less those of oracles `profile` does not demand.
std::vector<Violation> DemandedViolations(std::vector<Violation> violations,
                                          absl::string_view profile);

// The client deadlines the oracles hold it to (PROTOCOL.md §6), with slack:
// timers fire a little late, datagrams are delayed by the schedule. Scaled()
// is for a client whose timers run K times as fast (ClientSpec::time_scale).
struct ClientDeadlines {
  absl::Duration ack = absl::Seconds(15);
  absl::Duration ring = absl::Seconds(180);
  absl::Duration writable = absl::Seconds(50);
  absl::Duration grace = absl::Seconds(3);

  static ClientDeadlines Scaled(double k) {
    ClientDeadlines d;
    d.ack *= k;
    d.ring *= k;
    d.writable *= k;
    // A real process on a busy machine is late by more than k * 3 s.
    d.grace = d.grace * k + absl::Milliseconds(500);
    return d;
  }
};

// One session as the transcript shows it; times since the run started, -1
// when it did not happen.
struct SessionTimeline {
  std::string sid;
  int64_t initiated_us = -1;
  int64_t accepted_us = -1;
  int64_t ended_us = -1;  // terminate, reject, redirect, or an error answer
};

std::vector<SessionTimeline> Sessions(const ScenarioResult& result);

// The session iqs of a transcript, each stanza read once. A runner feeds it
// the stanzas as it records them (Observe), so nothing is parsed back from
// StanzaRecord.xml; records it was not shown (a transcript alone, as in a
// replay file) are parsed when it is next asked. Not thread-safe.
class TranscriptIqs {
 public:
  TranscriptIqs();
  ~TranscriptIqs();
  TranscriptIqs(const TranscriptIqs&) = delete;
  TranscriptIqs& operator=(const TranscriptIqs&) = delete;

  // `stanza` is what `record` was written from. Records come in transcript
  // order, each once, and before any record of the same transcript is parsed.
  void Observe(const StanzaRecord& record, const xmpp::Element& stanza);

 private:
  friend std::vector<Violation> CheckOracles(const ScenarioResult&, bool,
                                             const ClientDeadlines&,
                                             TranscriptIqs&);
  friend bool Settled(const ScenarioResult&, TranscriptIqs&,
                      const ClientDeadlines&);
  struct Parsed;
  // Parses the records of `result` not yet observed.
  const Parsed& CatchUp(const ScenarioResult& result);
  std::unique_ptr<Parsed> parsed_;
};

// Every violated property of a finished run. `keeps_expectations` says
// whether the scenario's own verdict counts. `iqs` holds what was already read
// of the transcript.
std::vector<Violation> CheckOracles(
    const ScenarioResult& result, bool keeps_expectations,
    const ClientDeadlines& deadlines = ClientDeadlines());
std::vector<Violation> CheckOracles(const ScenarioResult& result,
                                    bool keeps_expectations,
                                    const ClientDeadlines& deadlines,
                                    TranscriptIqs& iqs);

// Whether a run past its verdict has nothing left to show: every session ended
// or reached media, and no session iq from the peer awaits its answer.
bool Settled(const ScenarioResult& result);

// The same for a run asked again and again as it settles: `iqs` keeps what
// was read, so each stanza of the growing transcript is read once.
bool Settled(const ScenarioResult& result, TranscriptIqs& iqs,
             const ClientDeadlines& deadlines = ClientDeadlines());

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_FUZZ_ORACLES_H_

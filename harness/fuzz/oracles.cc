#include "harness/fuzz/oracles.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

namespace ns = xmpp::ns;

// An oracle that holds an implementation's habit: which profiles demand it.
struct OracleHabit {
  const char* oracle;
  const char* habit;
  std::vector<absl::string_view> profiles;
};

const std::vector<OracleHabit>& OracleHabits() {
  static const auto* habits = new std::vector<OracleHabit>{
      {kOraclePastDeadline,
       "libjingle's session timers, PROTOCOL.md §6",
       {"libjingle-0.4", "libjingle-0.7"}},
      {kOracleNoOutcome,
       "libjingle's session timers, PROTOCOL.md §6",
       {"libjingle-0.4", "libjingle-0.7"}},
      {kOracleStaleGeneration,
       "libjingle 0.7's generation tie-break, PROTOCOL.md §3.3",
       {"libjingle-0.7"}},
  };
  return *habits;
}

// The deadlines in microseconds, as the transcript counts time.
struct DeadlinesUs {
  explicit DeadlinesUs(const ClientDeadlines& d)
      : ack(absl::ToInt64Microseconds(d.ack)),
        ring(absl::ToInt64Microseconds(d.ring)),
        writable(absl::ToInt64Microseconds(d.writable)),
        grace(absl::ToInt64Microseconds(d.grace)) {}
  int64_t ack, ring, writable, grace;
};

// A transcript record that is a session iq or its answer.
struct SessionIq {
  int64_t time_us;
  bool from_client;
  std::string type;  // iq type
  std::string id;
  std::string sid;           // empty for answers
  std::string session_type;  // initiate, accept, ...
};

// Appends `stanza` to `out` if it is a session iq or an answer between the
// client and the peer.
void AppendIfSessionIq(const StanzaRecord& record, const xmpp::Element& stanza,
                       std::vector<SessionIq>& out) {
  const bool from_client = record.direction() == "cut->peer";
  if (!from_client && record.direction() != "peer->cut") return;
  if (!stanza.Is(ns::kClient, "iq")) return;
  SessionIq iq{record.time_us(),        from_client, stanza.AttrOr("type", ""),
               stanza.AttrOr("id", ""), "",          ""};
  if (const xmpp::Element* session =
          stanza.FindChild(ns::kGoogleSession, "session")) {
    iq.sid = session->AttrOr("id", "");
    iq.session_type = session->AttrOr("type", "");
  }
  out.push_back(std::move(iq));
}

// Appends the session iqs among transcript records [from, end) to `out`,
// parsing each record's XML.
void AppendSessionIqs(const ScenarioResult& result, int from,
                      std::vector<SessionIq>& out) {
  for (int i = from; i < result.transcript_size(); ++i) {
    const StanzaRecord& record = result.transcript(i);
    if (record.direction() != "cut->peer" && record.direction() != "peer->cut")
      continue;
    absl::StatusOr<xmpp::Element> stanza = xmpp::ParseElement(record.xml());
    if (stanza.ok()) AppendIfSessionIq(record, *stanza, out);
  }
}

bool IsAnswer(const SessionIq& iq) {
  return iq.type == "result" || iq.type == "error";
}

// Whether the other side's first result or error for `iq` came within
// `wait_us` of it.
bool AnsweredWithin(const std::vector<SessionIq>& iqs, const SessionIq& iq,
                    int64_t wait_us) {
  for (const SessionIq& reply : iqs) {
    if (reply.from_client != iq.from_client && IsAnswer(reply) &&
        reply.id == iq.id) {
      return reply.time_us <= iq.time_us + wait_us;
    }
  }
  return false;
}

// Session iqs from the peer with no answer from the client, that were sent at
// least `wait_us` before `now_us`.
std::vector<const SessionIq*> Unanswered(const std::vector<SessionIq>& iqs,
                                         int64_t now_us, int64_t wait_us) {
  std::vector<const SessionIq*> out;
  for (const SessionIq& iq : iqs) {
    if (iq.from_client || iq.type != "set" || iq.sid.empty()) continue;
    if (iq.time_us + wait_us > now_us) continue;
    if (!AnsweredWithin(iqs, iq, wait_us)) out.push_back(&iq);
  }
  return out;
}

// A redirect does not end the session: the caller sends its initiate again,
// with the same session id, to the target (LJ04 Session::OnRedirectMessage).
bool EndsSession(const std::string& session_type) {
  return session_type == "terminate" || session_type == "reject";
}

// Transport messages: libjingle ignores their failures, but only those of
// candidates and transport-info; a failed transport-accept is a session
// error like any other (LJ04 Session::OnFailedSend; PROTOCOL.md §6).
bool IsTransportMessage(const std::string& session_type) {
  return session_type == "candidates" || session_type == "transport-info";
}

// The client's own session iqs that the peer never answered within 15 s,
// but transport messages and those that end a session: each must end its
// session by then (libjingle turns the timeout into a session error and
// terminates, PROTOCOL.md §6).
std::vector<const SessionIq*> UnansweredFromClient(
    const std::vector<SessionIq>& iqs, int64_t ack_us) {
  std::vector<const SessionIq*> out;
  for (const SessionIq& iq : iqs) {
    if (!iq.from_client || iq.type != "set" || iq.sid.empty() ||
        EndsSession(iq.session_type) || IsTransportMessage(iq.session_type)) {
      continue;
    }
    if (!AnsweredWithin(iqs, iq, ack_us)) out.push_back(&iq);
  }
  return out;
}

bool ReachedMedia(const SessionTimeline& session,
                  const ScenarioResult& result) {
  return session.accepted_us >= 0 && result.media_from_client() > 0;
}

std::string Seconds(int64_t us) { return absl::StrFormat("%.3fs", us / 1e6); }

std::vector<SessionTimeline> SessionsOf(const std::vector<SessionIq>& iqs) {
  std::map<std::string, SessionTimeline> by_sid;
  std::map<std::string, std::string> initiate_ids;  // iq id -> sid
  for (const SessionIq& iq : iqs) {
    if (iq.sid.empty()) continue;
    SessionTimeline& session = by_sid[iq.sid];
    session.sid = iq.sid;
    if (iq.session_type == "initiate" && session.initiated_us < 0) {
      session.initiated_us = iq.time_us;
      initiate_ids[iq.id] = iq.sid;
    }
    if (iq.session_type == "accept" && session.accepted_us < 0)
      session.accepted_us = iq.time_us;
    if (EndsSession(iq.session_type) && session.ended_us < 0) {
      session.ended_us = iq.time_us;
    }
  }
  // An initiate answered with an error never started.
  for (const SessionIq& iq : iqs) {
    if (iq.type != "error") continue;
    auto it = initiate_ids.find(iq.id);
    if (it == initiate_ids.end()) continue;
    SessionTimeline& session = by_sid[it->second];
    if (session.ended_us < 0) session.ended_us = iq.time_us;
  }
  std::vector<SessionTimeline> out;
  for (auto& [sid, session] : by_sid) {
    // An accept that crossed the terminate on the wire accepted nothing.
    if (session.ended_us >= 0 && session.accepted_us > session.ended_us)
      session.accepted_us = -1;
    if (session.initiated_us >= 0) out.push_back(std::move(session));
  }
  return out;
}

}  // namespace

struct TranscriptIqs::Parsed {
  std::vector<SessionIq> iqs;
  int records = 0;  // transcript records already read
};

TranscriptIqs::TranscriptIqs() : parsed_(std::make_unique<Parsed>()) {}
TranscriptIqs::~TranscriptIqs() = default;

void TranscriptIqs::Observe(const StanzaRecord& record,
                            const xmpp::Element& stanza) {
  AppendIfSessionIq(record, stanza, parsed_->iqs);
  ++parsed_->records;
}

const TranscriptIqs::Parsed& TranscriptIqs::CatchUp(
    const ScenarioResult& result) {
  // The transcript only grows: parse what is new since the last call.
  AppendSessionIqs(result, parsed_->records, parsed_->iqs);
  parsed_->records = std::max(parsed_->records, result.transcript_size());
  return *parsed_;
}

std::vector<SessionTimeline> Sessions(const ScenarioResult& result) {
  std::vector<SessionIq> iqs;
  AppendSessionIqs(result, 0, iqs);
  return SessionsOf(iqs);
}

bool OracleDemanded(absl::string_view oracle, absl::string_view profile) {
  for (const OracleHabit& h : OracleHabits()) {
    if (h.oracle != oracle) continue;
    return std::find(h.profiles.begin(), h.profiles.end(), profile) !=
           h.profiles.end();
  }
  return true;
}

std::string OraclesNotDemanded(absl::string_view profile) {
  std::vector<std::string> off;
  for (const OracleHabit& h : OracleHabits()) {
    if (OracleDemanded(h.oracle, profile)) continue;
    off.push_back(absl::StrCat(h.oracle, " (", h.habit, "; --profile=",
                               absl::StrJoin(h.profiles, " or "), ")"));
  }
  return absl::StrJoin(off, ", ");
}

std::vector<Violation> DemandedViolations(std::vector<Violation> violations,
                                          absl::string_view profile) {
  violations.erase(std::remove_if(violations.begin(), violations.end(),
                                  [profile](const Violation& v) {
                                    return !OracleDemanded(v.oracle(), profile);
                                  }),
                   violations.end());
  return violations;
}

std::vector<Violation> CheckOracles(const ScenarioResult& result,
                                    bool keeps_expectations,
                                    const ClientDeadlines& deadlines) {
  TranscriptIqs iqs;
  return CheckOracles(result, keeps_expectations, deadlines, iqs);
}

std::vector<Violation> CheckOracles(const ScenarioResult& result,
                                    bool keeps_expectations,
                                    const ClientDeadlines& deadlines,
                                    TranscriptIqs& transcript_iqs) {
  const DeadlinesUs d(deadlines);
  std::vector<Violation> out;
  auto add = [&out](const char* oracle, std::string detail) {
    Violation& v = out.emplace_back();
    v.set_oracle(oracle);
    v.set_detail(std::move(detail));
  };
  if (result.verdict() == ERROR) {
    add(kOracleHarnessError, result.failure());
    return out;
  }
  if (!result.client_failure().empty())
    add(kOracleClientFailed, result.client_failure());

  const int64_t end_us = std::max(result.end_us(), result.duration_us());
  const std::vector<SessionIq>& iqs = transcript_iqs.CatchUp(result).iqs;
  if (result.client_failure().empty()) {
    for (const SessionIq* iq : Unanswered(iqs, end_us, d.ack)) {
      add(kOracleUnacknowledged,
          absl::StrCat("the ", iq->session_type, " iq id=", iq->id,
                       " of session ", iq->sid, " sent at ",
                       Seconds(iq->time_us), " was not answered within ",
                       absl::FormatDuration(deadlines.ack)));
    }
  }

  const std::vector<SessionTimeline> sessions = SessionsOf(iqs);
  for (const SessionTimeline& s : sessions) {
    const bool accepted = s.accepted_us >= 0;
    // The 50 s writability timer starts at the initiate, so ringing time
    // counts (LJ04 Session::OnTransportConnecting): a session none of whose
    // pairs could become writable must end 50 s after it, accepted or not.
    const bool never_writable = result.peer_pings_answered() == 0;
    const bool writable_deadline = accepted || never_writable;
    const int64_t limit_us =
        s.initiated_us + (writable_deadline ? d.writable : d.ring);
    const int64_t open_until = s.ended_us >= 0 ? s.ended_us : end_us;
    if (!ReachedMedia(s, result) && open_until > limit_us + d.grace) {
      add(kOraclePastDeadline,
          absl::StrCat(
              "session ", s.sid, " initiated at ", Seconds(s.initiated_us),
              accepted ? " was accepted but no media arrived, and "
              : never_writable
                  ? " was never accepted and none of its checks was answered, "
                    "and "
                  : " was never accepted, and ",
              s.ended_us >= 0
                  ? absl::StrCat("ended only at ", Seconds(s.ended_us))
                  : absl::StrCat("was still open at ", Seconds(end_us)),
              " (deadline ", writable_deadline ? "50s" : "180s",
              " after the initiate)"));
    }
    if (s.ended_us < 0 && !ReachedMedia(s, result) && result.end_us() > 0 &&
        end_us >= s.initiated_us + d.ring + d.grace) {
      add(kOracleNoOutcome, absl::StrCat("session ", s.sid,
                                         " neither ended nor reached media "
                                         "by the end of the run at ",
                                         Seconds(end_us)));
    }
  }

  for (const SessionIq* iq : UnansweredFromClient(iqs, d.ack)) {
    const int64_t deadline = iq->time_us + d.ack + d.grace;
    if (end_us < deadline) continue;  // the run ended too soon to tell
    int64_t ended = -1;
    for (const SessionTimeline& s : sessions) {
      if (s.sid == iq->sid) ended = s.ended_us;
    }
    if (ended < 0 || ended > deadline) {
      add(kOraclePastDeadline,
          absl::StrCat("the client's ", iq->session_type, " iq id=", iq->id,
                       " of session ", iq->sid, " sent at ",
                       Seconds(iq->time_us), " got no answer within ",
                       absl::FormatDuration(deadlines.ack), ", but the client ",
                       ended < 0 ? "never ended the session"
                                 : absl::StrCat("ended the session only at ",
                                                Seconds(ended))));
    }
  }

  const auto& findings = result.peer_findings();
  for (const auto& [finding, oracle] :
       {std::pair<const char*, const char*>{"media_to_stale_generation",
                                            kOracleStaleGeneration},
        {"media_before_writable", kOracleBeforeWritable}}) {
    auto it = findings.find(finding);
    if (it != findings.end() && it->second > 0) {
      add(oracle, absl::StrCat(it->second, " RTP packets (GICE finding ",
                               finding, ")"));
    }
  }

  if (keeps_expectations && result.verdict() == FAIL)
    add(kOracleExpectation, result.failure());
  return out;
}

bool Settled(const ScenarioResult& result) {
  TranscriptIqs iqs;
  return Settled(result, iqs);
}

bool Settled(const ScenarioResult& result, TranscriptIqs& transcript_iqs,
             const ClientDeadlines& deadlines) {
  const DeadlinesUs d(deadlines);
  if (!result.client_failure().empty()) return true;
  const std::vector<SessionIq>& iqs = transcript_iqs.CatchUp(result).iqs;
  // An unanswered iq younger than 15 s may still be answered; older ones are
  // settled failures.
  for (const SessionIq* iq : Unanswered(iqs, result.end_us() + d.ack, d.ack)) {
    if (iq->time_us + d.ack > result.end_us()) return false;
  }
  const std::vector<SessionTimeline> sessions = SessionsOf(iqs);
  for (const SessionTimeline& s : sessions) {
    // Open and without media: every oracle can tell once the ring deadline
    // (the longest) and its grace have passed.
    if (s.ended_us < 0 && !ReachedMedia(s, result) &&
        result.end_us() < s.initiated_us + d.ring + d.grace) {
      return false;
    }
  }
  // A client iq the peer left unanswered: wait for the client to give up.
  for (const SessionIq* iq : UnansweredFromClient(iqs, d.ack)) {
    if (iq->time_us + d.ack + d.grace <= result.end_us()) continue;
    for (const SessionTimeline& s : sessions) {
      if (s.sid == iq->sid && s.ended_us < 0) return false;
    }
  }
  return true;
}

}  // namespace talkcheck::harness

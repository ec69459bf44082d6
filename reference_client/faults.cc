#include "reference_client/faults.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace talkcheck::reference_client {
namespace {

// In enumerator order. Descriptions say what the client does wrong; proofs
// name the scenario whose fault_ test fails against it (FAULT_PROOFS in
// scenarios/BUILD.bazel) and, for faults only some timings show, the scenario
// of the fuzz_proof_ campaign (FUZZ_PROOFS).
constexpr FaultInfo kFaults[] = {
    {Fault::kNoAck, "no-ack", "never acknowledges session iqs",
     "seed-initiate-ack", ""},
    {Fault::kLateAck, "late-ack",
     "acknowledges session iqs after 20 s, past libjingle's 15 s iq timeout",
     "seed-initiate-ack", ""},
    {Fault::kWrongInitiator, "wrong-initiator",
     "echoes the session's `initiator` changed (other case, no resource)",
     "initiator-echo", ""},
    {Fault::kRenumberedCodecIds, "renumbered-codec-ids",
     "its accept renumbers the payload-type ids the caller offered",
     "accept-codec-subset", ""},
    {Fault::kCandidatesAfterAnswer, "candidates-after-answer",
     "as callee, sends no candidates while it rings, then candidates and the "
     "accept when its user answers (libpurple, PROTOCOL.md §8.4; a habit "
     "libjingle callers need, checked under --profile=libjingle-0.4 or 0.7)",
     "candidates-while-ringing", ""},
    {Fault::kCandidatesBeforeAck, "candidates-before-ack",
     "sends its candidates before it acknowledges the initiate",
     "ack-before-candidates", ""},
    {Fault::kNoCandidates, "no-candidates", "never sends candidates",
     "callee-g1-basic", ""},
    {Fault::kStaleGenerationReuse, "stale-generation-reuse",
     "new candidate rounds keep generation 0 and the old ufrags",
     "candidate-generations", ""},
    {Fault::kNoTerminateAck, "no-terminate-ack",
     "does not acknowledge the peer's `terminate`", "terminate-by-peer", ""},
    {Fault::kMissingPasswordAttr, "missing-password-attr",
     "sends candidates without a `password` attribute", "candidate-attributes",
     ""},
    {Fault::kNoCaps, "no-caps",
     "sends presence without the voice caps (ext=\"voice-v1\")",
     "cut-caps-presence", ""},
    {Fault::kNoDiscoAnswer, "no-disco-answer",
     "does not answer disco#info for its node#voice-v1", "cut-disco-voice", ""},
    {Fault::kNoTerminateOnTimeout, "no-terminate-on-timeout",
     "keeps a session open past its own deadlines instead of terminating it",
     "ack-timeout", "callee-g1-basic"},
    {Fault::kAcceptWithoutDescription, "accept-without-description",
     "sends an accept with no description", "empty-description", ""},
    {Fault::kNoRejectOnNoCodec, "no-reject-on-no-codec",
     "accepts a call even when no offered codec is one of its own",
     "reject-no-common-codec", ""},
    {Fault::kNoTransportAccept, "no-transport-accept",
     "as a G2 callee, never sends transport-accept", "g2-transport-accept", ""},
    {Fault::kNoFallbackToG1, "no-fallback-to-g1",
     "as a G2 caller, ignores `candidates` from a G1 peer", "g2-fallback-g1",
     ""},
    {Fault::kAckBeforeReject, "ack-before-reject",
     "acknowledges the initiate before its automatic reject (libjingle 0.4 "
     "rejects first; a habit, checked under --profile=libjingle-0.4)",
     "reject-before-ack", ""},
    {Fault::kIgnoreUnknownSession, "ignore-unknown-session",
     "sends no error for session messages about sessions it does not know",
     "unknown-session", ""},
    {Fault::kDropEarlyCandidates, "drop-early-candidates",
     "loses candidates that arrive before it has acknowledged the initiate",
     "early-candidates", "callee-g1-basic"},
    {Fault::kNoPingResponses, "no-ping-responses",
     "never answers GICE pings (STUN Binding requests)", "callee-g1-basic", ""},
    {Fault::kUsernameWithoutRemote, "username-without-remote",
     "its GICE pings carry only its own ufrag as USERNAME", "callee-g1-basic",
     ""},
    {Fault::kMediaBeforeWritable, "media-before-writable",
     "sends RTP on a connection that is not writable yet",
     "media-before-writable", ""},
    {Fault::kMediaToStaleGeneration, "media-to-stale-generation",
     "keeps sending RTP on an old candidate generation's pair",
     "media-to-stale-generation", ""},
    {Fault::kWrongPayloadType, "wrong-payload-type",
     "sends RTP with a payload type that maps to no negotiated codec",
     "callee-g1-basic", ""},
    {Fault::kSsrcChange, "ssrc-change",
     "changes its RTP SSRC in the middle of a call", "callee-g1-basic", ""},
    {Fault::kStalledTimestamps, "stalled-timestamps",
     "sends every RTP packet with the first packet's timestamp",
     "callee-g1-basic", ""},
    {Fault::kSendCodecFromEnd, "send-codec-from-end",
     "sends with the last codec of the remote list it supports instead of the "
     "first: negotiated, but not the one libjingle chooses (PROTOCOL.md "
     "§2.2; a habit, checked under --profile=libjingle-0.4 or 0.7)",
     "send-codec-remote-first", ""},
    {Fault::kAnswerAtOnce, "answer-at-once",
     "answers an incoming call at once, as if the user had, whatever the "
     "options say",
     "callee-answer-after-ringing", ""},
    {Fault::kIgnoreUserReject, "ignore-user-reject",
     "ignores the user's reject: the call goes on ringing",
     "callee-user-reject", ""},
    {Fault::kIgnoreErrorReplies, "ignore-error-replies",
     "an error answer to its own session iq changes nothing (only timeouts "
     "end the session)",
     "initiate-error-reply", ""},
    {Fault::kStrictTerminatePayload, "strict-terminate-payload",
     "answers a terminate or reject that carries a reason with bad-request "
     "instead of a result",
     "terminate-reason-general-error", ""},
    {Fault::kTerminateAgainOnTimeout, "terminate-again-on-timeout",
     "sends its terminate again when it goes unacknowledged",
     "terminate-unacked", ""},
    {Fault::kIgnoreGlareInitiate, "ignore-glare-initiate",
     "does not answer an initiate from the peer it is calling itself", "glare",
     ""},
    {Fault::kRedirectWithoutCookie, "redirect-without-cookie",
     "follows a redirect without copying its cookie", "redirect-followed", ""},
    {Fault::kCaseInsensitiveCodecs, "case-insensitive-codecs",
     "matches dynamic codec names regardless of case and writes its own "
     "spelling in the accept",
     "codec-name-case", ""},
    {Fault::kMatchDynamicById, "match-dynamic-by-id",
     "matches dynamic payload types by id, not by name",
     "codec-dynamic-id-clash", ""},
    {Fault::kIgnoreUnknownSessionType, "ignore-unknown-session-type",
     "does not answer session types it does not know (modify, update)",
     "unknown-type-modify", ""},
    {Fault::kAckWrongState, "ack-wrong-state",
     "acknowledges accept, reject or redirect in any session state",
     "wrong-state-accept", ""},
    {Fault::kLaxCandidates, "lax-candidates",
     "acknowledges candidates it cannot use (unknown channel, long ufrag, zero "
     "address) and skips them",
     "candidate-unknown-channel", ""},
    {Fault::kAcceptAnyResource, "accept-any-resource",
     "takes session messages from any resource of the peer's account",
     "new-resource-session-message", ""},
    {Fault::kOwnCapsNode, "own-caps-node",
     "announces its caps under its own node with a hash, as libpurple and "
     "gabble do (not Google's node)",
     "cut-caps-google-node", ""},
    {Fault::kAbandonTimedOutPairs, "abandon-timed-out-pairs",
     "never checks a write-timed-out GICE pair again, even when the peer "
     "pings it (libjingle 0.4 checks it again)",
     "pings-after-write-timeout", ""},
    {Fault::kRefuseTransportAccept, "refuse-transport-accept",
     "as a G2 caller, answers the callee's transport-accept with an error "
     "(unknown session message type)",
     "g2-caller-transport-accept", ""},
    {Fault::kLaxTransportAccept, "lax-transport-accept",
     "as a G2 caller, acks any transport-accept: one with no p2p transport, "
     "two p2p answers, or options in the answer (libjingle 0.4 refuses them)",
     "g2-caller-transport-accept-foreign", ""},
    {Fault::kNoKeepalive, "no-keepalive",
     "stops its GICE pings once its channel is writable, so a libjingle 0.4 "
     "peer stops taking its RTP after 30 s",
     "long-call-keepalive", ""},
    {Fault::kRtcpWithRtpCandidates, "rtcp-with-rtp-candidates",
     "announces `rtcp` candidates first in the same message as its `rtp` "
     "ones, which a libjingle 0.4 peer refuses whole (bad-request, "
     "unknown-channel-name): its rtp candidates are lost",
     "rtcp-candidate-lj04", ""},
    {Fault::kNewestCallOnly, "newest-call-only",
     "answers, rejects or hangs up its newest call, whichever call the user "
     "picked",
     "answer-chosen-caller", ""},
    {Fault::kCrashOnInitiate, "crash-on-initiate",
     "dies of SIGSEGV when an initiate arrives, mid-scenario (the reference "
     "client binary only, --client_cmd)",
     "seed-initiate-ack", ""},
    {Fault::kAbortOnInitiate, "abort-on-initiate",
     "calls abort() (SIGABRT) when an initiate arrives (the reference client "
     "binary only, --client_cmd)",
     "seed-initiate-ack", ""},
    {Fault::kHangOnInitiate, "hang-on-initiate",
     "stops itself with SIGSTOP when an initiate arrives: still connected, "
     "reading and answering nothing (the reference client binary only, "
     "--client_cmd)",
     "seed-initiate-ack", ""},
    {Fault::kFloodOnInitiate, "flood-on-initiate",
     "answers an initiate with messages to the caller, without end and "
     "without the ack (the reference client binary only, --client_cmd)",
     "seed-initiate-ack", ""},
    {Fault::kHybridBackToGingle, "hybrid-back-to-gingle",
     "as a G3 client (--dialect=g3), answers a hybrid initiate in Jingle but "
     "sends its accept in Gingle: the caller, which switched to Jingle on the "
     "answer, never sees a session-accept",
     "hybrid-initiate", ""},
};

}  // namespace

bool IsProcessFault(Fault fault) {
  return fault == Fault::kCrashOnInitiate || fault == Fault::kAbortOnInitiate ||
         fault == Fault::kHangOnInitiate || fault == Fault::kFloodOnInitiate;
}

const FaultInfo& GetFaultInfo(Fault fault) {
  for (const FaultInfo& info : kFaults) {
    if (info.fault == fault) return info;
  }
  // Only a value outside the enumeration gets here.
  static constexpr FaultInfo kUnknown = {static_cast<Fault>(-1),
                                         "unknown-fault", "", "", ""};
  return kUnknown;
}

absl::string_view FaultName(Fault fault) { return GetFaultInfo(fault).name; }

absl::StatusOr<Fault> ParseFault(absl::string_view name) {
  for (const FaultInfo& entry : kFaults) {
    if (name == entry.name) return entry.fault;
  }
  std::vector<absl::string_view> names;
  for (const FaultInfo& entry : kFaults) names.push_back(entry.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown fault '", name,
                   "'; valid faults: ", absl::StrJoin(names, ", ")));
}

const std::vector<Fault>& AllFaults() {
  static const std::vector<Fault>* const all = [] {
    auto* faults = new std::vector<Fault>;
    for (const FaultInfo& entry : kFaults) faults->push_back(entry.fault);
    return faults;
  }();
  return *all;
}

absl::StatusOr<FaultSet> ParseFaults(absl::string_view names) {
  FaultSet faults;
  for (absl::string_view name : absl::StrSplit(names, ',', absl::SkipEmpty())) {
    name = absl::StripAsciiWhitespace(name);
    if (name.empty()) continue;
    absl::StatusOr<Fault> fault = ParseFault(name);
    if (!fault.ok()) return fault.status();
    faults.insert(*fault);
  }
  return faults;
}

}  // namespace talkcheck::reference_client

// The reference client's misbehaviours: one switch per fault, so that every
// check the harness makes can be proven both ways (passes against the correct
// client, fails against the client with exactly that fault).
#ifndef TALKCHECK_REFERENCE_CLIENT_FAULTS_H_
#define TALKCHECK_REFERENCE_CLIENT_FAULTS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace talkcheck::reference_client {

enum class Fault {
  kNoAck,    // never acknowledges session iqs
  kLateAck,  // acknowledges session iqs after 20 s (past libjingle's 15 s)
  kWrongInitiator,       // echoes `initiator` with different case / no resource
  kRenumberedCodecIds,   // accept renumbers the offered payload ids
  kCandidatesBeforeAck,  // sends its candidates before acking the initiate
  // As callee, no candidates while it rings: they go out when its user
  // answers, just before the accept (libpurple, PROTOCOL.md §8.4).
  kCandidatesAfterAnswer,
  kNoCandidates,              // never sends candidates
  kStaleGenerationReuse,      // new candidate rounds keep generation 0 and old
                              // ufrags
  kNoTerminateAck,            // does not acknowledge `terminate`
  kMissingPasswordAttr,       // candidates without a `password` attribute
  kNoCaps,                    // presence without the voice caps
  kNoDiscoAnswer,             // does not answer disco#info for node#voice-v1
  kNoTerminateOnTimeout,      // keeps the session open past its own deadlines
  kAcceptWithoutDescription,  // accept carries no description
  kNoRejectOnNoCodec,         // accepts even when no codec is common
  kNoTransportAccept,         // G2 callee does not send transport-accept
  kNoFallbackToG1,            // G2 caller ignores `candidates` from a G1 peer
  kAckBeforeReject,           // acks the initiate before the automatic reject
  kIgnoreUnknownSession,      // no error for messages about unknown sessions
  kDropEarlyCandidates,  // candidates arriving before the initiate is acked are
                         // lost
  // Media path (media_sim): see GiceOptions.
  kNoPingResponses,
  kUsernameWithoutRemote,
  kMediaBeforeWritable,
  kMediaToStaleGeneration,
  kWrongPayloadType,
  kSsrcChange,
  kStalledTimestamps,  // every RTP packet carries the first one's timestamp
  // Sends with the last codec of the remote list it supports instead of the
  // first (PROTOCOL.md §2.2): still a negotiated codec, not the chosen one.
  kSendCodecFromEnd,
  // The user's side (PROTOCOL.md §6): answers an incoming call at once, as
  // if the user had, whatever the options say; ignores the user's reject.
  kAnswerAtOnce,
  kIgnoreUserReject,
  // Error paths and interop (issue 9 §8).
  kIgnoreErrorReplies,        // an error answer to its own session iq changes
                              // nothing (timeouts still end the session)
  kStrictTerminatePayload,    // answers a terminate or reject that carries a
                              // reason with bad-request instead of a result
  kTerminateAgainOnTimeout,   // sends its terminate again when it goes unacked
  kIgnoreGlareInitiate,       // no answer to an initiate from the peer it is
                              // calling itself
  kRedirectWithoutCookie,     // follows a redirect without copying the cookie
  kCaseInsensitiveCodecs,     // matches dynamic codec names regardless of case
                              // and writes its own spelling in the accept
  kMatchDynamicById,          // matches dynamic payload types by id, not name
  kIgnoreUnknownSessionType,  // no answer to session types it does not know
  kAckWrongState,             // acks accept / reject / redirect in any state
  kLaxCandidates,             // acks candidates it cannot use (unknown channel,
                              // long ufrag, zero address), skipping them
  kAcceptAnyResource,         // takes session messages from any resource of the
                              // peer's account
  kOwnCapsNode,               // caps under its own node with a hash, as
                              // libpurple and gabble send them
  // GICE as libjingle 0.4 does it (issue 9 §4).
  kAbandonTimedOutPairs,  // never checks a write-timed-out pair again, even
                          // when the peer pings it
  // Dialects (issue 9 §3), as G2 caller.
  kRefuseTransportAccept,  // answers transport-accept with an error
  kLaxTransportAccept,     // acks any transport-accept (foreign namespace,
                           // two answers, options in it)
  kNoKeepalive,            // stops its GICE pings once writable
  kRtcpWithRtpCandidates,  // announces `rtcp` candidates in the same message
                           // as its `rtp` ones
  // Several calls (issue 10 §2): answers, rejects or hangs up its newest call
  // whichever call the user picked.
  kNewestCallOnly,
  // The client's process misbehaving mid-scenario, when it receives an
  // initiate (issue 13 §4); the reference client binary only
  // (IsProcessFault): linked into talkcheck they would take talkcheck down.
  kCrashOnInitiate,  // dies of SIGSEGV
  kAbortOnInitiate,  // calls abort(): SIGABRT
  kHangOnInitiate,   // stops itself (SIGSTOP): connected, reading nothing
  kFloodOnInitiate,  // sends messages to the caller without end
  // G3 (issue 9 §3): answers a hybrid initiate in Jingle, then sends its
  // accept in Gingle.
  kHybridBackToGingle,
};

// Whether `fault` acts on the client's own process (a signal to itself, a
// flood that never ends): only the reference client binary commits it.
bool IsProcessFault(Fault fault);

// What the fault catalogue (`reference_client --list_faults`) says about one
// fault. The proofs name scenario files in scenarios/ (without ".xml") and
// must agree with FAULT_PROOFS and FUZZ_PROOFS in scenarios/BUILD.bazel:
// //scenarios:fault_table_test checks that they do.
struct FaultInfo {
  Fault fault;
  // Kebab-case of the enumerator: the --fault switch.
  absl::string_view name;
  // One sentence: what the client does wrong.
  absl::string_view description;
  // The scenario that fails against a client with this fault (and passes
  // against the correct one): test //scenarios:fault_NAME.
  absl::string_view proof;
  // A timeout-fuzzing campaign that finds the fault, if any: test
  // //scenarios:fuzz_proof_NAME. Empty when there is none.
  absl::string_view fuzz_proof;
};

// The catalogue entry of `fault`. Every Fault has one.
const FaultInfo& GetFaultInfo(Fault fault);

// "no-ack" <-> Fault::kNoAck, and so on (kebab-case of the enumerator).
absl::string_view FaultName(Fault fault);
absl::StatusOr<Fault> ParseFault(absl::string_view name);
const std::vector<Fault>& AllFaults();

using FaultSet = std::set<Fault>;
// Parses a comma-separated list ("" is the empty set).
absl::StatusOr<FaultSet> ParseFaults(absl::string_view names);

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_FAULTS_H_

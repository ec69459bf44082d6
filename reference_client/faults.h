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
  kNoCandidates,         // never sends candidates
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
};

// "no-ack" <-> Fault::kNoAck, and so on (kebab-case of the enumerator).
absl::string_view FaultName(Fault fault);
absl::StatusOr<Fault> ParseFault(absl::string_view name);
const std::vector<Fault>& AllFaults();

using FaultSet = std::set<Fault>;
// Parses a comma-separated list ("" is the empty set).
absl::StatusOr<FaultSet> ParseFaults(absl::string_view names);

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_FAULTS_H_

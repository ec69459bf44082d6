#include "reference_client/faults.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace talkcheck::reference_client {
namespace {

struct FaultEntry {
  Fault fault;
  const char* name;
};

// In enumerator order; every name is the enumerator in kebab-case.
constexpr FaultEntry kFaults[] = {
    {Fault::kNoAck, "no-ack"},
    {Fault::kLateAck, "late-ack"},
    {Fault::kWrongInitiator, "wrong-initiator"},
    {Fault::kRenumberedCodecIds, "renumbered-codec-ids"},
    {Fault::kCandidatesBeforeAck, "candidates-before-ack"},
    {Fault::kNoCandidates, "no-candidates"},
    {Fault::kStaleGenerationReuse, "stale-generation-reuse"},
    {Fault::kNoTerminateAck, "no-terminate-ack"},
    {Fault::kMissingPasswordAttr, "missing-password-attr"},
    {Fault::kNoCaps, "no-caps"},
    {Fault::kNoDiscoAnswer, "no-disco-answer"},
    {Fault::kNoTerminateOnTimeout, "no-terminate-on-timeout"},
    {Fault::kAcceptWithoutDescription, "accept-without-description"},
    {Fault::kNoRejectOnNoCodec, "no-reject-on-no-codec"},
    {Fault::kNoTransportAccept, "no-transport-accept"},
    {Fault::kNoFallbackToG1, "no-fallback-to-g1"},
    {Fault::kAckBeforeReject, "ack-before-reject"},
    {Fault::kIgnoreUnknownSession, "ignore-unknown-session"},
    {Fault::kDropEarlyCandidates, "drop-early-candidates"},
    {Fault::kNoPingResponses, "no-ping-responses"},
    {Fault::kUsernameWithoutRemote, "username-without-remote"},
    {Fault::kMediaBeforeWritable, "media-before-writable"},
    {Fault::kMediaToStaleGeneration, "media-to-stale-generation"},
    {Fault::kWrongPayloadType, "wrong-payload-type"},
    {Fault::kSsrcChange, "ssrc-change"},
};

}  // namespace

absl::string_view FaultName(Fault fault) {
  for (const FaultEntry& entry : kFaults) {
    if (entry.fault == fault) return entry.name;
  }
  return "unknown-fault";
}

absl::StatusOr<Fault> ParseFault(absl::string_view name) {
  for (const FaultEntry& entry : kFaults) {
    if (name == entry.name) return entry.fault;
  }
  std::vector<absl::string_view> names;
  for (const FaultEntry& entry : kFaults) names.push_back(entry.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown fault '", name,
                   "'; valid faults: ", absl::StrJoin(names, ", ")));
}

const std::vector<Fault>& AllFaults() {
  static const std::vector<Fault>* const all = [] {
    auto* faults = new std::vector<Fault>;
    for (const FaultEntry& entry : kFaults) faults->push_back(entry.fault);
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

#include "xmpp/stream_error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace talkcheck::xmpp {
namespace {

// The payload's type URL is the streams namespace itself: whoever inspects a
// Status sees at once which vocabulary the value belongs to.
constexpr char kPayloadUrl[] = "urn:ietf:params:xml:ns:xmpp-streams";

// Indexed by the enum value, which follows RFC 6120 §4.9.3's order.
constexpr absl::string_view kNames[] = {
    "bad-format",
    "bad-namespace-prefix",
    "conflict",
    "connection-timeout",
    "host-gone",
    "host-unknown",
    "improper-addressing",
    "internal-server-error",
    "invalid-from",
    "invalid-namespace",
    "invalid-xml",
    "not-authorized",
    "not-well-formed",
    "policy-violation",
    "remote-connection-failed",
    "reset",
    "resource-constraint",
    "restricted-xml",
    "see-other-host",
    "system-shutdown",
    "undefined-condition",
    "unsupported-encoding",
    "unsupported-feature",
    "unsupported-stanza-type",
    "unsupported-version",
};
constexpr size_t kNumConditions = sizeof(kNames) / sizeof(kNames[0]);
static_assert(kNumConditions ==
                  static_cast<size_t>(StreamCondition::kUnsupportedVersion) + 1,
              "kNames must list every StreamCondition");

}  // namespace

absl::string_view StreamConditionName(StreamCondition condition) {
  const auto index = static_cast<size_t>(condition);
  if (index >= kNumConditions) return "undefined-condition";
  return kNames[index];
}

std::optional<StreamCondition> StreamConditionFromName(absl::string_view name) {
  for (size_t i = 0; i < kNumConditions; ++i) {
    if (kNames[i] == name) return static_cast<StreamCondition>(i);
  }
  return std::nullopt;
}

absl::Status StreamError(StreamCondition condition, absl::string_view text) {
  // Limits exceeded by the peer are resource problems, not malformed input;
  // callers that only look at the code can still tell "too much" from "wrong".
  const absl::StatusCode code =
      (condition == StreamCondition::kPolicyViolation ||
       condition == StreamCondition::kResourceConstraint)
          ? absl::StatusCode::kResourceExhausted
          : absl::StatusCode::kInvalidArgument;
  const absl::string_view name = StreamConditionName(condition);
  // An OK-looking empty message would hide which condition fired in logs.
  absl::Status status(code, text.empty() ? name : text);
  status.SetPayload(kPayloadUrl, absl::Cord(name));
  return status;
}

std::optional<StreamCondition> GetStreamCondition(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  // absl::optional, not std::optional: Debian builds Abseil without the std
  // aliases.
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return StreamConditionFromName(std::string(*payload));
}

}  // namespace talkcheck::xmpp

// XMPP stream errors (RFC 6120 §4.9) carried inside absl::Status.
//
// Code that finds a stream-level violation returns a Status made by
// `StreamError()`; the stream owner turns it into `<stream:error><COND
// xmlns=...streams/><text>..</text>` and closes the stream. The condition
// travels as a Status payload, so ordinary Status plumbing (StatusOr, early
// returns) keeps it.
//
// Example:
//   return StreamError(StreamCondition::kRestrictedXml,
//                      "comments are not allowed");
//   ...
//   if (auto cond = GetStreamCondition(status)) {
//     SendStreamError(*cond, status.message());
//   }
#ifndef TALKCHECK_XMPP_STREAM_ERROR_H_
#define TALKCHECK_XMPP_STREAM_ERROR_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace talkcheck::xmpp {

// The defined conditions of RFC 6120 §4.9.3 (all of them, in the RFC's order).
enum class StreamCondition {
  kBadFormat,
  kBadNamespacePrefix,
  kConflict,
  kConnectionTimeout,
  kHostGone,
  kHostUnknown,
  kImproperAddressing,
  kInternalServerError,
  kInvalidFrom,
  kInvalidNamespace,
  kInvalidXml,
  kNotAuthorized,
  kNotWellFormed,
  kPolicyViolation,
  kRemoteConnectionFailed,
  kReset,
  kResourceConstraint,
  kRestrictedXml,
  kSeeOtherHost,
  kSystemShutdown,
  kUndefinedCondition,
  kUnsupportedEncoding,
  kUnsupportedFeature,
  kUnsupportedStanzaType,
  kUnsupportedVersion,
};

// The element name of `condition`, e.g. "not-well-formed".
absl::string_view StreamConditionName(StreamCondition condition);

// Parses an element name back; nullopt for names RFC 6120 does not define.
std::optional<StreamCondition> StreamConditionFromName(absl::string_view name);

// A non-OK Status (code kInvalidArgument, or kResourceExhausted for limits)
// that carries `condition`; `text` is a human-readable explanation.
absl::Status StreamError(StreamCondition condition, absl::string_view text);

// The condition carried by `status`, or nullopt when it is OK or carries none.
std::optional<StreamCondition> GetStreamCondition(const absl::Status& status);

}  // namespace talkcheck::xmpp

#endif  // TALKCHECK_XMPP_STREAM_ERROR_H_

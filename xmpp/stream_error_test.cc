#include "xmpp/stream_error.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "gtest/gtest.h"

namespace talkcheck::xmpp {
namespace {

constexpr char kStreamsNs[] = "urn:ietf:params:xml:ns:xmpp-streams";

// RFC 6120 §4.9.3.1 to §4.9.3.25, in order.
const std::vector<std::pair<StreamCondition, std::string>>& AllConditions() {
  static const auto* const kAll =
      new std::vector<std::pair<StreamCondition, std::string>>{
          {StreamCondition::kBadFormat, "bad-format"},
          {StreamCondition::kBadNamespacePrefix, "bad-namespace-prefix"},
          {StreamCondition::kConflict, "conflict"},
          {StreamCondition::kConnectionTimeout, "connection-timeout"},
          {StreamCondition::kHostGone, "host-gone"},
          {StreamCondition::kHostUnknown, "host-unknown"},
          {StreamCondition::kImproperAddressing, "improper-addressing"},
          {StreamCondition::kInternalServerError, "internal-server-error"},
          {StreamCondition::kInvalidFrom, "invalid-from"},
          {StreamCondition::kInvalidNamespace, "invalid-namespace"},
          {StreamCondition::kInvalidXml, "invalid-xml"},
          {StreamCondition::kNotAuthorized, "not-authorized"},
          {StreamCondition::kNotWellFormed, "not-well-formed"},
          {StreamCondition::kPolicyViolation, "policy-violation"},
          {StreamCondition::kRemoteConnectionFailed,
           "remote-connection-failed"},
          {StreamCondition::kReset, "reset"},
          {StreamCondition::kResourceConstraint, "resource-constraint"},
          {StreamCondition::kRestrictedXml, "restricted-xml"},
          {StreamCondition::kSeeOtherHost, "see-other-host"},
          {StreamCondition::kSystemShutdown, "system-shutdown"},
          {StreamCondition::kUndefinedCondition, "undefined-condition"},
          {StreamCondition::kUnsupportedEncoding, "unsupported-encoding"},
          {StreamCondition::kUnsupportedFeature, "unsupported-feature"},
          {StreamCondition::kUnsupportedStanzaType, "unsupported-stanza-type"},
          {StreamCondition::kUnsupportedVersion, "unsupported-version"},
      };
  return *kAll;
}

// Every condition has the RFC's element name, and the name maps back.
TEST(StreamErrorTest, NamesMatchRfc6120) {
  ASSERT_EQ(AllConditions().size(), 25u);
  for (const auto& [condition, name] : AllConditions()) {
    EXPECT_EQ(StreamConditionName(condition), name);
    EXPECT_EQ(StreamConditionFromName(name), condition) << name;
  }
}

// Names outside RFC 6120 (including stanza-error names and case variants) are
// rejected.
TEST(StreamErrorTest, UnknownNamesAreRejected) {
  EXPECT_EQ(StreamConditionFromName(""), std::nullopt);
  EXPECT_EQ(StreamConditionFromName("Not-Well-Formed"), std::nullopt);
  EXPECT_EQ(StreamConditionFromName("item-not-found"), std::nullopt);
  EXPECT_EQ(StreamConditionFromName("xml-not-well-formed"), std::nullopt);
  EXPECT_EQ(StreamConditionFromName("not-well-formed "), std::nullopt);
}

// The condition survives as a payload keyed by the streams namespace.
TEST(StreamErrorTest, CarriesConditionAsPayload) {
  for (const auto& [condition, name] : AllConditions()) {
    absl::Status status = StreamError(condition, "why");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.message(), "why");
    EXPECT_EQ(GetStreamCondition(status), condition) << name;
    absl::optional<absl::Cord> payload = status.GetPayload(kStreamsNs);
    ASSERT_TRUE(payload.has_value());
    EXPECT_EQ(std::string(*payload), name);
  }
}

// Limits map to kResourceExhausted, every other condition to kInvalidArgument.
TEST(StreamErrorTest, ChoosesStatusCode) {
  for (const auto& [condition, name] : AllConditions()) {
    const bool limit = condition == StreamCondition::kPolicyViolation ||
                       condition == StreamCondition::kResourceConstraint;
    EXPECT_EQ(StreamError(condition, "x").code(),
              limit ? absl::StatusCode::kResourceExhausted
                    : absl::StatusCode::kInvalidArgument)
        << name;
  }
}

// An empty explanation still leaves a readable message.
TEST(StreamErrorTest, EmptyTextUsesConditionName) {
  absl::Status status = StreamError(StreamCondition::kHostUnknown, "");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "host-unknown");
}

// OK statuses and statuses without (or with a foreign) payload carry no
// condition.
TEST(StreamErrorTest, NoConditionOnOtherStatuses) {
  EXPECT_EQ(GetStreamCondition(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(GetStreamCondition(absl::InvalidArgumentError("x")), std::nullopt);
  absl::Status bogus = absl::InvalidArgumentError("x");
  bogus.SetPayload(kStreamsNs, absl::Cord("no-such-condition"));
  EXPECT_EQ(GetStreamCondition(bogus), std::nullopt);
  absl::Status other = absl::InvalidArgumentError("x");
  other.SetPayload("urn:ietf:params:xml:ns:xmpp-stanzas",
                   absl::Cord("not-well-formed"));
  EXPECT_EQ(GetStreamCondition(other), std::nullopt);
}

// The payload rides along through StatusOr and copies, as stream owners rely
// on.
TEST(StreamErrorTest, SurvivesStatusOrPlumbing) {
  absl::StatusOr<int> result =
      StreamError(StreamCondition::kRestrictedXml, "comment");
  absl::Status copy = result.status();
  EXPECT_EQ(GetStreamCondition(copy), StreamCondition::kRestrictedXml);
  EXPECT_EQ(copy.code(), absl::StatusCode::kInvalidArgument);
}

// Two errors with the same condition and text compare equal (payloads
// included).
TEST(StreamErrorTest, EqualityIncludesCondition) {
  EXPECT_EQ(StreamError(StreamCondition::kConflict, "a"),
            StreamError(StreamCondition::kConflict, "a"));
  EXPECT_NE(StreamError(StreamCondition::kConflict, "a"),
            StreamError(StreamCondition::kReset, "a"));
}

}  // namespace
}  // namespace talkcheck::xmpp

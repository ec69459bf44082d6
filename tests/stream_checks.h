// Checks on what the fake server answers a client, shared by the bad-input
// tests: the exact RFC 6120 condition of a stream error, a SASL failure or a
// stanza error, and nothing else.
#ifndef TALKCHECK_TESTS_STREAM_CHECKS_H_
#define TALKCHECK_TESTS_STREAM_CHECKS_H_

#include <gtest/gtest.h>

#include "absl/strings/string_view.h"
#include "tests/raw_client.h"
#include "xmpp/element.h"

namespace talkcheck::integration {

// Checks that `error` holds exactly one condition, `condition` in
// `condition_ns` (a <text/> aside).
::testing::AssertionResult HasOnlyCondition(const xmpp::Element& error,
                                            absl::string_view condition_ns,
                                            absl::string_view condition);

// Reads until the server closes the connection and checks that it sent a
// stream header, then exactly one <stream:error/> whose only condition is
// `condition` (in the streams namespace), then </stream:stream> and nothing
// else (RFC 6120 §4.9.1.1).
::testing::AssertionResult StreamErrorThenClose(RawClient& client,
                                                absl::string_view condition);

// Reads the next element and checks that it is a SASL <failure/> whose only
// condition is `condition` (RFC 6120 §6.5).
::testing::AssertionResult SaslFailure(RawClient& client,
                                       absl::string_view condition);

// Reads up to the iq with `id` and checks that it is an error of `type`
// whose only condition is `condition` (RFC 6120 §8.3).
::testing::AssertionResult IqError(RawClient& client, absl::string_view id,
                                   absl::string_view type,
                                   absl::string_view condition);

}  // namespace talkcheck::integration

#endif  // TALKCHECK_TESTS_STREAM_CHECKS_H_

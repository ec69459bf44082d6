// libFuzzer target: the server's SASL mechanisms, PLAIN and SCRAM-SHA-1 (issue
// 13 §3).
//
// Input: one byte choosing the mechanism (bit 0: SCRAM-SHA-1 or PLAIN) and
// whether the first message is an initial response (bit 1), then the client's
// messages (decoded from base64, as the server hands them over) separated by
// '\n'. The server nonce, salt and iteration count are fixed (i=1, so a valid
// proof stays cheap), and two accounts exist: user/pencil and "a,b=c"/secret.
// Properties: no crash; success names an existing account and ends the
// exchange; after success or failure every further message is a failure.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "fake_server/sasl.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using talkcheck::fake_server::SaslMechanism;
using talkcheck::fake_server::SaslStep;

std::optional<std::string> Lookup(absl::string_view user) {
  if (user == "user") return std::string("pencil");
  if (user == "a,b=c") return std::string("secret");
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool scram = (data[0] & 1) == 0;
  const bool initial = (data[0] & 2) != 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  const std::vector<absl::string_view> messages = absl::StrSplit(rest, '\n');

  talkcheck::fake_server::ScramOptions options;
  options.make_nonce = [] { return std::string("3rfcNHYJY1ZVvWVs7j"); };
  absl::Base64Unescape("QSXCR+Q6sek8bf92", &options.salt);
  options.iterations = 1;
  absl::StatusOr<std::unique_ptr<SaslMechanism>> mechanism =
      talkcheck::fake_server::CreateSaslMechanism(
          scram ? "SCRAM-SHA-1" : "PLAIN", Lookup, options);
  FUZZ_CHECK(mechanism.ok(), mechanism.status());
  SaslMechanism& mech = **mechanism;

  size_t next = 0;
  SaslStep step;
  if (initial) {
    step = mech.Start(std::string(messages[next++]));
  } else {
    step = mech.Start(std::nullopt);
  }
  bool ended = false;
  for (;;) {
    if (ended) {
      FUZZ_CHECK(step.kind == SaslStep::Kind::kFailure,
                 "a message after the end was not refused");
    } else if (step.kind == SaslStep::Kind::kSuccess) {
      FUZZ_CHECK(
          Lookup(mech.username()).has_value(),
          "success for unknown account " << absl::CHexEscape(mech.username()));
      ended = true;
    } else if (step.kind == SaslStep::Kind::kFailure) {
      FUZZ_CHECK(!step.condition.empty(), "failure without a condition");
      ended = true;
    }
    if (next >= messages.size()) break;
    step = mech.Continue(messages[next++]);
  }
  return 0;
}

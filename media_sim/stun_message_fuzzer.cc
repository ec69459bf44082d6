// libFuzzer target: STUN datagrams as GICE peers and relay clients send them
// (issue 13 §3).
//
// Input: one datagram. Properties: ParseStunMessage never crashes, and a
// message it accepts serialises (the fields Serialize writes) to a datagram
// that parses back to the same fields; every rejection names its kind.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "media_sim/stun_message.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using talkcheck::media_sim::StunMessage;

// Serialize pads an error reason with spaces to a multiple of 4 bytes.
bool SameReason(const std::string& before, const std::string& after) {
  if (!absl::StartsWith(after, before)) return false;
  return after.find_first_not_of(' ', before.size()) == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using talkcheck::media_sim::ParseStunMessage;
  using talkcheck::media_sim::StunParseError;
  const absl::string_view datagram(reinterpret_cast<const char*>(data), size);
  StunParseError error = StunParseError::kNone;
  absl::StatusOr<StunMessage> message = ParseStunMessage(datagram, &error);
  if (!message.ok()) {
    FUZZ_CHECK(error != StunParseError::kNone,
               "rejected without a kind: " << message.status());
    return 0;
  }
  FUZZ_CHECK(message->transaction_id.size() == 16, "transaction id size");
  (void)message->has_magic_cookie();
  (void)talkcheck::media_sim::DecodeStunAddress(datagram);

  const std::string wire = message->Serialize();
  absl::StatusOr<StunMessage> again = ParseStunMessage(wire);
  FUZZ_CHECK(again.ok(), absl::CHexEscape(datagram)
                             << " serialises to " << absl::CHexEscape(wire)
                             << " which does not parse: " << again.status());
  FUZZ_CHECK(again->type == message->type &&
                 again->transaction_id == message->transaction_id &&
                 again->username == message->username &&
                 again->mapped_address == message->mapped_address,
             absl::CHexEscape(datagram) << " changed in a round trip");
  FUZZ_CHECK(again->error_code.has_value() == message->error_code.has_value(),
             "error code lost in a round trip");
  if (message->error_code.has_value()) {
    FUZZ_CHECK(
        again->error_code->error_class == message->error_code->error_class &&
            again->error_code->number == message->error_code->number &&
            SameReason(message->error_code->reason, again->error_code->reason),
        "error code changed in a round trip");
  }
  return 0;
}

// libFuzzer target: SCRAM's saslname escaping (issue 13 §3; RFC 5802 §5.1).
//
// Input: a username as a client sends it. Properties: DecodeSaslName never
// crashes; what it decodes encodes back to the same text; any name encodes to
// text that decodes back to it and carries no raw ',' or '='.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "tests/fuzz/fuzz_check.h"
#include "xmpp/scram_sha1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace scram = talkcheck::xmpp::scram;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  // A raw ',' never reaches the decoder (it separates the message's fields).
  const bool has_comma = text.find(',') != absl::string_view::npos;
  std::optional<std::string> decoded = scram::DecodeSaslName(text);
  if (decoded.has_value() && !has_comma) {
    FUZZ_CHECK(scram::EncodeSaslName(*decoded) == text,
               absl::CHexEscape(text)
                   << " decodes to " << absl::CHexEscape(*decoded)
                   << " which encodes differently");
  }
  const std::string encoded = scram::EncodeSaslName(text);
  FUZZ_CHECK(encoded.find(',') == std::string::npos, "encoded name holds ','");
  // Empty names and NULs are refused by design (RFC 5802 §5.1).
  const bool decodable =
      !text.empty() && text.find('\0') == absl::string_view::npos;
  std::optional<std::string> back = scram::DecodeSaslName(encoded);
  FUZZ_CHECK(!decodable || (back.has_value() && *back == text),
             absl::CHexEscape(text)
                 << " encodes to " << absl::CHexEscape(encoded)
                 << " which does not decode back");
  FUZZ_CHECK(scram::Xor(text, text) == std::string(size, '\0'), "Xor");
  FUZZ_CHECK(scram::ConstantTimeEquals(text, text), "ConstantTimeEquals");
  return 0;
}

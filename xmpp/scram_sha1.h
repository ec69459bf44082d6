// The SCRAM-SHA-1 primitives of RFC 5802 that both ends of an exchange compute:
// the fake server's SASL mechanism and the reference client share them.
//
// Empty results mean OpenSSL failed.
#ifndef TALKCHECK_XMPP_SCRAM_SHA1_H_
#define TALKCHECK_XMPP_SCRAM_SHA1_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace talkcheck::xmpp::scram {

// HMAC(key, data) with SHA-1 (RFC 5802 §2.2).
std::string HmacSha1(absl::string_view key, absl::string_view data);
// H(data).
std::string Sha1(absl::string_view data);
// Hi(password, salt, i): PBKDF2 with HMAC-SHA-1 and one output block.
std::string SaltedPassword(absl::string_view password, absl::string_view salt,
                           int iterations);
// a XOR b, over the shorter length.
std::string Xor(absl::string_view a, absl::string_view b);
// Compares without leaking where the first difference is.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// saslname (RFC 5802 §5.1): ',' and '=' travel as "=2C" and "=3D". Decoding
// refuses any other '=' escape, an empty name and NUL.
std::string EncodeSaslName(absl::string_view name);
std::optional<std::string> DecodeSaslName(absl::string_view encoded);

}  // namespace talkcheck::xmpp::scram

#endif  // TALKCHECK_XMPP_SCRAM_SHA1_H_

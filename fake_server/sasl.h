// Server side of the SASL mechanisms the fake server offers (RFC 6120 §6):
// SCRAM-SHA-1 (RFC 5802, no channel binding: gs2 flag "n" or "y") and PLAIN
// (RFC 4616).
//
// A mechanism sees the raw (base64-decoded) bytes of `<auth>` and `<response>`
// and answers with a challenge, a success (with optional additional data) or a
// failure whose condition is one of RFC 6120 §6.5 (`not-authorized`,
// `malformed-request`, `invalid-authzid`, ...). Base64 itself is the stream's
// job.
//
// Example:
//   auto mech = CreateSaslMechanism("SCRAM-SHA-1", lookup, ScramOptions());
//   SaslStep step = (*mech)->Start(initial_response);
//   while (step.kind == SaslStep::Kind::kChallenge) {
//     step = (*mech)->Continue(next);
//   }
#ifndef TALKCHECK_FAKE_SERVER_SASL_H_
#define TALKCHECK_FAKE_SERVER_SASL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace talkcheck::fake_server {

// Returns the password of `username`, or nullopt when there is no such account.
using PasswordLookup =
    std::function<std::optional<std::string>(absl::string_view username)>;

struct SaslStep {
  enum class Kind { kChallenge, kSuccess, kFailure };
  Kind kind = Kind::kFailure;
  // Challenge bytes, or the additional data of a success (SCRAM's server-final
  // message). Raw, not base64.
  std::string data;
  // For kFailure: the RFC 6120 §6.5 condition element name, and a
  // human-readable text.
  std::string condition;
  std::string text;
};

struct ScramOptions {
  // Makes the server's part of the nonce (printable, no ','). Default: 24
  // random base64 characters from OpenSSL's RAND_bytes. Tests inject RFC 5802's
  // vector.
  std::function<std::string()> make_nonce;
  // Salt per user (raw bytes). Default: 16 random bytes, fixed for the
  // account's lifetime by the caller if it wants stable salts; empty means
  // "generate".
  std::string salt;
  int iterations = 4096;
};

class SaslMechanism {
 public:
  virtual ~SaslMechanism() = default;
  // The client's initial response: nullopt when `<auth>` carried no text (the
  // mechanism then answers with an empty challenge and takes the first message
  // in Continue(), RFC 6120 §6.4.2), "" for an explicitly empty one
  // (`<auth>=</auth>`).
  virtual SaslStep Start(std::optional<std::string> initial_response) = 0;
  // A `<response>` to the last challenge.
  virtual SaslStep Continue(absl::string_view response) = 0;
  // The authenticated username, valid after a kSuccess step.
  virtual const std::string& username() const = 0;
};

// The mechanism names offered, in preference order: {"SCRAM-SHA-1", "PLAIN"}.
std::vector<std::string> SupportedSaslMechanisms();

// kNotFound for a mechanism the server does not offer (the stream answers
// `<failure><invalid-mechanism/></failure>`).
absl::StatusOr<std::unique_ptr<SaslMechanism>> CreateSaslMechanism(
    absl::string_view name, PasswordLookup lookup,
    ScramOptions scram_options = {});

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_SASL_H_

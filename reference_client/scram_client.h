// The client side of SASL SCRAM-SHA-1 (RFC 5802), without channel binding (gs2
// flag "n"): builds client-first and client-final, and verifies the server's
// signature.
//
// Only the computation lives here; base64 and the `<auth>`/`<response>`
// elements are the stream's job. The password is used as given (ASCII passwords
// need no SASLprep).
//
// Example:
//   ScramSha1Client scram("user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
//   std::string first = scram.ClientFirstMessage();   // "n,,n=user,r=fyko..."
//   absl::StatusOr<std::string> final = scram.ClientFinalMessage(server_first);
//   absl::Status ok = scram.VerifyServerFinal(server_final);  // "v=..."
#ifndef TALKCHECK_REFERENCE_CLIENT_SCRAM_CLIENT_H_
#define TALKCHECK_REFERENCE_CLIENT_SCRAM_CLIENT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace talkcheck::reference_client {

// One SCRAM-SHA-1 exchange. Not reusable.
class ScramSha1Client {
 public:
  // `client_nonce` must be printable ASCII without ',' (e.g. 24 base64
  // characters).
  ScramSha1Client(std::string username, std::string password,
                  std::string client_nonce);

  // "n,,n=<saslname>,r=<client nonce>".
  std::string ClientFirstMessage() const;

  // Parses server-first ("r=...,s=...,i=...") and returns client-final with the
  // proof. kInvalidArgument when the server's message is malformed, its nonce
  // does not extend ours, or it asks for a mandatory extension.
  absl::StatusOr<std::string> ClientFinalMessage(
      absl::string_view server_first);

  // Checks server-final: "v=<signature>" must equal the expected server
  // signature (kUnauthenticated otherwise); "e=<error>" is kUnauthenticated
  // with the error.
  absl::Status VerifyServerFinal(absl::string_view server_final) const;

  // Visible for testing: the iteration limit beyond which a server is refused
  // (a hostile server could make the client spin).
  static constexpr int kMaxIterations = 1000000;

 private:
  std::string username_;
  std::string password_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::string server_signature_;  // raw bytes, set by ClientFinalMessage()
};

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_SCRAM_CLIENT_H_

#include "reference_client/scram_client.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "xmpp/scram_sha1.h"

namespace talkcheck::reference_client {
namespace {

using xmpp::scram::ConstantTimeEquals;
using xmpp::scram::EncodeSaslName;
using xmpp::scram::HmacSha1;
using xmpp::scram::SaltedPassword;
using xmpp::scram::Sha1;
using xmpp::scram::Xor;

std::optional<absl::string_view> AttributeValue(absl::string_view field,
                                                char name) {
  if (field.size() < 2 || field[0] != name || field[1] != '=') {
    return std::nullopt;
  }
  return field.substr(2);
}

}  // namespace

ScramSha1Client::ScramSha1Client(std::string username, std::string password,
                                 std::string client_nonce)
    : username_(std::move(username)),
      password_(std::move(password)),
      client_nonce_(std::move(client_nonce)),
      client_first_bare_(absl::StrCat("n=", EncodeSaslName(username_),
                                      ",r=", client_nonce_)) {}

std::string ScramSha1Client::ClientFirstMessage() const {
  return absl::StrCat("n,,", client_first_bare_);
}

absl::StatusOr<std::string> ScramSha1Client::ClientFinalMessage(
    absl::string_view server_first) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(server_first, ',');
  if (!fields.empty() && absl::StartsWith(fields[0], "m=")) {
    return absl::InvalidArgumentError(
        "server-first-message asks for a mandatory extension (m=)");
  }
  if (fields.size() < 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server-first-message needs r=, s= and i=: '", server_first, "'"));
  }
  std::optional<absl::string_view> nonce = AttributeValue(fields[0], 'r');
  std::optional<absl::string_view> salt_b64 = AttributeValue(fields[1], 's');
  std::optional<absl::string_view> iterations_text =
      AttributeValue(fields[2], 'i');
  if (!nonce || !salt_b64 || !iterations_text) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server-first-message must be r=,s=,i=: '", server_first, "'"));
  }
  if (!absl::StartsWith(*nonce, client_nonce_) ||
      nonce->size() == client_nonce_.size()) {
    return absl::InvalidArgumentError(
        "server nonce does not extend the client nonce");
  }
  std::string salt;
  if (!absl::Base64Unescape(*salt_b64, &salt) || salt.empty()) {
    return absl::InvalidArgumentError("salt is not base64");
  }
  int iterations = 0;
  if (!absl::SimpleAtoi(*iterations_text, &iterations) || iterations < 1 ||
      iterations > kMaxIterations) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad iteration count '", *iterations_text, "'"));
  }

  // RFC 5802 §3: the proof and the signature we expect back.
  const std::string final_without_proof =
      absl::StrCat("c=", absl::Base64Escape("n,,"), ",r=", *nonce);
  const std::string auth_message = absl::StrCat(
      client_first_bare_, ",", server_first, ",", final_without_proof);
  const std::string salted = SaltedPassword(password_, salt, iterations);
  const std::string client_key = HmacSha1(salted, "Client Key");
  const std::string client_signature = HmacSha1(Sha1(client_key), auth_message);
  const std::string server_key = HmacSha1(salted, "Server Key");
  server_signature_ = HmacSha1(server_key, auth_message);
  if (salted.empty() || client_key.empty() || client_signature.empty() ||
      server_signature_.empty()) {
    return absl::InternalError("SCRAM computation failed in OpenSSL");
  }
  return absl::StrCat(final_without_proof, ",p=",
                      absl::Base64Escape(Xor(client_key, client_signature)));
}

absl::Status ScramSha1Client::VerifyServerFinal(
    absl::string_view server_final) const {
  if (std::optional<absl::string_view> error =
          AttributeValue(server_final, 'e')) {
    return absl::UnauthenticatedError(
        absl::StrCat("SCRAM server error: ", *error));
  }
  std::optional<absl::string_view> verifier = AttributeValue(server_final, 'v');
  std::string signature;
  if (!verifier || !absl::Base64Unescape(*verifier, &signature)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "server-final-message is not v=base64: '", server_final, "'"));
  }
  if (server_signature_.empty() ||
      !ConstantTimeEquals(signature, server_signature_)) {
    return absl::UnauthenticatedError(
        "server signature mismatch: the server does not know the password");
  }
  return absl::OkStatus();
}

}  // namespace talkcheck::reference_client

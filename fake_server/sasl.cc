#include "fake_server/sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "xmpp/scram_sha1.h"

namespace talkcheck::fake_server {
namespace {

using xmpp::scram::ConstantTimeEquals;
using xmpp::scram::DecodeSaslName;
using xmpp::scram::HmacSha1;
using xmpp::scram::SaltedPassword;
using xmpp::scram::Sha1;
using xmpp::scram::Xor;

// RFC 6120 §6.5 failure conditions.
constexpr char kMalformedRequest[] = "malformed-request";
constexpr char kNotAuthorized[] = "not-authorized";
constexpr char kInvalidAuthzid[] = "invalid-authzid";
// §6.5.10: an error on our side (no randomness), not the client's fault.
constexpr char kTemporaryAuthFailure[] = "temporary-auth-failure";

constexpr size_t kDefaultSaltSize = 16;
// 18 bytes make exactly 24 base64 characters, with no '=' padding.
constexpr size_t kNonceEntropyBytes = 18;

SaslStep Challenge(std::string data) {
  SaslStep step;
  step.kind = SaslStep::Kind::kChallenge;
  step.data = std::move(data);
  return step;
}

SaslStep Success(std::string data) {
  SaslStep step;
  step.kind = SaslStep::Kind::kSuccess;
  step.data = std::move(data);
  return step;
}

SaslStep Failure(absl::string_view condition, absl::string_view text) {
  SaslStep step;
  step.kind = SaslStep::Kind::kFailure;
  step.condition = std::string(condition);
  step.text = std::string(text);
  return step;
}

std::optional<std::string> RandomBytes(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()),
                 static_cast<int>(n)) != 1) {
    return std::nullopt;
  }
  return bytes;
}

// An empty string tells the caller that randomness failed.
std::string DefaultNonce() {
  std::optional<std::string> bytes = RandomBytes(kNonceEntropyBytes);
  return bytes ? absl::Base64Escape(*bytes) : std::string();
}

// Whether `authzid` names the account `authcid` logs in as. The mechanism does
// not know the server's domain, so an empty authzid, the authcid itself and
// "<authcid>@<some domain>" pass; the localpart compares ignoring ASCII case
// because RFC 7622 case-folds localparts.
bool AuthzidMatches(absl::string_view authzid, absl::string_view authcid) {
  if (authzid.empty() || authzid == authcid) return true;
  const size_t at = authzid.find('@');
  absl::string_view local = authzid.substr(0, at);
  if (at != absl::string_view::npos) {
    absl::string_view domain = authzid.substr(at + 1);
    if (domain.empty() || absl::StrContains(domain, '/') ||
        absl::StrContains(domain, '@')) {
      return false;
    }
  }
  return absl::EqualsIgnoreCase(local, authcid);
}

// --- SCRAM message syntax (RFC 5802 §7). ---

bool IsValidNonce(absl::string_view nonce) {
  if (nonce.empty()) return false;
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

// attr-val = ALPHA "=" value. Returns the value of `field` if it is attribute
// `name`.
std::optional<absl::string_view> AttributeValue(absl::string_view field,
                                                char name) {
  if (field.size() < 2 || field[0] != name || field[1] != '=') {
    return std::nullopt;
  }
  return field.substr(2);
}

bool IsAttribute(absl::string_view field) {
  return field.size() >= 2 && absl::ascii_isalpha(field[0]) && field[1] == '=';
}

class ScramSha1Mechanism : public SaslMechanism {
 public:
  ScramSha1Mechanism(PasswordLookup lookup, ScramOptions options)
      : lookup_(std::move(lookup)), options_(std::move(options)) {
    salt_ = !options_.salt.empty()
                ? options_.salt
                : RandomBytes(kDefaultSaltSize).value_or(std::string());
  }

  // SaslMechanism implementation.
  SaslStep Start(std::optional<std::string> initial_response) override {
    if (state_ != State::kNotStarted) {
      return Fail(kMalformedRequest, "exchange already started");
    }
    if (!initial_response.has_value()) {
      state_ = State::kAwaitingClientFirst;
      return Challenge("");
    }
    return OnClientFirst(*initial_response);
  }

  SaslStep Continue(absl::string_view response) override {
    switch (state_) {
      case State::kAwaitingClientFirst:
        return OnClientFirst(response);
      case State::kAwaitingClientFinal:
        return OnClientFinal(response);
      case State::kNotStarted:
      case State::kDone:
        break;
    }
    return Fail(kMalformedRequest, "no SCRAM exchange in progress");
  }

  const std::string& username() const override { return username_; }

 private:
  enum class State {
    kNotStarted,
    kAwaitingClientFirst,
    kAwaitingClientFinal,
    kDone,
  };

  SaslStep Fail(absl::string_view condition, absl::string_view text) {
    state_ = State::kDone;
    return Failure(condition, text);
  }

  SaslStep OnClientFirst(absl::string_view message);
  SaslStep OnClientFinal(absl::string_view message);

  PasswordLookup lookup_;
  ScramOptions options_;
  std::string salt_;
  State state_ = State::kNotStarted;

  // Kept from client-first and server-first for the AuthMessage.
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
  std::string authcid_;
  std::optional<std::string> password_;

  std::string username_;  // Set on success only.
};

SaslStep ScramSha1Mechanism::OnClientFirst(absl::string_view message) {
  const std::vector<absl::string_view> fields = absl::StrSplit(message, ',');
  // gs2-header (2 fields) + n= + r= at least.
  if (fields.size() < 4) {
    return Fail(kMalformedRequest, "client-first-message: too few attributes");
  }

  // "y" means the client could do channel binding but thinks we cannot; we
  // indeed cannot (no -PLUS offered), so it is as good as "n" (RFC 5802 §6).
  // "p=" asks for channel binding under a mechanism name that excludes it.
  // RFC 5802 would answer e=channel-binding-not-supported; RFC 6120 has no such
  // condition, and the nearest is malformed-request (§6.5.5: "the data sent
  // violates the syntax for the specified SASL mechanism"): the client broke
  // SCRAM-SHA-1's rules, and not-authorized would wrongly blame credentials.
  const absl::string_view flag = fields[0];
  if (absl::StartsWith(flag, "p=")) {
    return Fail(kMalformedRequest,
                "channel-binding-not-supported: use gs2 flag n or y with "
                "SCRAM-SHA-1");
  }
  if (flag != "n" && flag != "y") {
    return Fail(kMalformedRequest, "bad gs2-cbind-flag");
  }

  std::optional<std::string> authzid;
  if (!fields[1].empty()) {
    std::optional<absl::string_view> encoded = AttributeValue(fields[1], 'a');
    if (!encoded) return Fail(kMalformedRequest, "bad gs2 authzid");
    authzid = DecodeSaslName(*encoded);
    if (!authzid) return Fail(kMalformedRequest, "bad authzid saslname");
  }
  gs2_header_ = absl::StrCat(fields[0], ",", fields[1], ",");
  client_first_bare_ = std::string(message.substr(gs2_header_.size()));

  if (absl::StartsWith(fields[2], "m=")) {
    return Fail(kMalformedRequest,
                "extensions-not-supported: mandatory extension m=");
  }
  std::optional<absl::string_view> encoded_user =
      AttributeValue(fields[2], 'n');
  if (!encoded_user) return Fail(kMalformedRequest, "expected n=username");
  std::optional<std::string> user = DecodeSaslName(*encoded_user);
  if (!user) return Fail(kMalformedRequest, "bad username saslname");
  authcid_ = *std::move(user);

  std::optional<absl::string_view> client_nonce =
      AttributeValue(fields[3], 'r');
  if (!client_nonce || !IsValidNonce(*client_nonce)) {
    return Fail(kMalformedRequest, "expected r=nonce of printable characters");
  }
  // Optional extensions follow; we know none, so only their syntax matters.
  for (size_t i = 4; i < fields.size(); ++i) {
    if (!IsAttribute(fields[i])) {
      return Fail(kMalformedRequest, "bad attribute in client-first-message");
    }
  }

  // Checked before any credential work: it compares only what the client sent,
  // so failing early reveals nothing about the account.
  if (authzid && !AuthzidMatches(*authzid, authcid_)) {
    return Fail(kInvalidAuthzid, "authzid must name the authenticating user");
  }

  const std::string server_nonce =
      options_.make_nonce ? options_.make_nonce() : DefaultNonce();
  if (!IsValidNonce(server_nonce) || salt_.empty()) {
    return Fail(kTemporaryAuthFailure, "could not make a nonce or salt");
  }
  // An unknown user still gets a challenge, with the same salt and iteration
  // count a real account would get, so the exchange does not reveal whether
  // the account exists; the proof check fails later.
  password_ = lookup_(authcid_);
  nonce_ = absl::StrCat(*client_nonce, server_nonce);
  server_first_ = absl::StrCat("r=", nonce_, ",s=", absl::Base64Escape(salt_),
                               ",i=", options_.iterations);
  state_ = State::kAwaitingClientFinal;
  return Challenge(server_first_);
}

SaslStep ScramSha1Mechanism::OnClientFinal(absl::string_view message) {
  const std::vector<absl::string_view> fields = absl::StrSplit(message, ',');
  if (fields.size() < 3) {
    return Fail(kMalformedRequest, "client-final-message: too few attributes");
  }
  std::optional<absl::string_view> cbind_b64 = AttributeValue(fields[0], 'c');
  std::string cbind;
  if (!cbind_b64 || !absl::Base64Unescape(*cbind_b64, &cbind)) {
    return Fail(kMalformedRequest, "expected c=base64(gs2-header)");
  }
  std::optional<absl::string_view> nonce = AttributeValue(fields[1], 'r');
  if (!nonce) return Fail(kMalformedRequest, "expected r=nonce");
  for (size_t i = 2; i + 1 < fields.size(); ++i) {
    if (!IsAttribute(fields[i]) || fields[i][0] == 'p') {
      return Fail(kMalformedRequest, "bad attribute in client-final-message");
    }
  }
  const absl::string_view proof_field = fields.back();
  std::optional<absl::string_view> proof_b64 = AttributeValue(proof_field, 'p');
  std::string proof;
  if (!proof_b64 || !absl::Base64Unescape(*proof_b64, &proof) ||
      proof.size() != SHA_DIGEST_LENGTH) {
    return Fail(kMalformedRequest, "expected a 20-byte p=proof last");
  }

  // Well-formed but not this exchange's values: what a replay or a tampering
  // intermediary produces, so these are authentication failures, not syntax.
  if (cbind != gs2_header_) {
    return Fail(kNotAuthorized,
                "channel-bindings-dont-match: c= is not the gs2 header");
  }
  if (*nonce != nonce_) {
    return Fail(kNotAuthorized, "nonce does not match the server-first nonce");
  }

  const absl::string_view final_without_proof =
      message.substr(0, message.size() - proof_field.size() - 1);
  const std::string auth_message = absl::StrCat(
      client_first_bare_, ",", server_first_, ",", final_without_proof);

  // For an unknown user the same work is done with a stand-in password, so
  // timing does not tell the accounts apart either.
  const std::string salted = SaltedPassword(
      password_.value_or("no such account"), salt_, options_.iterations);
  const std::string client_key = HmacSha1(salted, "Client Key");
  const std::string stored_key = Sha1(client_key);
  const std::string signature = HmacSha1(stored_key, auth_message);
  if (salted.empty() || client_key.empty() ||
      signature.size() != SHA_DIGEST_LENGTH) {
    return Fail(kTemporaryAuthFailure, "SCRAM computation failed");
  }
  // ClientKey = ClientProof XOR ClientSignature (RFC 5802 §3).
  const std::string recovered_client_key = Xor(proof, signature);
  const bool proof_ok =
      ConstantTimeEquals(Sha1(recovered_client_key), stored_key);
  if (!proof_ok || !password_.has_value()) {
    // One text for both cases, so as not to reveal which it was.
    return Fail(kNotAuthorized, "invalid username or password");
  }

  const std::string server_key = HmacSha1(salted, "Server Key");
  const std::string server_signature = HmacSha1(server_key, auth_message);
  if (server_signature.empty()) {
    return Fail(kTemporaryAuthFailure, "SCRAM computation failed");
  }
  username_ = authcid_;
  state_ = State::kDone;
  return Success(absl::StrCat("v=", absl::Base64Escape(server_signature)));
}

class PlainMechanism : public SaslMechanism {
 public:
  explicit PlainMechanism(PasswordLookup lookup) : lookup_(std::move(lookup)) {}

  // SaslMechanism implementation.
  SaslStep Start(std::optional<std::string> initial_response) override {
    if (state_ != State::kNotStarted) {
      return Fail(kMalformedRequest, "exchange already started");
    }
    if (!initial_response.has_value()) {
      state_ = State::kAwaitingMessage;
      return Challenge("");
    }
    return OnMessage(*initial_response);
  }

  SaslStep Continue(absl::string_view response) override {
    if (state_ != State::kAwaitingMessage) {
      return Fail(kMalformedRequest, "no PLAIN exchange in progress");
    }
    return OnMessage(response);
  }

  const std::string& username() const override { return username_; }

 private:
  enum class State { kNotStarted, kAwaitingMessage, kDone };

  SaslStep Fail(absl::string_view condition, absl::string_view text) {
    state_ = State::kDone;
    return Failure(condition, text);
  }

  // message = [authzid] NUL authcid NUL passwd (RFC 4616 §2).
  SaslStep OnMessage(absl::string_view message) {
    const std::vector<absl::string_view> fields =
        absl::StrSplit(message, absl::ByChar('\0'));
    if (fields.size() != 3 || fields[1].empty() || fields[2].empty()) {
      return Fail(kMalformedRequest,
                  "expected [authzid] NUL authcid NUL passwd");
    }
    const absl::string_view authzid = fields[0];
    const absl::string_view authcid = fields[1];
    const absl::string_view password = fields[2];
    // As in SCRAM: a pure comparison of client data, safe to check first.
    if (!AuthzidMatches(authzid, authcid)) {
      return Fail(kInvalidAuthzid, "authzid must name the authenticating user");
    }
    const std::optional<std::string> expected = lookup_(authcid);
    if (!expected || !ConstantTimeEquals(*expected, password)) {
      return Fail(kNotAuthorized, "invalid username or password");
    }
    username_ = std::string(authcid);
    state_ = State::kDone;
    return Success("");
  }

  PasswordLookup lookup_;
  State state_ = State::kNotStarted;
  std::string username_;
};

}  // namespace

std::vector<std::string> SupportedSaslMechanisms() {
  return {"SCRAM-SHA-1", "PLAIN"};
}

// Besides kNotFound, a caller's own mistakes (no lookup function, fewer than
// one PBKDF2 iteration) are kInvalidArgument: better loud at start than every
// login failing later.
absl::StatusOr<std::unique_ptr<SaslMechanism>> CreateSaslMechanism(
    absl::string_view name, PasswordLookup lookup, ScramOptions scram_options) {
  if (name != "SCRAM-SHA-1" && name != "PLAIN") {
    return absl::NotFoundError(
        absl::StrCat("SASL mechanism not offered: ", name));
  }
  if (!lookup) return absl::InvalidArgumentError("no password lookup given");
  if (name == "PLAIN") {
    return std::unique_ptr<SaslMechanism>(
        new PlainMechanism(std::move(lookup)));
  }
  if (scram_options.iterations < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SCRAM iteration count must be positive, got ",
                     scram_options.iterations));
  }
  return std::unique_ptr<SaslMechanism>(
      new ScramSha1Mechanism(std::move(lookup), std::move(scram_options)));
}

}  // namespace talkcheck::fake_server

#include "fake_server/sasl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace talkcheck::fake_server {

// Lets gtest print steps in failure messages.
void PrintTo(const SaslStep& step, std::ostream* os) {
  static constexpr const char* kKinds[] = {"challenge", "success", "failure"};
  *os << "{" << kKinds[static_cast<int>(step.kind)] << " data=\""
      << absl::CHexEscape(step.data) << "\" condition=\"" << step.condition
      << "\" text=\"" << step.text << "\"}";
}

namespace {

using ::testing::ElementsAre;

// RFC 5802 §5.
constexpr char kUser[] = "user";
constexpr char kPassword[] = "pencil";
constexpr char kClientNonce[] = "fyko+d2lbbFgONRv9qkxdawL";
constexpr char kServerNonce[] = "3rfcNHYJY1ZVvWVs7j";
constexpr char kSaltBase64[] = "QSXCR+Q6sek8bf92";
constexpr char kClientFirst[] = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
constexpr char kServerFirst[] =
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
constexpr char kClientFinal[] =
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
    "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
constexpr char kServerFinal[] = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";
constexpr char kCombinedNonce[] = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";

MATCHER_P(IsChallenge, data, "") {
  return arg.kind == SaslStep::Kind::kChallenge && arg.data == data;
}
MATCHER_P(IsSuccess, data, "") {
  return arg.kind == SaslStep::Kind::kSuccess && arg.data == data;
}
MATCHER_P(IsFailure, condition, "") {
  return arg.kind == SaslStep::Kind::kFailure && arg.condition == condition;
}

// The client side of SCRAM-SHA-1 written straight from RFC 5802 §3, using
// OpenSSL's EVP_Q_mac and EVP_Digest rather than the server's helpers.
std::string Hmac(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t size = 0;
  EXPECT_NE(
      EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, key.data(),
                key.size(), reinterpret_cast<const unsigned char*>(data.data()),
                data.size(), out, sizeof(out), &size),
      nullptr);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string H(absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EXPECT_EQ(
      EVP_Digest(data.data(), data.size(), out, &size, EVP_sha1(), nullptr), 1);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string Hi(absl::string_view password, absl::string_view salt, int i) {
  std::string out(SHA_DIGEST_LENGTH, '\0');
  EXPECT_EQ(PKCS5_PBKDF2_HMAC_SHA1(
                password.data(), static_cast<int>(password.size()),
                reinterpret_cast<const unsigned char*>(salt.data()),
                static_cast<int>(salt.size()), i, static_cast<int>(out.size()),
                reinterpret_cast<unsigned char*>(out.data())),
            1);
  return out;
}

std::string Xor(absl::string_view a, absl::string_view b) {
  std::string out(a);
  for (size_t i = 0; i < out.size() && i < b.size(); ++i) out[i] ^= b[i];
  return out;
}

struct ClientFinal {
  std::string message;
  std::string expected_server_final;
};

// Answers `server_first` for a client that sent `gs2_header` + `first_bare`.
ClientFinal ComputeClientFinal(absl::string_view gs2_header,
                               absl::string_view first_bare,
                               absl::string_view server_first,
                               absl::string_view password) {
  std::map<std::string, std::string> attrs;
  for (absl::string_view field : absl::StrSplit(server_first, ',')) {
    attrs[std::string(field.substr(0, 1))] = std::string(field.substr(2));
  }
  std::string salt;
  EXPECT_TRUE(absl::Base64Unescape(attrs["s"], &salt));
  const int iterations = std::stoi(attrs["i"]);

  const std::string without_proof =
      absl::StrCat("c=", absl::Base64Escape(gs2_header), ",r=", attrs["r"]);
  const std::string auth_message =
      absl::StrCat(first_bare, ",", server_first, ",", without_proof);
  const std::string salted = Hi(password, salt, iterations);
  const std::string client_key = Hmac(salted, "Client Key");
  const std::string proof = Xor(client_key, Hmac(H(client_key), auth_message));
  const std::string server_signature =
      Hmac(Hmac(salted, "Server Key"), auth_message);
  return {absl::StrCat(without_proof, ",p=", absl::Base64Escape(proof)),
          absl::StrCat("v=", absl::Base64Escape(server_signature))};
}

class SaslTest : public ::testing::Test {
 protected:
  SaslTest() {
    EXPECT_TRUE(absl::Base64Unescape(kSaltBase64, &rfc_options_.salt));
    rfc_options_.iterations = 4096;
    rfc_options_.make_nonce = [] { return std::string(kServerNonce); };
  }

  PasswordLookup Lookup() {
    return [this](absl::string_view user) -> std::optional<std::string> {
      looked_up_.emplace_back(user);
      auto it = accounts_.find(std::string(user));
      if (it == accounts_.end()) return std::nullopt;
      return it->second;
    };
  }

  std::unique_ptr<SaslMechanism> Create(absl::string_view name,
                                        ScramOptions options = {}) {
    auto mech = CreateSaslMechanism(name, Lookup(), std::move(options));
    EXPECT_TRUE(mech.ok()) << mech.status();
    return mech.ok() ? *std::move(mech) : nullptr;
  }

  // A SCRAM mechanism that has answered `client_first` with the RFC's
  // server-first message.
  std::unique_ptr<SaslMechanism> ScramAfterFirst(
      absl::string_view client_first = kClientFirst) {
    auto mech = Create("SCRAM-SHA-1", rfc_options_);
    EXPECT_EQ(mech->Start(std::string(client_first)).kind,
              SaslStep::Kind::kChallenge);
    return mech;
  }

  std::map<std::string, std::string> accounts_ = {{kUser, kPassword},
                                                  {"a,b=c", "secret"}};
  std::vector<std::string> looked_up_;
  ScramOptions rfc_options_;
};

// Verifies the mechanism list and its order of preference.
TEST_F(SaslTest, OffersScramThenPlain) {
  EXPECT_THAT(SupportedSaslMechanisms(), ElementsAre("SCRAM-SHA-1", "PLAIN"));
}

// Verifies that a mechanism we do not offer is kNotFound.
TEST_F(SaslTest, UnknownMechanismIsNotFound) {
  for (absl::string_view name :
       {"DIGEST-MD5", "X-OAUTH2", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", ""}) {
    EXPECT_EQ(CreateSaslMechanism(name, Lookup()).status().code(),
              absl::StatusCode::kNotFound)
        << name;
  }
}

// Verifies that caller mistakes are reported at creation.
TEST_F(SaslTest, RejectsBadConfiguration) {
  ScramOptions options;
  options.iterations = 0;
  EXPECT_EQ(
      CreateSaslMechanism("SCRAM-SHA-1", Lookup(), options).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateSaslMechanism("PLAIN", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Verifies the exchange of RFC 5802 §5 byte for byte.
TEST_F(SaslTest, ScramMatchesRfc5802Example) {
  auto mech = Create("SCRAM-SHA-1", rfc_options_);
  EXPECT_THAT(mech->Start(std::string(kClientFirst)),
              IsChallenge(kServerFirst));
  EXPECT_THAT(mech->Continue(kClientFinal), IsSuccess(kServerFinal));
  EXPECT_EQ(mech->username(), kUser);
  EXPECT_THAT(looked_up_, ElementsAre(kUser));
}

// Verifies the test's own client against the RFC, so the other tests can
// trust it.
TEST_F(SaslTest, TestClientReproducesRfc5802Example) {
  ClientFinal final = ComputeClientFinal(
      "n,,", "n=user,r=fyko+d2lbbFgONRv9qkxdawL", kServerFirst, kPassword);
  EXPECT_EQ(final.message, kClientFinal);
  EXPECT_EQ(final.expected_server_final, kServerFinal);
}

// Verifies a whole exchange with the default random salt and nonce.
TEST_F(SaslTest, ScramFullExchangeWithRandomNonce) {
  auto mech = Create("SCRAM-SHA-1");
  const std::string client_nonce = absl::Base64Escape("random client bytes");
  const std::string bare = absl::StrCat("n=user,r=", client_nonce);
  SaslStep first = mech->Start(absl::StrCat("n,,", bare));
  ASSERT_EQ(first.kind, SaslStep::Kind::kChallenge);

  std::vector<absl::string_view> fields = absl::StrSplit(first.data, ',');
  ASSERT_EQ(fields.size(), 3u);
  ASSERT_TRUE(absl::StartsWith(fields[0], "r=" + client_nonce));
  const absl::string_view server_nonce =
      fields[0].substr(2 + client_nonce.size());
  EXPECT_EQ(server_nonce.size(), 24u);
  EXPECT_FALSE(absl::StrContains(server_nonce, ','));
  std::string salt;
  ASSERT_TRUE(absl::StartsWith(fields[1], "s="));
  ASSERT_TRUE(absl::Base64Unescape(fields[1].substr(2), &salt));
  EXPECT_EQ(salt.size(), 16u);
  EXPECT_EQ(fields[2], "i=4096");

  ClientFinal final = ComputeClientFinal("n,,", bare, first.data, kPassword);
  EXPECT_THAT(mech->Continue(final.message),
              IsSuccess(final.expected_server_final));
  EXPECT_EQ(mech->username(), kUser);
}

// Verifies that two exchanges get different server nonces and salts.
TEST_F(SaslTest, ScramDefaultsAreFreshPerInstance) {
  SaslStep a = Create("SCRAM-SHA-1")->Start(std::string(kClientFirst));
  SaslStep b = Create("SCRAM-SHA-1")->Start(std::string(kClientFirst));
  EXPECT_NE(a.data, b.data);
}

// Verifies the RFC 6120 §6.4.2 flow where <auth/> carries no initial response.
TEST_F(SaslTest, ScramWithoutInitialResponse) {
  auto mech = Create("SCRAM-SHA-1", rfc_options_);
  EXPECT_THAT(mech->Start(std::nullopt), IsChallenge(""));
  EXPECT_THAT(mech->Continue(kClientFirst), IsChallenge(kServerFirst));
  EXPECT_THAT(mech->Continue(kClientFinal), IsSuccess(kServerFinal));
}

// Verifies that a wrong password fails at the proof.
TEST_F(SaslTest, ScramWrongPasswordIsNotAuthorized) {
  auto mech = ScramAfterFirst();
  ClientFinal final = ComputeClientFinal(
      "n,,", "n=user,r=fyko+d2lbbFgONRv9qkxdawL", kServerFirst, "pencil2");
  EXPECT_THAT(mech->Continue(final.message), IsFailure("not-authorized"));
  EXPECT_EQ(mech->username(), "");
}

// Verifies that an unknown user gets a normal-looking challenge and fails
// only at the proof, with the same text as a wrong password.
TEST_F(SaslTest, ScramUnknownUserLooksLikeWrongPassword) {
  auto mech = ScramAfterFirst("n,,n=nobody,r=fyko+d2lbbFgONRv9qkxdawL");
  ClientFinal final = ComputeClientFinal(
      "n,,", "n=nobody,r=fyko+d2lbbFgONRv9qkxdawL", kServerFirst, kPassword);
  SaslStep step = mech->Continue(final.message);
  EXPECT_THAT(step, IsFailure("not-authorized"));

  auto other = ScramAfterFirst();
  SaslStep wrong_password = other->Continue(
      ComputeClientFinal("n,,", "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
                         kServerFirst, "wrong")
          .message);
  EXPECT_EQ(step.text, wrong_password.text);
}

// Verifies that a client-final nonce other than the combined one fails.
TEST_F(SaslTest, ScramTamperedNonceIsNotAuthorized) {
  auto mech = ScramAfterFirst();
  std::string tampered = kClientFinal;
  tampered.replace(tampered.find("3rfc"), 4, "4rfc");
  EXPECT_THAT(mech->Continue(tampered), IsFailure("not-authorized"));
}

// Verifies that c= must repeat the gs2 header of client-first.
TEST_F(SaslTest, ScramWrongChannelBindingIsNotAuthorized) {
  auto mech = ScramAfterFirst();
  // "eSws" is "y,,": a different, well-formed header.
  ClientFinal final = ComputeClientFinal(
      "y,,", "n=user,r=fyko+d2lbbFgONRv9qkxdawL", kServerFirst, kPassword);
  EXPECT_THAT(mech->Continue(final.message), IsFailure("not-authorized"));

  mech = ScramAfterFirst();
  EXPECT_THAT(mech->Continue(absl::StrCat("c=!!!!,r=", kCombinedNonce,
                                          ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")),
              IsFailure("malformed-request"));
}

// Verifies that gs2 flag "y" (client could bind, thinks we cannot) works.
TEST_F(SaslTest, ScramAcceptsGs2FlagY) {
  auto mech = ScramAfterFirst("y,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  ClientFinal final = ComputeClientFinal(
      "y,,", "n=user,r=fyko+d2lbbFgONRv9qkxdawL", kServerFirst, kPassword);
  EXPECT_TRUE(absl::StartsWith(final.message, "c=eSws,"));
  EXPECT_THAT(mech->Continue(final.message),
              IsSuccess(final.expected_server_final));
}

// Verifies that a request for channel binding is refused up front.
TEST_F(SaslTest, ScramRefusesChannelBinding) {
  auto mech = Create("SCRAM-SHA-1", rfc_options_);
  SaslStep step = mech->Start(
      std::string("p=tls-unique,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
  EXPECT_THAT(step, IsFailure("malformed-request"));
  EXPECT_THAT(step.text, ::testing::HasSubstr("channel-binding-not-supported"));
}

// Verifies that each kind of broken client-first-message is malformed-request.
TEST_F(SaslTest, ScramRejectsMalformedClientFirst) {
  for (absl::string_view message : {
           "",
           "n,,",
           "n,,n=user",
           "x,,n=user,r=abc",
           "n,n=user,r=abc",
           "n,b=x,n=user,r=abc",
           "n,a=,n=user,r=abc",
           "n,,r=abc,n=user",
           "n,,n=,r=abc",
           "n,,n=user,r=",
           "n,,n=user,r=a b",
           "n,,n=user,x=abc",
           "n,,n=user,r=abc,",
           "n,,n=user,r=abc,1=x",
           "n,,m=ext,n=user,r=abc",
           "n,,n=us=2cer,r=abc",
           "n,,n=us=41er,r=abc",
           "n,,n=user=,r=abc",
           "n,,n=user=2,r=abc",
       }) {
    auto mech = Create("SCRAM-SHA-1", rfc_options_);
    EXPECT_THAT(mech->Start(std::string(message)),
                IsFailure("malformed-request"))
        << message;
  }
  EXPECT_THAT(
      Create("SCRAM-SHA-1")->Start(std::string("n,,n=us\0er,r=abc", 16)),
      IsFailure("malformed-request"));
}

// Verifies that optional extensions after the nonce are ignored.
TEST_F(SaslTest, ScramIgnoresOptionalExtensions) {
  auto mech = Create("SCRAM-SHA-1", rfc_options_);
  EXPECT_THAT(mech->Start(absl::StrCat(kClientFirst, ",x=whatever")),
              IsChallenge(kServerFirst));
}

// Verifies that each kind of broken client-final-message is malformed-request.
TEST_F(SaslTest, ScramRejectsMalformedClientFinal) {
  const std::string nonce = kCombinedNonce;
  const std::string proof = "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
  for (const std::string& message : std::vector<std::string>{
           "",
           "c=biws",
           "c=biws,r=" + nonce,
           "r=" + nonce + "," + proof,
           "c=biws," + proof,
           "c=biws," + proof + ",r=" + nonce,
           "c=biws,r=" + nonce + ",p=!!!!",
           "c=biws,r=" + nonce +
               ",p=" + absl::Base64Escape("19 bytes of proof.."),
           "c=biws,r=" + nonce + "," + proof + ",",
           "c=biws,r=" + nonce + ",1=x," + proof,
           "c=biws,r=" + nonce + "," + proof + "," + proof,
       }) {
    auto mech = ScramAfterFirst();
    EXPECT_THAT(mech->Continue(message), IsFailure("malformed-request"))
        << message;
  }
}

// Verifies that "=2C" and "=3D" in the username decode to ',' and '='.
TEST_F(SaslTest, ScramDecodesUsernameEscapes) {
  auto mech = Create("SCRAM-SHA-1", rfc_options_);
  const std::string bare = "n=a=2Cb=3Dc,r=abc";
  SaslStep first = mech->Start("n,," + bare);
  ASSERT_EQ(first.kind, SaslStep::Kind::kChallenge);
  EXPECT_THAT(looked_up_, ElementsAre("a,b=c"));
  ClientFinal final = ComputeClientFinal("n,,", bare, first.data, "secret");
  EXPECT_THAT(mech->Continue(final.message),
              IsSuccess(final.expected_server_final));
  EXPECT_EQ(mech->username(), "a,b=c");
}

// Verifies which authzids SCRAM accepts.
TEST_F(SaslTest, ScramChecksAuthzid) {
  for (absl::string_view gs2 :
       {"n,a=user,", "n,a=user@example.com,", "n,a=USER@example.com,"}) {
    const std::string bare = "n=user,r=abc";
    auto mech = Create("SCRAM-SHA-1", rfc_options_);
    SaslStep first = mech->Start(absl::StrCat(gs2, bare));
    ASSERT_EQ(first.kind, SaslStep::Kind::kChallenge) << gs2;
    ClientFinal final = ComputeClientFinal(gs2, bare, first.data, kPassword);
    EXPECT_THAT(mech->Continue(final.message),
                IsSuccess(final.expected_server_final))
        << gs2;
  }
  for (absl::string_view gs2 : {"n,a=admin,", "n,a=admin@example.com,",
                                "n,a=user@,", "n,a=user@example.com/res,"}) {
    auto mech = Create("SCRAM-SHA-1", rfc_options_);
    EXPECT_THAT(mech->Start(absl::StrCat(gs2, "n=user,r=abc")),
                IsFailure("invalid-authzid"))
        << gs2;
  }
}

// Verifies that the mechanism refuses to go on once it has answered.
TEST_F(SaslTest, ScramFailsAfterTheExchangeEnds) {
  auto mech = Create("SCRAM-SHA-1", rfc_options_);
  EXPECT_THAT(mech->Continue(kClientFirst), IsFailure("malformed-request"));

  mech = ScramAfterFirst();
  ASSERT_THAT(mech->Continue(kClientFinal), IsSuccess(kServerFinal));
  EXPECT_THAT(mech->Continue(""), IsFailure("malformed-request"));
  EXPECT_THAT(mech->Continue(kClientFinal), IsFailure("malformed-request"));
  EXPECT_THAT(mech->Start(std::string(kClientFirst)),
              IsFailure("malformed-request"));

  mech = ScramAfterFirst();
  ASSERT_THAT(mech->Continue("garbage"), IsFailure("malformed-request"));
  EXPECT_THAT(mech->Continue(kClientFinal), IsFailure("malformed-request"));
}

// Verifies PLAIN with and without an authzid.
TEST_F(SaslTest, PlainSucceeds) {
  for (absl::string_view authzid : {"", "user", "user@example.com"}) {
    auto mech = Create("PLAIN");
    EXPECT_THAT(
        mech->Start(absl::StrCat(authzid, std::string("\0user\0pencil", 12))),
        IsSuccess(""))
        << authzid;
    EXPECT_EQ(mech->username(), kUser);
  }
}

// Verifies the RFC 6120 §6.4.2 flow for PLAIN.
TEST_F(SaslTest, PlainWithoutInitialResponse) {
  auto mech = Create("PLAIN");
  EXPECT_THAT(mech->Start(std::nullopt), IsChallenge(""));
  EXPECT_THAT(mech->Continue(std::string("\0user\0pencil", 12)), IsSuccess(""));
  EXPECT_EQ(mech->username(), kUser);
  EXPECT_THAT(mech->Continue(std::string("\0user\0pencil", 12)),
              IsFailure("malformed-request"));
}

// Verifies that wrong credentials are not-authorized, alike for both causes.
TEST_F(SaslTest, PlainWrongCredentialsAreNotAuthorized) {
  for (const std::string& message :
       {std::string("\0user\0pencil2", 13), std::string("\0user\0penci", 11),
        std::string("\0nobody\0pencil", 14)}) {
    auto mech = Create("PLAIN");
    EXPECT_THAT(mech->Start(message), IsFailure("not-authorized"));
    EXPECT_EQ(mech->username(), "");
  }
}

// Verifies that broken PLAIN messages are malformed-request.
TEST_F(SaslTest, PlainRejectsMalformedMessages) {
  for (const std::string& message :
       {std::string(""), std::string("user\0pencil", 11),
        std::string("\0\0pencil", 8), std::string("\0user\0", 6),
        std::string("a\0user\0pencil\0", 14), std::string("userpencil")}) {
    auto mech = Create("PLAIN");
    EXPECT_THAT(mech->Start(message), IsFailure("malformed-request"))
        << absl::CHexEscape(message);
  }
}

// Verifies that PLAIN refuses an authzid naming someone else.
TEST_F(SaslTest, PlainRejectsForeignAuthzid) {
  auto mech = Create("PLAIN");
  EXPECT_THAT(mech->Start(std::string("admin\0user\0pencil", 17)),
              IsFailure("invalid-authzid"));
}

}  // namespace
}  // namespace talkcheck::fake_server

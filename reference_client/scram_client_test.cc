#include "reference_client/scram_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::reference_client {
namespace {

using ::testing::HasSubstr;

// RFC 5802 §5's example exchange.
constexpr char kClientNonce[] = "fyko+d2lbbFgONRv9qkxdawL";
constexpr char kServerFirst[] =
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
constexpr char kClientFinal[] =
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
    "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
constexpr char kServerFinal[] = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

// Test that the client reproduces RFC 5802's vector message by message.
TEST(ScramSha1ClientTest, Rfc5802Vector) {
  ScramSha1Client scram("user", "pencil", kClientNonce);
  EXPECT_EQ(scram.ClientFirstMessage(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  absl::StatusOr<std::string> final = scram.ClientFinalMessage(kServerFirst);
  ASSERT_TRUE(final.ok()) << final.status();
  EXPECT_EQ(*final, kClientFinal);
  EXPECT_TRUE(scram.VerifyServerFinal(kServerFinal).ok());
}

// Test that a wrong server signature is an authentication error.
TEST(ScramSha1ClientTest, RejectsWrongServerSignature) {
  ScramSha1Client scram("user", "pencil", kClientNonce);
  ASSERT_TRUE(scram.ClientFinalMessage(kServerFirst).ok());
  absl::Status status =
      scram.VerifyServerFinal("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("mismatch"));
  EXPECT_EQ(scram.VerifyServerFinal("e=invalid-proof").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(scram.VerifyServerFinal("garbage").ok());
}

// Test that the same password with another client nonce gives another proof,
// and the wrong password a signature that does not verify.
TEST(ScramSha1ClientTest, WrongPasswordDoesNotVerify) {
  ScramSha1Client scram("user", "not pencil", kClientNonce);
  absl::StatusOr<std::string> final = scram.ClientFinalMessage(kServerFirst);
  ASSERT_TRUE(final.ok());
  EXPECT_NE(*final, kClientFinal);
  EXPECT_FALSE(scram.VerifyServerFinal(kServerFinal).ok());
}

// Test that malformed or hostile server-first messages are refused.
TEST(ScramSha1ClientTest, RejectsBadServerFirst) {
  ScramSha1Client scram("user", "pencil", kClientNonce);
  // The nonce must extend ours.
  EXPECT_FALSE(
      scram.ClientFinalMessage("r=somebodyelse,s=QSXCR+Q6sek8bf92,i=4096")
          .ok());
  EXPECT_FALSE(
      scram.ClientFinalMessage("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXC,i=4096")
          .ok());
  EXPECT_FALSE(
      scram
          .ClientFinalMessage("m=ext,r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXC,i=4096")
          .ok());
  EXPECT_FALSE(
      scram.ClientFinalMessage("r=fyko+d2lbbFgONRv9qkxdawLx,s=!!,i=4096").ok());
  EXPECT_FALSE(
      scram.ClientFinalMessage("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXC,i=0").ok());
  EXPECT_FALSE(
      scram.ClientFinalMessage("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXC,i=999999999")
          .ok());
  EXPECT_FALSE(scram.ClientFinalMessage("r=fyko+d2lbbFgONRv9qkxdawLx").ok());
}

// Test that ',' and '=' in the username are escaped as saslname requires.
TEST(ScramSha1ClientTest, EscapesUsername) {
  ScramSha1Client scram("a,b=c", "pw", "nonce");
  EXPECT_EQ(scram.ClientFirstMessage(), "n,,n=a=2Cb=3Dc,r=nonce");
}

}  // namespace
}  // namespace talkcheck::reference_client

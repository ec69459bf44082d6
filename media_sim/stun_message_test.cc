#include "media_sim/stun_message.h"

#include <cstdint>
#include <random>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace talkcheck::media_sim {
namespace {

namespace ip = boost::asio::ip;

constexpr char kTid[] = "0123456789abcdef";  // 16 base64 characters
constexpr char kRemoteUfrag[] = "aBcDeFgHiJkLmNoP";
constexpr char kLocalUfrag[] = "QrStUvWxYz012345";

std::string Hex(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}
std::string Bytes(absl::string_view hex) { return absl::HexStringToBytes(hex); }

StunMessage Request() {
  StunMessage message;
  message.type = kStunBindingRequest;
  message.transaction_id = kTid;
  message.username = std::string(kRemoteUfrag) + kLocalUfrag;
  return message;
}

// A 20-byte header followed by `attributes` (hex), with a correct length field.
std::string WithHeader(absl::string_view attributes_hex,
                       uint16_t type = 0x0101) {
  const std::string attributes = Bytes(attributes_hex);
  std::string out;
  out.push_back(static_cast<char>(type >> 8));
  out.push_back(static_cast<char>(type & 0xFF));
  out.push_back(static_cast<char>(attributes.size() >> 8));
  out.push_back(static_cast<char>(attributes.size() & 0xFF));
  out.append(kTid);
  return out + attributes;
}

void ExpectInvalid(absl::string_view bytes, absl::string_view reason_part) {
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(bytes);
  ASSERT_FALSE(parsed.ok()) << Hex(bytes);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find(reason_part),
            absl::string_view::npos)
      << parsed.status().message();
}

// Verifies the exact byte layout of PROTOCOL.md Appendix A.4.
TEST(StunMessage, SerializesBindingRequestAsAppendixA4) {
  const std::string wire = Request().Serialize();
  ASSERT_EQ(wire.size(), 56u);
  EXPECT_EQ(Hex(wire.substr(0, 4)), "00010024");
  EXPECT_EQ(wire.substr(4, 16), kTid);
  EXPECT_EQ(Hex(wire.substr(20, 4)), "00060020");
  EXPECT_EQ(wire.substr(24), std::string(kRemoteUfrag) + kLocalUfrag);
}

// Verifies the response layout: USERNAME first, then MAPPED-ADDRESS family 1.
TEST(StunMessage, SerializesBindingResponseInLibjingleOrder) {
  StunMessage response = Request();
  response.type = kStunBindingResponse;
  response.mapped_address =
      ip::udp::endpoint(ip::make_address("192.168.1.10"), 51234);
  const std::string wire = response.Serialize();
  EXPECT_EQ(Hex(wire.substr(0, 4)), "01010030");
  EXPECT_EQ(Hex(wire.substr(20, 4)), "00060020");
  EXPECT_EQ(Hex(wire.substr(56)), "000100080001c822c0a8010a");
}

TEST(StunMessage, RoundTripsEveryModelledAttribute) {
  StunMessage message = Request();
  message.type = kStunBindingErrorResponse;
  message.mapped_address =
      ip::udp::endpoint(ip::make_address("10.0.0.1"), 4000);
  message.error_code = StunErrorCode::FromGiceCode(430, "STALE CREDENTIALS");
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(message.Serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->type, kStunBindingErrorResponse);
  EXPECT_EQ(parsed->transaction_id, kTid);
  EXPECT_EQ(parsed->username, message.username);
  EXPECT_EQ(parsed->mapped_address, message.mapped_address);
  ASSERT_TRUE(parsed->error_code.has_value());
  EXPECT_EQ(parsed->error_code->GiceCode(), 430);
  // Padded with spaces to a multiple of 4 (RFC 3489 §11.2.9).
  EXPECT_EQ(parsed->error_code->reason, "STALE CREDENTIALS   ");
  EXPECT_FALSE(parsed->has_magic_cookie());
  EXPECT_FALSE(parsed->unpadded_final_attribute);
  EXPECT_TRUE(parsed->unknown_attributes.empty());
}

TEST(StunMessage, RoundTripsIpv6MappedAddress) {
  StunMessage message = Request();
  message.type = kStunBindingResponse;
  message.mapped_address = ip::udp::endpoint(ip::make_address("::1"), 7);
  const std::string wire = message.Serialize();
  EXPECT_EQ(Hex(wire.substr(56, 8)), "0001001400020007");
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(wire);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->mapped_address, message.mapped_address);
}

// Verifies GICE's error-code encoding: class = code / 256, number = code % 256.
TEST(StunMessage, EncodesErrorCodesTheGiceWay) {
  EXPECT_EQ(EncodeGiceErrorCode(400), 0x00000190u);
  EXPECT_EQ(EncodeGiceErrorCode(430), 0x000001AEu);
  EXPECT_EQ(DecodeGiceErrorCode(0x190), 400);
  EXPECT_EQ(DecodeGiceErrorCode(0x1AE), 430);
  EXPECT_EQ(EncodeStandardErrorCode(400), 0x00000400u);
  EXPECT_EQ(DecodeStandardErrorCode(0x41E), 430);
  // A standard 400 read the GICE way is 1024.
  EXPECT_EQ(DecodeGiceErrorCode(EncodeStandardErrorCode(400)), 1024);

  StunMessage message = Request();
  message.type = kStunBindingErrorResponse;
  message.error_code = StunErrorCode::FromGiceCode(400, "BAD REQUEST");
  const std::string wire = message.Serialize();
  // USERNAME (36 bytes), then ERROR-CODE of 4 + 12 bytes.
  EXPECT_EQ(Hex(wire.substr(56, 8)), "0009001000000190");
  EXPECT_EQ(wire.substr(64), "BAD REQUEST ");
  EXPECT_EQ(Hex(wire.substr(0, 4)), "01110038");
}

// Verifies that a libjingle 0.4 error response, whose reason is not padded,
// parses.
TEST(StunMessage, AcceptsUnpaddedFinalAttributeLikeLibjingle04) {
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(Bytes(
      "01110019" + Hex(kTid) + "00090015000001ae" + Hex("STALE CREDENTIALS")));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->unpadded_final_attribute);
  EXPECT_EQ(parsed->error_code->GiceCode(), 430);
  EXPECT_EQ(parsed->error_code->reason, "STALE CREDENTIALS");
}

// Verifies that an odd final USERNAME is accepted but flagged (LJ04 would drop
// it).
TEST(StunMessage, FlagsUnpaddedUsername) {
  absl::StatusOr<StunMessage> parsed =
      ParseStunMessage(WithHeader("00060006aabbccddeeff", 0x0001));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->unpadded_final_attribute);
  EXPECT_EQ(parsed->username, "\xaa\xbb\xcc\xdd\xee\xff");
}

TEST(StunMessage, SkipsPaddingOfOddLengthAttributes) {
  // USERNAME "abcde" padded to 8, then MAPPED-ADDRESS.
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(WithHeader(
      "00060005" + Hex("abcde") + "000000" + "000100080001000a7f000001"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->username, "abcde");
  EXPECT_EQ(parsed->mapped_address->port(), 10);
  EXPECT_FALSE(parsed->unpadded_final_attribute);
}

// Verifies the RFC 5389 variant: cookie detected, XOR-MAPPED-ADDRESS decoded,
// GICE kept.
TEST(StunMessage, ParsesCookieVariantAndXorMappedAddress) {
  std::mt19937_64 bitgen(2005);
  const std::string tid = MakeTransactionId(bitgen, /*magic_cookie=*/true);
  EXPECT_EQ(Hex(tid.substr(0, 4)), "2112a442");
  // XOR-MAPPED-ADDRESS 127.0.0.1:5000 (port ^ 0x2112, address ^ the cookie),
  // then MAPPED-ADDRESS 127.0.0.1:5000.
  const std::string wire = Bytes("01010018") + tid +
                           Bytes("002000080001329a5e12a443") +
                           Bytes("0001000800011388" + std::string("7f000001"));
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(wire);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->has_magic_cookie());
  EXPECT_EQ(parsed->transaction_id, tid);
  ASSERT_TRUE(parsed->xor_mapped_address.has_value());
  EXPECT_EQ(parsed->xor_mapped_address->address().to_string(), "127.0.0.1");
  EXPECT_EQ(parsed->xor_mapped_address->port(), 5000);
  EXPECT_EQ(parsed->mapped_address->port(), 5000);

  // Serialising never writes XOR-MAPPED-ADDRESS, and keeps the cookie id.
  const std::string again = parsed->Serialize();
  EXPECT_EQ(again.substr(4, 16), tid);
  EXPECT_EQ(Hex(again.substr(0, 4)), "0101000c");
}

// Verifies that ICE-only attributes are kept raw and flagged, never dropped
// silently.
TEST(StunMessage, KeepsUnknownAttributesRaw) {
  absl::StatusOr<StunMessage> parsed = ParseStunMessage(
      WithHeader("00080014" + std::string(40, '0') + "8028000412345678" +
                     "ff000004000000030024000400000001",
                 0x0001));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->has_message_integrity());
  EXPECT_TRUE(parsed->has_fingerprint());
  EXPECT_EQ(parsed->retransmit_count, 3u);
  ASSERT_EQ(parsed->unknown_attributes.size(), 3u);
  EXPECT_EQ(parsed->unknown_attributes[2].type, 0x0024);  // PRIORITY
  EXPECT_EQ(Hex(parsed->unknown_attributes[1].value), "12345678");
  // Serialising writes none of them.
  EXPECT_EQ(parsed->Serialize().size(), kStunHeaderSize);
}

TEST(StunMessage, KeepsRepeatedAttributesAsUnknown) {
  absl::StatusOr<StunMessage> parsed =
      ParseStunMessage(WithHeader("00060004aaaaaaaa00060004bbbbbbbb", 0x0001));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->username, "\xaa\xaa\xaa\xaa");
  ASSERT_EQ(parsed->unknown_attributes.size(), 1u);
  EXPECT_EQ(parsed->unknown_attributes[0].type, kStunAttrUsername);
}

TEST(StunMessage, RejectsMalformedMessages) {
  const std::string valid = Request().Serialize();
  ExpectInvalid("", "shorter than the 20-byte header");
  ExpectInvalid(valid.substr(0, 19), "shorter than the 20-byte header");
  ExpectInvalid(valid.substr(0, 40), "does not match");
  ExpectInvalid(valid + "xxxx", "does not match");
  // USERNAME claims 0x30 bytes but the message ends after 0x20.
  std::string past_end = valid;
  past_end[23] = 0x30;
  ExpectInvalid(past_end, "runs past the end");
  ExpectInvalid(WithHeader("0006"), "truncated attribute header");
  ExpectInvalid(WithHeader("000600010000"), "not a multiple of 4 (padding");
  ExpectInvalid(WithHeader("00060004aabbccdd00"), "not a multiple of 4");
  ExpectInvalid(WithHeader("000100040001000a"),
                "expected 8 (IPv4) or 20 (IPv6)");
  ExpectInvalid(WithHeader("000100080002000a7f000001"),
                "family 2 with a 8-byte");
  ExpectInvalid(WithHeader("002000140001000a7f0000017f0000017f0000017f000001"),
                "family 1 with a 20-byte");
  ExpectInvalid(WithHeader("00090000"), "ERROR-CODE value is 0 bytes");
  ExpectInvalid(WithHeader("0009000201900000"), "ERROR-CODE value is 2 bytes");
  ExpectInvalid(WithHeader("ff00000200000000"), "RETRANSMIT-COUNT");
}

TEST(StunMessage, DemultiplexesStunFromRtp) {
  const std::string stun = Request().Serialize();
  EXPECT_TRUE(IsStunPacket(stun));
  EXPECT_FALSE(IsRtpPacket(stun));
  EXPECT_FALSE(IsStunPacket(stun.substr(0, 30)));
  std::string rtp = Bytes("80000001000000000000000a") + std::string(160, 'x');
  EXPECT_TRUE(IsRtpPacket(rtp));
  EXPECT_FALSE(IsStunPacket(rtp));
  // An RTP packet whose bytes happen to look like a length still fails the top
  // bits.
  rtp[2] = 0;
  rtp[3] = static_cast<char>(rtp.size() - 20);
  EXPECT_FALSE(IsStunPacket(rtp));
}

TEST(StunMessage, MakesBase64Identifiers) {
  std::mt19937_64 bitgen(2005);
  const std::string ufrag = RandomBase64(bitgen, 16);
  ASSERT_EQ(ufrag.size(), 16u);
  for (char c : ufrag) {
    EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                c == '+' || c == '/')
        << c;
  }
  const std::string tid = MakeTransactionId(bitgen, /*magic_cookie=*/false);
  EXPECT_EQ(tid.size(), kStunTransactionIdSize);
}

// Verifies that random and truncated datagrams never crash the parser (run
// under asan).
TEST(StunMessage, SurvivesFuzzedInput) {
  std::mt19937_64 bitgen(2005);
  StunMessage full = Request();
  full.type = kStunBindingErrorResponse;
  full.mapped_address = ip::udp::endpoint(ip::make_address("::1"), 9);
  full.error_code = StunErrorCode::FromGiceCode(430, "STALE CREDENTIALS");
  const std::string seed = full.Serialize();
  int parsed_ok = 0;
  for (size_t cut = 0; cut <= seed.size(); ++cut) {
    parsed_ok += ParseStunMessage(seed.substr(0, cut)).ok();
  }
  EXPECT_EQ(parsed_ok, 1);  // only the whole message
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = seed;
    const int flips = absl::Uniform(bitgen, 1, 6);
    for (int f = 0; f < flips; ++f) {
      bytes[absl::Uniform<size_t>(bitgen, 0, bytes.size())] =
          static_cast<char>(absl::Uniform<int>(bitgen, 0, 256));
    }
    // Keep the length field consistent half the time so the attribute walk is
    // reached.
    if (i % 2 == 0) {
      const size_t length = bytes.size() - kStunHeaderSize;
      bytes[2] = static_cast<char>(length >> 8);
      bytes[3] = static_cast<char>(length & 0xFF);
    }
    bytes.resize(absl::Uniform<size_t>(bitgen, 0, bytes.size() + 1));
    absl::StatusOr<StunMessage> parsed = ParseStunMessage(bytes);
    if (parsed.ok()) (void)parsed->Serialize();
    (void)IsStunPacket(bytes);
  }
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(absl::Uniform<size_t>(bitgen, 0, 128), '\0');
    for (char& c : bytes)
      c = static_cast<char>(absl::Uniform<int>(bitgen, 0, 256));
    (void)ParseStunMessage(bytes);
  }
}

}  // namespace
}  // namespace talkcheck::media_sim

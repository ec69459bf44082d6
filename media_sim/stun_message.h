// The STUN codec of Google ICE ("GICE", PROTOCOL.md §4.1-4.2).
//
// GICE frames its connectivity checks in the RFC 3489 layout: type, length and
// a 16-byte transaction id, no magic cookie, no MESSAGE-INTEGRITY, no
// FINGERPRINT. The attributes are USERNAME (remote ufrag ‖ local ufrag, no
// colon), MAPPED-ADDRESS in responses and ERROR-CODE in error responses, the
// latter with libjingle's non-standard number encoding (class = code / 256,
// number = code % 256, so 400 is the 32-bit word 0x00000190). Google clients
// from mid-2011 put the RFC 5389 magic cookie in the first four bytes of the
// transaction id but keep GICE semantics; the parser reports that as
// `has_magic_cookie()`.
//
// The parser is liberal, because what it reads comes from the client under
// test: every attribute it does not model (including MESSAGE-INTEGRITY and
// FINGERPRINT, which a GICE peer must never send) is kept raw in
// `unknown_attributes` for the harness to count as a finding. Structural damage
// (truncation, inconsistent lengths, wrong address sizes) is a
// `kInvalidArgument` error with the reason. The serialiser is exact: it writes
// only USERNAME, MAPPED-ADDRESS and ERROR-CODE, in libjingle's order.
//
// Example:
//   StunMessage request;
//   request.type = kStunBindingRequest;
//   request.transaction_id = MakeTransactionId(bitgen, /*magic_cookie=*/false);
//   request.username = remote_ufrag + local_ufrag;
//   socket.send_to(boost::asio::buffer(request.Serialize()), remote);
//   ...
//   absl::StatusOr<StunMessage> reply = ParseStunMessage(datagram);
//   if (!reply.ok()) ++stats.malformed_stun;
#ifndef TALKCHECK_MEDIA_SIM_STUN_MESSAGE_H_
#define TALKCHECK_MEDIA_SIM_STUN_MESSAGE_H_

#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace talkcheck::media_sim {

// Message types GICE uses (PROTOCOL.md §4.1).
inline constexpr uint16_t kStunBindingRequest = 0x0001;
inline constexpr uint16_t kStunBindingResponse = 0x0101;
inline constexpr uint16_t kStunBindingErrorResponse = 0x0111;

// The Google relay's pre-TURN messages (PROTOCOL.md §4.1, §5.2; libjingle 0.4
// `stun.h`, `relayport.cc`, `relayserver.cc`).
inline constexpr uint16_t kStunAllocateRequest = 0x0003;
inline constexpr uint16_t kStunAllocateResponse = 0x0103;
inline constexpr uint16_t kStunAllocateErrorResponse = 0x0113;
inline constexpr uint16_t kStunSendRequest = 0x0004;
inline constexpr uint16_t kStunSendResponse = 0x0104;
inline constexpr uint16_t kStunSendErrorResponse = 0x0114;
inline constexpr uint16_t kStunDataIndication = 0x0115;

// Attribute types. `StunMessage::Serialize` writes only the first three.
inline constexpr uint16_t kStunAttrMappedAddress = 0x0001;
inline constexpr uint16_t kStunAttrUsername = 0x0006;
inline constexpr uint16_t kStunAttrErrorCode = 0x0009;
inline constexpr uint16_t kStunAttrMessageIntegrity = 0x0008;  // never in GICE
inline constexpr uint16_t kStunAttrXorMappedAddress = 0x0020;  // see StunServer
inline constexpr uint16_t kStunAttrRetransmitCount = 0xFF00;   // LJ13, optional
inline constexpr uint16_t kStunAttrFingerprint = 0x8028;       // never in GICE

// Relay attributes. `ParseStunMessage` keeps them raw in `unknown_attributes`
// (read them with `FindUnknownAttribute`); relay messages are written with
// `SerializeStunAttributes`, which keeps the caller's order.
inline constexpr uint16_t kStunAttrLifetime = 0x000D;            // UInt32, s
inline constexpr uint16_t kStunAttrMagicCookie = 0x000F;         // bytes
inline constexpr uint16_t kStunAttrDestinationAddress = 0x0011;  // not XOR'd
inline constexpr uint16_t kStunAttrSourceAddress2 = 0x0012;      // not XOR'd
inline constexpr uint16_t kStunAttrData = 0x0013;                // bytes
inline constexpr uint16_t kStunAttrOptions = 0x8001;             // UInt32
// The relay's MAGIC-COOKIE value (libjingle `STUN_MAGIC_COOKIE_VALUE`, later
// `TURN_MAGIC_COOKIE_VALUE`; libnice `TURN_MAGIC_COOKIE`). libjingle tells a
// STUN-framed relay packet from a raw one by finding the cookie at byte 24,
// i.e. as the value of the first attribute.
inline constexpr absl::string_view kRelayMagicCookie = "\x72\xc6\x4b\xc6";
// OPTIONS bit 0: lock the client's relay connection to the SEND destination.
inline constexpr uint32_t kRelayOptionLock = 0x1;

// GICE error codes and the reactions of §4.2.
inline constexpr int kStunErrorBadRequest = 400;
inline constexpr int kStunErrorUnauthorized = 401;
inline constexpr int kStunErrorUnknownAttribute = 420;
inline constexpr int kStunErrorStaleCredentials = 430;
inline constexpr int kStunErrorServerError = 500;
inline constexpr int kStunErrorGlobalFailure = 600;

inline constexpr uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr size_t kStunHeaderSize = 20;
inline constexpr size_t kStunTransactionIdSize = 16;

// The 32-bit first word of an ERROR-CODE value.
//
// GICE (libjingle `SetErrorCode`): class = code / 256, number = code % 256, so
// the word is simply the code: 400 -> 0x00000190, 430 -> 0x000001AE. Decoding
// GICE is class * 256 + number. This is the encoding GICE peers send and
// expect.
uint32_t EncodeGiceErrorCode(int code);
int DecodeGiceErrorCode(uint32_t word);
// RFC 3489/5389: class = code / 100, number = code % 100 (400 -> 0x00000400). A
// GICE decoder reads such a word as 4 * 256 + 0 = 1024; peers that send it are
// non-GICE.
uint32_t EncodeStandardErrorCode(int code);
int DecodeStandardErrorCode(uint32_t word);

// ERROR-CODE as it was on the wire: the 3-bit class and 8-bit number, kept
// apart so that both readings stay available.
struct StunErrorCode {
  uint8_t error_class = 0;  // 0..7
  uint8_t number = 0;
  // RFC 3489 §11.2.9 wants a reason whose length is a multiple of 4;
  // `Serialize` pads with spaces, and a parsed reason keeps whatever padding
  // the sender used.
  std::string reason;

  // class * 256 + number: how a GICE peer means it.
  int GiceCode() const { return error_class * 256 + number; }
  // class * 100 + number: how an RFC 3489/5389 peer means it.
  int StandardCode() const { return error_class * 100 + number; }

  static StunErrorCode FromGiceCode(int code, std::string reason);
  static StunErrorCode FromStandardCode(int code, std::string reason);
};

// An attribute the typed fields of `StunMessage` do not hold.
struct StunAttribute {
  uint16_t type = 0;
  std::string value;  // without padding
};

// One STUN message in GICE's model. A plain value: fill it and `Serialize()`,
// or get it from `ParseStunMessage()`.
struct StunMessage {
  uint16_t type = 0;
  // The 16 bytes after the length field. In the cookie variant the first four
  // are 0x2112A442 (see `MakeTransactionId`). `Serialize` requires exactly 16
  // bytes.
  std::string transaction_id;

  std::optional<std::string> username;
  // Family 1 (IPv4, 8-byte value) or family 2 (IPv6, 20-byte value).
  std::optional<boost::asio::ip::udp::endpoint> mapped_address;
  std::optional<StunErrorCode> error_code;

  // Parsed, never serialised: a GICE peer has no business sending these, but
  // LJ13 may send RETRANSMIT-COUNT and RFC 5389 stacks send XOR-MAPPED-ADDRESS.
  std::optional<boost::asio::ip::udp::endpoint> xor_mapped_address;
  std::optional<uint32_t> retransmit_count;
  // Attributes of other types, plus repeats of modelled ones (the first
  // occurrence wins, as in libjingle's `GetAttribute`). Never serialised.
  std::vector<StunAttribute> unknown_attributes;
  // Parse finding: the last attribute's value was not padded to a 4-byte
  // boundary (how libjingle 0.4 writes error reasons); the message length is
  // then not a multiple of 4.
  bool unpadded_final_attribute = false;

  bool has_magic_cookie() const;
  // True when `unknown_attributes` holds an attribute of `attribute_type`.
  bool HasUnknownAttribute(uint16_t attribute_type) const;
  bool has_message_integrity() const {
    return HasUnknownAttribute(kStunAttrMessageIntegrity);
  }
  bool has_fingerprint() const {
    return HasUnknownAttribute(kStunAttrFingerprint);
  }
  // The first attribute of `attribute_type` in `unknown_attributes`, or null.
  // The relay attributes (MAGIC-COOKIE, DATA, ...) are read this way.
  const StunAttribute* FindUnknownAttribute(uint16_t attribute_type) const;

  // Header, then USERNAME, MAPPED-ADDRESS and ERROR-CODE (whichever are set;
  // the order of libjingle's `SendBindingResponse` /
  // `SendBindingErrorResponse`). A USERNAME whose length is not a multiple of 4
  // is zero-padded (RFC 5389 style), with the attribute length giving the real
  // size; GICE ufrags of 16 characters never need it. The error reason is
  // padded with spaces to a multiple of 4 (RFC 3489 §11.2.9), which both
  // libjingle 0.4's unpadded reader and padded readers (libnice) accept.
  std::string Serialize() const;
};

// Parses one datagram. kInvalidArgument, with the reason, when it is shorter
// than the header, its length field does not match the datagram, the length is
// not a multiple of 4 (unless only the last attribute is unpadded, see
// `unpadded_final_attribute`), an attribute runs past the end, an address
// attribute has the wrong size or family, an ERROR-CODE value is shorter than 4
// bytes, or RETRANSMIT-COUNT is not 4 bytes. Attribute values of any length are
// accepted; padding up to the next 4-byte boundary is skipped.
absl::StatusOr<StunMessage> ParseStunMessage(absl::string_view bytes);

// Why `ParseStunMessage` rejected a datagram, for callers that count findings
// by kind (GiceChannel's GiceStats).
enum class StunParseError {
  kNone = 0,
  // Shorter than the 20-byte header, or a length field that promises more
  // bytes than the datagram holds.
  kTruncated,
  // A length field that promises fewer bytes than the datagram holds: bytes
  // after the message.
  kTrailingBytes,
  // An attribute's header, value or padding runs past the end of the message.
  kAttributeOverrun,
  // A modelled attribute with an impossible value: an address of the wrong
  // size or family, ERROR-CODE shorter than 4 bytes, RETRANSMIT-COUNT not 4.
  kBadAttributeValue,
};

// The same parse; on failure it also stores the kind of damage in `*error`
// (kNone on success). `error` may be null.
absl::StatusOr<StunMessage> ParseStunMessage(absl::string_view bytes,
                                             StunParseError* error);

// True for the attribute types libjingle 0.4's strict parser knows: 0x0001
// (MAPPED-ADDRESS) to 0x0013 (DATA), MESSAGE-INTEGRITY among them, and OPTIONS
// 0x8001 (LJ04 `stun.h StunAttributeType`). A message with any other type
// (XOR-MAPPED-ADDRESS, PRIORITY, SOFTWARE, FINGERPRINT, RETRANSMIT-COUNT, ...)
// fails to parse there and is dropped (PROTOCOL.md §4.1).
bool IsLibjingle04Attribute(uint16_t attribute_type);

// The value of an address attribute (MAPPED-ADDRESS, DESTINATION-ADDRESS,
// SOURCE-ADDRESS2): 8 bytes for IPv4 (family 1), 20 for IPv6 (family 2).
std::string EncodeStunAddress(const boost::asio::ip::udp::endpoint& endpoint);
// Its inverse. kInvalidArgument for a wrong size or family.
absl::StatusOr<boost::asio::ip::udp::endpoint> DecodeStunAddress(
    absl::string_view value);
// XOR-MAPPED-ADDRESS (RFC 5389 §15.2): port and address XOR'd with header
// bytes 4..20, i.e. `transaction_id` (the cookie, then the 12-byte id).
std::string EncodeStunXorAddress(const boost::asio::ip::udp::endpoint& endpoint,
                                 absl::string_view transaction_id);

// A message with exactly `attributes`, in that order: what the relay needs
// (MAGIC-COOKIE first) and `StunMessage::Serialize` does not offer. Every value
// but the last is zero-padded to a 4-byte boundary; the last is written
// unpadded, as libjingle 0.4 writes every byte string, because its reader skips
// no padding and would reject a padded final DATA attribute (`ParseStunMessage`
// reads the result as `unpadded_final_attribute`). `transaction_id` must be 16
// bytes.
std::string SerializeStunAttributes(
    uint16_t type, absl::string_view transaction_id,
    const std::vector<StunAttribute>& attributes);

// Demultiplexing helpers for one UDP 5-tuple carrying both STUN and RTP/RTCP.
// STUN: at least a header, the two top bits of the type zero, and a length
// field that matches the datagram. Cheap: does not look at the attributes.
bool IsStunPacket(absl::string_view bytes);
// RTP or RTCP: version bits 10 in the first byte.
bool IsRtpPacket(absl::string_view bytes);

// `length` random characters from the base64 alphabet A-Za-z0-9+/ (ufrags,
// passwords and libjingle transaction ids).
std::string RandomBase64(absl::BitGenRef bitgen, size_t length);

// A 16-byte transaction id: 16 random base64 characters (libjingle 0.4), or
// with `magic_cookie` the four cookie bytes followed by 12 random base64
// characters (Google from mid-2011).
std::string MakeTransactionId(absl::BitGenRef bitgen, bool magic_cookie);

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_STUN_MESSAGE_H_

#include "media_sim/stun_message.h"

#include <array>
#include <cassert>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "media_sim/byte_order.h"

namespace talkcheck::media_sim {
namespace {

namespace ip = boost::asio::ip;

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kFamilyIpv4 = 1;
constexpr uint8_t kFamilyIpv6 = 2;

// Type, true length, value, then zero padding to the 4-byte boundary.
void PutAttribute(std::string& out, uint16_t type, absl::string_view value) {
  assert(value.size() <= 0xFFFF);
  PutU16(out, type);
  PutU16(out, static_cast<uint16_t>(value.size()));
  out.append(value.data(), value.size());
  out.append((4 - value.size() % 4) % 4, '\0');
}

// The 20-byte header with its length left 0, for FinishStunMessage to set.
void StartStunMessage(uint16_t type, absl::string_view transaction_id,
                      std::string& out) {
  assert(transaction_id.size() == kStunTransactionIdSize);
  PutU16(out, type);
  PutU16(out, 0);
  out.append(transaction_id.data(), transaction_id.size());
}

// Writes the attributes' length into the header.
void FinishStunMessage(std::string& out) {
  const size_t length = out.size() - kStunHeaderSize;
  assert(length <= 0xFFFF);
  out[2] = static_cast<char>(length >> 8);
  out[3] = static_cast<char>(length & 0xFF);
}

std::string AddressValue(const ip::udp::endpoint& endpoint) {
  std::string value;
  value.push_back('\0');
  if (endpoint.address().is_v4()) {
    value.push_back(static_cast<char>(kFamilyIpv4));
    PutU16(value, endpoint.port());
    PutU32(value, endpoint.address().to_v4().to_uint());
  } else {
    value.push_back(static_cast<char>(kFamilyIpv6));
    PutU16(value, endpoint.port());
    const ip::address_v6::bytes_type bytes =
        endpoint.address().to_v6().to_bytes();
    value.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  return value;
}

// MAPPED-ADDRESS and XOR-MAPPED-ADDRESS. For the XOR form, `xor_key` is
// bytes 4..20 of the header: the cookie and the rest of the id in RFC 5389, and
// the same bytes of the 16-byte id when a peer sends XOR-MAPPED-ADDRESS without
// a cookie.
absl::StatusOr<ip::udp::endpoint> ParseAddress(absl::string_view name,
                                               absl::string_view value,
                                               absl::string_view xor_key) {
  if (value.size() != 8 && value.size() != 20) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s value is %d bytes; expected 8 (IPv4) or 20 (IPv6)",
                        name, value.size()));
  }
  const uint8_t family = static_cast<uint8_t>(value[1]);
  const size_t expected = family == kFamilyIpv4   ? 8
                          : family == kFamilyIpv6 ? 20
                                                  : 0;
  if (expected != value.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s has family %d with a %d-byte value", name, family, value.size()));
  }
  std::string raw(value.substr(2));  // port, then address
  if (!xor_key.empty()) {
    for (size_t i = 0; i < raw.size(); ++i)
      raw[i] ^= xor_key[i < 2 ? i : i - 2];
  }
  const uint16_t port = ReadU16(raw, 0);
  if (family == kFamilyIpv4) {
    return ip::udp::endpoint(ip::address_v4(ReadU32(raw, 2)), port);
  }
  ip::address_v6::bytes_type bytes;
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(raw[2 + i]);
  return ip::udp::endpoint(ip::address_v6(bytes), port);
}

// Fills the typed field for one attribute, or keeps it raw.
absl::Status DecodeAttribute(uint16_t type, absl::string_view value,
                             absl::string_view header, StunMessage& message) {
  auto keep_raw = [&] {
    message.unknown_attributes.push_back(
        StunAttribute{type, std::string(value)});
    return absl::OkStatus();
  };
  switch (type) {
    case kStunAttrUsername:
      if (message.username) return keep_raw();
      message.username = std::string(value);
      return absl::OkStatus();
    case kStunAttrMappedAddress: {
      absl::StatusOr<ip::udp::endpoint> address =
          ParseAddress("MAPPED-ADDRESS", value, "");
      if (!address.ok()) return address.status();
      if (message.mapped_address) return keep_raw();
      message.mapped_address = *address;
      return absl::OkStatus();
    }
    case kStunAttrXorMappedAddress: {
      absl::StatusOr<ip::udp::endpoint> address =
          ParseAddress("XOR-MAPPED-ADDRESS", value, header.substr(4));
      if (!address.ok()) return address.status();
      if (message.xor_mapped_address) return keep_raw();
      message.xor_mapped_address = *address;
      return absl::OkStatus();
    }
    case kStunAttrErrorCode: {
      if (value.size() < 4) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "ERROR-CODE value is %d bytes, shorter than 4", value.size()));
      }
      if (message.error_code) return keep_raw();
      // libjingle logs and ignores non-zero reserved bits (above bit 10); so do
      // we.
      const uint32_t word = ReadU32(value, 0);
      StunErrorCode error;
      error.error_class = static_cast<uint8_t>((word >> 8) & 0x7);
      error.number = static_cast<uint8_t>(word & 0xFF);
      error.reason = std::string(value.substr(4));
      message.error_code = std::move(error);
      return absl::OkStatus();
    }
    case kStunAttrRetransmitCount:
      if (value.size() != 4) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "RETRANSMIT-COUNT value is %d bytes; expected 4", value.size()));
      }
      if (message.retransmit_count) return keep_raw();
      message.retransmit_count = ReadU32(value, 0);
      return absl::OkStatus();
    default:
      return keep_raw();
  }
}

// Walks the attributes after the header. Sets `unpadded_final_attribute` when
// the last value ends exactly at the datagram's end without its padding. On
// failure, `error` says which kind of damage it was.
absl::Status ParseAttributes(absl::string_view bytes, StunMessage& message,
                             StunParseError& error) {
  const absl::string_view header = bytes.substr(0, kStunHeaderSize);
  size_t pos = kStunHeaderSize;
  while (pos < bytes.size()) {
    const size_t left = bytes.size() - pos;
    if (left < 4) {
      error = StunParseError::kAttributeOverrun;
      return absl::InvalidArgumentError(absl::StrFormat(
          "truncated attribute header at offset %d (%d bytes left)", pos,
          left));
    }
    const uint16_t type = ReadU16(bytes, pos);
    const size_t length = ReadU16(bytes, pos + 2);
    if (length > left - 4) {
      error = StunParseError::kAttributeOverrun;
      return absl::InvalidArgumentError(
          absl::StrFormat("attribute 0x%04x at offset %d: length %d runs past "
                          "the end (%d bytes left)",
                          type, pos, length, left - 4));
    }
    const absl::string_view value = bytes.substr(pos + 4, length);
    if (absl::Status status = DecodeAttribute(type, value, header, message);
        !status.ok()) {
      error = StunParseError::kBadAttributeValue;
      return status;
    }
    const size_t value_end = pos + 4 + length;
    const size_t padded_end = value_end + (4 - length % 4) % 4;
    if (padded_end <= bytes.size()) {
      pos = padded_end;
    } else if (value_end == bytes.size()) {
      message.unpadded_final_attribute = true;
      pos = value_end;
    } else {
      error = StunParseError::kAttributeOverrun;
      return absl::InvalidArgumentError(absl::StrFormat(
          "padding of attribute 0x%04x at offset %d runs past the end", type,
          pos));
    }
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t EncodeGiceErrorCode(int code) {
  return static_cast<uint32_t>(((code / 256) & 0x7) << 8 | (code % 256));
}

int DecodeGiceErrorCode(uint32_t word) {
  return static_cast<int>((word >> 8) & 0x7) * 256 +
         static_cast<int>(word & 0xFF);
}

uint32_t EncodeStandardErrorCode(int code) {
  return static_cast<uint32_t>(((code / 100) & 0x7) << 8 | (code % 100));
}

int DecodeStandardErrorCode(uint32_t word) {
  return static_cast<int>((word >> 8) & 0x7) * 100 +
         static_cast<int>(word & 0xFF);
}

StunErrorCode StunErrorCode::FromGiceCode(int code, std::string reason) {
  const uint32_t word = EncodeGiceErrorCode(code);
  return StunErrorCode{static_cast<uint8_t>(word >> 8),
                       static_cast<uint8_t>(word & 0xFF), std::move(reason)};
}

StunErrorCode StunErrorCode::FromStandardCode(int code, std::string reason) {
  const uint32_t word = EncodeStandardErrorCode(code);
  return StunErrorCode{static_cast<uint8_t>(word >> 8),
                       static_cast<uint8_t>(word & 0xFF), std::move(reason)};
}

bool StunMessage::has_magic_cookie() const {
  return transaction_id.size() >= 4 &&
         ReadU32(transaction_id, 0) == kStunMagicCookie;
}

bool StunMessage::HasUnknownAttribute(uint16_t attribute_type) const {
  for (const StunAttribute& attribute : unknown_attributes) {
    if (attribute.type == attribute_type) return true;
  }
  return false;
}

const StunAttribute* StunMessage::FindUnknownAttribute(
    uint16_t attribute_type) const {
  for (const StunAttribute& attribute : unknown_attributes) {
    if (attribute.type == attribute_type) return &attribute;
  }
  return nullptr;
}

std::string EncodeStunAddress(const ip::udp::endpoint& endpoint) {
  return AddressValue(endpoint);
}

absl::StatusOr<ip::udp::endpoint> DecodeStunAddress(absl::string_view value) {
  return ParseAddress("address attribute", value, "");
}

std::string EncodeStunXorAddress(const ip::udp::endpoint& endpoint,
                                 absl::string_view transaction_id) {
  assert(transaction_id.size() == kStunTransactionIdSize);
  std::string value = AddressValue(endpoint);
  // The same key layout `ParseAddress` undoes: the port against bytes 0..2 of
  // the key, the address against bytes 0..16.
  for (size_t i = 2; i < value.size(); ++i) {
    const size_t at = i - 2;
    value[i] ^= transaction_id[at < 2 ? at : at - 2];
  }
  return value;
}

std::string SerializeStunAttributes(
    uint16_t type, absl::string_view transaction_id,
    const std::vector<StunAttribute>& attributes) {
  std::string out;
  StartStunMessage(type, transaction_id, out);
  for (size_t i = 0; i < attributes.size(); ++i) {
    const StunAttribute& attribute = attributes[i];
    if (i + 1 < attributes.size()) {
      PutAttribute(out, attribute.type, attribute.value);
    } else {
      assert(attribute.value.size() <= 0xFFFF);
      PutU16(out, attribute.type);
      PutU16(out, static_cast<uint16_t>(attribute.value.size()));
      out.append(attribute.value);
    }
  }
  FinishStunMessage(out);
  return out;
}

std::string StunMessage::Serialize() const {
  std::string out;
  // A binding request or response with a USERNAME and an address: one
  // allocation.
  out.reserve(128);
  StartStunMessage(type, transaction_id, out);
  if (username) PutAttribute(out, kStunAttrUsername, *username);
  if (mapped_address) {
    PutAttribute(out, kStunAttrMappedAddress, AddressValue(*mapped_address));
  }
  if (error_code) {
    std::string value;
    PutU32(value, static_cast<uint32_t>(error_code->error_class & 0x7) << 8 |
                      error_code->number);
    value.append(error_code->reason);
    value.append((4 - error_code->reason.size() % 4) % 4, ' ');
    PutAttribute(out, kStunAttrErrorCode, value);
  }
  FinishStunMessage(out);
  return out;
}

absl::StatusOr<StunMessage> ParseStunMessage(absl::string_view bytes) {
  return ParseStunMessage(bytes, nullptr);
}

absl::StatusOr<StunMessage> ParseStunMessage(absl::string_view bytes,
                                             StunParseError* error) {
  StunParseError ignored;
  StunParseError& kind = error != nullptr ? *error : ignored;
  kind = StunParseError::kNone;
  if (bytes.size() < kStunHeaderSize) {
    kind = StunParseError::kTruncated;
    return absl::InvalidArgumentError(absl::StrFormat(
        "STUN message of %d bytes is shorter than the 20-byte header",
        bytes.size()));
  }
  const size_t length = ReadU16(bytes, 2);
  if (length != bytes.size() - kStunHeaderSize) {
    kind = length > bytes.size() - kStunHeaderSize
               ? StunParseError::kTruncated
               : StunParseError::kTrailingBytes;
    return absl::InvalidArgumentError(absl::StrFormat(
        "length field %d does not match the %d bytes after the header", length,
        bytes.size() - kStunHeaderSize));
  }
  StunMessage message;
  message.type = ReadU16(bytes, 0);
  message.transaction_id = std::string(bytes.substr(4, kStunTransactionIdSize));
  absl::Status status = ParseAttributes(bytes, message, kind);
  if (length % 4 != 0 && !status.ok()) {
    // The walk could not explain the odd length by an unpadded final attribute.
    return absl::InvalidArgumentError(absl::StrFormat(
        "length %d is not a multiple of 4 (%s)", length, status.message()));
  }
  if (!status.ok()) return status;
  return message;
}

bool IsLibjingle04Attribute(uint16_t attribute_type) {
  return (attribute_type >= kStunAttrMappedAddress &&
          attribute_type <= kStunAttrData) ||
         attribute_type == kStunAttrOptions;
}

bool IsStunPacket(absl::string_view bytes) {
  return bytes.size() >= kStunHeaderSize &&
         (static_cast<uint8_t>(bytes[0]) & 0xC0) == 0 &&
         ReadU16(bytes, 2) == bytes.size() - kStunHeaderSize;
}

bool IsRtpPacket(absl::string_view bytes) {
  return !bytes.empty() && (static_cast<uint8_t>(bytes[0]) & 0xC0) == 0x80;
}

std::string RandomBase64(absl::BitGenRef bitgen, size_t length) {
  // Six bits a character, ten characters from each 64-bit draw: a draw per
  // character was a percent of a fuzz schedule (a transaction id per ping).
  std::string out(length, '\0');
  uint64_t bits = 0;
  int left = 0;
  for (char& c : out) {
    if (left < 6) {
      bits = absl::Uniform<uint64_t>(bitgen);
      left = 64;
    }
    c = kBase64Alphabet[bits & 63];
    bits >>= 6;
    left -= 6;
  }
  return out;
}

std::string MakeTransactionId(absl::BitGenRef bitgen, bool magic_cookie) {
  if (!magic_cookie) return RandomBase64(bitgen, kStunTransactionIdSize);
  std::string id;
  PutU32(id, kStunMagicCookie);
  id.append(RandomBase64(bitgen, kStunTransactionIdSize - 4));
  return id;
}

}  // namespace talkcheck::media_sim

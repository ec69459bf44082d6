// Network byte order (big-endian) reads and writes for the wire formats of
// media_sim (STUN, RTP). Reads do no bounds checks: callers check lengths
// first, as every parser here does before reading a field.
#ifndef TALKCHECK_MEDIA_SIM_BYTE_ORDER_H_
#define TALKCHECK_MEDIA_SIM_BYTE_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace talkcheck::media_sim {

inline uint16_t ReadU16(absl::string_view bytes, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(bytes[at]) << 8 |
                               static_cast<uint8_t>(bytes[at + 1]));
}

inline uint32_t ReadU32(absl::string_view bytes, size_t at) {
  return static_cast<uint32_t>(ReadU16(bytes, at)) << 16 |
         ReadU16(bytes, at + 2);
}

// Into a buffer the caller sized: a fixed header is written whole, then
// appended once, instead of growing a string byte by byte.
inline void StoreU16(char* at, uint16_t value) {
  at[0] = static_cast<char>(value >> 8);
  at[1] = static_cast<char>(value & 0xFF);
}

inline void StoreU32(char* at, uint32_t value) {
  StoreU16(at, static_cast<uint16_t>(value >> 16));
  StoreU16(at + 2, static_cast<uint16_t>(value & 0xFFFF));
}

inline void PutU16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xFF));
}

inline void PutU32(std::string& out, uint32_t value) {
  PutU16(out, static_cast<uint16_t>(value >> 16));
  PutU16(out, static_cast<uint16_t>(value & 0xFFFF));
}

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_BYTE_ORDER_H_

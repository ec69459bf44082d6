// Strict UTF-8 decoding: no overlong forms, no surrogates, nothing past
// U+10FFFF. Shared by the stanza model (which must reject what tinyxml2 lets
// through) and JID validation.
#ifndef TALKCHECK_XMPP_UTF8_H_
#define TALKCHECK_XMPP_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace talkcheck::xmpp {

// Decodes the code point at s[i] into `cp` and advances `i` past it; false
// (with `i` unchanged) on an invalid or truncated sequence. `i` < s.size().
inline bool NextCodePoint(absl::string_view s, size_t& i, uint32_t& cp) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    cp = c;
    ++i;
    return true;
  }
  size_t length;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    length = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    length = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    length = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (s.size() - i < length) return false;
  for (size_t k = 1; k < length; ++k) {
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += length;
  return true;
}

}  // namespace talkcheck::xmpp

#endif  // TALKCHECK_XMPP_UTF8_H_

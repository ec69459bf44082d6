#include "xmpp/xml_decode.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "xmpp/utf8.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp::internal {
namespace {

bool IsNameByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
         c == ':' || c >= 0x80;
}

// Decodes the reference starting at raw[i] == '&' into `out`; advances `i`
// past it.
absl::Status DecodeReference(absl::string_view raw, size_t& i, int line,
                             std::string& out) {
  const size_t semicolon = raw.find(';', i + 1);
  if (semicolon == absl::string_view::npos || semicolon == i + 1) {
    return NotWellFormed("'&' that does not start a reference", line);
  }
  const absl::string_view ref = raw.substr(i + 1, semicolon - i - 1);
  i = semicolon + 1;
  if (ref[0] == '#') {
    const bool hex = ref.size() > 1 && ref[1] == 'x';
    const absl::string_view digits = ref.substr(hex ? 2 : 1);
    uint32_t cp = 0;
    bool ok = !digits.empty() && digits.size() <= 8;
    for (size_t k = 0; ok && k < digits.size(); ++k) {
      const char c = digits[k];
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (hex && c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (hex && c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        ok = false;
        break;
      }
      cp = cp * (hex ? 16 : 10) + digit;
    }
    if (!ok || !IsXmlChar(cp)) {
      return NotWellFormed(
          absl::StrCat("character reference '&", ref, ";' is not a character"),
          line);
    }
    AppendUtf8(cp, out);
    return absl::OkStatus();
  }
  if (ref == "lt") {
    out.push_back('<');
  } else if (ref == "gt") {
    out.push_back('>');
  } else if (ref == "amp") {
    out.push_back('&');
  } else if (ref == "quot") {
    out.push_back('"');
  } else if (ref == "apos") {
    out.push_back('\'');
  } else if (std::all_of(ref.begin(), ref.end(), [](char c) {
               return IsNameByte(static_cast<unsigned char>(c));
             })) {
    return Restricted(absl::StrCat("entity reference '&", ref, ";'"), line);
  } else {
    return NotWellFormed("'&' that does not start a reference", line);
  }
  return absl::OkStatus();
}

// Appends raw[i] == '\r' as LF (XML 1.0 §2.11); advances `i` past it and a
// following LF.
void AppendLineEnd(absl::string_view raw, size_t& i, char as,
                   std::string& out) {
  out.push_back(as);
  ++i;
  if (i < raw.size() && raw[i] == '\n') ++i;
}

}  // namespace

size_t FindInvalidUtf8(absl::string_view s, bool xml_chars_only) {
  size_t i = 0;
  while (i < s.size()) {
    // Stanzas are mostly ASCII: skip it eight bytes at a time.
#ifdef __SSE2__
    while (s.size() - i >= 16) {
      const __m128i x =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
      const int stops = _mm_movemask_epi8(x) | _mm_movemask_epi8(_mm_cmpeq_epi8(
                                                   x, _mm_setzero_si128()));
      if (stops != 0) break;
      i += 16;
    }
#endif
    // (A zero byte sets its high bit in (word - ones) & ~word.)
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    while (s.size() - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, sizeof(word));
      if ((word | ((word - kOnes) & ~word)) & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i == s.size()) break;
    if (s[i] == '\0') return i;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t start = i;
    uint32_t cp;
    if (!NextCodePoint(s, i, cp) ||
        (xml_chars_only && (cp == 0xFFFE || cp == 0xFFFF))) {
      return start;
    }
  }
  return s.size();
}

size_t FindSpecial(absl::string_view s, size_t from, char other) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t amp_pattern = kOnes * '&';
  const uint64_t other_pattern = kOnes * static_cast<unsigned char>(other);
  size_t i = from;
  // Eight bytes at a time, as most runs hold none.
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, sizeof(word));
    // A byte below 0x20, or one equal to a pattern byte, sets its high bit.
    const uint64_t amp = word ^ amp_pattern;
    const uint64_t oth = word ^ other_pattern;
    const uint64_t hits = ((word - kOnes * 0x20) & ~word) |
                          ((amp - kOnes) & ~amp) | ((oth - kOnes) & ~oth);
    if ((hits & kHigh) != 0) break;
  }
  for (; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '&' || c == static_cast<unsigned char>(other)) break;
  }
  return i;
}

absl::Status DecodeText(absl::string_view raw, int line, std::string& out) {
  size_t run = 0;
  size_t i = FindSpecial(raw, 0, ']');
  while (i < raw.size()) {
    const char c = raw[i];
    if (c == '&') {
      out.append(raw.data() + run, i - run);
      if (absl::Status s = DecodeReference(raw, i, line, out); !s.ok()) {
        return s;
      }
      run = i;
    } else if (c == ']') {
      if (raw.substr(i, 3) == "]]>") {
        return NotWellFormed("']]>' in character data", line);
      }
      ++i;
    } else if (c == '\n' || c == '\t') {
      ++i;
    } else if (c == '\r') {
      out.append(raw.data() + run, i - run);
      AppendLineEnd(raw, i, '\n', out);
      run = i;
    } else {
      return NotWellFormed("control character in character data", line);
    }
    i = FindSpecial(raw, i, ']');
  }
  out.append(raw.data() + run, raw.size() - run);
  return absl::OkStatus();
}

void AppendWhitespace(absl::string_view raw, std::string& out) {
  for (size_t i = 0; i < raw.size();) {
    if (raw[i] == '\r') {
      AppendLineEnd(raw, i, '\n', out);
    } else {
      out.push_back(raw[i++]);
    }
  }
}

absl::Status AppendCData(absl::string_view raw, int line, std::string& out) {
  size_t run = 0;
  for (size_t i = 0; i < raw.size();) {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c >= 0x20 || c == '\n' || c == '\t') {
      ++i;
    } else if (c == '\r') {
      out.append(raw.data() + run, i - run);
      AppendLineEnd(raw, i, '\n', out);
      run = i;
    } else {
      return NotWellFormed("control character in a CDATA section", line);
    }
  }
  out.append(raw.data() + run, raw.size() - run);
  return absl::OkStatus();
}

absl::Status DecodeAttribute(absl::string_view raw, int line,
                             std::string& out) {
  size_t i = FindSpecial(raw, 0, '<');
  if (i < raw.size()) out.reserve(out.size() + raw.size());
  size_t run = 0;
  while (i < raw.size()) {
    const char c = raw[i];
    out.append(raw.data() + run, i - run);
    if (c == '&') {
      if (absl::Status s = DecodeReference(raw, i, line, out); !s.ok()) {
        return s;
      }
    } else if (c == '\r') {
      AppendLineEnd(raw, i, ' ', out);
    } else if (c == '\t' || c == '\n') {
      out.push_back(' ');
      ++i;
    } else if (c == '<') {
      return NotWellFormed("'<' in an attribute value", line);
    } else {
      return NotWellFormed("control character in an attribute value", line);
    }
    run = i;
    i = FindSpecial(raw, i, '<');
  }
  out.append(raw.data() + run, raw.size() - run);
  return absl::OkStatus();
}

}  // namespace talkcheck::xmpp::internal

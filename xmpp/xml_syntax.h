// Small pieces of XML 1.0 syntax shared by the stream framer, the markup
// pre-scan and the element parser: character classes, UTF-8 encoding and the
// stream errors they report. Internal to //xmpp.
#ifndef TALKCHECK_XMPP_XML_SYNTAX_H_
#define TALKCHECK_XMPP_XML_SYNTAX_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "xmpp/stream_error.h"

namespace talkcheck::xmpp::internal {

inline bool IsXmlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The XML 1.0 §2.2 Char production: what a character reference may denote.
inline bool IsXmlChar(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

inline void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Namespaces in XML §3 NCName: an XML 1.0 Name without a colon. Also false
// for invalid UTF-8.
bool IsNcName(absl::string_view name);

// Splits a qualified name (Namespaces in XML §4: `local` or `prefix:local`,
// both NCNames); false if `qname` is not a QName. xml_names.cc.
bool SplitQName(absl::string_view qname, absl::string_view& prefix,
                absl::string_view& local);

// The 1-based line of `at` within `xml`.
inline int LineAt(absl::string_view xml, const char* at) {
  return 1 + static_cast<int>(std::count(xml.data(), at, '\n'));
}

// Stream errors. The forms with a line are for whole fragments (ParseElement);
// the framer, which sees a stream, reports without one.
inline absl::Status NotWellFormed(absl::string_view what) {
  return StreamError(StreamCondition::kNotWellFormed, what);
}
inline absl::Status NotWellFormed(absl::string_view what, int line) {
  return StreamError(StreamCondition::kNotWellFormed,
                     absl::StrCat(what, " (line ", line, ")"));
}
inline absl::Status Restricted(absl::string_view what) {
  return StreamError(StreamCondition::kRestrictedXml, what);
}
inline absl::Status Restricted(absl::string_view what, int line) {
  return StreamError(
      StreamCondition::kRestrictedXml,
      absl::StrCat(what, " (line ", line, ") is not allowed (RFC 6120 §11.1)"));
}
inline absl::Status BadPrefix(absl::string_view prefix, int line) {
  return StreamError(StreamCondition::kBadNamespacePrefix,
                     absl::StrCat("undeclared namespace prefix '", prefix,
                                  "' (line ", line, ")"));
}

// The stream framer's byte classes, looked up once per byte in its hot loops.
enum : uint8_t {
  kWs = 1 << 0,
  kNameStart = 1 << 1,  // ASCII only; bytes >= 0x80 are name characters too
  kNameAscii = 1 << 2,
  kTextStop = 1 << 3,   // ends a run of character data
  kAttrStop = 1 << 4,   // ends a run of attribute value
  kCdataStop = 1 << 5,  // ends a run of CDATA
  kCtrl = 1 << 6,       // not an XML 1.0 Char
};

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') v |= kWs;
    if (letter || c == '_' || c == ':') v |= kNameStart | kNameAscii;
    if ((c >= '0' && c <= '9') || c == '-' || c == '.') v |= kNameAscii;
    const bool ctrl = c < 0x20 && c != '\t' && c != '\r' && c != '\n';
    if (ctrl) v |= kCtrl;
    if (ctrl || c >= 0x80 || c == '<' || c == '&') v |= kTextStop | kAttrStop;
    if (c == '\'' || c == '"') v |= kAttrStop;
    if (ctrl || c >= 0x80 || c == ']') v |= kCdataStop;
    t[c] = v;
  }
  return t;
}
inline constexpr std::array<uint8_t, 256> kClasses = MakeClasses();

inline bool Is(unsigned char c, uint8_t cls) { return kClasses[c] & cls; }

// A byte that may start a Name: an ASCII NameStartChar, or any byte of a
// multi-byte UTF-8 sequence (checked as a code point elsewhere).
inline bool IsNameStartByte(unsigned char c) {
  return Is(c, kNameStart) || c >= 0x80;
}

}  // namespace talkcheck::xmpp::internal

#endif  // TALKCHECK_XMPP_XML_SYNTAX_H_

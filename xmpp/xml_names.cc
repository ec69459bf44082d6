#include <cstdint>

#include "xmpp/utf8.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp::internal {
namespace {

// XML 1.0 (Fifth Edition) §2.3 NameStartChar, without ':' (Namespaces in XML
// §3 NCName).
bool IsNameStartCodePoint(uint32_t c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) ||
         (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
         (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) ||
         (c >= 0x2070 && c <= 0x218F) || (c >= 0x2C00 && c <= 0x2FEF) ||
         (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
         (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

// §2.3 NameChar, without ':'.
bool IsNameCodePoint(uint32_t c) {
  if (c < 0x80) {
    return IsNameStartCodePoint(c) || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  }
  return IsNameStartCodePoint(c) || c == 0xB7 || (c >= 0x300 && c <= 0x36F) ||
         (c >= 0x203F && c <= 0x2040);
}

}  // namespace

bool IsNcName(absl::string_view name) {
  if (name.empty()) return false;
  size_t i = 0;
  // ASCII by the framer's byte classes (names are nearly always ASCII, and
  // every stanza's names are checked again when it is written out); those
  // classes are of Names, so the colon an NCName lacks is refused here.
  uint8_t ascii_class = kNameStart;
  while (i < name.size()) {
    const unsigned char byte = static_cast<unsigned char>(name[i]);
    if (byte < 0x80) {
      if (byte == ':' || !Is(byte, ascii_class)) return false;
      ++i;
    } else {
      uint32_t cp;
      if (!NextCodePoint(name, i, cp)) return false;
      if (!(ascii_class == kNameStart ? IsNameStartCodePoint(cp)
                                      : IsNameCodePoint(cp))) {
        return false;
      }
    }
    ascii_class = kNameAscii;
  }
  return true;
}

bool SplitQName(absl::string_view qname, absl::string_view& prefix,
                absl::string_view& local) {
  // Names are short: a plain loop beats a call to memchr.
  size_t colon = 0;
  while (colon < qname.size() && qname[colon] != ':') ++colon;
  if (colon == qname.size()) {
    prefix = absl::string_view();
    local = qname;
  } else {
    prefix = qname.substr(0, colon);
    local = qname.substr(colon + 1);
    if (!IsNcName(prefix)) return false;
  }
  return IsNcName(local);
}

}  // namespace talkcheck::xmpp::internal

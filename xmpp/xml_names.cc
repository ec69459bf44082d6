#include <array>
#include <cstdint>

#include "xmpp/utf8.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp::internal {
namespace {

// XML 1.0 (Fifth Edition) §2.3 NameStartChar, without ':' (Namespaces in XML
// §3 NCName).
constexpr bool IsNameStartCodePoint(uint32_t c) {
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
constexpr bool IsNameCodePoint(uint32_t c) {
  if (c < 0x80) {
    return IsNameStartCodePoint(c) || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  }
  return IsNameStartCodePoint(c) || c == 0xB7 || (c >= 0x300 && c <= 0x36F) ||
         (c >= 0x203F && c <= 0x2040);
}

// The same two tests for ASCII, by table: names are nearly always ASCII, and
// every stanza's names are checked again when it is written out.
constexpr uint8_t kStart = 1;
constexpr uint8_t kName = 2;
constexpr std::array<uint8_t, 128> kAsciiName = [] {
  std::array<uint8_t, 128> table{};
  for (uint32_t c = 0; c < table.size(); ++c) {
    table[c] = (IsNameStartCodePoint(c) ? kStart : 0) |
               (IsNameCodePoint(c) ? kName : 0);
  }
  return table;
}();

}  // namespace

bool IsNcName(absl::string_view name) {
  if (name.empty()) return false;
  size_t i = 0;
  uint8_t wanted = kStart;
  while (i < name.size()) {
    const unsigned char byte = static_cast<unsigned char>(name[i]);
    if (byte < 0x80) {
      if ((kAsciiName[byte] & wanted) == 0) return false;
      ++i;
    } else {
      uint32_t cp;
      if (!NextCodePoint(name, i, cp)) return false;
      if (!(wanted == kStart ? IsNameStartCodePoint(cp)
                             : IsNameCodePoint(cp))) {
        return false;
      }
    }
    wanted = kName;
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

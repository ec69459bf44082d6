#include "xmpp/markup_scan.h"

#include <cstring>

#include "absl/container/inlined_vector.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp::internal {
namespace {

// The bytes that end a stretch of names and whitespace inside a start tag.
struct TagStops {
  bool bits[256] = {};
  constexpr TagStops() {
    bits[static_cast<int>('>')] = bits[static_cast<int>('<')] = true;
    bits[static_cast<int>('"')] = bits[static_cast<int>('\'')] = true;
  }
};
constexpr TagStops kTagStop;

// XML 1.0's STag and ETag put the Name right after '<' and '</'. tinyxml2 skips
// whitespace there, so without this check "<\n/a>" would end an element for
// tinyxml2 and start one for the scan.
bool StartsName(const char* at, const char* end) {
  return at < end && IsNameStartByte(static_cast<unsigned char>(*at));
}

}  // namespace

absl::Status ScanMarkup(absl::string_view xml,
                        std::vector<WhitespaceRun>& runs) {
  struct Open {
    int element;
    int children;
  };
  absl::InlinedVector<Open, 16> open;
  int elements = 0;
  const char* const end = xml.data() + xml.size();
  const char* p = xml.data();
  auto starts_with = [&](const char* at, absl::string_view prefix) {
    return static_cast<size_t>(end - at) >= prefix.size() &&
           std::memcmp(at, prefix.data(), prefix.size()) == 0;
  };
  while (p < end) {
    // Most tags follow one another directly: look before calling memchr.
    const char* lt =
        *p == '<' ? p : static_cast<const char*>(std::memchr(p, '<', end - p));
    const char* text_end = lt != nullptr ? lt : end;
    if (text_end > p) {
      const char* q = p;
      while (q < text_end && IsXmlSpace(*q)) ++q;
      if (q == text_end) {
        if (!open.empty()) {
          runs.push_back({open.back().element, open.back().children,
                          absl::string_view(p, text_end - p)});
        }
      } else if (open.empty()) {
        return NotWellFormed("character data outside the root element",
                             LineAt(xml, q));
      } else if (*q == '\v' || *q == '\f') {
        // tinyxml2 would skip these as whitespace; they are not XML characters.
        return NotWellFormed("control character in character data",
                             LineAt(xml, q));
      } else {
        ++open.back().children;
      }
    }
    if (lt == nullptr) break;
    p = lt;
    const char kind = p + 1 < end ? p[1] : '\0';
    if (kind == '/') {
      if (open.empty()) {
        return NotWellFormed("end tag without a start tag", LineAt(xml, p));
      }
      if (!StartsName(p + 2, end)) {
        return NotWellFormed("'</' not followed by a name", LineAt(xml, p));
      }
      const char* gt = p + 2;
      while (gt < end && *gt != '>') ++gt;
      if (gt == end) {
        return NotWellFormed("unterminated end tag", LineAt(xml, p));
      }
      open.pop_back();
      p = gt + 1;
      continue;
    }
    if (kind == '?') {
      return Restricted("a processing instruction", LineAt(xml, p));
    }
    if (starts_with(p, "<!--")) return Restricted("a comment", LineAt(xml, p));
    if (starts_with(p, "<![CDATA[")) {
      if (open.empty()) {
        return NotWellFormed("CDATA section outside the root element",
                             LineAt(xml, p));
      }
      const size_t close = xml.find("]]>", p + 9 - xml.data());
      if (close == absl::string_view::npos) {
        return NotWellFormed("unterminated CDATA section", LineAt(xml, p));
      }
      ++open.back().children;
      p = xml.data() + close + 3;
      continue;
    }
    if (kind == '!') {
      return Restricted("a DOCTYPE or markup declaration", LineAt(xml, p));
    }
    // A start tag.
    if (!StartsName(p + 1, end)) {
      return NotWellFormed("'<' not followed by a name", LineAt(xml, p));
    }
    if (open.empty() && elements > 0) {
      return NotWellFormed("more than one root element", LineAt(xml, p));
    }
    if (!open.empty()) ++open.back().children;
    const int index = elements++;
    const char* q = p + 1;
    for (;;) {
      while (q < end && !kTagStop.bits[static_cast<unsigned char>(*q)]) ++q;
      if (q == end)
        return NotWellFormed("unterminated start tag", LineAt(xml, p));
      const char c = *q;
      if (c == '>') break;
      if (c == '<')
        return NotWellFormed("'<' inside a start tag", LineAt(xml, q));
      if (c == '"' || c == '\'') {
        const char* close =
            static_cast<const char*>(std::memchr(q + 1, c, end - q - 1));
        if (close == nullptr) {
          return NotWellFormed("unterminated attribute value", LineAt(xml, q));
        }
        q = close + 1;
        if (q < end && !IsXmlSpace(*q) && *q != '/' && *q != '>') {
          return NotWellFormed("attributes not separated by whitespace",
                               LineAt(xml, q));
        }
        continue;
      }
    }
    if (q[-1] != '/') open.push_back({index, 0});
    p = q + 1;
  }
  if (elements == 0) return NotWellFormed("no element", 1);
  if (!open.empty()) return NotWellFormed("unclosed element", LineAt(xml, end));
  return absl::OkStatus();
}

}  // namespace talkcheck::xmpp::internal

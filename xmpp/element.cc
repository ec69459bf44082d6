#include "xmpp/element.h"

#include <tinyxml2.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <forward_list>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "xmpp/stream_error.h"
#include "xmpp/utf8.h"

namespace talkcheck::xmpp {
namespace {

// Which bytes the escaping loop writes as references, one table lookup per
// byte.
enum : uint8_t {
  kEscapeInText = 1,       // in character data
  kEscapeInAttribute = 2,  // in an attribute value
};

struct ByteClasses {
  uint8_t bits[256] = {};
  constexpr ByteClasses() {
    bits[static_cast<int>('&')] = kEscapeInText | kEscapeInAttribute;
    bits[static_cast<int>('<')] = kEscapeInText | kEscapeInAttribute;
    // '>' only matters in "]]>", but escaping it always is simpler.
    bits[static_cast<int>('>')] = kEscapeInText | kEscapeInAttribute;
    bits[static_cast<int>('"')] = kEscapeInAttribute;
    // A parser turns literal tab and LF into spaces in attribute values, and CR
    // into LF everywhere; references survive both.
    bits[static_cast<int>('\t')] = kEscapeInAttribute;
    bits[static_cast<int>('\n')] = kEscapeInAttribute;
    bits[static_cast<int>('\r')] = kEscapeInText | kEscapeInAttribute;
  }
};
constexpr ByteClasses kBytes;

void AppendEscaped(absl::string_view in, uint8_t escape_class,
                   std::string& out) {
  size_t run = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if ((kBytes.bits[c] & escape_class) == 0) continue;
    out.append(in.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\t':
        out.append("&#9;");
        break;
      case '\n':
        out.append("&#10;");
        break;
      case '\r':
        out.append("&#13;");
        break;
    }
  }
  out.append(in.data() + run, in.size() - run);
}

// The bytes that end a stretch of names and whitespace inside a start tag.
struct TagStops {
  bool bits[256] = {};
  constexpr TagStops() {
    bits[static_cast<int>('>')] = bits[static_cast<int>('<')] = true;
    bits[static_cast<int>('"')] = bits[static_cast<int>('\'')] = true;
  }
};
constexpr TagStops kTagStop;

bool IsXmlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The XML 1.0 Char production: what a character reference may denote.
bool IsXmlChar(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

void AppendUtf8(uint32_t cp, std::string& out) {
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

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
// tinyxml2 does not check encodings, and ParseElement is also fed text that
// never went through the framer.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Stanzas are mostly ASCII: skip it eight bytes at a time.
    while (s.size() - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, sizeof(word));
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i == s.size()) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp;
    if (!NextCodePoint(s, i, cp)) return false;
  }
  return true;
}

int LineAt(absl::string_view xml, const char* at) {
  return 1 + static_cast<int>(std::count(xml.data(), at, '\n'));
}

absl::Status NotWellFormed(absl::string_view what, int line) {
  return StreamError(StreamCondition::kNotWellFormed,
                     absl::StrCat(what, " (line ", line, ")"));
}

absl::Status Restricted(absl::string_view what, int line) {
  return StreamError(
      StreamCondition::kRestrictedXml,
      absl::StrCat(what, " (line ", line, ") is not allowed (RFC 6120 §11.1)"));
}

absl::Status BadPrefix(absl::string_view prefix, int line) {
  return StreamError(StreamCondition::kBadNamespacePrefix,
                     absl::StrCat("undeclared namespace prefix '", prefix,
                                  "' (line ", line, ")"));
}

// Character data made only of whitespace. tinyxml2 drops such runs even with
// PRESERVE_WHITESPACE; the model keeps them, so the pre-scan records where they
// go: before the tinyxml2 child node numbered `slot` of the element numbered
// `element` (both counted in document order).
struct WhitespaceRun {
  int element;
  int slot;
  absl::string_view text;
};

// One pass over the raw text ahead of tinyxml2, for what it accepts or loses:
// restricted constructs (reported as such rather than as parse errors),
// attributes run together, stray end tags, several roots, and whitespace-only
// text. Tag names, nesting and the content of attribute values are left to
// tinyxml2 and the decoders.
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

bool IsNameByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
         c == ':' || c >= 0x80;
}

// Splits a qualified name at its colon. Namespaces in XML allow at most one,
// with something on both sides.
bool SplitQName(absl::string_view qname, absl::string_view& prefix,
                absl::string_view& local) {
  // Names are short: a plain loop beats a call to memchr.
  size_t colon = 0;
  while (colon < qname.size() && qname[colon] != ':') ++colon;
  if (colon == qname.size()) {
    prefix = absl::string_view();
    local = qname;
    return !qname.empty();
  }
  prefix = qname.substr(0, colon);
  local = qname.substr(colon + 1);
  for (char c : local) {
    if (c == ':') return false;
  }
  return !prefix.empty() && !local.empty();
}

// The index of the first byte at or after `from` that decoding must look at: a
// control character (tab and LF included), '&', or `other` ('<' in attribute
// values, ']' in text). Eight bytes at a time, as most values hold none.
size_t FindSpecial(absl::string_view s, size_t from, char other) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t amp_pattern = kOnes * '&';
  const uint64_t other_pattern = kOnes * static_cast<unsigned char>(other);
  size_t i = from;
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

}  // namespace

// Turns tinyxml2's tree (parsed with entity processing off, so values arrive
// raw) into Elements: resolves namespaces, decodes and checks references, and
// puts back the whitespace-only text the pre-scan recorded.
class ElementParser {
 public:
  // `scope` outlives the parser, so views into its strings stay valid.
  ElementParser(const NamespaceScope& scope,
                const std::vector<WhitespaceRun>& runs)
      : runs_(runs) {
    for (const auto& [prefix, uri] : scope.bindings_) {
      bindings_.emplace_back(prefix, uri);
    }
  }

  // Builds `out` from `source`, with the bindings of its ancestors in force.
  absl::Status Build(const tinyxml2::XMLElement& source,
                     std::unique_ptr<Element>& out) {
    const int index = element_index_++;
    const int line = source.GetLineNum();
    const size_t mark = bindings_.size();
    // Declarations first: they apply to the element's own name and attributes.
    struct RawAttribute {
      absl::string_view name;
      const char* value;
    };
    absl::InlinedVector<RawAttribute, 8> raw;
    for (const tinyxml2::XMLAttribute* a = source.FirstAttribute();
         a != nullptr; a = a->Next()) {
      const absl::string_view name = a->Name();
      if (absl::StartsWith(name, "xmlns") &&
          (name.size() == 5 || name[5] == ':')) {
        const absl::string_view prefix =
            name.size() == 5 ? absl::string_view() : name.substr(6);
        if (absl::Status s =
                Declare(prefix, name.size() == 5, a->Value(), line);
            !s.ok()) {
          return s;
        }
      } else {
        raw.push_back({name, a->Value()});
      }
    }

    absl::string_view prefix, local;
    if (!SplitQName(source.Name(), prefix, local)) {
      return NotWellFormed(
          absl::StrCat("element name '", source.Name(), "' is not a QName"),
          line);
    }
    const absl::string_view* uri = Lookup(prefix);
    if (uri == nullptr) return BadPrefix(prefix, line);
    out = std::make_unique<Element>(*uri, local);
    Element& target = *out;
    target.line_ = line;

    target.attributes_.reserve(raw.size());
    bool any_prefixed = false;
    for (const RawAttribute& a : raw) {
      if (!SplitQName(a.name, prefix, local)) {
        return NotWellFormed(
            absl::StrCat("attribute name '", a.name, "' is not a QName"), line);
      }
      // Unprefixed attributes are in no namespace, whatever the default.
      absl::string_view attribute_ns;
      if (!prefix.empty()) {
        uri = Lookup(prefix);
        if (uri == nullptr) return BadPrefix(prefix, line);
        attribute_ns = *uri;
        any_prefixed = true;
      }
      std::string value;
      if (absl::Status s = DecodeAttribute(a.value, line, value); !s.ok()) {
        return s;
      }
      target.attributes_.push_back(Attribute{
          std::string(attribute_ns), std::string(local), std::move(value)});
    }
    // tinyxml2 rejects repeated names as written; two prefixes bound to one URI
    // can still name the same attribute.
    if (any_prefixed) {
      const auto& attrs = target.attributes_;
      for (size_t i = 0; i < attrs.size(); ++i) {
        for (size_t j = i + 1; j < attrs.size(); ++j) {
          if (attrs[i].name == attrs[j].name && attrs[i].ns == attrs[j].ns) {
            return NotWellFormed(
                absl::StrCat("attribute '", attrs[i].name, "' repeated"), line);
          }
        }
      }
    }

    int child_count = 0;
    for (const tinyxml2::XMLNode* c = source.FirstChild(); c != nullptr;
         c = c->NextSibling()) {
      ++child_count;
    }
    target.nodes_.reserve(child_count);
    int slot = 0;
    for (const tinyxml2::XMLNode* child = source.FirstChild(); child != nullptr;
         child = child->NextSibling(), ++slot) {
      InsertWhitespace(index, slot, target);
      if (const tinyxml2::XMLElement* e = child->ToElement()) {
        Element::Node& node = target.nodes_.emplace_back();
        if (absl::Status s = Build(*e, node.element); !s.ok()) return s;
      } else if (const tinyxml2::XMLText* t = child->ToText()) {
        std::string& sink = TextSink(target);
        const absl::Status s =
            t->CData() ? CheckCData(t->Value(), t->GetLineNum(), sink)
                       : DecodeText(t->Value(), t->GetLineNum(), sink);
        if (!s.ok()) return s;
        if (sink.empty()) target.nodes_.pop_back();
      } else {
        // The pre-scan reports these first; kept for safety.
        return Restricted("a comment or declaration", child->GetLineNum());
      }
    }
    InsertWhitespace(index, slot, target);
    bindings_.resize(mark);
    return absl::OkStatus();
  }

  bool AllWhitespaceInserted() const { return next_run_ == runs_.size(); }

 private:
  using Binding = std::pair<absl::string_view, absl::string_view>;

  const absl::string_view* Lookup(absl::string_view prefix) const {
    if (prefix == "xml") return &kXmlUri;
    for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it) {
      if (it->first == prefix) {
        // An empty URI only means something for the default namespace.
        if (!prefix.empty() && it->second.empty()) return nullptr;
        return &it->second;
      }
    }
    static constexpr absl::string_view kNoNamespace;
    return prefix.empty() ? &kNoNamespace : nullptr;
  }

  // A namespace declaration: `xmlns` (is_default) or `xmlns:prefix`.
  absl::Status Declare(absl::string_view prefix, bool is_default,
                       const char* raw, int line) {
    absl::string_view uri;
    if (absl::Status s = DecodeUri(raw, line, uri); !s.ok()) return s;
    if (is_default) {
      if (uri == ns::kXml || uri == ns::kXmlns) {
        return NotWellFormed(
            absl::StrCat("default namespace '", uri, "' is reserved"), line);
      }
      bindings_.emplace_back(absl::string_view(), uri);
      return absl::OkStatus();
    }
    if (prefix.empty() || prefix.find(':') != absl::string_view::npos) {
      return NotWellFormed(
          absl::StrCat("namespace prefix '", prefix, "' is not an NCName"),
          line);
    }
    if (uri.empty()) {
      return NotWellFormed(absl::StrCat("namespace prefix '", prefix,
                                        "' bound to the empty URI"),
                           line);
    }
    // The xml and xmlns prefixes and namespaces are reserved to each other.
    if ((prefix == "xml") != (uri == ns::kXml) || prefix == "xmlns" ||
        uri == ns::kXmlns) {
      return NotWellFormed(absl::StrCat("reserved namespace binding '", prefix,
                                        "' -> '", uri, "'"),
                           line);
    }
    bindings_.emplace_back(prefix, uri);
    return absl::OkStatus();
  }

  // Namespace URIs rarely hold references; only decoded ones need storage that
  // lives as long as the parse (a list, so earlier views stay valid).
  absl::Status DecodeUri(const char* raw, int line, absl::string_view& uri) {
    const absl::string_view value(raw);
    if (FindSpecial(value, 0, '<') == value.size()) {
      uri = value;
      return absl::OkStatus();
    }
    std::string& decoded = decoded_uris_.emplace_front();
    if (absl::Status s = DecodeAttribute(raw, line, decoded); !s.ok()) return s;
    uri = decoded;
    return absl::OkStatus();
  }

  // The element's last text node to append to, created when the last node is an
  // element (so runs stay merged).
  static std::string& TextSink(Element& target) {
    if (target.nodes_.empty() || target.nodes_.back().element != nullptr) {
      target.nodes_.emplace_back();
    }
    return target.nodes_.back().text;
  }

  void InsertWhitespace(int element, int slot, Element& target) {
    while (next_run_ < runs_.size() && runs_[next_run_].element == element &&
           runs_[next_run_].slot == slot) {
      std::string& sink = TextSink(target);
      // The same end-of-line handling a parser applies: CR LF and lone CR
      // become LF.
      const absl::string_view text = runs_[next_run_].text;
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\r') {
          sink.push_back(text[i]);
        } else {
          sink.push_back('\n');
          if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        }
      }
      ++next_run_;
    }
  }

  // Decodes the reference starting at raw[i] == '&' into `out`; advances `i`
  // past it.
  static absl::Status DecodeReference(absl::string_view raw, size_t& i,
                                      int line, std::string& out) {
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
        return NotWellFormed(absl::StrCat("character reference '&", ref,
                                          ";' is not a character"),
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

  // Character data as tinyxml2 left it (end-of-line handling done, references
  // not).
  static absl::Status DecodeText(absl::string_view raw, int line,
                                 std::string& out) {
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
      } else {
        return NotWellFormed("control character in character data", line);
      }
      i = FindSpecial(raw, i, ']');
    }
    out.append(raw.data() + run, raw.size() - run);
    return absl::OkStatus();
  }

  static absl::Status CheckCData(absl::string_view raw, int line,
                                 std::string& out) {
    for (char ch : raw) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
        return NotWellFormed("control character in a CDATA section", line);
      }
    }
    out.append(raw.data(), raw.size());
    return absl::OkStatus();
  }

  // An attribute value: references decoded, literal whitespace normalised to
  // spaces (XML 1.0 §3.3.3; whitespace written as references is kept).
  static absl::Status DecodeAttribute(absl::string_view raw, int line,
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
      } else if (c == '\t' || c == '\n' || c == '\r') {
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

  static constexpr absl::string_view kXmlUri{ns::kXml, sizeof(ns::kXml) - 1};

  absl::InlinedVector<Binding, 8> bindings_;
  std::forward_list<std::string> decoded_uris_;
  const std::vector<WhitespaceRun>& runs_;
  size_t next_run_ = 0;
  int element_index_ = 0;
};

// ---------------------------------------------------------------------------------------
// Element

Element::Element(absl::string_view ns, absl::string_view name)
    : ns_(ns), name_(name) {}

Element::Element(const Element& other)
    : ns_(other.ns_),
      name_(other.name_),
      attributes_(other.attributes_),
      line_(other.line_) {
  nodes_.reserve(other.nodes_.size());
  for (const Node& node : other.nodes_) {
    Node& copy = nodes_.emplace_back();
    if (node.element != nullptr) {
      copy.element = std::make_unique<Element>(*node.element);
    } else {
      copy.text = node.text;
    }
  }
}

Element& Element::operator=(const Element& other) {
  // Copy first: `other` may be one of this element's own descendants.
  if (this != &other) *this = Element(other);
  return *this;
}

Element::~Element() = default;

const std::string* Element::Attr(absl::string_view name) const {
  return Attr(absl::string_view(), name);
}

const std::string* Element::Attr(absl::string_view ns,
                                 absl::string_view name) const {
  for (const Attribute& a : attributes_) {
    if (a.name == name && a.ns == ns) return &a.value;
  }
  return nullptr;
}

std::string Element::AttrOr(absl::string_view name,
                            absl::string_view fallback) const {
  const std::string* value = Attr(name);
  return value != nullptr ? *value : std::string(fallback);
}

Element& Element::SetAttr(absl::string_view name, absl::string_view value) {
  return SetAttr(absl::string_view(), name, value);
}

Element& Element::SetAttr(absl::string_view ns, absl::string_view name,
                          absl::string_view value) {
  for (Attribute& a : attributes_) {
    if (a.name == name && a.ns == ns) {
      a.value.assign(value.data(), value.size());
      return *this;
    }
  }
  attributes_.push_back(
      Attribute{std::string(ns), std::string(name), std::string(value)});
  return *this;
}

bool Element::RemoveAttr(absl::string_view name) {
  for (auto it = attributes_.begin(); it != attributes_.end(); ++it) {
    if (it->ns.empty() && it->name == name) {
      attributes_.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<const Element*> Element::Children() const {
  std::vector<const Element*> children;
  for (const Node& node : nodes_) {
    if (node.element != nullptr) children.push_back(node.element.get());
  }
  return children;
}

std::vector<Element*> Element::MutableChildren() {
  std::vector<Element*> children;
  for (Node& node : nodes_) {
    if (node.element != nullptr) children.push_back(node.element.get());
  }
  return children;
}

const Element* Element::FindChild(absl::string_view ns,
                                  absl::string_view name) const {
  for (const Node& node : nodes_) {
    if (node.element != nullptr && node.element->Is(ns, name)) {
      return node.element.get();
    }
  }
  return nullptr;
}

Element* Element::FindChild(absl::string_view ns, absl::string_view name) {
  return const_cast<Element*>(std::as_const(*this).FindChild(ns, name));
}

std::vector<const Element*> Element::FindChildren(
    absl::string_view ns, absl::string_view name) const {
  std::vector<const Element*> found;
  for (const Node& node : nodes_) {
    if (node.element != nullptr && node.element->Is(ns, name)) {
      found.push_back(node.element.get());
    }
  }
  return found;
}

const Element* Element::FirstChild() const {
  for (const Node& node : nodes_) {
    if (node.element != nullptr) return node.element.get();
  }
  return nullptr;
}

Element& Element::AddChild(Element child) {
  Node& node = nodes_.emplace_back();
  node.element = std::make_unique<Element>(std::move(child));
  return *node.element;
}

Element& Element::AddChild(absl::string_view ns, absl::string_view name) {
  Node& node = nodes_.emplace_back();
  node.element = std::make_unique<Element>(ns, name);
  return *node.element;
}

bool Element::RemoveChild(const Element* child) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].element.get() != child || child == nullptr) continue;
    nodes_.erase(nodes_.begin() + i);
    // Keep text runs merged: the runs on either side of the child now touch.
    if (i > 0 && i < nodes_.size() && nodes_[i - 1].element == nullptr &&
        nodes_[i].element == nullptr) {
      nodes_[i - 1].text += nodes_[i].text;
      nodes_.erase(nodes_.begin() + i);
    }
    return true;
  }
  return false;
}

void Element::ClearChildren() { nodes_.clear(); }

std::string Element::Text() const {
  std::string text;
  for (const Node& node : nodes_) {
    if (node.element == nullptr) text += node.text;
  }
  return text;
}

void Element::AddText(absl::string_view text) {
  if (text.empty()) return;
  if (nodes_.empty() || nodes_.back().element != nullptr) {
    nodes_.emplace_back();
  }
  nodes_.back().text.append(text.data(), text.size());
}

void Element::SetText(absl::string_view text) {
  nodes_.erase(
      std::remove_if(nodes_.begin(), nodes_.end(),
                     [](const Node& n) { return n.element == nullptr; }),
      nodes_.end());
  if (text.empty()) return;
  // Element children, if any, follow the text (the usual shape of mixed content
  // in XMPP is text-only leaves anyway).
  Node node;
  node.text.assign(text.data(), text.size());
  nodes_.insert(nodes_.begin(), std::move(node));
}

std::string Element::ToString(absl::string_view parent_ns) const {
  std::string out;
  AppendTo(out, parent_ns);
  return out;
}

void Element::AppendTo(std::string& out, absl::string_view parent_ns) const {
  // Stream elements borrow the `stream` prefix of the header and leave the
  // default namespace in scope for their children untouched.
  const bool stream_prefix = ns_ == ns::kStream;
  absl::string_view child_ns = parent_ns;
  out.push_back('<');
  if (stream_prefix) out.append("stream:");
  out.append(name_);
  if (!stream_prefix) {
    if (ns_ != parent_ns) {
      out.append(" xmlns=\"");
      AppendEscaped(ns_, kEscapeInAttribute, out);
      out.push_back('"');
    }
    child_ns = ns_;
  }
  // Namespaces of attributes other than xml: get prefixes ns1, ns2... declared
  // here.
  absl::InlinedVector<absl::string_view, 2> prefixed;
  for (const Attribute& a : attributes_) {
    // Namespace declarations follow from ns(); they are never attributes.
    if (a.ns == ns::kXmlns || (a.ns.empty() && a.name == "xmlns")) continue;
    out.push_back(' ');
    if (a.ns == ns::kXml) {
      out.append("xml:");
    } else if (!a.ns.empty()) {
      size_t k = 0;
      while (k < prefixed.size() && prefixed[k] != a.ns) ++k;
      const std::string prefix = absl::StrCat("ns", k + 1);
      if (k == prefixed.size()) {
        prefixed.push_back(a.ns);
        absl::StrAppend(&out, "xmlns:", prefix, "=\"");
        AppendEscaped(a.ns, kEscapeInAttribute, out);
        out.append("\" ");
      }
      absl::StrAppend(&out, prefix, ":");
    }
    out.append(a.name);
    out.append("=\"");
    AppendEscaped(a.value, kEscapeInAttribute, out);
    out.push_back('"');
  }
  if (nodes_.empty()) {
    out.append("/>");
    return;
  }
  out.push_back('>');
  for (const Node& node : nodes_) {
    if (node.element != nullptr) {
      node.element->AppendTo(out, child_ns);
    } else {
      AppendEscaped(node.text, kEscapeInText, out);
    }
  }
  out.append("</");
  if (stream_prefix) out.append("stream:");
  out.append(name_);
  out.push_back('>');
}

// ---------------------------------------------------------------------------------------
// NamespaceScope

NamespaceScope::NamespaceScope() { bindings_.emplace("xml", ns::kXml); }

NamespaceScope NamespaceScope::ClientStream() {
  NamespaceScope scope;
  scope.Bind("", ns::kClient);
  scope.Bind("stream", ns::kStream);
  return scope;
}

const std::string* NamespaceScope::Lookup(absl::string_view prefix) const {
  auto it = bindings_.find(prefix);
  return it != bindings_.end() ? &it->second : nullptr;
}

void NamespaceScope::Bind(absl::string_view prefix, absl::string_view uri) {
  // Namespaces in XML fixes `xml` to its namespace; a stream header cannot move
  // it.
  if (prefix == "xml") return;
  bindings_.insert_or_assign(std::string(prefix), std::string(uri));
}

// ---------------------------------------------------------------------------------------
// Parsing

absl::StatusOr<Element> ParseElement(absl::string_view xml,
                                     const NamespaceScope& scope) {
  // tinyxml2 reads a C string, so it would stop at a NUL (which XML forbids
  // anyway).
  if (const void* nul = std::memchr(xml.data(), '\0', xml.size())) {
    return NotWellFormed("NUL byte",
                         LineAt(xml, static_cast<const char*>(nul)));
  }
  if (!IsValidUtf8(xml)) {
    return StreamError(StreamCondition::kNotWellFormed, "invalid UTF-8");
  }
  std::vector<WhitespaceRun> runs;
  if (absl::Status s = ScanMarkup(xml, runs); !s.ok()) return s;

  // Entity processing off: references are decoded (and checked) by
  // ElementParser, which tinyxml2 would otherwise pass through silently when
  // unknown. One document per thread keeps its setup out of the per-stanza
  // cost.
  thread_local tinyxml2::XMLDocument document(/*processEntities=*/false,
                                              tinyxml2::PRESERVE_WHITESPACE);
  const tinyxml2::XMLError error = document.Parse(xml.data(), xml.size());
  if (error == tinyxml2::XML_ELEMENT_DEPTH_EXCEEDED) {
    return StreamError(StreamCondition::kPolicyViolation,
                       "elements nested too deeply");
  }
  if (error != tinyxml2::XML_SUCCESS) {
    return NotWellFormed(
        absl::StrCat("malformed XML (",
                     tinyxml2::XMLDocument::ErrorIDToName(error), ")"),
        document.ErrorLineNum());
  }
  const tinyxml2::XMLElement* root = document.RootElement();
  if (root == nullptr) return NotWellFormed("no element", 1);

  std::unique_ptr<Element> result;
  ElementParser parser(scope, runs);
  absl::Status status = parser.Build(*root, result);
  if (status.ok() && !parser.AllWhitespaceInserted()) {
    status =
        absl::InternalError("whitespace bookkeeping out of step with tinyxml2");
  }
  if (!status.ok()) return status;
  return std::move(*result);
}

std::string EscapeText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscaped(text, kEscapeInText, out);
  return out;
}

std::string EscapeAttribute(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  AppendEscaped(value, kEscapeInAttribute, out);
  return out;
}

}  // namespace talkcheck::xmpp

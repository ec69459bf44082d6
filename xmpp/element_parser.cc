// ParseElement: tinyxml2's tree turned into Elements, with namespaces
// resolved and references decoded and checked.
#include <tinyxml2.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <forward_list>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "xmpp/element.h"
#include "xmpp/markup_scan.h"
#include "xmpp/stream_error.h"
#include "xmpp/utf8.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp {
namespace {

using internal::AppendUtf8;
using internal::BadPrefix;
using internal::IsNcName;
using internal::IsXmlChar;
using internal::LineAt;
using internal::NotWellFormed;
using internal::Restricted;
using internal::SplitQName;
using internal::WhitespaceRun;

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

bool IsNameByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
         c == ':' || c >= 0x80;
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
    // One hash lookup per attribute, so the check stays linear.
    if (any_prefixed) {
      absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> seen;
      seen.reserve(target.attributes_.size());
      for (const Attribute& a : target.attributes_) {
        if (!seen.emplace(a.ns, a.name).second) {
          return NotWellFormed(
              absl::StrCat("attribute '", a.name, "' repeated"), line);
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
    if (!IsNcName(prefix)) {
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

}  // namespace talkcheck::xmpp

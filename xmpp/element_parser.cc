// ParseElement: one pass from the bytes to Elements, with namespaces resolved
// and references decoded and checked.
//
// What the text is refused for, and with which stream condition, is what the
// tinyxml2-based parser this replaced refused it for (that parser lives on in
// element_parser_tinyxml2.cc, and the differential fuzzer holds the two to
// it); see ParseElement's comment for the few places it was stricter.
//
// That parser ran in three phases, and a later phase's errors were only seen
// when the earlier ones found none: the encoding, then the markup (its
// pre-scan, ScanMarkup, then tinyxml2), then the tree (names, namespaces,
// references). Here the encoding is checked first, the first error of the tree
// is held back until the markup has been read to its end, and an error of the
// markup asks ScanMarkup, which reads markup just as that pre-scan did, which
// error came first there (malformed input only: a stanza that parses never
// pays for it).
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "xmpp/element.h"
#include "xmpp/markup_scan.h"
#include "xmpp/namespace_bindings.h"
#include "xmpp/stream_error.h"
#include "xmpp/xml_decode.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp {
namespace {

using internal::AppendCData;
using internal::AppendWhitespace;
using internal::BadPrefix;
using internal::DecodeAttribute;
using internal::DecodeText;
using internal::FindInvalidUtf8;
using internal::NamespaceBindings;
using internal::NotWellFormed;
using internal::Restricted;
using internal::SplitQName;

// Elements may nest this deep (the root is at depth 1) and no deeper, unless
// the deepest ones are empty-element tags: the limit tinyxml2 enforced
// (TINYXML2_MAX_ELEMENT_DEPTH, 100, counts the document too), kept so the same
// stanzas are refused with policy-violation.
constexpr size_t kMaxOpenDepth = 98;

// Byte classes of the markup, one lookup per byte.
enum : uint8_t {
  kTagSpace = 1 << 0,        // XML 1.0 §2.3 S
  kTagNameStart = 1 << 1,    // may start a tag's or attribute's name
  kTagName = 1 << 2,         // may continue one
  kPlainValueStop = 1 << 3,  // ends a plain run of attribute value
  kPlainTextStop = 1 << 4,   // ends a plain run of character data
};

constexpr std::array<uint8_t, 256> MakeTagClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') v |= kTagSpace;
    // Names are delimited as tinyxml2 did (ASCII letters, '_', ':' and any
    // non-ASCII byte to start, digits, '.' and '-' too after); whether a name
    // is a QName is checked once it is delimited.
    if (letter || c == '_' || c == ':' || c >= 0x80)
      v |= kTagNameStart | kTagName;
    if ((c >= '0' && c <= '9') || c == '-' || c == '.') v |= kTagName;
    // A value holding none of these is stored as written.
    if (c < 0x20 || c == '&' || c == '<' || c == '"' || c == '\'') {
      v |= kPlainValueStop;
    }
    if (c < 0x20 || c == '&' || c == ']' || c == '<') v |= kPlainTextStop;
    t[c] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kTagClasses = MakeTagClasses();

inline bool IsTag(char c, uint8_t cls) {
  return (kTagClasses[static_cast<unsigned char>(c)] & cls) != 0;
}

// The first byte in [p, end) that is `a`, `b`, `c`, `d` or a C0 control
// (what `cls` marks), or end. Values and text run to tens of bytes, so SSE2
// looks at sixteen at a time.
template <char a, char b, char c, char d, uint8_t cls>
const char* FindStop(const char* p, const char* end) {
#ifdef __SSE2__
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  const __m128i vc = _mm_set1_epi8(c);
  const __m128i vd = _mm_set1_epi8(d);
  const __m128i top3 = _mm_set1_epi8(static_cast<char>(0xE0));
  const __m128i zero = _mm_setzero_si128();
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vc), _mm_cmpeq_epi8(x, vd)),
                     _mm_cmpeq_epi8(_mm_and_si128(x, top3), zero)));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p < end && !IsTag(*p, cls)) ++p;
  return p;
}

}  // namespace

class ElementParser {
 public:
  ElementParser(absl::string_view xml, const NamespaceScope& scope)
      : xml_(xml),
        p_(xml.data()),
        end_(xml.data() + xml.size()),
        next_lf_(NextLineFeed(xml.data())),
        bindings_(scope) {}

  absl::StatusOr<Element> Parse() {
    absl::Status status = ParseMarkup();
    if (!status.ok()) {
      // Which error the old parser's pre-scan met first, if any (see the top).
      std::vector<internal::WhitespaceRun> unused;
      absl::Status scan = internal::ScanMarkup(xml_, unused);
      return scan.ok() ? status : scan;
    }
    if (!deferred_.ok()) return deferred_;
    return std::move(*root_);
  }

 private:
  // A name as written in a tag.
  struct RawName {
    absl::string_view qname;
    bool ascii;  // whether the QName check can take the short way
  };

  // A start tag's attribute as written.
  struct RawAttribute {
    RawName name;
    absl::string_view value;  // between the quotes
    bool plain;               // the value needs no decoding
    bool declaration;         // xmlns or xmlns:prefix
  };

  // An element whose end tag is still to come.
  struct Open {
    Element* element;
    absl::string_view qname;
    size_t bindings_mark;
  };

  // The markup, in document order; errors of the tree go to Defer.
  absl::Status ParseMarkup() {
    SkipSpace();
    if (p_ == end_) return NotWellFormed("no element", 1);
    if (*p_ != '<') {
      return NotWellFormed("character data outside the root element", Line());
    }
    if (absl::Status s = StartTag(); !s.ok()) return s;
    while (!open_.empty()) {
      if (p_ == end_) return NotWellFormed("unclosed element", Line());
      if (*p_ != '<') {
        if (absl::Status s = Text(); !s.ok()) return s;
        continue;
      }
      absl::Status s;
      if (end_ - p_ >= 2 && p_[1] == '/') {
        s = EndTag();
      } else if (end_ - p_ >= 2 && p_[1] == '!') {
        s = Declaration();
      } else if (end_ - p_ >= 2 && p_[1] == '?') {
        s = Restricted("a processing instruction", Line());
      } else {
        s = StartTag();
      }
      if (!s.ok()) return s;
    }
    SkipSpace();
    if (p_ != end_) {
      return NotWellFormed("content after the root element", Line());
    }
    return absl::OkStatus();
  }

  // At "<!": a CDATA section, or a comment or declaration (restricted).
  absl::Status Declaration() {
    constexpr absl::string_view kCData = "<![CDATA[";
    if (absl::string_view(p_, end_ - p_).substr(0, kCData.size()) != kCData) {
      if (end_ - p_ >= 4 && p_[2] == '-' && p_[3] == '-') {
        return Restricted("a comment", Line());
      }
      return Restricted("a DOCTYPE or markup declaration", Line());
    }
    const int line = Line();
    const char* const content = p_ + kCData.size();
    const size_t close = xml_.find("]]>", content - xml_.data());
    if (close == absl::string_view::npos) {
      return NotWellFormed("unterminated CDATA section", line);
    }
    const absl::string_view raw(content, xml_.data() + close - content);
    p_ = xml_.data() + close + 3;
    if (raw.empty()) return absl::OkStatus();
    Defer(AppendCData(raw, line, TextSink()));
    return absl::OkStatus();
  }

  // Character data up to the next '<' (or the end).
  absl::Status Text() {
    // Most text holds nothing to decode and no line ends: stored as written.
    const char* plain = p_;
    plain = FindStop<'<', '&', ']', '<', kPlainTextStop>(plain, end_);
    if (plain == end_ || *plain == '<') {
      TextSink().append(p_, plain - p_);
      p_ = plain;
      return absl::OkStatus();
    }
    const char* lt =
        static_cast<const char*>(std::memchr(plain, '<', end_ - plain));
    if (lt == nullptr) lt = end_;
    const absl::string_view raw(p_, lt - p_);
    const char* q = p_;
    while (q < lt && IsTag(*q, kTagSpace)) ++q;
    if (q == lt) {
      AppendWhitespace(raw, TextSink());
    } else {
      // tinyxml2 skipped these as whitespace ahead of markup, so its pre-scan
      // refused them there: markup errors, not the tree's.
      if (*q == '\v' || *q == '\f') {
        p_ = q;
        return NotWellFormed("control character in character data", Line());
      }
      p_ = q;
      const int line = Line();
      Defer(DecodeText(raw, line, TextSink()));
    }
    p_ = lt;
    return absl::OkStatus();
  }

  // At '<' of a start tag.
  absl::Status StartTag() {
    const int line = Line();
    ++p_;
    const RawName name = Name();
    const absl::string_view qname = name.qname;
    if (qname.empty()) return NotWellFormed("'<' not followed by a name", line);
    attributes_.clear();
    bool self_closing = false;
    for (;;) {
      const bool spaced = SkipSpace();
      if (p_ == end_) return NotWellFormed("unterminated start tag", line);
      if (*p_ == '>') {
        ++p_;
        break;
      }
      if (*p_ == '/' && end_ - p_ >= 2 && p_[1] == '>') {
        p_ += 2;
        self_closing = true;
        break;
      }
      if (!spaced || !IsTag(*p_, kTagNameStart)) {
        return TagError(absl::StrCat("unexpected '", absl::string_view(p_, 1),
                                     "' in the start tag of '", qname, "'"));
      }
      RawAttribute& a = attributes_.emplace_back();
      if (absl::Status s = Attribute(a); !s.ok()) return s;
      for (size_t i = 0; i + 1 < attributes_.size(); ++i) {
        if (attributes_[i].name.qname == a.name.qname) {
          return NotWellFormed(absl::StrCat("attribute '", a.name.qname,
                                            "' repeated in '", qname, "'"),
                               line);
        }
      }
    }
    Element* element = Build(name, line);
    if (self_closing) {
      bindings_.Truncate(bindings_mark_);
      return absl::OkStatus();
    }
    if (open_.size() == kMaxOpenDepth) {
      return StreamError(
          StreamCondition::kPolicyViolation,
          absl::StrCat("elements nested more than ", kMaxOpenDepth,
                       " deep (line ", line, ")"));
    }
    open_.push_back({element, qname, bindings_mark_});
    return absl::OkStatus();
  }

  // At an attribute's name, after whitespace.
  absl::Status Attribute(RawAttribute& a) {
    a.name = Name();
    const absl::string_view name = a.name.qname;
    a.declaration = name[0] == 'x' && name.substr(0, 5) == "xmlns" &&
                    (name.size() == 5 || name[5] == ':');
    SkipSpace();
    if (p_ == end_ || *p_ != '=') {
      return TagError(absl::StrCat("attribute '", name, "' without '='"));
    }
    ++p_;
    SkipSpace();
    if (p_ == end_ || (*p_ != '"' && *p_ != '\'')) {
      return TagError(
          absl::StrCat("value of attribute '", name, "' not quoted"));
    }
    const char quote = *p_++;
    // To the closing quote, noting on the way whether decoding has work.
    const char* q = p_;
    a.plain = true;
    for (;;) {
      q = FindStop<'"', '\'', '&', '<', kPlainValueStop>(q, end_);
      if (q == end_) {
        return NotWellFormed("unterminated attribute value", Line());
      }
      if (*q == quote) break;
      if (*q != '"' && *q != '\'') a.plain = false;
      ++q;
    }
    a.value = absl::string_view(p_, q - p_);
    p_ = q + 1;
    return absl::OkStatus();
  }

  // At "</".
  absl::Status EndTag() {
    const char* const start = p_;
    p_ += 2;
    const absl::string_view qname = Name().qname;
    if (qname.empty()) {
      return NotWellFormed("'</' not followed by a name", Line());
    }
    SkipSpace();
    if (p_ == end_ || *p_ != '>') {
      return TagError(absl::StrCat("end tag '", qname, "' not closed by '>'"));
    }
    ++p_;
    const Open& open = open_.back();
    if (qname != open.qname) {
      return NotWellFormed(
          absl::StrCat("end tag '", qname, "' does not match start tag '",
                       open.qname, "'"),
          internal::LineAt(xml_, start));
    }
    bindings_.Truncate(open.bindings_mark);
    open_.pop_back();
    return absl::OkStatus();
  }

  // The element of the start tag just read: declarations first (they apply to
  // its own name and attributes), then its name, then its attributes, in the
  // order the old parser checked them. Leaves the bindings to undo in
  // bindings_mark_. Never null: after an error of the tree, the element is
  // built as far as it goes, and only the markup matters from then on.
  Element* Build(const RawName& name, int line) {
    bindings_mark_ = bindings_.mark();
    size_t declarations = 0;
    for (const RawAttribute& a : attributes_) {
      if (!a.declaration) continue;
      ++declarations;
      const absl::string_view qname = a.name.qname;
      const bool is_default = qname.size() == 5;
      Defer(
          bindings_.Declare(is_default ? absl::string_view() : qname.substr(6),
                            is_default, a.value, line, a.plain));
    }
    absl::string_view prefix, local = name.qname;
    const absl::string_view* uri = nullptr;
    if (!SplitName(name, prefix, local)) {
      Defer(NotWellFormed(
          absl::StrCat("element name '", name.qname, "' is not a QName"),
          line));
    } else if ((uri = bindings_.Lookup(prefix)) == nullptr) {
      Defer(BadPrefix(prefix, line));
    }
    Element* element =
        NewElement(uri != nullptr ? *uri : absl::string_view(), local);
    element->line_ = line;
    if (attributes_.size() == declarations) return element;

    std::vector<xmpp::Attribute>& out = element->attributes_;
    out.reserve(attributes_.size() - declarations);
    bool any_prefixed = false;
    for (const RawAttribute& a : attributes_) {
      if (a.declaration) continue;
      absl::string_view ns;
      if (!SplitName(a.name, prefix, local)) {
        Defer(NotWellFormed(
            absl::StrCat("attribute name '", a.name.qname, "' is not a QName"),
            line));
      } else if (!prefix.empty()) {
        // Unprefixed attributes are in no namespace, whatever the default.
        uri = bindings_.Lookup(prefix);
        if (uri == nullptr) {
          Defer(BadPrefix(prefix, line));
        } else {
          ns = *uri;
        }
        any_prefixed = true;
      }
      xmpp::Attribute& attribute = out.emplace_back(internal::NewAttribute{
          ns, local, a.plain ? a.value : absl::string_view()});
      if (!a.plain) Defer(DecodeAttribute(a.value, line, attribute.value));
    }
    // Names repeated as written are markup errors; two prefixes bound to one
    // URI can still name the same attribute.
    if (any_prefixed) {
      absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> seen;
      seen.reserve(out.size());
      for (const xmpp::Attribute& a : out) {
        if (!seen.emplace(a.ns, a.name).second) {
          Defer(NotWellFormed(absl::StrCat("attribute '", a.name, "' repeated"),
                              line));
        }
      }
    }
    return element;
  }

  // Splits a name into prefix and local part; false if it is not a QName.
  // ASCII names were delimited by the byte classes, so only the colons and
  // the first byte of each part are left to check.
  static bool SplitName(const RawName& name, absl::string_view& prefix,
                        absl::string_view& local) {
    if (!name.ascii) return SplitQName(name.qname, prefix, local);
    const absl::string_view qname = name.qname;
    const size_t colon = FindColon(qname);
    if (colon == qname.size()) {
      // Starts with a letter or '_' (kTagNameStart, less ':' and non-ASCII).
      prefix = absl::string_view();
      local = qname;
      return true;
    }
    prefix = qname.substr(0, colon);
    local = qname.substr(colon + 1);
    return colon > 0 && !local.empty() && IsNcNameStart(local[0]) &&
           FindColon(local) == local.size();
  }

  // Names are short: a loop beats a call.
  static size_t FindColon(absl::string_view name) {
    size_t i = 0;
    while (i < name.size() && name[i] != ':') ++i;
    return i;
  }

  static bool IsNcNameStart(char c) {
    return c != ':' && IsTag(c, kTagNameStart);
  }

  // A new element, as the root or the last child of the innermost open one.
  Element* NewElement(absl::string_view ns, absl::string_view name) {
    if (open_.empty()) return &root_.emplace(ns, name);
    Element::Node& node = NewNode();
    node.element = std::make_unique<Element>(ns, name);
    return node.element.get();
  }

  // The innermost open element's last text node, created after an element
  // child (so runs stay merged). Only called when the text adds something.
  std::string& TextSink() {
    std::vector<Element::Node>& nodes = open_.back().element->nodes_;
    if (nodes.empty() || nodes.back().element != nullptr) return NewNode().text;
    return nodes.back().text;
  }

  // A node appended to the innermost open element. Children are not counted
  // ahead, so room for a few is made at once.
  Element::Node& NewNode() {
    std::vector<Element::Node>& nodes = open_.back().element->nodes_;
    if (nodes.capacity() == 0) nodes.reserve(4);
    return nodes.emplace_back();
  }

  // A malformed tag at p_. tinyxml2 took \v and \f for whitespace there;
  // XML 1.0 has neither (§2.2 Char, §2.3 S), so they are named.
  absl::Status TagError(absl::string_view what) {
    if (p_ != end_ && (*p_ == '\v' || *p_ == '\f')) {
      return NotWellFormed(
          "vertical tab or form feed in a tag (not an XML character)", Line());
    }
    return NotWellFormed(what, Line());
  }

  // A name as tinyxml2 delimited it (empty if none starts at p_).
  RawName Name() {
    const char* const start = p_;
    if (p_ == end_ || !IsTag(*p_, kTagNameStart)) return {{}, true};
    unsigned char bits = static_cast<unsigned char>(*p_++);
    while (p_ < end_ && IsTag(*p_, kTagName)) {
      bits |= static_cast<unsigned char>(*p_++);
    }
    return {absl::string_view(start, p_ - start), bits < 0x80};
  }

  // Skips XML whitespace; whether there was any.
  bool SkipSpace() {
    const char* const start = p_;
    while (p_ < end_ && IsTag(*p_, kTagSpace)) ++p_;
    return p_ != start;
  }

  // The 1-based line of p_, counting LF only (as tinyxml2 did: a lone CR does
  // not end a line). Calls come in document order, so each byte is counted
  // once.
  int Line() {
    while (next_lf_ < p_) {
      ++line_;
      next_lf_ = NextLineFeed(next_lf_ + 1);
    }
    return line_;
  }

  const char* NextLineFeed(const char* from) const {
    const void* lf = std::memchr(from, '\n', end_ - from);
    return lf != nullptr ? static_cast<const char*>(lf) : end_;
  }

  // Keeps the first error of the tree (see the top of the file).
  void Defer(absl::Status status) {
    if (deferred_.ok() && !status.ok()) deferred_ = std::move(status);
  }

  const absl::string_view xml_;
  const char* p_;
  const char* const end_;
  const char* next_lf_;  // the first LF not counted in line_, or end_
  int line_ = 1;
  NamespaceBindings bindings_;
  size_t bindings_mark_ = 0;
  absl::InlinedVector<Open, 16> open_;
  absl::InlinedVector<RawAttribute, 8> attributes_;
  std::optional<Element> root_;
  absl::Status deferred_;
};

absl::StatusOr<Element> ParseElement(absl::string_view xml,
                                     const NamespaceScope& scope) {
  // The encoding comes first, as it did when tinyxml2 (which reads C strings
  // and does not check encodings) did the rest.
  if (const size_t bad = FindInvalidUtf8(xml, /*xml_chars_only=*/true);
      bad != xml.size()) {
    const int line = internal::LineAt(xml, xml.data() + bad);
    if (xml[bad] == '\0') return NotWellFormed("NUL byte", line);
    return NotWellFormed(xml[bad] == '\xEF'
                             ? "U+FFFE or U+FFFF (not an XML character)"
                             : "invalid UTF-8",
                         line);
  }
  return ElementParser(xml, scope).Parse();
}

}  // namespace talkcheck::xmpp

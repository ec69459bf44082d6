#include "xmpp/stream_framer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "xmpp/stream_error.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp {

// The scanner's position in the grammar. A state consumes every non-ASCII byte
// it is dispatched on, which is what lets the UTF-8 check run exactly once per
// byte before the dispatch (an ASCII byte may be dispatched again).
enum class StreamFramer::Lex : uint8_t {
  kStart = 0,     // nothing yet: BOM, XML declaration or header may come
  kBom1,          // after EF of a byte order mark
  kBom2,          // after EF BB
  kAfterBom,      // like kStart, without another BOM
  kProlog,        // whitespace before the header; no declaration any more
  kStartLt,       // after '<' at the very start: a declaration may follow
  kAfterLt,       // after '<' (context from state_ and depth)
  kDeclTarget,    // after "<?" at the very start: expecting "xml"
  kDeclBody,      // inside the XML declaration
  kBang,          // after "<!": matching "--", "[CDATA[", "DOCTYPE", ...
  kTop,           // between top-level elements
  kText,          // character data inside an element
  kCdata,         // inside <![CDATA[ ... ]]>
  kRefStart,      // after '&'
  kRefName,       // inside an entity reference name
  kCharRefStart,  // after "&#"
  kCharRefDec,    // inside "&#123"
  kCharRefHex,    // inside "&#x1F"
  kStartName,     // inside a start tag's name
  kInTag,         // inside a start tag, between attributes
  kAttrName,      // inside an attribute name
  kAttrAfterName,
  kAttrEq,     // after '=': expecting a quote
  kAttrValue,  // inside a quoted value
  kAfterAttrValue,
  kEmptySlash,  // after '/' in a start tag: expecting '>'
  kEndName,     // inside an end tag's name
  kEndWs,       // after an end tag's name: expecting '>'
  kClosed,      // after the stream close tag
};

namespace {

using internal::Is;
using internal::IsNameStartByte;
using internal::IsXmlChar;
using internal::kAttrStop;
using internal::kCdataStop;
using internal::kCtrl;
using internal::kNameAscii;
using internal::kNameStart;
using internal::kTextStop;
using internal::kWs;
using internal::NotWellFormed;
using internal::Restricted;

}  // namespace

absl::Status StreamFramer::Scan(const char* p, const char* const end,
                                const char*& construct,
                                std::vector<Event>& events) {
  Lex lex = lex_;
  // Keeps lex_ in step however Scan returns.
  struct SaveLex {
    Lex& from;
    Lex& to;
    ~SaveLex() { to = from; }
  } save{lex, lex_};

  auto begin_construct = [&] {
    construct = p;
    in_construct_ = true;
  };
  // The text of a finished top-level element goes out as an event.
  auto emit_element = [&]() -> absl::Status {
    absl::StatusOr<std::string> text = TakeConstruct(construct, p);
    if (!text.ok()) return text.status();
    events.push_back(
        Event{EventType::kElement, *std::move(text), Element("", "")});
    lex = Lex::kTop;
    return absl::OkStatus();
  };
  auto finish_header = [&](bool self_closed) -> absl::Status {
    absl::StatusOr<std::string> text = TakeConstruct(construct, p);
    if (!text.ok()) return text.status();
    in_header_ = false;
    names_.clear();
    lex = self_closed ? Lex::kClosed : Lex::kTop;
    return CompleteHeader(*std::move(text), self_closed, events);
  };
  auto too_deep = [&] {
    return StreamError(
        StreamCondition::kPolicyViolation,
        absl::StrCat("element nesting exceeds ", limits_.max_depth, " levels"));
  };
  // '>' of a start tag.
  // Namespaces in XML: element names are QNames. Checked once the name is
  // complete (it may have spanned reads), before anything else can refer to
  // it; attribute names are checked by ParseElement.
  auto too_many = [&] {
    return StreamError(StreamCondition::kPolicyViolation,
                       absl::StrCat("more than ", limits_.max_attributes,
                                    " attributes on one element"));
  };
  auto check_name = [&]() -> absl::Status {
    absl::string_view prefix, local;
    const absl::string_view name =
        absl::string_view(names_).substr(open_name_start_);
    if (name.size() > limits_.max_name_bytes) {
      return StreamError(
          StreamCondition::kPolicyViolation,
          absl::StrCat("element name of ", name.size(), " bytes exceeds ",
                       limits_.max_name_bytes));
    }
    if (!internal::SplitQName(name, prefix, local)) {
      return NotWellFormed(absl::StrCat("element name '", name,
                                        "' is not a QName (an NCName, or two "
                                        "joined by one colon)"));
    }
    return absl::OkStatus();
  };
  auto open_tag = [&]() -> absl::Status {
    if (in_header_) return finish_header(false);
    if (absl::Status s = check_name(); !s.ok()) return s;
    if (name_starts_.size() >= limits_.max_depth) return too_deep();
    name_starts_.push_back(open_name_start_);
    lex = Lex::kText;
    return absl::OkStatus();
  };
  // "/>" of a start tag.
  auto empty_tag = [&]() -> absl::Status {
    if (in_header_) return finish_header(true);
    if (absl::Status s = check_name(); !s.ok()) return s;
    if (name_starts_.size() >= limits_.max_depth) return too_deep();
    names_.resize(open_name_start_);
    if (name_starts_.empty()) return emit_element();
    lex = Lex::kText;
    return absl::OkStatus();
  };
  auto expected_end_name = [&]() -> absl::string_view {
    if (closing_stream_) return header_qname_;
    return absl::string_view(names_).substr(name_starts_.back());
  };
  // '>' of an end tag.
  auto close_tag = [&]() -> absl::Status {
    if (end_matched_ != expected_end_name().size()) {
      return NotWellFormed("mismatched end tag");
    }
    if (closing_stream_) {
      absl::StatusOr<std::string> text = TakeConstruct(construct, p);
      if (!text.ok()) return text.status();
      events.push_back(
          Event{EventType::kStreamClose, *std::move(text), Element("", "")});
      state_ = State::kClosed;
      lex = Lex::kClosed;
      return absl::OkStatus();
    }
    names_.resize(name_starts_.back());
    name_starts_.pop_back();
    if (name_starts_.empty()) return emit_element();
    lex = Lex::kText;
    return absl::OkStatus();
  };

  while (p < end) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if ((c >= 0x80 || utf8_pending_ != 0) && !Utf8Step(c)) {
      // RFC 6120 §4.9.3.22: improperly encoded UTF-8 is
      // <unsupported-encoding/>, the condition §11.6 names for anything that is
      // not UTF-8.
      return StreamError(StreamCondition::kUnsupportedEncoding,
                         "invalid UTF-8");
    }
    switch (lex) {
      case Lex::kText:
        if (c == '<') {
          lex = Lex::kAfterLt;
          ++p;
        } else if (c == '&') {
          ref_return_ = Lex::kText;
          lex = Lex::kRefStart;
          ++p;
        } else if (Is(c, kCtrl)) {
          return NotWellFormed("control character in character data");
        } else {
          ++p;
          if (c < 0x80) {
            while (p < end && !Is(*p, kTextStop)) ++p;
          }
        }
        break;

      case Lex::kAttrValue:
        if (c == static_cast<unsigned char>(quote_)) {
          if (++attributes_ > limits_.max_attributes) return too_many();
          lex = Lex::kAfterAttrValue;
          ++p;
        } else if (c == '&') {
          ref_return_ = Lex::kAttrValue;
          lex = Lex::kRefStart;
          ++p;
        } else if (c == '<') {
          return NotWellFormed("'<' in an attribute value");
        } else if (Is(c, kCtrl)) {
          return NotWellFormed("control character in an attribute value");
        } else {
          ++p;
          if (c < 0x80) {
            while (p < end && !Is(*p, kAttrStop)) ++p;
          }
        }
        break;

      case Lex::kAttrName:
        if (Is(c, kNameAscii)) {
          // The common case, `name="value"` pairs separated by whitespace, in
          // one pass; anything else drops back to the states below with lex
          // saying where. Only ASCII is skipped here, so no UTF-8 check is
          // missed.
          while (true) {
            while (p < end && Is(*p, kNameAscii)) ++p;
            if (end - p < 2 || *p != '=' || (p[1] != '"' && p[1] != '\'')) {
              break;
            }
            quote_ = p[1];
            p += 2;
            lex = Lex::kAttrValue;
            while (p < end && !Is(*p, kAttrStop)) ++p;
            if (p == end || *p != quote_) break;
            ++p;
            if (++attributes_ > limits_.max_attributes) return too_many();
            lex = Lex::kAfterAttrValue;
            if (p == end || !Is(*p, kWs)) break;
            lex = Lex::kInTag;
            while (p < end && Is(*p, kWs)) ++p;
            if (p == end || !Is(*p, kNameStart)) break;
            lex = Lex::kAttrName;
          }
        } else if (c >= 0x80) {
          ++p;
        } else if (c == '=') {
          lex = Lex::kAttrEq;
          ++p;
        } else if (Is(c, kWs)) {
          lex = Lex::kAttrAfterName;
          ++p;
        } else {
          return NotWellFormed("unexpected character in an attribute name");
        }
        break;

      case Lex::kStartName:
        if (Is(c, kNameAscii)) {
          const char* run = p;
          while (p < end && Is(*p, kNameAscii)) ++p;
          names_.append(run, p);
        } else if (c >= 0x80) {
          names_.push_back(static_cast<char>(c));
          ++p;
        } else if (Is(c, kWs)) {
          lex = Lex::kInTag;
          ++p;
        } else if (c == '>') {
          ++p;
          if (absl::Status s = open_tag(); !s.ok()) return s;
        } else if (c == '/') {
          lex = Lex::kEmptySlash;
          ++p;
        } else {
          return NotWellFormed("unexpected character in an element name");
        }
        break;

      case Lex::kInTag:
        if (Is(c, kNameStart)) {
          lex = Lex::kAttrName;  // dispatched again on this (ASCII) byte
          break;
        }
        ++p;
        if (Is(c, kWs)) {
          while (p < end && Is(*p, kWs)) ++p;
        } else if (c >= 0x80) {
          lex = Lex::kAttrName;
        } else if (c == '>') {
          if (absl::Status s = open_tag(); !s.ok()) return s;
        } else if (c == '/') {
          lex = Lex::kEmptySlash;
        } else {
          return NotWellFormed("unexpected character in a start tag");
        }
        break;

      case Lex::kAttrAfterName:
        ++p;
        if (c == '=') {
          lex = Lex::kAttrEq;
        } else if (!Is(c, kWs)) {
          return NotWellFormed("attribute without '='");
        }
        break;

      case Lex::kAttrEq:
        ++p;
        if (c == '\'' || c == '"') {
          quote_ = static_cast<char>(c);
          lex = Lex::kAttrValue;
        } else if (!Is(c, kWs)) {
          return NotWellFormed("unquoted attribute value");
        }
        break;

      case Lex::kAfterAttrValue:
        ++p;
        if (Is(c, kWs)) {
          lex = Lex::kInTag;
        } else if (c == '>') {
          if (absl::Status s = open_tag(); !s.ok()) return s;
        } else if (c == '/') {
          lex = Lex::kEmptySlash;
        } else {
          return NotWellFormed("no whitespace between attributes");
        }
        break;

      case Lex::kEmptySlash:
        ++p;
        if (c != '>') return NotWellFormed("'/' not followed by '>'");
        if (absl::Status s = empty_tag(); !s.ok()) return s;
        break;

      case Lex::kEndName: {
        if (Is(c, kNameAscii) || c >= 0x80) {
          const char* run = p;
          ++p;
          if (c < 0x80) {
            while (p < end && Is(*p, kNameAscii)) ++p;
          }
          const size_t n = static_cast<size_t>(p - run);
          const absl::string_view expected = expected_end_name();
          if (end_matched_ + n > expected.size() ||
              std::memcmp(expected.data() + end_matched_, run, n) != 0) {
            return NotWellFormed("mismatched end tag");
          }
          end_matched_ += n;
          break;
        }
        ++p;
        if (Is(c, kWs)) {
          lex = Lex::kEndWs;
        } else if (c == '>') {
          if (absl::Status s = close_tag(); !s.ok()) return s;
        } else {
          return NotWellFormed("unexpected character in an end tag");
        }
        break;
      }

      case Lex::kEndWs:
        ++p;
        if (c == '>') {
          if (absl::Status s = close_tag(); !s.ok()) return s;
        } else if (!Is(c, kWs)) {
          return NotWellFormed("unexpected character in an end tag");
        }
        break;

      case Lex::kTop:
        if (Is(c, kWs)) {  // keep-alive
          ++p;
          while (p < end && Is(*p, kWs)) ++p;
        } else if (c == '<') {
          begin_construct();
          lex = Lex::kAfterLt;
          ++p;
        } else {
          return NotWellFormed("character data between top-level elements");
        }
        break;

      case Lex::kStartLt:
      case Lex::kAfterLt:
        ++p;
        if (IsNameStartByte(c)) {
          if (state_ == State::kBeforeHeader) in_header_ = true;
          open_name_start_ = names_.size();
          attributes_ = 0;
          names_.push_back(static_cast<char>(c));
          lex = Lex::kStartName;
        } else if (c == '/') {
          if (state_ == State::kBeforeHeader) {
            return NotWellFormed("end tag before the stream header");
          }
          closing_stream_ = name_starts_.empty();
          end_matched_ = 0;
          lex = Lex::kEndName;
        } else if (c == '!') {
          keyword_len_ = 0;
          lex = Lex::kBang;
        } else if (c == '?' && lex == Lex::kStartLt) {
          keyword_len_ = 0;
          lex = Lex::kDeclTarget;
        } else if (c == '?') {
          return Restricted("processing instruction");
        } else {
          return NotWellFormed("unexpected character after '<'");
        }
        break;

      case Lex::kBang: {
        // The markup "<!" can open; all but CDATA are barred by RFC 6120 §11.1.
        static constexpr absl::string_view kKeywords[] = {
            "--",      "[CDATA[", "DOCTYPE", "ENTITY",
            "ELEMENT", "ATTLIST", "NOTATION"};
        ++p;
        keyword_[keyword_len_++] = static_cast<char>(c);
        const absl::string_view seen(keyword_, keyword_len_);
        absl::string_view match;
        bool prefix = false;
        for (absl::string_view keyword : kKeywords) {
          if (absl::StartsWith(keyword, seen)) {
            prefix = true;
            if (keyword.size() == seen.size()) match = keyword;
          }
        }
        if (!prefix) return NotWellFormed("unexpected markup after '<!'");
        if (match.empty()) break;
        if (match == "--") return Restricted("comment");
        if (match != "[CDATA[") {
          return Restricted(absl::StrCat("DTD markup <!", match));
        }
        if (name_starts_.empty()) {
          return NotWellFormed("CDATA section outside an element");
        }
        cdata_brackets_ = 0;
        lex = Lex::kCdata;
        break;
      }

      case Lex::kCdata:
        ++p;
        if (c == ']') {
          cdata_brackets_ = std::min<uint8_t>(cdata_brackets_ + 1, 2);
        } else if (c == '>' && cdata_brackets_ == 2) {
          lex = Lex::kText;
        } else if (Is(c, kCtrl)) {
          return NotWellFormed("control character in CDATA");
        } else {
          cdata_brackets_ = 0;
          if (c < 0x80) {
            while (p < end && !Is(*p, kCdataStop)) ++p;
          }
        }
        break;

      case Lex::kRefStart:
        ++p;
        if (c == '#') {
          char_ref_value_ = 0;
          char_ref_digits_ = 0;
          lex = Lex::kCharRefStart;
        } else if (IsNameStartByte(c)) {
          ref_name_[0] = static_cast<char>(c);
          ref_len_ = 1;
          lex = Lex::kRefName;
        } else {
          return NotWellFormed("'&' that does not start a reference");
        }
        break;

      case Lex::kRefName:
        ++p;
        if (Is(c, kNameAscii) || c >= 0x80) {
          if (ref_len_ < sizeof(ref_name_)) {
            ref_name_[ref_len_] = static_cast<char>(c);
          }
          if (ref_len_ < 0xFFFFFFFF) ++ref_len_;
        } else if (c == ';') {
          const absl::string_view name(
              ref_name_, std::min<size_t>(ref_len_, sizeof(ref_name_)));
          const bool predefined =
              ref_len_ <= sizeof(ref_name_) &&
              (name == "amp" || name == "lt" || name == "gt" ||
               name == "quot" || name == "apos");
          if (!predefined) {
            return Restricted(
                "entity reference other than the five predefined entities");
          }
          lex = ref_return_;
        } else {
          return NotWellFormed("unterminated entity reference");
        }
        break;

      case Lex::kCharRefStart:
        ++p;
        if (c == 'x') {
          lex = Lex::kCharRefHex;
        } else if (absl::ascii_isdigit(c)) {
          char_ref_value_ = c - '0';
          char_ref_digits_ = 1;
          lex = Lex::kCharRefDec;
        } else {
          return NotWellFormed("malformed character reference");
        }
        break;

      case Lex::kCharRefDec:
      case Lex::kCharRefHex: {
        ++p;
        const bool hex = lex == Lex::kCharRefHex;
        if (c == ';') {
          if (char_ref_digits_ == 0 || !IsXmlChar(char_ref_value_)) {
            return NotWellFormed("character reference to a non-character");
          }
          lex = ref_return_;
          break;
        }
        uint32_t digit;
        if (absl::ascii_isdigit(c)) {
          digit = c - '0';
        } else if (hex && absl::ascii_isxdigit(c)) {
          digit = absl::ascii_tolower(c) - 'a' + 10;
        } else {
          return NotWellFormed("malformed character reference");
        }
        // Saturates above the Unicode range, which IsXmlChar rejects.
        char_ref_value_ = std::min<uint32_t>(
            char_ref_value_ * (hex ? 16 : 10) + digit, 0x110000);
        ++char_ref_digits_;
        break;
      }

      case Lex::kStart:
      case Lex::kAfterBom:
      case Lex::kProlog:
        if (c == '<') {
          begin_construct();
          ++p;
          // RFC 6120 §11.5: the declaration, if any, comes first.
          lex = lex == Lex::kProlog ? Lex::kAfterLt : Lex::kStartLt;
        } else if (Is(c, kWs)) {
          lex = Lex::kProlog;
          ++p;
          while (p < end && Is(*p, kWs)) ++p;
        } else if (c == 0xEF && lex == Lex::kStart) {
          lex = Lex::kBom1;
          ++p;
        } else {
          return NotWellFormed("character data before the stream header");
        }
        break;

      case Lex::kBom1:
      case Lex::kBom2:
        ++p;
        if (c != (lex == Lex::kBom1 ? 0xBB : 0xBF)) {
          return NotWellFormed("character data before the stream header");
        }
        lex = lex == Lex::kBom1 ? Lex::kBom2 : Lex::kAfterBom;
        break;

      case Lex::kDeclTarget: {
        ++p;
        const bool name_char = Is(c, kNameAscii) || c >= 0x80;
        if (keyword_len_ < 3 && c == "xml"[keyword_len_]) {
          ++keyword_len_;
        } else if (keyword_len_ == 3 && Is(c, kWs)) {
          decl_question_ = false;
          lex = Lex::kDeclBody;
        } else if (keyword_len_ == 3 && !name_char) {
          return NotWellFormed("malformed XML declaration");  // e.g. <?xml?>
        } else if (keyword_len_ == 0 && !IsNameStartByte(c)) {
          return NotWellFormed("malformed processing instruction");
        } else {
          // Another target: <?php, <?xml-stylesheet, <?x?> ...
          return Restricted("processing instruction");
        }
        break;
      }

      case Lex::kDeclBody:
        ++p;
        if (c == '>' && decl_question_) {
          absl::StatusOr<std::string> text = TakeConstruct(construct, p);
          if (!text.ok()) return text.status();
          if (absl::Status s = CompleteDeclaration(*text); !s.ok()) return s;
          lex = Lex::kProlog;
        } else if (c >= 0x80 || c == '<' || Is(c, kCtrl)) {
          return NotWellFormed("malformed XML declaration");
        } else {
          decl_question_ = c == '?';
        }
        break;

      case Lex::kClosed:
        if (!Is(c, kWs)) return NotWellFormed("data after the stream close");
        ++p;
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace talkcheck::xmpp
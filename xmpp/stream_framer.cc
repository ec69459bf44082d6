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
#include "xmpp/namespaces.h"
#include "xmpp/stream_error.h"

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

// Byte classes, looked up once per byte in the hot loops.
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
constexpr std::array<uint8_t, 256> kClasses = MakeClasses();

inline bool Is(unsigned char c, uint8_t cls) { return kClasses[c] & cls; }

absl::Status NotWellFormed(absl::string_view why) {
  return StreamError(StreamCondition::kNotWellFormed, why);
}
absl::Status Restricted(absl::string_view why) {
  return StreamError(StreamCondition::kRestrictedXml, why);
}

// XML 1.0 §2.2 Char, for character references.
bool IsXmlChar(uint32_t v) {
  return v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) ||
         (v >= 0xE000 && v <= 0xFFFD) || (v >= 0x10000 && v <= 0x10FFFF);
}

void AppendUtf8(uint32_t v, std::string& out) {
  if (v < 0x80) {
    out.push_back(static_cast<char>(v));
  } else if (v < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (v >> 6)));
    out.push_back(static_cast<char>(0x80 | (v & 0x3F)));
  } else if (v < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (v >> 12)));
    out.push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (v & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (v >> 18)));
    out.push_back(static_cast<char>(0x80 | ((v >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (v & 0x3F)));
  }
}

// Decodes an attribute value the scanner has already validated: references
// resolved, whitespace normalised as XML 1.0 §3.3.3 requires for CDATA
// attributes.
std::string DecodeAttributeValue(absl::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\r') {
      out.push_back(' ');
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else if (c == '\n' || c == '\t') {
      out.push_back(' ');
    } else if (c != '&') {
      out.push_back(c);
    } else {
      const size_t semi = raw.find(';', i);
      const absl::string_view ref = raw.substr(i + 1, semi - i - 1);
      i = semi;
      if (ref == "amp") {
        out.push_back('&');
      } else if (ref == "lt") {
        out.push_back('<');
      } else if (ref == "gt") {
        out.push_back('>');
      } else if (ref == "quot") {
        out.push_back('"');
      } else if (ref == "apos") {
        out.push_back('\'');
      } else {  // "#123" or "#x7B"
        const bool hex = ref.size() > 1 && ref[1] == 'x';
        uint32_t v = 0;
        for (char d : ref.substr(hex ? 2 : 1)) {
          const uint32_t digit =
              absl::ascii_isdigit(d)
                  ? static_cast<uint32_t>(d - '0')
                  : static_cast<uint32_t>(absl::ascii_tolower(d) - 'a' + 10);
          v = v * (hex ? 16 : 10) + digit;
        }
        AppendUtf8(v, out);
      }
    }
  }
  return out;
}

struct RawAttribute {
  absl::string_view name;
  std::string value;
};

// Splits a validated start tag ("<name a='1' b=\"2\">" or ".../>") into its
// name and attributes. The scanner has checked the syntax, so this only slices.
absl::string_view SplitStartTag(absl::string_view tag,
                                std::vector<RawAttribute>& attrs) {
  size_t i = 1;
  auto name_end = [&tag](size_t from) {
    while (from < tag.size() && !Is(tag[from], kWs) && tag[from] != '/' &&
           tag[from] != '>' && tag[from] != '=') {
      ++from;
    }
    return from;
  };
  auto skip_ws = [&tag](size_t from) {
    while (from < tag.size() && Is(tag[from], kWs)) ++from;
    return from;
  };
  size_t end = name_end(i);
  const absl::string_view name = tag.substr(i, end - i);
  i = end;
  while (true) {
    i = skip_ws(i);
    if (i >= tag.size() || tag[i] == '/' || tag[i] == '>') break;
    end = name_end(i);
    RawAttribute attr;
    attr.name = tag.substr(i, end - i);
    i = skip_ws(end) + 1;  // past '='
    i = skip_ws(i);
    const char quote = tag[i];
    const size_t close = tag.find(quote, i + 1);
    attr.value = DecodeAttributeValue(tag.substr(i + 1, close - i - 1));
    attrs.push_back(std::move(attr));
    i = close + 1;
  }
  return name;
}

// Splits a qualified name per Namespaces in XML §4; false if it is not a QName.
bool SplitQName(absl::string_view qname, absl::string_view& prefix,
                absl::string_view& local) {
  const size_t colon = qname.find(':');
  if (colon == absl::string_view::npos) {
    prefix = {};
    local = qname;
    return !local.empty();
  }
  prefix = qname.substr(0, colon);
  local = qname.substr(colon + 1);
  return !prefix.empty() && !local.empty() &&
         local.find(':') == absl::string_view::npos;
}

}  // namespace

StreamFramer::StreamFramer(FramerLimits limits) : limits_(limits) {}

absl::Status StreamFramer::Fail(absl::Status status) {
  state_ = State::kFailed;
  failure_ = status;
  buffer_.clear();
  buffer_.shrink_to_fit();
  return status;
}

void StreamFramer::Reset() {
  state_ = State::kBeforeHeader;
  scope_ = NamespaceScope::ClientStream();
  failure_ = absl::OkStatus();
  buffer_.clear();
  lex_ = Lex::kStart;
  in_construct_ = false;
  in_header_ = false;
  closing_stream_ = false;
  names_.clear();
  name_starts_.clear();
  header_qname_.clear();
  utf8_pending_ = 0;
  utf8_lower_ = 0x80;
  utf8_upper_ = 0xBF;
}

// Validates one byte of a multi-byte UTF-8 sequence (RFC 3629 §4; Unicode Table
// 3-7), rejecting overlong forms, surrogates and code points above U+10FFFF.
// The expected range of the next byte is kept, so a character may be split
// between reads.
bool StreamFramer::Utf8Step(unsigned char c) {
  if (utf8_pending_ == 0) {
    // A stray continuation byte, an overlong 2-byte lead (C0, C1), or F5..FF.
    if (c < 0xC2 || c > 0xF4) return false;
    if (c < 0xE0) {
      utf8_pending_ = 1;
    } else if (c < 0xF0) {
      utf8_pending_ = 2;
      if (c == 0xE0) utf8_lower_ = 0xA0;  // overlong
      if (c == 0xED) utf8_upper_ = 0x9F;  // surrogates
    } else {
      utf8_pending_ = 3;
      if (c == 0xF0) utf8_lower_ = 0x90;  // overlong
      if (c == 0xF4) utf8_upper_ = 0x8F;  // above U+10FFFF
    }
    return true;
  }
  if (c < utf8_lower_ || c > utf8_upper_) return false;
  --utf8_pending_;
  utf8_lower_ = 0x80;
  utf8_upper_ = 0xBF;
  return true;
}

absl::Status StreamFramer::Feed(absl::string_view data,
                                std::vector<Event>& events) {
  if (state_ == State::kFailed) return failure_;
  const char* p = data.data();
  const char* const end = p + data.size();
  const char* construct = in_construct_ ? p : nullptr;
  absl::Status status = Scan(p, end, construct, events);
  if (!status.ok()) return Fail(std::move(status));
  if (in_construct_) {
    // Refuse before buffering, so a peer that never closes its element costs at
    // most the limit in memory.
    const size_t size = buffer_.size() + static_cast<size_t>(end - construct);
    if (size > limits_.max_element_bytes) {
      return Fail(StreamError(
          StreamCondition::kPolicyViolation,
          absl::StrCat("element exceeds ", limits_.max_element_bytes,
                       " bytes and is still incomplete")));
    }
    buffer_.append(construct, static_cast<size_t>(end - construct));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StreamFramer::TakeConstruct(const char* construct,
                                                        const char* p) {
  const size_t tail = static_cast<size_t>(p - construct);
  const size_t size = buffer_.size() + tail;
  if (size > limits_.max_element_bytes) {
    return StreamError(StreamCondition::kPolicyViolation,
                       absl::StrCat("element of ", size, " bytes exceeds ",
                                    limits_.max_element_bytes));
  }
  std::string text;
  text.reserve(size);
  text.append(buffer_).append(construct, tail);
  buffer_.clear();
  in_construct_ = false;
  return text;
}

// RFC 6120 §11.5, §11.6: the declaration may name no encoding other than UTF-8.
absl::Status StreamFramer::CompleteDeclaration(absl::string_view text) {
  absl::string_view body = text.substr(5, text.size() - 7);  // inside <?xml ?>
  bool have_version = false;
  while (true) {
    body = absl::StripLeadingAsciiWhitespace(body);
    if (body.empty()) break;
    const size_t eq = body.find('=');
    if (eq == absl::string_view::npos) {
      return NotWellFormed("malformed XML declaration");
    }
    const absl::string_view name =
        absl::StripTrailingAsciiWhitespace(body.substr(0, eq));
    body = absl::StripLeadingAsciiWhitespace(body.substr(eq + 1));
    if (body.empty() || (body[0] != '\'' && body[0] != '"')) {
      return NotWellFormed("malformed XML declaration");
    }
    const size_t close = body.find(body[0], 1);
    if (close == absl::string_view::npos) {
      return NotWellFormed("malformed XML declaration");
    }
    const absl::string_view value = body.substr(1, close - 1);
    body.remove_prefix(close + 1);
    if (name == "version") {
      // XML 1.0 §2.8 VersionNum: '1.' [0-9]+.
      if (value.size() < 3 || !absl::StartsWith(value, "1.") ||
          !std::all_of(value.begin() + 2, value.end(), absl::ascii_isdigit)) {
        return NotWellFormed(absl::StrCat("XML version ", value));
      }
      have_version = true;
    } else if (name == "encoding") {
      if (!absl::EqualsIgnoreCase(value, "UTF-8")) {
        return StreamError(StreamCondition::kUnsupportedEncoding,
                           absl::StrCat("encoding ", value, " is not UTF-8"));
      }
    } else if (name != "standalone") {
      return NotWellFormed(absl::StrCat("XML declaration attribute ", name));
    }
  }
  if (!have_version) return NotWellFormed("XML declaration without version");
  return absl::OkStatus();
}

// Resolves the header itself: it is never closed, so it cannot go through
// ParseElement.
absl::Status StreamFramer::CompleteHeader(std::string text, bool self_closed,
                                          std::vector<Event>& events) {
  std::vector<RawAttribute> attrs;
  const absl::string_view qname = SplitStartTag(text, attrs);
  NamespaceScope scope;
  for (const RawAttribute& attr : attrs) {
    absl::string_view prefix, local;
    if (!SplitQName(attr.name, prefix, local)) {
      return NotWellFormed(absl::StrCat("attribute name ", attr.name));
    }
    if (attr.name == "xmlns") {
      scope.Bind("", attr.value);
    } else if (prefix == "xmlns") {
      // Namespaces in XML §3: prefixed declarations may not be empty, and the
      // two reserved prefixes keep their meaning.
      if (attr.value.empty() || local == "xmlns" ||
          (local == "xml") != (attr.value == ns::kXml) ||
          attr.value == ns::kXmlns) {
        return NotWellFormed(absl::StrCat("bad declaration of ", attr.name));
      }
      scope.Bind(local, attr.value);
    }
  }
  absl::string_view prefix, local;
  if (!SplitQName(qname, prefix, local)) {
    return NotWellFormed(absl::StrCat("element name ", qname));
  }
  const std::string* element_ns = scope.Lookup(prefix);
  if (element_ns == nullptr && !prefix.empty()) {
    return StreamError(StreamCondition::kBadNamespacePrefix,
                       absl::StrCat("undeclared prefix ", prefix));
  }
  Event event{EventType::kStreamOpen, {}, Element("", "")};
  Element& header = event.header;
  header = Element(element_ns == nullptr ? "" : *element_ns, local);
  for (const RawAttribute& attr : attrs) {
    absl::string_view attr_prefix, attr_local;
    SplitQName(attr.name, attr_prefix, attr_local);
    if (attr.name == "xmlns" || attr_prefix == "xmlns") continue;
    std::string attr_ns;
    if (!attr_prefix.empty()) {
      const std::string* uri = scope.Lookup(attr_prefix);
      if (uri == nullptr) {
        return StreamError(StreamCondition::kBadNamespacePrefix,
                           absl::StrCat("undeclared prefix ", attr_prefix));
      }
      attr_ns = *uri;
    }
    if (header.Attr(attr_ns, attr_local) != nullptr) {
      return NotWellFormed(absl::StrCat("duplicate attribute ", attr.name));
    }
    header.SetAttr(attr_ns, attr_local, attr.value);
  }
  header_qname_.assign(qname.data(), qname.size());
  scope_ = std::move(scope);
  event.xml = std::move(text);
  events.push_back(std::move(event));
  state_ = State::kInStream;
  if (self_closed) {  // an empty stream: opened and closed at once
    events.push_back(Event{EventType::kStreamClose, {}, Element("", "")});
    state_ = State::kClosed;
  }
  return absl::OkStatus();
}

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
  auto open_tag = [&]() -> absl::Status {
    if (in_header_) return finish_header(false);
    if (name_starts_.size() >= limits_.max_depth) return too_deep();
    name_starts_.push_back(open_name_start_);
    lex = Lex::kText;
    return absl::OkStatus();
  };
  // "/>" of a start tag.
  auto empty_tag = [&]() -> absl::Status {
    if (in_header_) return finish_header(true);
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
        if (Is(c, kNameStart) || c >= 0x80) {
          if (state_ == State::kBeforeHeader) in_header_ = true;
          open_name_start_ = names_.size();
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
        } else if (Is(c, kNameStart) || c >= 0x80) {
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
        } else if (keyword_len_ == 0 && !Is(c, kNameStart) && c < 0x80) {
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

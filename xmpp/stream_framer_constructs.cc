// The stream framer around its scanner (stream_framer.cc): feeding, buffering
// and resetting, the constructs it completes outside the scanner (the XML
// declaration, and the stream header, which is never closed, so it cannot go
// through ParseElement), and the UTF-8 check the scanner runs per byte.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "xmpp/namespaces.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp {
namespace {

using internal::AppendUtf8;
using internal::Is;
using internal::kWs;
using internal::NotWellFormed;
using internal::SplitQName;

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
  lex_ = Lex{};  // kStart
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
    // A header has a handful of attributes: those set so far are searched
    // rather than hashed.
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

}  // namespace talkcheck::xmpp

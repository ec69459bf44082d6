#include "harness/scenario/source_map.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace talkcheck::harness::scenario_internal {
namespace {

using tinyxml2::XMLElement;
using tinyxml2::XMLNode;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsNameStart(char c) {
  return absl::ascii_isalpha(c) || c == '_' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsNameChar(char c) {
  return IsNameStart(c) || absl::ascii_isdigit(c) || c == '-' || c == '.';
}

}  // namespace

std::optional<SourceMap::Malformed> SourceMap::Build(
    absl::string_view text, const tinyxml2::XMLDocument& doc) {
  if (std::optional<Malformed> malformed = Check(text)) return malformed;
  size_t next = 0;
  paired_ = Pair(doc, next) && next == spans_.size();
  return std::nullopt;
}

std::optional<SourceMap::Malformed> SourceMap::Check(absl::string_view text) {
  text_ = text;
  line_starts_ = {0};
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
  spans_.clear();
  by_element_.clear();
  paired_ = false;
  return Scan();
}

std::pair<int, int> SourceMap::Position(size_t offset) const {
  const size_t line =
      std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) -
      line_starts_.begin();
  int column = 1;
  for (size_t i = line_starts_[line - 1]; i < offset; ++i) {
    // Count code points: skip UTF-8 continuation bytes.
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  }
  return {static_cast<int>(line), column};
}

std::optional<size_t> SourceMap::Find(int line,
                                      absl::string_view needle) const {
  if (line < 1 || static_cast<size_t>(line) > line_starts_.size()) {
    return std::nullopt;
  }
  const size_t begin = line_starts_[line - 1];
  const size_t end = static_cast<size_t>(line) < line_starts_.size()
                         ? line_starts_[line]
                         : text_.size();
  const size_t found = text_.substr(begin, end - begin).find(needle);
  if (found == absl::string_view::npos) return std::nullopt;
  return begin + found;
}

std::pair<int, int> SourceMap::AttributePosition(const XMLElement* e,
                                                 absl::string_view name) const {
  for (const auto& [attr, offset] : Span(e).attributes) {
    if (attr == name) return Position(offset);
  }
  return ElementPosition(e);
}

absl::string_view SourceMap::Content(const XMLElement* e) const {
  const ElementSpan& span = Span(e);
  return text_.substr(span.content_begin,
                      span.content_end - span.content_begin);
}

std::optional<SourceMap::Malformed> SourceMap::Scan() {
  std::vector<size_t> open;  // indexes into spans_
  size_t i = absl::StartsWith(text_, "\xEF\xBB\xBF") ? 3 : 0;
  size_t text_begin = i;
  std::optional<Malformed> malformed;
  auto skip_past = [&](absl::string_view end, absl::string_view what) {
    const size_t found = text_.find(end, i);
    if (found == absl::string_view::npos) {
      malformed = Malformed{i, absl::StrCat("unterminated ", what)};
      return false;
    }
    i = found + end.size();
    return true;
  };
  while (true) {
    const size_t lt = text_.find('<', i);
    const size_t text_end = lt == absl::string_view::npos ? text_.size() : lt;
    if (open.empty()) {
      // Only markup may stand outside the root element.
      const absl::string_view between =
          text_.substr(text_begin, text_end - text_begin);
      const size_t stray = between.find_first_not_of(" \t\r\n");
      if (stray != absl::string_view::npos) {
        return Malformed{text_begin + stray, "text outside the root element"};
      }
    }
    if (lt == absl::string_view::npos) break;
    i = lt;
    const absl::string_view rest = text_.substr(i);
    bool ok;
    if (absl::StartsWith(rest, "<!--")) {
      ok = skip_past("-->", "comment");
    } else if (absl::StartsWith(rest, "<![CDATA[")) {
      ok = skip_past("]]>", "CDATA section");
    } else if (absl::StartsWith(rest, "<?")) {
      ok = skip_past("?>", "processing instruction");
    } else if (absl::StartsWith(rest, "<!")) {
      ok = skip_past(">", "declaration");
    } else {
      malformed = ScanTag(i, open);
      ok = !malformed.has_value();
    }
    if (!ok) return malformed;
    text_begin = i;
  }
  if (!open.empty()) {
    return Malformed{
        spans_[open.back()].start,
        absl::StrCat("<", spans_[open.back()].name, "> is not closed")};
  }
  return std::nullopt;
}

absl::string_view SourceMap::ScanName(size_t& i) const {
  const size_t begin = i;
  if (i < text_.size() && IsNameStart(text_[i])) {
    while (i < text_.size() && IsNameChar(text_[i])) ++i;
  }
  return text_.substr(begin, i - begin);
}

void SourceMap::SkipSpace(size_t& i) const {
  while (i < text_.size() && IsSpace(text_[i])) ++i;
}

std::optional<SourceMap::Malformed> SourceMap::ScanTag(
    size_t& i, std::vector<size_t>& open) {
  const size_t start = i++;
  if (i < text_.size() && text_[i] == '/') {
    ++i;
    const absl::string_view name = ScanName(i);
    SkipSpace(i);
    if (name.empty() || i >= text_.size() || text_[i] != '>') {
      return Malformed{start, "malformed end tag"};
    }
    ++i;
    if (open.empty()) {
      return Malformed{start,
                       absl::StrCat("end tag </", name, "> without a start")};
    }
    ElementSpan& span = spans_[open.back()];
    if (span.name != name) {
      return Malformed{
          start,
          absl::StrCat("end tag </", name, "> does not match <", span.name,
                       "> (line ", Position(span.start).first, ")")};
    }
    span.content_end = start;
    open.pop_back();
    return std::nullopt;
  }
  ElementSpan span;
  span.start = start;
  span.name = std::string(ScanName(i));
  if (span.name.empty()) return Malformed{start, "'<' not starting a tag"};
  while (true) {
    const size_t before_space = i;
    SkipSpace(i);
    if (i >= text_.size()) return Malformed{start, "unterminated tag"};
    if (text_[i] == '>' || absl::StartsWith(text_.substr(i), "/>")) break;
    const size_t attr_begin = i;
    const absl::string_view attr = ScanName(i);
    if (attr.empty() || i == before_space) {
      return Malformed{
          attr_begin, absl::StrCat("malformed attribute in <", span.name, ">")};
    }
    SkipSpace(i);
    if (i >= text_.size() || text_[i] != '=') {
      return Malformed{attr_begin,
                       absl::StrCat("attribute ", attr, " has no value")};
    }
    ++i;
    SkipSpace(i);
    if (i >= text_.size() || (text_[i] != '"' && text_[i] != '\'')) {
      return Malformed{attr_begin, absl::StrCat("attribute ", attr,
                                                " has an unquoted value")};
    }
    const size_t close = text_.find(text_[i], i + 1);
    if (close == absl::string_view::npos) {
      return Malformed{attr_begin, absl::StrCat("attribute ", attr,
                                                " has an unterminated value")};
    }
    if (const size_t lt = text_.substr(i, close - i).find('<');
        lt != absl::string_view::npos) {
      return Malformed{i + lt,
                       absl::StrCat("'<' in the value of attribute ", attr)};
    }
    for (const auto& [name, offset] : span.attributes) {
      if (name == attr) {
        return Malformed{attr_begin,
                         absl::StrCat("attribute ", attr, " appears twice in <",
                                      span.name, ">")};
      }
    }
    span.attributes.emplace_back(std::string(attr), attr_begin);
    i = close + 1;
  }
  const bool empty = text_[i] == '/';
  i += empty ? 2 : 1;
  span.content_begin = span.content_end = i;
  if (!empty) open.push_back(spans_.size());
  spans_.push_back(std::move(span));
  return std::nullopt;
}

bool SourceMap::Pair(const XMLNode& node, size_t& next) {
  for (const XMLNode* child = node.FirstChild(); child != nullptr;
       child = child->NextSibling()) {
    const XMLElement* e = child->ToElement();
    if (e == nullptr) continue;
    if (next >= spans_.size() || spans_[next].name != e->Name()) return false;
    by_element_[e] = next++;
    if (!Pair(*e, next)) return false;
  }
  return true;
}

std::string StripComments(absl::string_view text) {
  std::string out;
  size_t i = 0;
  auto copy_through = [&](size_t end) {
    end = std::min(end, text.size());
    out.append(text.data() + i, end - i);
    i = end;
  };
  while (i < text.size()) {
    const size_t lt = text.find('<', i);
    if (lt == absl::string_view::npos) {
      copy_through(text.size());
      break;
    }
    copy_through(lt);
    const absl::string_view rest = text.substr(i);
    if (absl::StartsWith(rest, "<!--")) {
      const size_t found = text.find("-->", i + 4);
      const size_t end =
          found == absl::string_view::npos ? text.size() : found + 3;
      // Keep the line structure, so that lines in the stanza map to the file's.
      out.append(std::count(text.begin() + i, text.begin() + end, '\n'), '\n');
      i = end;
    } else if (absl::StartsWith(rest, "<![CDATA[")) {
      const size_t end = text.find("]]>", i);
      copy_through(end == absl::string_view::npos ? text.size() : end + 3);
    } else {
      // A tag: copy it whole, quoted values included.
      size_t j = i + 1;
      char quote = 0;
      for (; j < text.size(); ++j) {
        if (quote != 0) {
          if (text[j] == quote) quote = 0;
        } else if (text[j] == '"' || text[j] == '\'') {
          quote = text[j];
        } else if (text[j] == '>') {
          break;
        }
      }
      copy_through(j + 1);
    }
  }
  return out;
}

}  // namespace talkcheck::harness::scenario_internal

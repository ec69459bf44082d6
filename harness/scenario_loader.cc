// Scenario files -> Scenario protos, every problem reported at
// file:line:column.
//
// tinyxml2 builds the tree; a scanner over the same text (SourceMap) finds
// where each element and attribute starts and where each element's content
// begins and ends, which tinyxml2 does not record, and reports the malformed
// markup tinyxml2 lets through. Stanzas are kept as the exact text between a
// step's tags (comments removed), so what an author pasted from a capture is
// what the runner sends.
//
// Decisions the header leaves open (for scenarios/README.md):
// - Columns count UTF-8 code points from 1; a tab is one column.
// - A plain timing sets ms = min_ms = max_ms. A range "A..B" sets is_range,
//   min_ms = A, max_ms = B and ms = B (the upper bound: a `within` range never
//   fails earlier than its most patient draw). `fuzz="A..B"` next to a plain
//   timing keeps ms from the timing and takes the bounds from fuzz.
// - `within` is required on expect, any-order and media; `for` on delay and
//   expect-none. An expect inside any-order may omit `within` (it gets the
//   group's) and takes no label, next or on-timeout.
// - on-timeout is accepted on the steps that can time out: expect, any-order,
//   media.
// - A `${x}` in an expect pattern that is not yet defined is a capture: it
//   defines x for the steps after the expect (after the whole group for
//   any-order). expect-none patterns never capture (a match is a failure).
// - Errors are grouped by file (in the order files first have one), each group
//   in line and column order.
#include "harness/scenario_loader.h"

#include <tinyxml2.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "harness/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

using tinyxml2::XMLElement;
using tinyxml2::XMLNode;

constexpr char kStepList[] =
    "send, expect, expect-none, delay, any-order, control, peer-behaviour, "
    "media, include, var, description, peer";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// ---------------------------------------------------------------------------------------
// Where elements and attributes are in the source text.

struct ElementSpan {
  std::string name;
  size_t start = 0;          // the '<' of the start tag
  size_t content_begin = 0;  // just after the start tag
  size_t content_end = 0;  // the '<' of the end tag (content_begin when empty)
  std::vector<std::pair<std::string, size_t>> attributes;  // name, offset
};

class SourceMap {
 public:
  // Where the text is not well-formed (tinyxml2 lets some of it through).
  struct Malformed {
    size_t offset;
    std::string message;
  };

  // Scans `text`, which tinyxml2 parsed as `doc`. Returns what is malformed,
  // if anything; otherwise pairs the scanned elements with tinyxml2's in
  // document order and sets paired().
  std::optional<Malformed> Build(absl::string_view text,
                                 const tinyxml2::XMLDocument& doc) {
    text_ = text;
    line_starts_ = {0};
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
    if (std::optional<Malformed> malformed = Scan()) return malformed;
    size_t next = 0;
    paired_ = Pair(doc, next) && next == spans_.size();
    return std::nullopt;
  }

  // False if tinyxml2's tree and the scan disagree (a bug in the scanner).
  bool paired() const { return paired_; }

  // 1-based line and column (in code points) of a byte offset.
  std::pair<int, int> Position(size_t offset) const {
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

  // The offset of `needle` on (1-based) `line`, if it is there.
  std::optional<size_t> Find(int line, absl::string_view needle) const {
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

  const ElementSpan& Span(const XMLElement* e) const {
    return spans_[by_element_.at(e)];
  }

  std::pair<int, int> ElementPosition(const XMLElement* e) const {
    return Position(Span(e).start);
  }

  std::pair<int, int> AttributePosition(const XMLElement* e,
                                        absl::string_view name) const {
    for (const auto& [attr, offset] : Span(e).attributes) {
      if (attr == name) return Position(offset);
    }
    return ElementPosition(e);
  }

  // The text between the element's start and end tags, exactly as written.
  absl::string_view Content(const XMLElement* e) const {
    const ElementSpan& span = Span(e);
    return text_.substr(span.content_begin,
                        span.content_end - span.content_begin);
  }

 private:
  static bool IsNameStart(char c) {
    return absl::ascii_isalpha(c) || c == '_' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;
  }
  static bool IsNameChar(char c) {
    return IsNameStart(c) || absl::ascii_isdigit(c) || c == '-' || c == '.';
  }

  // Tokenises the text: comments, CDATA, processing instructions and other
  // `<!...>` constructs are skipped; tags are checked and recorded.
  std::optional<Malformed> Scan() {
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

  // The name at `i` (advanced past it); empty if there is none.
  absl::string_view ScanName(size_t& i) const {
    const size_t begin = i;
    if (i < text_.size() && IsNameStart(text_[i])) {
      while (i < text_.size() && IsNameChar(text_[i])) ++i;
    }
    return text_.substr(begin, i - begin);
  }

  void SkipSpace(size_t& i) const {
    while (i < text_.size() && IsSpace(text_[i])) ++i;
  }

  // A start, end or empty-element tag at `i`.
  std::optional<Malformed> ScanTag(size_t& i, std::vector<size_t>& open) {
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
        return Malformed{attr_begin, absl::StrCat("malformed attribute in <",
                                                  span.name, ">")};
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
        return Malformed{
            attr_begin,
            absl::StrCat("attribute ", attr, " has an unterminated value")};
      }
      if (const size_t lt = text_.substr(i, close - i).find('<');
          lt != absl::string_view::npos) {
        return Malformed{i + lt,
                         absl::StrCat("'<' in the value of attribute ", attr)};
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

  // Pairs tinyxml2's elements (pre-order) with the scanned spans.
  bool Pair(const XMLNode& node, size_t& next) {
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

  absl::string_view text_;
  std::vector<size_t> line_starts_;
  std::vector<ElementSpan> spans_;
  std::unordered_map<const XMLElement*, size_t> by_element_;
  bool paired_ = false;
};

// Removes XML comments (outside CDATA sections and attribute values), keeping
// their line breaks.
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

bool HasText(const XMLNode& node) {
  const tinyxml2::XMLText* text = node.ToText();
  return text != nullptr &&
         !absl::StripAsciiWhitespace(text->Value() ? text->Value() : "")
              .empty();
}

// A non-negative decimal number followed by `unit` ("1.5%", "20ms").
std::optional<double> Number(absl::string_view text, absl::string_view unit) {
  double value = 0;
  if (!absl::ConsumeSuffix(&text, unit) || text.empty() ||
      !absl::ascii_isdigit(text.front()) || !absl::SimpleAtod(text, &value)) {
    return std::nullopt;
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// Durations

constexpr char kTimingHelp[] =
    "expected a number with a unit (ms, s or m) such as \"250ms\", \"1.5s\" "
    "or \"2m\", or a range \"A..B\"";

absl::StatusOr<int64_t> ParseDurationMs(absl::string_view text) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration \"", text, "\": ", why));
  };
  if (absl::StartsWith(text, "-")) {
    return invalid("durations cannot be negative");
  }
  size_t i = 0;
  while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
  const absl::string_view whole = text.substr(0, i);
  absl::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    const size_t begin = ++i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    fraction = text.substr(begin, i - begin);
    if (fraction.empty()) return invalid(kTimingHelp);
  }
  if (whole.empty()) return invalid(kTimingHelp);
  const absl::string_view unit = text.substr(i);
  int64_t scale;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60000;
  } else if (unit.empty()) {
    return invalid("missing unit (ms, s or m)");
  } else {
    return invalid(kTimingHelp);
  }
  // Nine digits each way keep the arithmetic inside int64.
  if (whole.size() > 9 || fraction.size() > 9) return invalid("too large");
  int64_t whole_value = 0, fraction_value = 0, denominator = 1;
  if (!absl::SimpleAtoi(whole, &whole_value)) return invalid(kTimingHelp);
  if (!fraction.empty() && !absl::SimpleAtoi(fraction, &fraction_value)) {
    return invalid(kTimingHelp);
  }
  for (size_t k = 0; k < fraction.size(); ++k) denominator *= 10;
  if (fraction_value * scale % denominator != 0) {
    return invalid("not a whole number of milliseconds");
  }
  return whole_value * scale + fraction_value * scale / denominator;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::FailedPreconditionError("is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(std::strerror(errno));
  return buffer.str();
}

// ---------------------------------------------------------------------------------------
// The loader

// One parsed file; kept alive while its steps are read.
struct SourceFile {
  std::string path;  // as shown in messages
  std::string text;
  tinyxml2::XMLDocument doc;
  SourceMap map;
};

struct BehaviourAttribute {
  const char* name;
  void (PeerBehaviour::*set)(bool);
};

constexpr BehaviourAttribute kBehaviourAttributes[] = {
    {"ack-session-iqs", &PeerBehaviour::set_ack_session_iqs},
    {"answer-disco", &PeerBehaviour::set_answer_disco},
    {"send-presence", &PeerBehaviour::set_send_presence},
    {"answer-pings", &PeerBehaviour::set_answer_pings},
    {"reject-unknown-sessions", &PeerBehaviour::set_reject_unknown_sessions},
};

class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  LoadResult Load(absl::string_view text, const std::string& path);

 private:
  enum class Container { kScenario, kFragment, kAnyOrder };

  // Errors
  LoadError At(const SourceFile& f, const XMLElement* e) const;
  LoadError AtAttribute(const SourceFile& f, const XMLElement* e,
                        absl::string_view attribute) const;
  void Error(const SourceFile& f, const XMLElement* e, std::string message);
  void AttributeError(const SourceFile& f, const XMLElement* e,
                      absl::string_view attribute, std::string message);

  // Parses f.text; false (reported) if it is not well-formed XML.
  bool Parse(SourceFile& f);

  // Attributes
  void CheckAttributes(const SourceFile& f, const XMLElement* e,
                       const std::vector<absl::string_view>& allowed);
  const char* Required(const SourceFile& f, const XMLElement* e,
                       const char* name);
  std::optional<bool> Bool(const SourceFile& f, const XMLElement* e,
                           const char* name);
  std::optional<Timing> TimingAttribute(const SourceFile& f,
                                        const XMLElement* e, const char* name,
                                        bool required);
  void CheckNoContent(const SourceFile& f, const XMLElement* e);
  // Stray character data `text` inside `parent`.
  void TextError(const SourceFile& f, const XMLNode& text,
                 const XMLElement* parent);

  // Structure
  void LoadChildren(SourceFile& f, const XMLElement* parent,
                    Container container,
                    google::protobuf::RepeatedPtrField<Step>& steps);
  void LoadInclude(SourceFile& f, const XMLElement* e,
                   google::protobuf::RepeatedPtrField<Step>& steps);
  void LoadPeer(const SourceFile& f, const XMLElement* e, PeerSpec& peer);
  void LoadBehaviour(const SourceFile& f, const XMLElement* e,
                     PeerBehaviour& behaviour);
  void LoadVar(const SourceFile& f, const XMLElement* e);
  // Fills `step`; false if `e` is not a step (already reported).
  bool LoadStep(SourceFile& f, const XMLElement* e, Container container,
                Step& step);
  void LoadSend(SourceFile& f, const XMLElement* e, Step& step);
  void LoadExpect(SourceFile& f, const XMLElement* e, Step& step);
  // within, exact, next (unless `nested` in any-order) and the pattern.
  void LoadExpectBody(SourceFile& f, const XMLElement* e, bool nested,
                      ExpectStep& expect);
  void LoadExpectNone(SourceFile& f, const XMLElement* e, Step& step);
  void LoadDelay(SourceFile& f, const XMLElement* e, Step& step);
  void LoadAnyOrder(SourceFile& f, const XMLElement* e, Step& step);
  void LoadControl(SourceFile& f, const XMLElement* e, Step& step);
  void LoadPeerBehaviour(SourceFile& f, const XMLElement* e, Step& step);
  void LoadMedia(SourceFile& f, const XMLElement* e, Step& step);
  // location, optional, and (unless `nested`) label and on-timeout (if
  // `timed`).
  void LoadCommon(const SourceFile& f, const XMLElement* e, bool timed,
                  bool nested, Step& step);
  // The stanza (or pattern) a send/expect/expect-none holds; nullopt if none.
  std::optional<std::string> Stanza(const SourceFile& f, const XMLElement* e,
                                    bool required);

  // Variables
  bool IsDefined(const std::string& name) const;
  // Reports invalid names, unterminated references, and undefined names
  // unless `captures` collects them. False if the text cannot be substituted.
  bool CheckReferences(const SourceFile& f, const XMLElement* e,
                       absl::string_view text,
                       std::vector<std::string>* captures);
  // CheckReferences, then whether the stanza parses with dummy values.
  void CheckStanza(const SourceFile& f, const XMLElement* e,
                   absl::string_view stanza,
                   std::vector<std::string>* captures);

  const LoadOptions& options_;
  std::vector<LoadError> errors_;
  std::set<std::string> defined_;  // <var>s and captures so far
  std::map<std::string, LoadError> labels_;
  std::vector<std::pair<std::string, LoadError>> gotos_;
  // The files being read, outermost first: canonical paths and display paths.
  std::vector<std::string> include_keys_;
  std::vector<std::string> include_paths_;
  Scenario* scenario_ = nullptr;
  bool seen_description_ = false;
  bool seen_peer_ = false;
};

LoadError Loader::At(const SourceFile& f, const XMLElement* e) const {
  const auto [line, column] = f.map.ElementPosition(e);
  return LoadError{f.path, line, column, ""};
}

LoadError Loader::AtAttribute(const SourceFile& f, const XMLElement* e,
                              absl::string_view attribute) const {
  const auto [line, column] = f.map.AttributePosition(e, attribute);
  return LoadError{f.path, line, column, ""};
}

void Loader::Error(const SourceFile& f, const XMLElement* e,
                   std::string message) {
  errors_.push_back(At(f, e));
  errors_.back().message = std::move(message);
}

void Loader::AttributeError(const SourceFile& f, const XMLElement* e,
                            absl::string_view attribute, std::string message) {
  errors_.push_back(AtAttribute(f, e, attribute));
  errors_.back().message = std::move(message);
}

bool Loader::Parse(SourceFile& f) {
  f.doc.Parse(f.text.data(), f.text.size());
  if (f.doc.Error()) {
    // ErrorStr() reads "Error=NAME ErrorID=N (0xN) Line number=L: detail".
    std::string message = absl::StrCat("malformed XML: ", f.doc.ErrorName());
    const absl::string_view full = f.doc.ErrorStr();
    if (const size_t at = full.find("Line number="); at != full.npos) {
      if (const size_t colon = full.find(": ", at); colon != full.npos) {
        absl::StrAppend(&message, ": ", full.substr(colon + 2));
      }
    }
    errors_.push_back(LoadError{f.path, std::max(f.doc.ErrorLineNum(), 1), 1,
                                std::move(message)});
    return false;
  }
  // tinyxml2 tolerates some malformed markup (stray end tags, end tags with
  // attributes); the scanner reports it with its position.
  if (std::optional<SourceMap::Malformed> malformed =
          f.map.Build(f.text, f.doc)) {
    const auto [line, column] = f.map.Position(malformed->offset);
    errors_.push_back(LoadError{f.path, line, column,
                                "malformed XML: " + malformed->message});
    return false;
  }
  if (!f.map.paired()) {
    errors_.push_back(
        LoadError{f.path, 1, 1,
                  "internal error: source scanner disagrees with tinyxml2"});
    return false;
  }
  return true;
}

void Loader::CheckAttributes(const SourceFile& f, const XMLElement* e,
                             const std::vector<absl::string_view>& allowed) {
  for (const tinyxml2::XMLAttribute* a = e->FirstAttribute(); a != nullptr;
       a = a->Next()) {
    if (std::find(allowed.begin(), allowed.end(), a->Name()) != allowed.end()) {
      continue;
    }
    AttributeError(
        f, e, a->Name(),
        allowed.empty()
            ? absl::StrCat("<", e->Name(), "> takes no attributes, found \"",
                           a->Name(), "\"")
            : absl::StrCat("unknown attribute \"", a->Name(), "\" on <",
                           e->Name(),
                           ">; allowed: ", absl::StrJoin(allowed, ", ")));
  }
}

const char* Loader::Required(const SourceFile& f, const XMLElement* e,
                             const char* name) {
  const char* value = e->Attribute(name);
  if (value == nullptr) {
    Error(f, e,
          absl::StrCat("<", e->Name(), "> requires the attribute \"", name,
                       "\""));
  }
  return value;
}

std::optional<bool> Loader::Bool(const SourceFile& f, const XMLElement* e,
                                 const char* name) {
  const char* value = e->Attribute(name);
  if (value == nullptr) return std::nullopt;
  if (std::strcmp(value, "true") == 0) return true;
  if (std::strcmp(value, "false") == 0) return false;
  AttributeError(f, e, name,
                 absl::StrCat(name, " must be \"true\" or \"false\", got \"",
                              value, "\""));
  return std::nullopt;
}

std::optional<Timing> Loader::TimingAttribute(const SourceFile& f,
                                              const XMLElement* e,
                                              const char* name, bool required) {
  const char* value = required ? Required(f, e, name) : e->Attribute(name);
  if (value == nullptr) return std::nullopt;
  absl::StatusOr<Timing> timing = ParseTiming(value);
  if (!timing.ok()) {
    AttributeError(f, e, name,
                   absl::StrCat(name, ": ", timing.status().message()));
    return std::nullopt;
  }
  if (const char* fuzz = e->Attribute("fuzz"); fuzz != nullptr) {
    absl::StatusOr<Timing> range = ParseTiming(fuzz);
    if (!range.ok()) {
      AttributeError(f, e, "fuzz",
                     absl::StrCat("fuzz: ", range.status().message()));
    } else if (!range->is_range()) {
      AttributeError(
          f, e, "fuzz",
          absl::StrCat("fuzz must be a range \"A..B\", got \"", fuzz, "\""));
    } else if (timing->is_range()) {
      AttributeError(
          f, e, "fuzz",
          absl::StrCat("fuzz given but ", name, " is already a range"));
    } else {
      timing->set_is_range(true);
      timing->set_min_ms(range->min_ms());
      timing->set_max_ms(range->max_ms());
    }
  }
  return *timing;
}

void Loader::CheckNoContent(const SourceFile& f, const XMLElement* e) {
  for (const XMLNode* child = e->FirstChild(); child != nullptr;
       child = child->NextSibling()) {
    if (child->ToElement() != nullptr || HasText(*child)) {
      Error(f, e, absl::StrCat("<", e->Name(), "> takes no content"));
      return;
    }
  }
}

void Loader::TextError(const SourceFile& f, const XMLNode& text,
                       const XMLElement* parent) {
  // tinyxml2 gives the line of the text's first non-blank character; the column
  // is where that word is found on the line.
  const absl::string_view word = absl::StripAsciiWhitespace(text.Value());
  const int line = text.GetLineNum();
  int column = 1;
  const absl::string_view head =
      word.substr(0, std::min<size_t>(16, word.find_first_of("\r\n")));
  if (std::optional<size_t> offset = f.map.Find(line, head)) {
    column = f.map.Position(*offset).second;
  }
  std::string shown(word.substr(0, 20));
  if (word.size() > 20) absl::StrAppend(&shown, "...");
  errors_.push_back(LoadError{f.path, line, column,
                              absl::StrCat("unexpected text \"", shown,
                                           "\" in <", parent->Name(), ">")});
}

bool Loader::IsDefined(const std::string& name) const {
  const std::vector<std::string>& builtins = BuiltinVariableNames();
  return absl::StartsWith(name, "candidates:") || defined_.count(name) > 0 ||
         std::find(builtins.begin(), builtins.end(), name) != builtins.end() ||
         std::find(options_.extra_variables.begin(),
                   options_.extra_variables.end(),
                   name) != options_.extra_variables.end();
}

bool Loader::CheckReferences(const SourceFile& f, const XMLElement* e,
                             absl::string_view text,
                             std::vector<std::string>* captures) {
  bool ok = true;
  Variables dummies;
  for (const std::string& name : ReferencedVariables(text)) {
    if (!IsValidVariableName(name)) {
      Error(f, e, absl::StrCat("invalid variable name ${", name, "}"));
      ok = false;
      continue;
    }
    dummies.Set(name, "x");
    if (IsDefined(name)) continue;
    if (captures != nullptr) {
      captures->push_back(name);
    } else {
      Error(f, e, absl::StrCat("undefined variable ${", name, "}"));
    }
  }
  if (ok && !dummies.Substitute(text).ok()) {
    Error(f, e, "unterminated \"${\" (write \"$${\" for a literal \"${\")");
    ok = false;
  }
  return ok;
}

std::optional<std::string> Loader::Stanza(const SourceFile& f,
                                          const XMLElement* e, bool required) {
  int elements = 0;
  bool stray_text = false;
  for (const XMLNode* child = e->FirstChild(); child != nullptr;
       child = child->NextSibling()) {
    if (child->ToElement() != nullptr) ++elements;
    stray_text = stray_text || HasText(*child);
  }
  if (stray_text) {
    Error(f, e,
          absl::StrCat("text outside the stanza in <", e->Name(),
                       ">; it holds one element"));
    return std::nullopt;
  }
  if (elements > 1 || (elements == 0 && required)) {
    Error(f, e,
          absl::StrCat("<", e->Name(), "> must hold exactly one stanza, found ",
                       elements));
    return std::nullopt;
  }
  if (elements == 0) return std::string();
  return std::string(
      absl::StripAsciiWhitespace(StripComments(f.map.Content(e))));
}

void Loader::CheckStanza(const SourceFile& f, const XMLElement* e,
                         absl::string_view stanza,
                         std::vector<std::string>* captures) {
  if (stanza.empty() || !CheckReferences(f, e, stanza, captures)) return;
  // Check it parses once variables are in: every reference gets a dummy value.
  Variables dummies;
  for (const std::string& name : ReferencedVariables(stanza)) {
    dummies.Set(name, "x");
  }
  absl::StatusOr<std::string> substituted = dummies.Substitute(stanza);
  if (!substituted.ok()) return;  // reported by CheckReferences
  absl::Status status = xmpp::ParseElement(*substituted).status();
  if (status.ok()) return;
  // ParseElement counts lines from the stanza's first; make them the file's.
  std::string message(status.message());
  if (const size_t at = message.find("(line "); at != std::string::npos) {
    const size_t digits = at + 6;
    const size_t end = message.find(')', digits);
    int line = 0;
    if (end != std::string::npos &&
        absl::SimpleAtoi(message.substr(digits, end - digits), &line)) {
      const absl::string_view content = f.map.Content(e);
      const size_t first = content.find_first_not_of(" \t\r\n");
      const int base =
          f.map.Position(f.map.Span(e).content_begin + first).first;
      message.replace(digits, end - digits, absl::StrCat(base + line - 1));
    }
  }
  Error(f, e, absl::StrCat("malformed stanza: ", message));
}

void Loader::LoadBehaviour(const SourceFile& f, const XMLElement* e,
                           PeerBehaviour& behaviour) {
  for (const BehaviourAttribute& attribute : kBehaviourAttributes) {
    if (std::optional<bool> value = Bool(f, e, attribute.name)) {
      (behaviour.*attribute.set)(*value);
    }
  }
}

void Loader::LoadPeer(const SourceFile& f, const XMLElement* e,
                      PeerSpec& peer) {
  std::vector<absl::string_view> allowed = {"user",    "resource",  "role",
                                            "dialect", "caps-node", "caps-ver",
                                            "caps-ext"};
  for (const BehaviourAttribute& a : kBehaviourAttributes) {
    allowed.push_back(a.name);
  }
  CheckAttributes(f, e, allowed);
  CheckNoContent(f, e);
  for (const char* name : {"user", "resource", "caps-node", "caps-ver"}) {
    const char* value = e->Attribute(name);
    if (value == nullptr) continue;
    if (*value == '\0') {
      AttributeError(f, e, name, absl::StrCat(name, " must not be empty"));
    } else if (std::strcmp(name, "user") == 0) {
      peer.set_user(value);
    } else if (std::strcmp(name, "resource") == 0) {
      peer.set_resource(value);
    } else if (std::strcmp(name, "caps-node") == 0) {
      peer.set_caps_node(value);
    } else {
      peer.set_caps_ver(value);
    }
  }
  if (const char* role = e->Attribute("role")) {
    if (std::strcmp(role, "caller") == 0) {
      peer.set_role(ROLE_CALLER);
    } else if (std::strcmp(role, "callee") == 0) {
      peer.set_role(ROLE_CALLEE);
    } else {
      AttributeError(
          f, e, "role",
          absl::StrCat("role must be \"caller\" or \"callee\", got \"", role,
                       "\""));
    }
  }
  if (const char* dialect = e->Attribute("dialect")) {
    static const std::map<std::string, Dialect>* const kDialects =
        new std::map<std::string, Dialect>{
            {"g1", DIALECT_G1}, {"g2", DIALECT_G2}, {"g3", DIALECT_G3}};
    if (auto it = kDialects->find(dialect); it != kDialects->end()) {
      peer.set_dialect(it->second);
    } else {
      AttributeError(
          f, e, "dialect",
          absl::StrCat("dialect must be g1, g2 or g3, got \"", dialect, "\""));
    }
  }
  if (const char* ext = e->Attribute("caps-ext")) {
    peer.clear_caps_ext();
    for (absl::string_view token :
         absl::StrSplit(ext, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
      peer.add_caps_ext(std::string(token));
    }
  }
  LoadBehaviour(f, e, *peer.mutable_behaviour());
}

void Loader::LoadVar(const SourceFile& f, const XMLElement* e) {
  CheckAttributes(f, e, {"name", "value"});
  CheckNoContent(f, e);
  const char* name = Required(f, e, "name");
  const char* value = Required(f, e, "value");
  if (name == nullptr || value == nullptr) return;
  const std::vector<std::string>& builtins = BuiltinVariableNames();
  if (!IsValidVariableName(name)) {
    AttributeError(f, e, "name",
                   absl::StrCat("invalid variable name \"", name, "\""));
  } else if (std::find(builtins.begin(), builtins.end(), name) !=
                 builtins.end() ||
             absl::StartsWith(name, "candidates:")) {
    AttributeError(f, e, "name",
                   absl::StrCat("${", name, "} is set by the runner"));
  } else if (!defined_.insert(name).second) {
    // The same fragment included twice declares its variables again.
    const auto same = std::find_if(
        scenario_->variables().begin(), scenario_->variables().end(),
        [&](const Variable& v) { return v.name() == name; });
    if (same == scenario_->variables().end() || same->value() != value) {
      AttributeError(f, e, "name",
                     absl::StrCat("variable ${", name, "} is already defined"));
    }
  } else {
    Variable* variable = scenario_->add_variables();
    variable->set_name(name);
    variable->set_value(value);
  }
}

void Loader::LoadCommon(const SourceFile& f, const XMLElement* e, bool timed,
                        bool nested, Step& step) {
  *step.mutable_location() = [&] {
    SourceLocation location;
    const LoadError at = At(f, e);
    location.set_file(at.file);
    location.set_line(at.line);
    location.set_column(at.column);
    return location;
  }();
  if (std::optional<bool> optional = Bool(f, e, "optional")) {
    step.set_optional(*optional);
  }
  if (nested) return;
  if (const char* label = e->Attribute("label")) {
    absl::string_view text = label;
    if (text.empty() || std::any_of(text.begin(), text.end(), [](char c) {
          return !absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.';
        })) {
      AttributeError(f, e, "label",
                     absl::StrCat("invalid label \"", text,
                                  "\": use letters, digits, '_', '-', '.'"));
    } else if (auto [it, inserted] =
                   labels_.emplace(label, AtAttribute(f, e, "label"));
               !inserted) {
      AttributeError(f, e, "label",
                     absl::StrCat("duplicate label \"", label,
                                  "\"; first defined at ", it->second.file, ":",
                                  it->second.line, ":", it->second.column));
    } else {
      step.set_label(label);
    }
  }
  const char* on_timeout = timed ? e->Attribute("on-timeout") : nullptr;
  if (on_timeout == nullptr) return;
  absl::string_view value = on_timeout;
  if (value == "fail") {
    step.set_on_timeout(ON_TIMEOUT_FAIL);
  } else if (value == "continue") {
    step.set_on_timeout(ON_TIMEOUT_CONTINUE);
  } else if (absl::ConsumePrefix(&value, "goto:") && !value.empty()) {
    step.set_on_timeout(ON_TIMEOUT_GOTO);
    step.set_goto_label(std::string(value));
    gotos_.emplace_back(std::string(value), AtAttribute(f, e, "on-timeout"));
  } else {
    AttributeError(f, e, "on-timeout",
                   absl::StrCat("on-timeout must be \"fail\", \"continue\" or "
                                "\"goto:LABEL\", got \"",
                                on_timeout, "\""));
  }
}

bool Loader::LoadStep(SourceFile& f, const XMLElement* e, Container container,
                      Step& step) {
  const absl::string_view kind = e->Name();
  const bool nested = container == Container::kAnyOrder;
  if (nested && kind != "expect") {
    Error(f, e,
          absl::StrCat("<any-order> holds only <expect> steps, found <", kind,
                       ">"));
    return false;
  }
  using StepLoader = void (Loader::*)(SourceFile&, const XMLElement*, Step&);
  static const std::map<absl::string_view, StepLoader>* const kLoaders =
      new std::map<absl::string_view, StepLoader>{
          {"send", &Loader::LoadSend},
          {"expect", &Loader::LoadExpect},
          {"expect-none", &Loader::LoadExpectNone},
          {"delay", &Loader::LoadDelay},
          {"any-order", &Loader::LoadAnyOrder},
          {"control", &Loader::LoadControl},
          {"peer-behaviour", &Loader::LoadPeerBehaviour},
          {"media", &Loader::LoadMedia},
      };
  const auto it = kLoaders->find(kind);
  if (it == kLoaders->end()) {
    Error(
        f, e,
        absl::StrCat("unknown step <", kind, ">; expected one of ", kStepList));
    return false;
  }
  if (nested) {
    // The group has the control flow: members take no label or on-timeout.
    CheckAttributes(f, e, {"within", "fuzz", "exact", "optional"});
    LoadCommon(f, e, /*timed=*/false, /*nested=*/true, step);
    LoadExpectBody(f, e, /*nested=*/true, *step.mutable_expect());
  } else {
    (this->*(it->second))(f, e, step);
  }
  return true;
}

void Loader::LoadSend(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"from", "label", "optional"});
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  SendStep& send = *step.mutable_send();
  if (const char* from = e->Attribute("from")) {
    if (std::strcmp(from, "server") == 0) {
      send.set_from(SendStep::SENDER_SERVER);
    } else if (std::strcmp(from, "peer") != 0) {
      AttributeError(f, e, "from",
                     absl::StrCat("from must be \"peer\" or \"server\", got \"",
                                  from, "\""));
    }
  }
  if (std::optional<std::string> stanza = Stanza(f, e, /*required=*/true)) {
    CheckStanza(f, e, *stanza, nullptr);
    send.set_stanza(*std::move(stanza));
  }
}

void Loader::LoadExpect(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e,
                  {"within", "fuzz", "exact", "next", "after", "label",
                   "optional", "on-timeout"});
  LoadCommon(f, e, /*timed=*/true, /*nested=*/false, step);
  LoadExpectBody(f, e, /*nested=*/false, *step.mutable_expect());
}

void Loader::LoadExpectBody(SourceFile& f, const XMLElement* e, bool nested,
                            ExpectStep& expect) {
  if (auto within = TimingAttribute(f, e, "within", /*required=*/!nested)) {
    *expect.mutable_within() = *within;
  }
  if (auto exact = Bool(f, e, "exact")) expect.set_exact(*exact);
  if (!nested) {
    if (auto next = Bool(f, e, "next")) expect.set_next(*next);
    if (const char* after = e->Attribute("after")) {
      // Only an earlier step can have matched before this one runs.
      if (labels_.count(after) == 0) {
        AttributeError(
            f, e, "after",
            absl::StrCat("after names no earlier step label \"", after, "\""));
      } else {
        expect.set_after(after);
      }
    }
  }
  if (std::optional<std::string> pattern = Stanza(f, e, /*required=*/true)) {
    std::vector<std::string> captures;
    CheckStanza(f, e, *pattern, &captures);
    // Defined for the steps after this one (after the group when nested).
    if (!nested) defined_.insert(captures.begin(), captures.end());
    expect.set_pattern(*std::move(pattern));
  }
}

void Loader::LoadExpectNone(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"for", "fuzz", "label", "optional"});
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  ExpectNoneStep& none = *step.mutable_expect_none();
  if (auto period = TimingAttribute(f, e, "for", /*required=*/true)) {
    *none.mutable_period() = *period;
  }
  if (std::optional<std::string> pattern = Stanza(f, e, /*required=*/false)) {
    std::vector<std::string> wildcards;  // a match fails: never committed
    CheckStanza(f, e, *pattern, &wildcards);
    none.set_pattern(*std::move(pattern));
  }
}

void Loader::LoadDelay(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"for", "fuzz", "label", "optional"});
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  DelayStep& delay = *step.mutable_delay();
  if (auto duration = TimingAttribute(f, e, "for", /*required=*/true)) {
    *delay.mutable_duration() = *duration;
  }
}

void Loader::LoadAnyOrder(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"within", "fuzz", "label", "optional", "on-timeout"});
  LoadCommon(f, e, /*timed=*/true, /*nested=*/false, step);
  AnyOrderStep& group = *step.mutable_any_order();
  const std::optional<Timing> within =
      TimingAttribute(f, e, "within", /*required=*/true);
  if (within) *group.mutable_within() = *within;
  LoadChildren(f, e, Container::kAnyOrder, *group.mutable_steps());
  if (group.steps().empty()) {
    Error(f, e, "<any-order> needs at least one <expect>");
  }
  for (Step& member : *group.mutable_steps()) {
    if (within && !member.expect().has_within()) {
      *member.mutable_expect()->mutable_within() = *within;
    }
  }
  // The members' captures count after the group.
  for (const Step& member : group.steps()) {
    for (const std::string& name :
         ReferencedVariables(member.expect().pattern())) {
      if (IsValidVariableName(name)) defined_.insert(name);
    }
  }
}

void Loader::LoadControl(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"action", "target", "label", "optional"});
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  ControlStep& control = *step.mutable_control();
  if (const char* action = Required(f, e, "action")) {
    const absl::string_view value = action;
    if (value == "call" || value == "hangup" || value == "answer" ||
        value == "reject") {
      control.set_action(action);
      if (value == "call") control.set_target("${peer}");
    } else {
      AttributeError(f, e, "action",
                     absl::StrCat("action must be call, hangup, answer or "
                                  "reject, got \"",
                                  value, "\""));
    }
  }
  if (const char* target = e->Attribute("target")) {
    control.set_target(target);
    CheckReferences(f, e, target, nullptr);
  }
}

void Loader::LoadPeerBehaviour(SourceFile& f, const XMLElement* e, Step& step) {
  std::vector<absl::string_view> allowed = {"label", "optional"};
  for (const BehaviourAttribute& a : kBehaviourAttributes) {
    allowed.push_back(a.name);
  }
  CheckAttributes(f, e, allowed);
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  LoadBehaviour(f, e, *step.mutable_peer_behaviour()->mutable_behaviour());
}

void Loader::LoadMedia(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e,
                  {"codec", "min-packets", "within", "fuzz", "max-loss",
                   "max-jitter", "label", "optional", "on-timeout"});
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/true, /*nested=*/false, step);
  MediaStep& media = *step.mutable_media();
  if (const char* codec = Required(f, e, "codec")) {
    if (*codec == '\0') {
      AttributeError(f, e, "codec", "codec must not be empty");
    }
    media.set_codec(codec);
    CheckReferences(f, e, codec, nullptr);
  }
  if (auto within = TimingAttribute(f, e, "within", /*required=*/true)) {
    *media.mutable_within() = *within;
  }
  // Defaults: at least one packet each way; loss and jitter unchecked.
  media.set_min_packets_each_way(1);
  media.set_max_loss_percent(100);
  if (const char* packets = e->Attribute("min-packets")) {
    int value = 0;
    if (!absl::ascii_isdigit(*packets) || !absl::SimpleAtoi(packets, &value) ||
        value < 1) {
      AttributeError(
          f, e, "min-packets",
          absl::StrCat("min-packets must be a positive integer, got \"",
                       packets, "\""));
    } else {
      media.set_min_packets_each_way(value);
    }
  }
  if (const char* loss = e->Attribute("max-loss")) {
    std::optional<double> value = Number(loss, "%");
    if (!value || *value > 100) {
      AttributeError(f, e, "max-loss",
                     absl::StrCat("max-loss must be a percentage from 0% to "
                                  "100%, got \"",
                                  loss, "\""));
    } else {
      media.set_max_loss_percent(*value);
    }
  }
  if (const char* jitter = e->Attribute("max-jitter")) {
    std::optional<double> value = Number(jitter, "ms");
    if (!value || *value <= 0) {
      AttributeError(f, e, "max-jitter",
                     absl::StrCat("max-jitter must be a positive number of "
                                  "milliseconds such as \"20ms\", got \"",
                                  jitter, "\""));
    } else {
      media.set_max_jitter_ms(*value);
    }
  }
}

void Loader::LoadChildren(SourceFile& f, const XMLElement* parent,
                          Container container,
                          google::protobuf::RepeatedPtrField<Step>& steps) {
  for (const XMLNode* node = parent->FirstChild(); node != nullptr;
       node = node->NextSibling()) {
    if (HasText(*node)) {
      TextError(f, *node, parent);
      continue;
    }
    const XMLElement* e = node->ToElement();
    if (e == nullptr) continue;
    const absl::string_view kind = e->Name();
    if (container != Container::kAnyOrder) {
      if (kind == "description" || kind == "peer") {
        if (container == Container::kFragment) {
          Error(f, e,
                absl::StrCat("<", kind,
                             "> belongs in <scenario>, not in an included "
                             "<fragment>"));
          continue;
        }
        bool& seen = kind == "peer" ? seen_peer_ : seen_description_;
        if (seen) {
          Error(f, e, absl::StrCat("a second <", kind, ">"));
          continue;
        }
        seen = true;
        if (kind == "peer") {
          LoadPeer(f, e, *scenario_->mutable_peer());
          continue;
        }
        CheckAttributes(f, e, {});
        std::vector<std::string> words;
        for (const XMLNode* child = e->FirstChild(); child != nullptr;
             child = child->NextSibling()) {
          if (child->ToElement() != nullptr) {
            Error(f, e, "<description> holds text only");
            break;
          }
          if (child->ToText() == nullptr) continue;
          for (absl::string_view word :
               absl::StrSplit(child->Value(), absl::ByAnyChar(" \t\r\n"),
                              absl::SkipEmpty())) {
            words.emplace_back(word);
          }
        }
        scenario_->set_description(absl::StrJoin(words, " "));
        continue;
      }
      if (kind == "var") {
        LoadVar(f, e);
        continue;
      }
      if (kind == "include") {
        LoadInclude(f, e, steps);
        continue;
      }
    }
    Step step;
    if (LoadStep(f, e, container, step)) steps.Add(std::move(step));
  }
}

void Loader::LoadInclude(SourceFile& f, const XMLElement* e,
                         google::protobuf::RepeatedPtrField<Step>& steps) {
  CheckAttributes(f, e, {"file"});
  CheckNoContent(f, e);
  const char* file = Required(f, e, "file");
  if (file == nullptr) return;
  namespace fs = std::filesystem;
  SourceFile included;
  included.path =
      (fs::path(f.path).parent_path() / file).lexically_normal().string();
  std::error_code ec;
  const std::string key = fs::weakly_canonical(included.path, ec).string();
  if (auto it = std::find(include_keys_.begin(), include_keys_.end(), key);
      it != include_keys_.end()) {
    std::vector<std::string> chain(
        include_paths_.begin() + (it - include_keys_.begin()),
        include_paths_.end());
    chain.push_back(included.path);
    AttributeError(
        f, e, "file",
        absl::StrCat("include cycle: ", absl::StrJoin(chain, " -> ")));
    return;
  }
  absl::StatusOr<std::string> text = ReadFile(included.path);
  if (!text.ok()) {
    AttributeError(f, e, "file",
                   absl::StrCat("cannot read included file \"", file, "\" (",
                                included.path, "): ", text.status().message()));
    return;
  }
  included.text = *std::move(text);
  if (!Parse(included)) return;
  const XMLElement* root = included.doc.RootElement();
  if (root == nullptr || std::strcmp(root->Name(), "fragment") != 0) {
    errors_.push_back(LoadError{
        included.path, 1, 1,
        absl::StrCat("an included file's root must be <fragment>, found <",
                     root == nullptr ? "" : root->Name(), ">")});
    if (root != nullptr) {
      errors_.back().line = included.map.ElementPosition(root).first;
      errors_.back().column = included.map.ElementPosition(root).second;
    }
    return;
  }
  CheckAttributes(included, root, {});
  include_keys_.push_back(key);
  include_paths_.push_back(included.path);
  LoadChildren(included, root, Container::kFragment, steps);
  include_keys_.pop_back();
  include_paths_.pop_back();
}

LoadResult Loader::Load(absl::string_view text, const std::string& path) {
  LoadResult result;
  Scenario& s = result.scenario;
  scenario_ = &s;
  SourceFile f;
  f.path = path;
  f.text = std::string(text);
  if (Parse(f)) {
    const XMLElement* root = f.doc.RootElement();
    if (root == nullptr) {
      errors_.push_back(LoadError{path, 1, 1, "no <scenario> element"});
    } else if (std::strcmp(root->Name(), "scenario") != 0) {
      Error(f, root,
            absl::StrCat("the root element must be <scenario>, found <",
                         root->Name(), ">"));
    } else {
      for (const XMLElement* extra = root->NextSiblingElement();
           extra != nullptr; extra = extra->NextSiblingElement()) {
        Error(f, extra,
              absl::StrCat("<", extra->Name(), "> after the <scenario> root"));
      }
      const LoadError at = At(f, root);
      s.mutable_location()->set_file(at.file);
      s.mutable_location()->set_line(at.line);
      s.mutable_location()->set_column(at.column);
      CheckAttributes(f, root, {"name", "timeout", "tags"});
      if (const char* name = Required(f, root, "name")) {
        if (*name == '\0') {
          AttributeError(f, root, "name", "name must not be empty");
        }
        s.set_name(name);
      }
      *s.mutable_timeout() = *ParseTiming("120s");
      if (auto timeout = TimingAttribute(f, root, "timeout", false)) {
        if (timeout->is_range()) {
          AttributeError(f, root, "timeout",
                         "timeout cannot be a range: it is a fixed deadline");
        } else {
          *s.mutable_timeout() = *timeout;
        }
      }
      if (const char* tags = root->Attribute("tags")) {
        for (absl::string_view tag : absl::StrSplit(
                 tags, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
          s.add_tags(std::string(tag));
        }
      }
      PeerSpec& peer = *s.mutable_peer();
      peer.set_user("peer");
      peer.set_resource("Talk.v104");
      peer.set_caps_node("http://www.google.com/xmpp/client/caps");
      peer.set_caps_ver("1.0.0.104");
      peer.add_caps_ext("voice-v1");
      peer.mutable_behaviour();
      std::error_code ec;
      include_keys_.push_back(
          std::filesystem::weakly_canonical(path, ec).string());
      include_paths_.push_back(path);
      LoadChildren(f, root, Container::kScenario, *s.mutable_steps());
    }
  }
  for (const auto& [label, where] : gotos_) {
    if (labels_.count(label) == 0) {
      errors_.push_back(where);
      errors_.back().message =
          absl::StrCat("on-timeout goes to unknown label \"", label, "\"");
    }
  }
  // Files in the order they first appear, each in line and column order.
  std::map<std::string, size_t> file_order;
  for (const LoadError& error : errors_) {
    file_order.emplace(error.file, file_order.size());
  }
  std::stable_sort(
      errors_.begin(), errors_.end(),
      [&](const LoadError& a, const LoadError& b) {
        return std::make_tuple(file_order[a.file], a.line, a.column) <
               std::make_tuple(file_order[b.file], b.line, b.column);
      });
  result.errors = std::move(errors_);
  return result;
}

}  // namespace

std::string LoadError::ToString() const {
  if (line <= 0) return absl::StrCat(file, ": ", message);
  return absl::StrCat(file, ":", line, ":", column, ": ", message);
}

LoadResult LoadScenarioFile(const std::string& path,
                            const LoadOptions& options) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    LoadResult result;
    result.errors.push_back(LoadError{
        path, 0, 0,
        absl::StrCat("cannot read the file: ", text.status().message())});
    return result;
  }
  return LoadScenarioText(*text, path, options);
}

LoadResult LoadScenarioText(absl::string_view text, const std::string& path,
                            const LoadOptions& options) {
  return Loader(options).Load(text, path);
}

absl::StatusOr<Timing> ParseTiming(absl::string_view text) {
  Timing timing;
  const size_t dots = text.find("..");
  if (dots == absl::string_view::npos) {
    absl::StatusOr<int64_t> ms = ParseDurationMs(text);
    if (!ms.ok()) return ms.status();
    timing.set_ms(*ms);
    timing.set_min_ms(*ms);
    timing.set_max_ms(*ms);
    return timing;
  }
  absl::StatusOr<int64_t> min = ParseDurationMs(text.substr(0, dots));
  if (!min.ok()) return min.status();
  absl::StatusOr<int64_t> max = ParseDurationMs(text.substr(dots + 2));
  if (!max.ok()) return max.status();
  if (*min > *max) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid range \"", text,
                     "\": the minimum is greater than the maximum"));
  }
  timing.set_is_range(true);
  timing.set_ms(*max);
  timing.set_min_ms(*min);
  timing.set_max_ms(*max);
  return timing;
}

const std::vector<std::string>& BuiltinVariableNames() {
  static const std::vector<std::string>* const kNames =
      new std::vector<std::string>{"cut",    "cut_bare", "peer", "peer_bare",
                                   "server", "sid",      "iq",   "last_id"};
  return *kNames;
}

}  // namespace talkcheck::harness

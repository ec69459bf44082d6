#include "harness/scenario/match_value.h"

#include <memory>
#include <optional>
#include <regex>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "harness/scenario/text_cache.h"

namespace talkcheck::harness::scenario_internal {
namespace {

struct Segment {
  bool is_variable;
  std::string text;  // the literal, or the variable name
};

// Splits a value into literals and `${name}` references, with the escapes of
// Variables::Substitute.
absl::StatusOr<std::vector<Segment>> ParseValue(absl::string_view value) {
  std::vector<Segment> segments;
  std::string literal;
  size_t pos = 0;
  while (pos < value.size()) {
    // Up to the next '$' everything is literal.
    const size_t dollar = value.find('$', pos);
    literal.append(
        value.data() + pos,
        (dollar == absl::string_view::npos ? value.size() : dollar) - pos);
    if (dollar == absl::string_view::npos) break;
    pos = dollar;
    if (value.substr(pos, 3) == "$${") {
      literal += "${";
      pos += 3;
    } else if (value.substr(pos, 2) == "${") {
      const size_t close = value.find('}', pos + 2);
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError("unterminated '${'");
      }
      const absl::string_view name = value.substr(pos + 2, close - pos - 2);
      if (!IsValidVariableName(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid variable name '", name, "'"));
      }
      if (!literal.empty()) segments.push_back({false, std::move(literal)});
      literal.clear();
      segments.push_back({true, std::string(name)});
      pos = close + 1;
    } else {
      literal.push_back(value[pos++]);
    }
  }
  if (!literal.empty()) segments.push_back({false, std::move(literal)});
  return segments;
}

// The first run of more than kMaxRegexNumberDigits digits that std::regex
// would read as one number: after a backslash (a backreference) or in braces
// outside a bracket expression (a repetition count). Elsewhere digits are
// literals and may run on.
std::optional<size_t> OverlongNumber(absl::string_view source) {
  const auto digits_at = [&](size_t i) {
    size_t n = 0;
    while (i + n < source.size() && absl::ascii_isdigit(source[i + n])) ++n;
    return n;
  };
  bool in_class = false;
  bool in_braces = false;
  for (size_t i = 0; i < source.size(); ++i) {
    const char c = source[i];
    if (c == '\\') {
      if (digits_at(i + 1) > kMaxRegexNumberDigits) return i;
      ++i;  // the escaped character is a literal
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
    } else if (c == '{' || c == '}') {
      in_braces = c == '{';
    } else if (in_braces && absl::ascii_isdigit(c)) {
      const size_t n = digits_at(i);
      if (n > kMaxRegexNumberDigits) return i;
      i += n - 1;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::regex> CompileRegex(const std::string& source) {
  if (const std::optional<size_t> at = OverlongNumber(source)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a backreference or repetition count of more than ",
                     kMaxRegexNumberDigits, " digits at offset ", *at,
                     " (more than std::regex can count)"));
  }
  try {
    return std::regex(source, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

namespace {

// Patterns are matched against every incoming stanza while a step waits, so
// each regex is compiled once per thread.
using CompiledRegex = absl::StatusOr<std::regex>;
std::shared_ptr<const CompiledRegex> Compile(const std::string& source) {
  thread_local TextCache<CompiledRegex> regexes;
  return regexes.Get(source, [&] { return CompileRegex(source); });
}

// libstdc++'s regex executor recurses once per character or so and
// overflows the stack on values of some thousands of bytes (sooner under
// ASan). A stanza from the client must never crash the harness, so longer
// values are a mismatch that says why.
constexpr size_t kMaxRegexSubject = 1024;

// std::regex reports runaway backtracking by throwing; that is a mismatch
// with a reason, not a crash of the harness.
bool FullMatch(const std::regex& regex, const std::string& subject,
               std::string* error) {
  if (subject.size() > kMaxRegexSubject) {
    *error = absl::StrCat("value too long for a regular expression: ",
                          subject.size(), " bytes, limit ", kMaxRegexSubject);
    return false;
  }
  try {
    return std::regex_match(subject, regex);
  } catch (const std::regex_error& e) {
    *error = e.what();
    return false;
  }
}

// Matches `actual` from `pos` against segments[k..]: literals and set
// variables verbatim, a repeated unset variable as its first capture, and a
// first unset one as the shortest text that lets the rest match (so
// "${host}:${port}" splits at the first colon). Hand-written rather than a
// generated regex so it has no length limit.
bool MatchSegments(const std::vector<Segment>& segments, size_t k,
                   absl::string_view actual, size_t pos, const Variables& vars,
                   std::vector<std::pair<std::string, std::string>>& bound) {
  if (k == segments.size()) return pos == actual.size();
  // The text a segment stands for, or nullptr for an unset variable.
  auto fixed_text = [&](const Segment& segment) -> const std::string* {
    if (!segment.is_variable) return &segment.text;
    if (const std::string* value = vars.Get(segment.text)) return value;
    for (const auto& [name, value] : bound) {
      if (name == segment.text) return &value;
    }
    return nullptr;
  };
  const Segment& segment = segments[k];
  if (const std::string* fixed = fixed_text(segment)) {
    return absl::StartsWith(actual.substr(pos), *fixed) &&
           MatchSegments(segments, k + 1, actual, pos + fixed->size(), vars,
                         bound);
  }
  // Only ends where the next segment's text occurs are worth trying; the
  // last segment must take the rest.
  // A copy: it may live in `bound`, which grows below.
  std::optional<std::string> next;
  if (k + 1 < segments.size()) {
    if (const std::string* text = fixed_text(segments[k + 1])) next = *text;
  }
  for (size_t end = pos; end <= actual.size(); ++end) {
    if (k + 1 == segments.size()) {
      end = actual.size();
    } else if (next.has_value()) {
      end = actual.find(*next, end);
      if (end == absl::string_view::npos) return false;
    }
    bound.emplace_back(segment.text,
                       std::string(actual.substr(pos, end - pos)));
    if (MatchSegments(segments, k + 1, actual, end, vars, bound)) return true;
    bound.pop_back();
  }
  return false;
}

}  // namespace

std::string TrimmedText(const xmpp::Element& e) {
  return std::string(absl::StripAsciiWhitespace(e.Text()));
}

bool IsRegexValue(absl::string_view value) {
  return value.size() >= 2 && value.front() == '/' && value.back() == '/';
}

bool IsNegatedValue(absl::string_view value) {
  return absl::StartsWith(value, "!") && !absl::StartsWith(value, "!!");
}

std::string RegexEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (absl::string_view("\\^$.|?*+()[]{}").find(c) !=
        absl::string_view::npos) {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<std::string> RegexSource(absl::string_view value,
                                        const Variables& vars) {
  const absl::string_view body = value.substr(1, value.size() - 2);
  if (!absl::StrContains(body, "${")) return std::string(body);
  Variables escaped;
  for (const std::string& name : ReferencedVariables(body)) {
    if (const std::string* v = vars.Get(name)) {
      escaped.Set(name, RegexEscape(*v));
    }
  }
  return escaped.Substitute(body, /*escape_xml=*/false);
}

void Capture(CaptureState& ctx, const std::string& name,
             absl::string_view value) {
  ctx.work.Set(name, value);
  ctx.trail.push_back(name);
}

void Undo(CaptureState& ctx, size_t mark) {
  while (ctx.trail.size() > mark) {
    ctx.work.Erase(ctx.trail.back());
    ctx.trail.pop_back();
  }
}

bool MatchValue(const std::string& pattern, const std::string& actual,
                const Subject& subject, CaptureState& ctx,
                std::string* reason) {
  if (pattern == "*") return true;
  if (absl::StartsWith(pattern, "!!")) {  // a literal '!': a plain value
    return MatchPlainValue(pattern.substr(1), actual, subject, ctx, reason);
  }
  if (IsNegatedValue(pattern)) {
    const std::string inner = pattern.substr(1);
    if (!IsRegexValue(inner)) {
      for (const std::string& name : ReferencedVariables(inner)) {
        if (ctx.work.Has(name)) continue;
        const std::string error = absl::StrCat(
            "negated value ", pattern, " for ", subject.Name(), ": ${", name,
            "} is not set (a negation never captures)");
        if (ctx.error.empty()) ctx.error = error;
        if (reason) *reason = error;
        return false;
      }
    }
    // Every variable is set, so the inner match captures nothing.
    if (!MatchValue(inner, actual, subject, ctx, nullptr)) {
      return ctx.error.empty();
    }
    if (reason) {
      std::string shown = inner;
      if (!IsRegexValue(inner)) {
        absl::StatusOr<std::string> value =
            ctx.work.Substitute(inner, /*escape_xml=*/false);
        shown = absl::StrCat("'", value.ok() ? *value : inner, "'");
      }
      *reason = absl::StrCat("expected ", subject.Name(), " other than ", shown,
                             " (", pattern, "), got '", actual, "'");
    }
    return false;
  }
  if (IsRegexValue(pattern)) {
    absl::StatusOr<std::string> source = RegexSource(pattern, ctx.work);
    std::shared_ptr<const CompiledRegex> re;
    if (source.ok()) re = Compile(*source);
    if (!source.ok() || !re->ok()) {
      const std::string error = absl::StrCat(
          "invalid regular expression ", pattern, " for ", subject.Name(), ": ",
          (source.ok() ? re->status() : source.status()).message());
      if (ctx.error.empty()) ctx.error = error;
      if (reason) *reason = error;
      return false;
    }
    std::string error;
    if (FullMatch(**re, actual, &error)) return true;
    if (reason) {
      *reason = absl::StrCat(subject.ExpectedMatching(pattern), ", got '",
                             actual, "'");
      if (!error.empty()) absl::StrAppend(reason, " (", error, ")");
    }
    return false;
  }

  return MatchPlainValue(pattern, actual, subject, ctx, reason);
}

namespace {

// `actual` against `expected`, the value of `pattern` with its variables (if
// any) substituted.
bool MatchExpected(const std::string& expected, const std::string& pattern,
                   bool has_variables, const std::string& actual,
                   const Subject& subject, std::string* reason) {
  if (expected == actual) return true;
  if (reason) {
    *reason = subject.Expected(expected);
    if (has_variables) absl::StrAppend(reason, " (", pattern, ")");
    absl::StrAppend(reason, ", got '", actual, "'");
  }
  return false;
}

}  // namespace

bool MatchPlainValue(const std::string& pattern, const std::string& actual,
                     const Subject& subject, CaptureState& ctx,
                     std::string* reason) {
  if (pattern.find('$') == std::string::npos) {  // a literal, most values
    return MatchExpected(pattern, pattern, /*has_variables=*/false, actual,
                         subject, reason);
  }
  absl::StatusOr<std::vector<Segment>> segments = ParseValue(pattern);
  if (!segments.ok()) {
    if (reason) {
      *reason = absl::StrCat("invalid pattern value '", pattern, "' for ",
                             subject.Name(), ": ", segments.status().message());
    }
    return false;
  }
  bool has_variables = false;
  bool has_unset = false;
  for (const Segment& s : *segments) {
    if (!s.is_variable) continue;
    has_variables = true;
    if (!ctx.work.Has(s.text)) has_unset = true;
  }

  if (!has_unset) {
    std::string expected;
    for (const Segment& s : *segments) {
      expected += s.is_variable ? *ctx.work.Get(s.text) : s.text;
    }
    return MatchExpected(expected, pattern, has_variables, actual, subject,
                         reason);
  }

  if (segments->size() == 1) {  // a bare ${name}: the common capture
    Capture(ctx, segments->front().text, actual);
    return true;
  }

  // A capture inside literals.
  std::vector<std::pair<std::string, std::string>> bound;
  if (MatchSegments(*segments, 0, actual, 0, ctx.work, bound)) {
    for (const auto& [name, value] : bound) Capture(ctx, name, value);
    return true;
  }
  if (reason) {
    *reason =
        absl::StrCat(subject.ExpectedMatching(absl::StrCat("'", pattern, "'")),
                     ", got '", actual, "'");
  }
  return false;
}

}  // namespace talkcheck::harness::scenario_internal

// Pattern values: one attribute value or text of a stanza pattern against the
// actual one, in the forms matcher.h lists (literal, "*", "${name}",
// "/regex/", literals around captures). Regexes are compiled once per thread
// and refused on values long enough to overflow std::regex's stack; captures
// go into a CaptureState with a trail, so the element matcher's child search
// can undo a failed branch.
//
// Internal to the matcher; matcher.h is the API.
#ifndef TALKCHECK_HARNESS_SCENARIO_MATCH_VALUE_H_
#define TALKCHECK_HARNESS_SCENARIO_MATCH_VALUE_H_

#include <cstddef>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness::scenario_internal {

// An element's text as patterns see it: without surrounding whitespace.
std::string TrimmedText(const xmpp::Element& e);

// Whether a pattern value is a "/regex/".
bool IsRegexValue(absl::string_view value);

// Whether a pattern value is a negation "!VALUE" (not "!!", a literal "!").
bool IsNegatedValue(absl::string_view value);

// `text` with every character that is special in an ECMAScript regex escaped.
std::string RegexEscape(absl::string_view text);

// Compiles a regex source as the matcher runs it (ECMAScript), or says why it
// cannot: std::regex's own errors, and a backreference or repetition count of
// more than kMaxRegexNumberDigits digits, which libstdc++'s parser counts in a
// long that overflows (undefined behaviour; scenario_loader_fuzzer found
// `\5555555555555555555...` in an attribute pattern). The loader's lint and
// the matcher both compile through here, so a pattern the lint passes is one
// the matcher runs.
inline constexpr size_t kMaxRegexNumberDigits = 9;
absl::StatusOr<std::regex> CompileRegex(const std::string& source);

// The regex source of a "/regex/" value with its `${name}` references replaced
// by their values from `vars`, regex-escaped; kNotFound for an unset one.
absl::StatusOr<std::string> RegexSource(absl::string_view value,
                                        const Variables& vars);

// The variables as the match sees them, with a trail of the captures made so
// far so that a failed branch of the child search can undo its own.
struct CaptureState {
  Variables work;
  std::vector<std::string> trail;
  // The first pattern value that could not be evaluated (an invalid regex, a
  // variable a regex or a negation needs but that is unset): the scenario's
  // mistake, never a verdict about the client.
  std::string error;
};

// Sets `name` in ctx.work and records it on the trail.
void Capture(CaptureState& ctx, const std::string& name,
             absl::string_view value);

// Removes the captures recorded since the trail had `mark` entries.
void Undo(CaptureState& ctx, size_t mark);

// How a value is named in a reason: `attribute type='x'` or `text 'x'`.
struct Subject {
  bool is_text;
  absl::string_view label;  // attribute label; unused for text
  std::string Expected(absl::string_view value) const {
    return is_text
               ? absl::StrCat("expected text '", value, "'")
               : absl::StrCat("expected attribute ", label, "='", value, "'");
  }
  std::string ExpectedMatching(absl::string_view shown) const {
    return is_text ? absl::StrCat("expected text matching ", shown)
                   : absl::StrCat("expected attribute ", label, " matching ",
                                  shown);
  }
  std::string Name() const {
    return is_text ? "text" : absl::StrCat("attribute ", label);
  }
};

// Matches one attribute value or text against a pattern value (the forms of
// matcher.h), capturing into ctx. Writes the reason of a mismatch to `reason`
// when it is not null.
bool MatchValue(const std::string& pattern, const std::string& actual,
                const Subject& subject, CaptureState& ctx, std::string* reason);

// MatchValue for a literal, possibly with `${name}` inside (no "*", regex or
// negation).
bool MatchPlainValue(const std::string& pattern, const std::string& actual,
                     const Subject& subject, CaptureState& ctx,
                     std::string* reason);

}  // namespace talkcheck::harness::scenario_internal

#endif  // TALKCHECK_HARNESS_SCENARIO_MATCH_VALUE_H_

// Stanza patterns: does a stanza the client sent match what a scenario expects?
//
// A pattern is an element tree (parsed like any stanza) whose names and
// namespaces must match; matching happens on the namespace-resolved model,
// never on strings. Each attribute listed in the pattern must be present in the
// actual element with a value that matches:
//   "literal"   equal, after ${var} substitution of defined variables
//   "*"         any value (the attribute must be present)
//   "${name}"   captures the value if `name` is unset, else compares with it
//   "/regex/"   ECMAScript regular expression matching the whole value
//   "a-${x}-b"  a literal with an unset variable inside captures that part
//   "!VALUE"    any value that VALUE (a literal, "${name}" or "/regex/"; its
//               variables must be set) does not match; "!!x" is the literal
//               "!x"
// `${name}` inside a "/regex/" is replaced by the variable's value with regex
// metacharacters escaped (it must be set: a regex never captures).
// Character data in a pattern element (when not all whitespace) is matched the
// same way against the actual element's text. Each child of the pattern must be
// matched by a distinct child of the actual element, in any order (a search, so
// children with equal names are assigned correctly). Extra attributes and
// children are allowed unless `exact` is set.
//
// A pattern child with the attribute optional="true" in kPatternNs may be left
// without a partner: with `exact` (or `exact_children`) a list of optional
// children says "each actual child is one of these, none twice", e.g. an
// accept's payload-types as a subset of the offer's. An optional child never
// captures (the loader refuses one that would). A pattern child marked
// absent="true" in kPatternNs matches only when the actual element has no
// child of its name and namespace. Attributes in kPatternNs are instructions
// to the matcher, never compared.
//
// Captures are committed only when the whole pattern matches.
#ifndef TALKCHECK_HARNESS_SCENARIO_MATCHER_H_
#define TALKCHECK_HARNESS_SCENARIO_MATCHER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness {

// The namespace of the matcher's own attributes in a pattern
// (xmlns:tc="urn:talkcheck:pattern" tc:optional="true").
inline constexpr absl::string_view kPatternNs = "urn:talkcheck:pattern";

// Whether a pattern element is marked optional (tc:optional="true").
bool IsOptionalPatternChild(const xmpp::Element& pattern);

// Whether a pattern child says that no child of that name and namespace may
// be there (tc:absent="true"), e.g. a G1 initiate: no p2p <transport/>.
bool IsAbsent(const xmpp::Element& pattern);

struct MatchOptions {
  bool exact = false;
  // No extra children at any depth, but extra attributes are allowed.
  bool exact_children = false;
};

struct MatchResult {
  bool matched = false;
  // When not matched: the first difference, as a path and a reason, e.g.
  // "/iq/session[@type]: expected 'accept', got 'reject'" or
  // "/iq/session: missing child {http://www.google.com/session}candidate".
  std::string difference;
  // How much of the pattern matched (element names, attributes, children): used
  // to pick the nearest stanza for a failure report. Higher is nearer.
  int score = 0;
  // Set when the pattern itself cannot be evaluated (an invalid regex, an
  // unset variable in a regex or a negation): a scenario error, not a
  // mismatch. `matched` is then false.
  std::string error;
};

// Matches `actual` against `pattern`. On success, new captures are added to
// `vars`; on failure `vars` is unchanged.
MatchResult Match(const xmpp::Element& pattern, const xmpp::Element& actual,
                  Variables& vars, const MatchOptions& options = {});

// A failure report: the pattern and the nearest stanza side by side
// (pretty-printed with indentation), with the line of the first difference
// marked "  <-- here" followed by the difference text.
std::string RenderMismatch(const xmpp::Element& pattern,
                           const xmpp::Element& nearest,
                           const MatchResult& result);

// Pretty-prints an element with two-space indentation (for reports).
std::string PrettyPrint(const xmpp::Element& element);

// A MatchResult::difference split for machines (the JSON report): the path
// ("/iq/session[@type]"), the reason after it, and the values compared when
// the reason names them: "expected attribute type='result', got 'get'" gives
// expected "type='result'", actual "get"; "unexpected attribute x='1'
// (exact)" gives an empty expected and actual "x='1'".
struct DifferenceParts {
  std::string path;
  std::string reason;
  std::string expected;
  std::string actual;
};
DifferenceParts SplitDifference(const std::string& difference);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCENARIO_MATCHER_H_

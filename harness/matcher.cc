#include "harness/matcher.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

using xmpp::Element;

// Child assignment is a search; stanzas are small, but a pattern whose
// children share a capture can make it exponential. Past this many tried
// pairs the match fails with a "gave up" difference instead of hanging a run.
constexpr int kSearchBudget = 100000;

std::string QName(const Element& e) {
  return absl::StrCat("{", e.ns(), "}", e.name());
}

std::string AttrLabel(absl::string_view ns, absl::string_view name) {
  if (ns.empty()) return std::string(name);
  if (ns == xmpp::ns::kXml) return absl::StrCat("xml:", name);
  return absl::StrCat("{", ns, "}", name);
}

// "{ns}name a='1' b='2'": how a pattern child is named in a difference.
std::string Describe(const Element& e) {
  std::string out = QName(e);
  for (const xmpp::Attribute& a : e.attributes()) {
    absl::StrAppend(&out, " ", AttrLabel(a.ns, a.name), "='", a.value, "'");
  }
  return out;
}

std::string TrimmedText(const Element& e) {
  return std::string(absl::StripAsciiWhitespace(e.Text()));
}

bool IsRegexValue(absl::string_view value) {
  return value.size() >= 2 && value.front() == '/' && value.back() == '/';
}

// ---------------------------------------------------------------------------
// Pattern values.

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

struct CompiledRegex {
  std::optional<std::regex> regex;
  std::string error;  // why it did not compile
};

// Patterns are matched against every incoming stanza while a step waits, so
// compiling each regex once matters; the cache is per thread so no lock is
// needed, and bounded in case a long run meets many distinct patterns.
std::shared_ptr<const CompiledRegex> Compile(const std::string& source) {
  thread_local std::unordered_map<std::string,
                                  std::shared_ptr<const CompiledRegex>>
      cache;
  auto it = cache.find(source);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 1024) cache.clear();
  auto compiled = std::make_shared<CompiledRegex>();
  try {
    compiled->regex.emplace(source, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    compiled->error = e.what();
  }
  cache.emplace(source, compiled);
  return compiled;
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

// ---------------------------------------------------------------------------
// Match state.

// The variables as the match sees them, with a trail of the captures made so
// far so that a failed branch of the child search can undo its own.
struct Context {
  Variables work;
  std::vector<std::string> trail;
  MatchOptions options;
  int budget = kSearchBudget;
  std::string gave_up;  // path of the first search that ran out of budget
};

void Capture(Context& ctx, const std::string& name, absl::string_view value) {
  ctx.work.Set(name, value);
  ctx.trail.push_back(name);
}

void Undo(Context& ctx, size_t mark) {
  while (ctx.trail.size() > mark) {
    ctx.work.Erase(ctx.trail.back());
    ctx.trail.pop_back();
  }
}

// What a diagnosing match learns: the first difference and the score.
struct Diagnosis {
  int score = 0;
  std::string difference;
  void Fail(std::string d) {
    if (difference.empty()) difference = std::move(d);
  }
};

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
                const Subject& subject, Context& ctx, std::string* reason) {
  if (pattern == "*") return true;
  if (IsRegexValue(pattern)) {
    std::shared_ptr<const CompiledRegex> re =
        Compile(pattern.substr(1, pattern.size() - 2));
    if (!re->regex) {
      if (reason) {
        *reason = absl::StrCat("invalid regular expression ", pattern, " for ",
                               subject.Name(), ": ", re->error);
      }
      return false;
    }
    std::string error;
    if (FullMatch(*re->regex, actual, &error)) return true;
    if (reason) {
      *reason = absl::StrCat(subject.ExpectedMatching(pattern), ", got '",
                             actual, "'");
      if (!error.empty()) absl::StrAppend(reason, " (", error, ")");
    }
    return false;
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
    if (expected == actual) return true;
    if (reason) {
      *reason = subject.Expected(expected);
      if (has_variables) absl::StrAppend(reason, " (", pattern, ")");
      absl::StrAppend(reason, ", got '", actual, "'");
    }
    return false;
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

// How much a pattern element counts in a score when it fully matches.
int Weight(const Element& pattern) {
  int weight = 1 + static_cast<int>(pattern.attributes().size());
  if (!TrimmedText(pattern).empty()) ++weight;
  for (const Element* child : pattern.Children()) weight += Weight(*child);
  return weight;
}

// Variables referenced (outside regexes) in `pattern` and its descendants that
// are unset in `vars`.
void CollectUnset(const Element& pattern, const Variables& vars,
                  std::vector<std::string>& out) {
  auto add = [&](const std::string& value) {
    if (value == "*" || IsRegexValue(value)) return;
    for (std::string& name : ReferencedVariables(value)) {
      if (!vars.Has(name) &&
          std::find(out.begin(), out.end(), name) == out.end()) {
        out.push_back(std::move(name));
      }
    }
  };
  for (const xmpp::Attribute& a : pattern.attributes()) add(a.value);
  add(TrimmedText(pattern));
  for (const Element* child : pattern.Children()) {
    CollectUnset(*child, vars, out);
  }
}

// "/iq/session/candidate[2]": the index counts siblings with the same local
// name and is written only when there are several, as in XPath.
std::string SiblingPath(absl::string_view parent_path,
                        const std::vector<const Element*>& siblings,
                        size_t index) {
  int count = 0;
  int ordinal = 0;
  for (size_t k = 0; k < siblings.size(); ++k) {
    if (siblings[k]->name() != siblings[index]->name()) continue;
    ++count;
    if (k <= index) ++ordinal;
  }
  if (count == 1)
    return absl::StrCat(parent_path, "/", siblings[index]->name());
  return absl::StrCat(parent_path, "/", siblings[index]->name(), "[", ordinal,
                      "]");
}

bool MatchElement(const Element& pattern, const Element& actual,
                  const std::string& path, Context& ctx, Diagnosis* diag);

// Assigns each pattern child a distinct actual child. Children whose unset
// variables no sibling shares are context-free: they are paired by bipartite
// matching (augmenting paths) on a memoised compatibility table. Children that
// share an unset variable depend on each other's captures and are searched in
// pattern order with backtracking, undoing captures when a branch fails.
class ChildAssigner {
 public:
  ChildAssigner(const std::vector<const Element*>& patterns,
                const std::vector<const Element*>& actuals,
                const std::vector<std::string>& paths,
                const std::string& parent_path, Context& ctx)
      : patterns_(patterns),
        actuals_(actuals),
        paths_(paths),
        parent_path_(parent_path),
        ctx_(ctx),
        owner_(actuals.size(), -1),
        dependent_(patterns.size(), false),
        captures_(patterns.size(), false),
        compatible_(patterns.size(), std::vector<int8_t>(actuals.size(), 0)) {}

  // On success the captures stay in ctx and `assignment[i]` is the actual
  // child of pattern child i; on failure ctx is as before.
  bool Run(std::vector<int>& assignment) {
    if (patterns_.size() > actuals_.size()) return false;
    const size_t mark = ctx_.trail.size();
    Classify();
    // The table is filled here, in the entry context: the search later
    // narrows the context, and a row filled then would be wrong after a
    // backtrack. A child that fits nothing now fits nothing later either
    // (captures only narrow), so fail before any search.
    for (size_t i = 0; i < patterns_.size(); ++i) {
      bool any = false;
      for (size_t j = 0; j < actuals_.size(); ++j) {
        compatible_[i][j] = Try(i, j) ? 1 : 0;
        any = any || compatible_[i][j] == 1;
      }
      if (!any) return false;
    }
    for (size_t i = 0; i < patterns_.size(); ++i) {
      if (dependent_[i]) dependents_.push_back(i);
    }
    if (!Search(0)) {
      Undo(ctx_, mark);
      return false;
    }
    assignment.assign(patterns_.size(), -1);
    for (size_t j = 0; j < actuals_.size(); ++j) {
      if (owner_[j] >= 0) assignment[owner_[j]] = static_cast<int>(j);
    }
    return true;
  }

 private:
  void Classify() {
    std::vector<std::vector<std::string>> unset(patterns_.size());
    std::map<std::string, int> uses;
    for (size_t i = 0; i < patterns_.size(); ++i) {
      CollectUnset(*patterns_[i], ctx_.work, unset[i]);
      for (const std::string& name : unset[i]) ++uses[name];
      captures_[i] = !unset[i].empty();
    }
    for (size_t i = 0; i < patterns_.size(); ++i) {
      for (const std::string& name : unset[i]) {
        if (uses[name] > 1) dependent_[i] = true;
      }
    }
  }

  bool Spend() {
    if (ctx_.budget <= 0) {
      if (ctx_.gave_up.empty()) ctx_.gave_up = parent_path_;
      return false;
    }
    --ctx_.budget;
    return true;
  }

  // Whether pattern child i matches actual child j in the current context,
  // leaving no captures behind.
  bool Try(size_t i, size_t j) {
    if (!actuals_[j]->Is(patterns_[i]->ns(), patterns_[i]->name())) {
      return false;
    }
    if (!Spend()) return false;
    const size_t mark = ctx_.trail.size();
    const bool ok =
        MatchElement(*patterns_[i], *actuals_[j], paths_[i], ctx_, nullptr);
    Undo(ctx_, mark);
    return ok;
  }

  // Exact for independent children, whose inputs the search never changes,
  // and a necessary condition for dependent ones.
  bool Fits(size_t i, size_t j) const { return compatible_[i][j] == 1; }

  bool Search(size_t k) {
    if (k == dependents_.size()) return AssignIndependent();
    const size_t i = dependents_[k];
    for (size_t j = 0; j < actuals_.size(); ++j) {
      if (owner_[j] >= 0 || !Fits(i, j) || !Spend()) continue;
      const size_t mark = ctx_.trail.size();
      if (MatchElement(*patterns_[i], *actuals_[j], paths_[i], ctx_, nullptr)) {
        owner_[j] = static_cast<int>(i);
        if (Search(k + 1)) return true;
        owner_[j] = -1;
      }
      Undo(ctx_, mark);
    }
    return false;
  }

  bool AssignIndependent() {
    for (size_t i = 0; i < patterns_.size(); ++i) {
      if (dependent_[i]) continue;
      std::vector<bool> visited(actuals_.size(), false);
      if (!Augment(i, visited)) {
        for (int& owner : owner_) {
          if (owner >= 0 && !dependent_[owner]) owner = -1;
        }
        return false;
      }
    }
    // The pairing is settled: redo the matches that capture, so their values
    // are recorded (they cannot fail: no sibling touched their variables).
    for (size_t j = 0; j < actuals_.size(); ++j) {
      const int i = owner_[j];
      if (i < 0 || dependent_[i] || !captures_[i]) continue;
      MatchElement(*patterns_[i], *actuals_[j], paths_[i], ctx_, nullptr);
    }
    return true;
  }

  bool Augment(size_t i, std::vector<bool>& visited) {
    for (size_t j = 0; j < actuals_.size(); ++j) {
      if (visited[j] || !Fits(i, j)) continue;
      const int owner = owner_[j];
      if (owner >= 0 && dependent_[owner]) continue;
      visited[j] = true;
      if (owner < 0 || Augment(static_cast<size_t>(owner), visited)) {
        owner_[j] = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }

  const std::vector<const Element*>& patterns_;
  const std::vector<const Element*>& actuals_;
  const std::vector<std::string>& paths_;
  const std::string& parent_path_;
  Context& ctx_;
  std::vector<int> owner_;  // per actual child: the pattern child, or -1
  std::vector<bool> dependent_;
  std::vector<bool> captures_;
  std::vector<size_t> dependents_;
  std::vector<std::vector<int8_t>> compatible_;  // in the entry context
};

// Explains why no assignment exists, for a failure report: pairs children
// greedily in pattern order and describes the first child left without a
// partner, with what each candidate lacked. Adds the partial scores.
void DiagnoseChildren(const std::vector<const Element*>& patterns,
                      const std::vector<const Element*>& actuals,
                      const std::vector<std::string>& paths,
                      const std::string& parent_path, Context& ctx,
                      Diagnosis& diag) {
  std::vector<int> owner(actuals.size(), -1);
  bool explained = false;
  auto fail = [&](std::string difference) {
    explained = true;
    diag.Fail(std::move(difference));
  };
  for (size_t i = 0; i < patterns.size(); ++i) {
    const Element& pattern = *patterns[i];
    std::vector<size_t> candidates;
    for (size_t j = 0; j < actuals.size(); ++j) {
      if (actuals[j]->Is(pattern.ns(), pattern.name())) candidates.push_back(j);
    }
    if (candidates.empty()) {
      fail(absl::StrCat(parent_path, ": missing child ", QName(pattern)));
      continue;
    }
    bool found = false;
    for (size_t j : candidates) {
      if (owner[j] >= 0) continue;
      const size_t mark = ctx.trail.size();
      if (MatchElement(pattern, *actuals[j], paths[i], ctx, nullptr)) {
        owner[j] = static_cast<int>(i);
        diag.score += Weight(pattern);
        found = true;
        break;
      }
      Undo(ctx, mark);
    }
    if (found) continue;

    if (candidates.size() == 1 && owner[candidates[0]] < 0) {
      // One candidate: its own first difference is the clearest reason.
      Diagnosis sub;
      const size_t mark = ctx.trail.size();
      MatchElement(pattern, *actuals[candidates[0]], paths[i], ctx, &sub);
      Undo(ctx, mark);
      diag.score += sub.score;
      fail(
          sub.difference.empty()
              ? absl::StrCat(paths[i], ": no child matches ", Describe(pattern))
              : sub.difference);
      continue;
    }
    std::vector<std::string> tried;
    int best = 0;
    for (size_t j : candidates) {
      const std::string label = SiblingPath("", actuals, j).substr(1);
      if (owner[j] >= 0) {
        tried.push_back(
            absl::StrCat(label, " already matched by ", paths[owner[j]]));
        continue;
      }
      Diagnosis sub;
      const size_t mark = ctx.trail.size();
      MatchElement(pattern, *actuals[j], label, ctx, &sub);
      Undo(ctx, mark);
      best = std::max(best, sub.score);
      tried.push_back(sub.difference.empty() ? absl::StrCat(label, ": no match")
                                             : std::move(sub.difference));
    }
    diag.score += best;
    fail(absl::StrCat(paths[i], ": no child matches ", Describe(pattern), " (",
                      candidates.size(),
                      candidates.size() == 1 ? " candidate" : " candidates",
                      " tried: ", absl::StrJoin(tried, "; "), ")"));
  }
  if (explained) return;
  // Greedy found partners for all: only the search's budget or exact mode
  // can have failed it.
  if (ctx.options.exact) {
    for (size_t j = 0; j < actuals.size(); ++j) {
      if (owner[j] >= 0) continue;
      diag.Fail(absl::StrCat(parent_path, ": unexpected extra child ",
                             Describe(*actuals[j]), " (exact)"));
      return;
    }
  }
  diag.Fail(absl::StrCat(parent_path, ": gave up assigning children"));
}

// Matches one pattern element. Without `diag` it stops at the first
// difference (the search's fast path); with it, it goes on to total the score
// and records the first difference in pattern order.
bool MatchElement(const Element& pattern, const Element& actual,
                  const std::string& path, Context& ctx, Diagnosis* diag) {
  if (!actual.Is(pattern.ns(), pattern.name())) {
    if (diag) {
      diag->Fail(absl::StrCat(path, ": expected element ", QName(pattern),
                              ", got ", QName(actual)));
    }
    return false;
  }
  bool ok = true;
  std::string reason;
  std::string* const why = diag ? &reason : nullptr;
  if (diag) ++diag->score;

  for (const xmpp::Attribute& attr : pattern.attributes()) {
    // Labels are only needed for reasons, so the search's fast path skips them.
    const std::string label = diag ? AttrLabel(attr.ns, attr.name) : "";
    const std::string* value = actual.Attr(attr.ns, attr.name);
    if (value != nullptr &&
        MatchValue(attr.value, *value, Subject{false, label}, ctx, why)) {
      if (diag) ++diag->score;
      continue;
    }
    ok = false;
    if (!diag) return false;
    diag->Fail(
        value == nullptr
            ? absl::StrCat(path, "[@", label, "]: missing attribute ", label)
            : absl::StrCat(path, "[@", label, "]: ", reason));
  }
  if (ctx.options.exact) {
    for (const xmpp::Attribute& attr : actual.attributes()) {
      if (pattern.Attr(attr.ns, attr.name) != nullptr) continue;
      ok = false;
      if (!diag) return false;
      const std::string label = AttrLabel(attr.ns, attr.name);
      diag->Fail(absl::StrCat(path, "[@", label, "]: unexpected attribute ",
                              label, "='", attr.value, "' (exact)"));
    }
  }

  const std::string pattern_text = TrimmedText(pattern);
  const std::string actual_text = TrimmedText(actual);
  if (!pattern_text.empty()) {
    if (MatchValue(pattern_text, actual_text, Subject{true, {}}, ctx, why)) {
      if (diag) ++diag->score;
    } else {
      ok = false;
      if (!diag) return false;
      diag->Fail(absl::StrCat(path, ": ", reason));
    }
  } else if (ctx.options.exact && !actual_text.empty()) {
    ok = false;
    if (!diag) return false;
    diag->Fail(
        absl::StrCat(path, ": unexpected text '", actual_text, "' (exact)"));
  }

  const std::vector<const Element*> patterns = pattern.Children();
  const std::vector<const Element*> actuals = actual.Children();
  if (patterns.empty()) {
    if (ctx.options.exact && !actuals.empty()) {
      if (diag) {
        diag->Fail(absl::StrCat(path, ": unexpected extra child ",
                                Describe(*actuals.front()), " (exact)"));
      }
      return false;
    }
    return ok;
  }
  std::vector<std::string> paths;
  paths.reserve(patterns.size());
  for (size_t i = 0; i < patterns.size(); ++i) {
    paths.push_back(SiblingPath(path, patterns, i));
  }
  std::vector<int> assignment;
  if (ChildAssigner(patterns, actuals, paths, path, ctx).Run(assignment)) {
    if (diag) {
      for (const Element* child : patterns) diag->score += Weight(*child);
    }
    if (ctx.options.exact && actuals.size() > patterns.size()) {
      if (diag) {
        for (size_t j = 0; j < actuals.size(); ++j) {
          if (std::find(assignment.begin(), assignment.end(),
                        static_cast<int>(j)) != assignment.end()) {
            continue;
          }
          diag->Fail(absl::StrCat(path, ": unexpected extra child ",
                                  Describe(*actuals[j]), " (exact)"));
          break;
        }
      }
      return false;
    }
    return ok;
  }
  if (diag) DiagnoseChildren(patterns, actuals, paths, path, ctx, *diag);
  return false;
}

// ---------------------------------------------------------------------------
// Printing.

// A pretty-printed tree and the line each element starts on.
struct Printed {
  std::vector<std::string> lines;
  std::map<const Element*, size_t> line_of;
};

std::string EscapeInline(absl::string_view text) {
  // One element per line: a line break inside text would break the layout
  // (and the line a difference is marked on).
  return absl::StrReplaceAll(xmpp::EscapeText(text), {{"\n", "&#10;"}});
}

void Print(const Element& e, absl::string_view parent_ns, int depth,
           Printed& out) {
  std::string line(2 * depth, ' ');
  absl::StrAppend(&line, "<", e.name());
  if (e.ns() != parent_ns) {
    absl::StrAppend(&line, " xmlns=\"", xmpp::EscapeAttribute(e.ns()), "\"");
  }
  // Namespaced attributes other than xml:* need a prefix, declared here.
  std::vector<std::string> prefixed;  // URIs, prefix "ns<k+1>"
  std::string attributes;
  for (const xmpp::Attribute& a : e.attributes()) {
    std::string qname = a.name;
    if (a.ns == xmpp::ns::kXml) {
      qname = absl::StrCat("xml:", a.name);
    } else if (!a.ns.empty()) {
      auto it = std::find(prefixed.begin(), prefixed.end(), a.ns);
      if (it == prefixed.end()) {
        prefixed.push_back(a.ns);
        absl::StrAppend(&line, " xmlns:ns", prefixed.size(), "=\"",
                        xmpp::EscapeAttribute(a.ns), "\"");
        it = prefixed.end() - 1;
      }
      qname = absl::StrCat("ns", it - prefixed.begin() + 1, ":", a.name);
    }
    absl::StrAppend(&attributes, " ", qname, "=\"",
                    xmpp::EscapeAttribute(a.value), "\"");
  }
  line += attributes;

  out.line_of[&e] = out.lines.size();
  const std::vector<const Element*> children = e.Children();
  const std::string text = TrimmedText(e);
  if (children.empty()) {
    if (text.empty()) {
      line += "/>";
    } else {
      absl::StrAppend(&line, ">", EscapeInline(text), "</", e.name(), ">");
    }
    out.lines.push_back(std::move(line));
    return;
  }
  line += ">";
  out.lines.push_back(std::move(line));
  if (!text.empty()) {
    out.lines.push_back(
        absl::StrCat(std::string(2 * depth + 2, ' '), EscapeInline(text)));
  }
  for (const Element* child : children) Print(*child, e.ns(), depth + 1, out);
  out.lines.push_back(
      absl::StrCat(std::string(2 * depth, ' '), "</", e.name(), ">"));
}

Printed PrintTree(const Element& e) {
  Printed out;
  Print(e, xmpp::ns::kClient, 0, out);
  return out;
}

// One step of a difference path: "candidate[2]" or "session[@type]".
struct PathStep {
  std::string name;
  int index = 0;  // 0 when the path gives none
};

// Splits "/iq/session[@type]: reason" into steps and the reason. False if
// `difference` is not in the form MatchElement writes.
bool ParseDifference(absl::string_view difference, std::vector<PathStep>& steps,
                     std::string& reason) {
  size_t pos = 0;
  if (difference.empty() || difference[0] != '/') return false;
  while (pos < difference.size() && difference[pos] == '/') {
    ++pos;
    PathStep step;
    while (pos < difference.size() &&
           !absl::StrContains("/[:", difference[pos])) {
      step.name.push_back(difference[pos++]);
    }
    while (pos < difference.size() && difference[pos] == '[') {
      ++pos;
      if (pos < difference.size() && difference[pos] == '@') {
        int braces = 0;  // "{uri}name" labels may hold ']' in the URI
        while (pos < difference.size() &&
               (difference[pos] != ']' || braces > 0)) {
          if (difference[pos] == '{') ++braces;
          if (difference[pos] == '}') --braces;
          ++pos;
        }
      } else {
        int index = 0;
        while (pos < difference.size() &&
               absl::ascii_isdigit(difference[pos])) {
          index = index * 10 + (difference[pos++] - '0');
        }
        step.index = index;
      }
      if (pos >= difference.size() || difference[pos] != ']') return false;
      ++pos;
    }
    if (step.name.empty()) return false;
    steps.push_back(std::move(step));
  }
  if (difference.substr(pos, 2) != ": ") return false;
  reason = std::string(difference.substr(pos + 2));
  return true;
}

}  // namespace

MatchResult Match(const xmpp::Element& pattern, const xmpp::Element& actual,
                  Variables& vars, const MatchOptions& options) {
  Context ctx;
  ctx.work = vars;
  ctx.options = options;
  Diagnosis diag;
  MatchResult result;
  result.matched = MatchElement(pattern, actual,
                                absl::StrCat("/", pattern.name()), ctx, &diag);
  result.score = diag.score;
  if (result.matched) {
    for (const std::string& name : ctx.trail) {
      vars.Set(name, *ctx.work.Get(name));
    }
  } else if (!ctx.gave_up.empty()) {
    result.difference = absl::StrCat(
        ctx.gave_up, ": gave up after ", kSearchBudget,
        " child comparisons (children sharing captures have too many "
        "possible pairings)");
  } else {
    result.difference = std::move(diag.difference);
  }
  return result;
}

std::string PrettyPrint(const xmpp::Element& element) {
  Printed printed = PrintTree(element);
  std::string out;
  for (const std::string& line : printed.lines)
    absl::StrAppend(&out, line, "\n");
  return out;
}

std::string RenderMismatch(const xmpp::Element& pattern,
                           const xmpp::Element& nearest,
                           const MatchResult& result) {
  Printed expected = PrintTree(pattern);
  Printed received = PrintTree(nearest);

  std::vector<PathStep> steps;
  std::string reason;
  if (!result.matched && ParseDifference(result.difference, steps, reason)) {
    // Follow the path down the pattern; the actual element at each step is
    // the only child with the pattern's name (the matcher descends into a
    // child only then), else the difference is about what the actual lacks.
    const Element* in_pattern = &pattern;
    const Element* in_actual = &nearest;
    for (size_t k = 1; k < steps.size() && in_pattern != nullptr; ++k) {
      std::vector<const Element*> named;
      for (const Element* child : in_pattern->Children()) {
        if (child->name() == steps[k].name) named.push_back(child);
      }
      const size_t index = steps[k].index > 0 ? steps[k].index - 1 : 0;
      in_pattern = index < named.size() ? named[index] : nullptr;
      if (in_actual == nullptr || in_pattern == nullptr) {
        in_actual = nullptr;
        continue;
      }
      std::vector<const Element*> same =
          in_actual->FindChildren(in_pattern->ns(), in_pattern->name());
      in_actual = same.size() == 1 ? same.front() : nullptr;
    }
    const std::string mark = absl::StrCat("  <-- ", reason);
    if (absl::StartsWith(reason, "no child matches")) in_actual = nullptr;
    if (in_actual != nullptr) {
      received.lines[received.line_of[in_actual]] += mark;
    } else if (in_pattern != nullptr) {
      expected.lines[expected.line_of[in_pattern]] += mark;
    }
  }

  std::string out;
  if (!result.matched) {
    absl::StrAppend(&out, "first difference: ", result.difference, "\n");
  }
  out += "expected:\n";
  for (const std::string& line : expected.lines) {
    absl::StrAppend(&out, "  ", line, "\n");
  }
  out += "nearest stanza received:\n";
  for (const std::string& line : received.lines) {
    absl::StrAppend(&out, "  ", line, "\n");
  }
  return out;
}

}  // namespace talkcheck::harness

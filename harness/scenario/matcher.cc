// Element matching: names, namespaces, attributes and text (each value through
// match_value.h), and the assignment of pattern children to distinct actual
// children. Printing and the failure report are in mismatch_render.cc.
#include "harness/scenario/matcher.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "harness/scenario/match_value.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

using scenario_internal::CaptureState;
using scenario_internal::IsNegatedValue;
using scenario_internal::IsRegexValue;
using scenario_internal::MatchValue;
using scenario_internal::Subject;
using scenario_internal::TrimmedText;
using scenario_internal::Undo;
using xmpp::Element;

// Child assignment is a search; stanzas are small, but a pattern whose
// children share a capture can make it exponential. Past this many tried
// pairs the match fails with a "gave up" difference instead of hanging a run.
constexpr int kSearchBudget = 100000;

// Most attributes have no namespace: the length settles it.
bool IsPatternNs(absl::string_view ns) { return ns == kPatternNs; }

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
    if (IsPatternNs(a.ns)) continue;
    absl::StrAppend(&out, " ", AttrLabel(a.ns, a.name), "='", a.value, "'");
  }
  return out;
}

// ---------------------------------------------------------------------------
// Match state.

// The captures so far, and what the child search needs to know.
struct Context : CaptureState {
  MatchOptions options;
  int budget = kSearchBudget;
  std::string gave_up;  // path of the first search that ran out of budget
};

// What a diagnosing match learns: the first difference and the score.
struct Diagnosis {
  int score = 0;
  std::string difference;
  void Fail(std::string d) {
    if (difference.empty()) difference = std::move(d);
  }
};

// How much a pattern element counts in a score when it fully matches.
int Weight(const Element& pattern) {
  int weight = 1;
  for (const xmpp::Attribute& a : pattern.attributes()) {
    if (!IsPatternNs(a.ns)) ++weight;
  }
  if (!TrimmedText(pattern).empty()) ++weight;
  for (const Element* child : pattern.Children()) weight += Weight(*child);
  return weight;
}

// Variables referenced (outside regexes) in `pattern` and its descendants that
// are unset in `vars`.
void CollectUnset(const Element& pattern, const Variables& vars,
                  std::vector<std::string>& out) {
  auto add = [&](const std::string& value) {
    if (value == "*" || IsRegexValue(value) || IsNegatedValue(value)) return;
    for (std::string& name : ReferencedVariables(value)) {
      if (!vars.Has(name) &&
          std::find(out.begin(), out.end(), name) == out.end()) {
        out.push_back(std::move(name));
      }
    }
  };
  for (const xmpp::Attribute& a : pattern.attributes()) {
    if (!IsPatternNs(a.ns)) add(a.value);
  }
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
    size_t required = patterns_.size();
    for (size_t i = 0; i < patterns_.size(); ++i) {
      if (!IsOptionalPatternChild(*patterns_[i])) continue;
      if (optional_.empty()) optional_.assign(patterns_.size(), false);
      optional_[i] = true;
      --required;
    }
    if (required > actuals_.size()) return false;
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
      if (!any && !Optional(i)) return false;
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
      if (Optional(i)) continue;  // captures nothing (the loader sees to it)
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
      if (dependent_[i] || Optional(i)) continue;
      std::vector<bool> visited(actuals_.size(), false);
      if (!Augment(i, visited)) {
        for (int& owner : owner_) {
          if (owner >= 0 && !dependent_[owner]) owner = -1;
        }
        return false;
      }
    }
    // Optional children take what they can. An augmenting path keeps every
    // child that had a partner matched, so the pairing ends maximal with the
    // required children all in it: an actual child left over has no pattern
    // child to be (what `exact` checks).
    for (size_t i = 0; i < patterns_.size(); ++i) {
      if (!Optional(i)) continue;
      std::vector<bool> visited(actuals_.size(), false);
      Augment(i, visited);
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
  bool Optional(size_t i) const { return !optional_.empty() && optional_[i]; }

  std::vector<int> owner_;      // per actual child: the pattern child, or -1
  std::vector<bool> optional_;  // empty when no child is optional (most)
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
    const bool optional = IsOptionalPatternChild(pattern);
    std::vector<size_t> candidates;
    for (size_t j = 0; j < actuals.size(); ++j) {
      if (actuals[j]->Is(pattern.ns(), pattern.name())) candidates.push_back(j);
    }
    if (candidates.empty() && optional) continue;
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
    if (found || optional) continue;

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
  if (ctx.options.exact || ctx.options.exact_children) {
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
    if (IsPatternNs(attr.ns)) continue;  // for the matcher, not compared
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

  std::vector<const Element*> patterns = pattern.Children();
  const std::vector<const Element*> actuals = actual.Children();
  // Children marked tc:absent say what the stanza must not hold; they are
  // never paired.
  const auto absent_end =
      std::stable_partition(patterns.begin(), patterns.end(),
                            [](const Element* p) { return !IsAbsent(*p); });
  for (auto it = absent_end; it != patterns.end(); ++it) {
    const Element& absent = **it;
    for (const Element* child : actuals) {
      if (!child->Is(absent.ns(), absent.name())) continue;
      ok = false;
      if (!diag) return false;
      diag->Fail(absl::StrCat(path, ": unexpected child ", Describe(*child),
                              " (the pattern marks ", QName(absent),
                              " tc:absent)"));
      break;
    }
  }
  patterns.erase(absent_end, patterns.end());
  if (patterns.empty()) {
    if ((ctx.options.exact || ctx.options.exact_children) && !actuals.empty()) {
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
    const size_t paired = static_cast<size_t>(
        std::count_if(assignment.begin(), assignment.end(),
                      [](int actual) { return actual >= 0; }));
    if (diag) {
      for (size_t i = 0; i < patterns.size(); ++i) {
        if (assignment[i] >= 0) diag->score += Weight(*patterns[i]);
      }
    }
    if ((ctx.options.exact || ctx.options.exact_children) &&
        actuals.size() > paired) {
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

}  // namespace

bool IsOptionalPatternChild(const xmpp::Element& pattern) {
  const std::string* optional = pattern.Attr(kPatternNs, "optional");
  return optional != nullptr && *optional == "true";
}

bool IsAbsent(const xmpp::Element& pattern) {
  const std::string* absent = pattern.Attr(kPatternNs, "absent");
  return absent != nullptr && *absent == "true";
}

MatchResult Match(const xmpp::Element& pattern, const xmpp::Element& actual,
                  Variables& vars, const MatchOptions& options) {
  Context ctx;
  ctx.work = Variables(&vars);
  ctx.options = options;
  Diagnosis diag;
  MatchResult result;
  result.matched = MatchElement(pattern, actual,
                                absl::StrCat("/", pattern.name()), ctx, &diag);
  result.score = diag.score;
  if (!ctx.error.empty()) {
    result.matched = false;
    result.error = ctx.error;
    result.difference = ctx.error;
  } else if (result.matched) {
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

}  // namespace talkcheck::harness

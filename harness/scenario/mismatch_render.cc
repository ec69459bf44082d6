// The failure report: pattern and nearest stanza pretty-printed side by side,
// with the line of the first difference marked (RenderMismatch, PrettyPrint in
// matcher.h). The mark is placed by reading the path back out of the
// difference text Match() writes.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "harness/scenario/match_value.h"
#include "harness/scenario/matcher.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

using scenario_internal::TrimmedText;
using xmpp::Element;

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

DifferenceParts SplitDifference(const std::string& difference) {
  DifferenceParts parts;
  std::vector<PathStep> steps;
  if (!ParseDifference(difference, steps, parts.reason)) {
    parts.reason = difference;
    return parts;
  }
  parts.path =
      difference.substr(0, difference.size() - parts.reason.size() - 2);
  absl::string_view reason = parts.reason;
  if (absl::ConsumePrefix(&reason, "expected ")) {
    const size_t got = reason.rfind(", got '");
    if (got != absl::string_view::npos) {
      absl::string_view expected = reason.substr(0, got);
      absl::string_view actual = reason.substr(got + 7);
      // "attribute type='x' (${v})" and "text 'x'": the value alone.
      if (const size_t paren = expected.find(" (");
          paren != absl::string_view::npos && !expected.empty() &&
          expected.back() == ')') {
        expected = expected.substr(0, paren);
      }
      absl::ConsumePrefix(&expected, "attribute ");
      absl::ConsumePrefix(&expected, "text ");
      parts.expected = std::string(expected);
      const size_t close = actual.rfind('\'');
      parts.actual = std::string(actual.substr(0, close));
    } else {
      parts.expected = std::string(reason);
    }
  } else if (absl::ConsumePrefix(&reason, "missing attribute ")) {
    parts.expected = absl::StrCat("attribute ", reason);
  } else if (absl::ConsumePrefix(&reason, "missing child ") ||
             absl::ConsumePrefix(&reason, "no child matches ")) {
    parts.expected = std::string(reason);
  } else if (absl::ConsumePrefix(&reason, "unexpected attribute ") ||
             absl::ConsumePrefix(&reason, "unexpected extra child ") ||
             absl::ConsumePrefix(&reason, "unexpected text ")) {
    absl::ConsumeSuffix(&reason, " (exact)");
    parts.actual = std::string(reason);
  }
  return parts;
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

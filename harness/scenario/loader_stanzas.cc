// Loader: the stanza a <send>, <expect> or <expect-none> holds, and the
// ${variable} references in stanzas and attributes (defined, captured, or an
// error).
#include <algorithm>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "harness/scenario/loader_internal.h"
#include "harness/scenario/match_value.h"
#include "harness/scenario/matcher.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness::scenario_internal {
namespace {

// Whether `a` is one typo away from `b`: one character replaced, inserted
// in the middle, deleted from the middle, or two neighbours swapped. A
// character added or dropped at either end is not counted: `csid` next to
// `sid` is a naming habit more often than a slip.
bool OneTypoApart(absl::string_view a, absl::string_view b) {
  if (a == b) return false;
  if (a.size() < b.size()) std::swap(a, b);
  if (a.size() == b.size()) {
    std::vector<size_t> diff;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] != b[i]) diff.push_back(i);
    }
    if (diff.size() == 1) return true;
    return diff.size() == 2 && diff[1] == diff[0] + 1 &&
           a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]];
  }
  if (a.size() != b.size() + 1) return false;
  for (size_t i = 1; i + 1 < a.size(); ++i) {  // not at either end
    if (absl::StrCat(a.substr(0, i), a.substr(i + 1)) == b) return true;
  }
  return false;
}

// Namespaces under Google's prefixes that talkcheck knows (PROTOCOL.md);
// another one on a session element is most likely a typo.
bool IsKnownGoogleNamespace(absl::string_view ns) {
  for (const char* known :
       {xmpp::ns::kGoogleSession, xmpp::ns::kGooglePhone,
        xmpp::ns::kGoogleVideo, xmpp::ns::kGoogleP2p, xmpp::ns::kJingleInfo,
        xmpp::ns::kGoogleCapsNode, xmpp::ns::kGoogleVoiceV1,
        xmpp::ns::kGoogleVideoV1, xmpp::ns::kGoogleCameraV1,
        "http://www.google.com/session/share",
        "http://www.google.com/transport/raw-udp"}) {
    if (ns == known) return true;
  }
  return false;
}

bool IsGoogleNamespace(absl::string_view ns) {
  return absl::StartsWith(ns, "http://www.google.com/") ||
         absl::StartsWith(ns, "google:");
}

void CollectValues(const xmpp::Element& e, std::vector<std::string>& out) {
  for (const xmpp::Attribute& a : e.attributes()) out.push_back(a.value);
  const std::string text(absl::StripAsciiWhitespace(e.Text()));
  if (!text.empty()) out.push_back(text);
  for (const xmpp::Element* child : e.Children()) CollectValues(*child, out);
}

}  // namespace

using tinyxml2::XMLElement;
using tinyxml2::XMLNode;

bool Loader::IsDefined(const std::string& name) const {
  const std::vector<std::string>& builtins = BuiltinVariableNames();
  for (absl::string_view prefix : {"peer:", "peer_bare:"}) {
    if (absl::StartsWith(name, prefix) &&
        peer_names_.count(name.substr(prefix.size())) > 0) {
      return true;
    }
  }
  return absl::StartsWith(name, "candidates:") ||
         absl::StrCat("${", name, "}") == kCodecsAnswer ||
         defined_.count(name) > 0 ||
         std::find(builtins.begin(), builtins.end(), name) != builtins.end() ||
         std::find(options_.extra_variables.begin(),
                   options_.extra_variables.end(),
                   name) != options_.extra_variables.end();
}

std::optional<std::string> Loader::NearbyName(const std::string& name) const {
  std::vector<std::string> known(defined_.begin(), defined_.end());
  for (const std::string& builtin : BuiltinVariableNames()) {
    known.push_back(builtin);
  }
  for (const std::string& extra : options_.extra_variables) {
    known.push_back(extra);
  }
  for (const auto& [other, site] : captures_) known.push_back(other);
  for (const std::string& other : known) {
    if (OneTypoApart(name, other)) return other;
  }
  return std::nullopt;
}

bool Loader::CheckReferences(const SourceFile& f, const XMLElement* e,
                             absl::string_view text,
                             std::vector<std::string>* captures) {
  bool ok = true;
  Variables dummies;
  for (const std::string& name : ReferencedVariables(text)) {
    const std::string reference = absl::StrCat("${", name, "}");
    if (!IsValidVariableName(name)) {
      ValueError(f, e, reference,
                 absl::StrCat("invalid variable name ", reference));
      ok = false;
      continue;
    }
    dummies.Set(name, "x");
    if (IsDefined(name)) {
      if (auto it = captures_.find(name); it != captures_.end()) {
        it->second.used = true;
      }
      continue;
    }
    if (captures != nullptr) {
      captures->push_back(name);
    } else {
      const std::optional<std::string> nearby = NearbyName(name);
      ValueError(
          f, e, reference,
          absl::StrCat(
              "undefined variable ", reference,
              nearby ? absl::StrCat(" (did you mean ${", *nearby, "}?)") : ""));
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

std::optional<xmpp::Element> Loader::CheckStanza(
    const SourceFile& f, const XMLElement* e, absl::string_view stanza,
    std::vector<std::string>* captures) {
  if (stanza.empty() || !CheckReferences(f, e, stanza, captures)) {
    return std::nullopt;
  }
  // Check it parses once variables are in: every reference gets a dummy value.
  Variables dummies;
  for (const std::string& name : ReferencedVariables(stanza)) {
    dummies.Set(name, "x");
  }
  absl::StatusOr<std::string> substituted = dummies.Substitute(stanza);
  if (!substituted.ok()) return std::nullopt;  // reported by CheckReferences
  absl::StatusOr<xmpp::Element> parsed = xmpp::ParseElement(*substituted);
  if (parsed.ok()) {
    CheckGoogleNamespaces(f, e, *parsed);
    return *std::move(parsed);
  }
  const absl::Status status = parsed.status();
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
  return std::nullopt;
}

void Loader::CheckMatcherAttributes(const SourceFile& f, const XMLElement* e,
                                    const xmpp::Element& pattern, bool root) {
  for (const xmpp::Attribute& a : pattern.attributes()) {
    if (absl::string_view(a.ns) != kPatternNs) continue;
    const std::string shown = absl::StrCat("tc:", a.name, "=\"", a.value, "\"");
    if (a.name != "optional" && a.name != "absent") {
      ValueError(f, e, a.name,
                 absl::StrCat("unknown matcher attribute ", shown, " on <",
                              pattern.name(), "> (", kPatternNs,
                              " has only \"optional\" and \"absent\")"));
    } else if (a.value != "true" && a.value != "false") {
      ValueError(f, e, a.name,
                 absl::StrCat(shown, " on <", pattern.name(), ">: ", a.name,
                              " must be \"true\" or \"false\""));
    } else if (root && a.value == "true") {
      ValueError(f, e, a.name,
                 absl::StrCat(shown, ": the pattern's root element cannot be ",
                              a.name, " (only a child can)"));
    }
  }
  if (!root && IsAbsent(pattern)) {
    // It says only that no child of its name is there: anything else on it
    // would be ignored.
    const bool plain =
        pattern.Children().empty() &&
        std::all_of(pattern.attributes().begin(), pattern.attributes().end(),
                    [](const xmpp::Attribute& a) {
                      return absl::string_view(a.ns) == kPatternNs &&
                             a.name == "absent";
                    });
    if (!plain) {
      ValueError(f, e, "absent",
                 absl::StrCat("a tc:absent <", pattern.name(),
                              "> says only that no child of that name and "
                              "namespace is there: it takes no other "
                              "attribute and no children"));
    }
  }
  if (!root && IsOptionalPatternChild(pattern)) {
    // An optional child may stay unpaired, so what it would capture could be
    // left unset for the steps after.
    std::vector<std::string> values;
    CollectValues(pattern, values);
    for (const std::string& value : values) {
      for (const std::string& name : ReferencedVariables(value)) {
        if (IsDefined(name)) continue;
        ValueError(f, e, absl::StrCat("${", name, "}"),
                   absl::StrCat("an optional <", pattern.name(),
                                "> cannot capture: ${", name,
                                "} must be set before this step"));
      }
    }
  }
  for (const xmpp::Element* child : pattern.Children()) {
    CheckMatcherAttributes(f, e, *child, /*root=*/false);
  }
}

std::vector<std::string> Loader::CheckPatternValues(const SourceFile& f,
                                                    const XMLElement* e,
                                                    absl::string_view pattern) {
  std::vector<std::string> names;  // referenced in regexes and negations
  absl::StatusOr<xmpp::Element> parsed = xmpp::ParseElement(pattern);
  if (!parsed.ok()) return names;  // CheckStanza reports it
  CheckMatcherAttributes(f, e, *parsed, /*root=*/true);
  std::vector<std::string> values;
  CollectValues(*parsed, values);
  for (const std::string& value : values) {
    absl::string_view v = value;
    const bool negated = absl::StartsWith(v, "!") && !absl::StartsWith(v, "!!");
    if (negated) v.remove_prefix(1);
    const bool regex = v.size() >= 2 && v.front() == '/' && v.back() == '/';
    if (!negated && !regex) continue;
    auto report = [&](std::string message) {
      ValueError(f, e, value, std::move(message));
    };
    if (negated && (v == "*" || v.empty())) {
      report(absl::StrCat("\"", value,
                          "\" never matches: write the value it must differ "
                          "from after the '!' (\"!!\" is a literal '!')"));
      continue;
    }
    Variables dummies;
    for (const std::string& name : ReferencedVariables(v)) {
      if (!IsValidVariableName(name)) continue;  // CheckReferences reports it
      names.push_back(name);
      dummies.Set(name, "x");
      if (IsDefined(name)) {
        if (auto it = captures_.find(name); it != captures_.end()) {
          it->second.used = true;
        }
        continue;
      }
      report(absl::StrCat("${", name, "} in \"", value,
                          "\" is not set before this step: ",
                          regex ? "a regular expression" : "a negation",
                          " never captures (capture it in an earlier expect)"));
    }
    if (!regex) continue;
    absl::StatusOr<std::string> source =
        dummies.Substitute(v.substr(1, v.size() - 2), /*escape_xml=*/false);
    if (!source.ok()) continue;  // reported as an unterminated reference
    if (absl::StatusOr<std::regex> compiled = CompileRegex(*source);
        !compiled.ok()) {
      report(absl::StrCat("invalid regular expression ", v, ": ",
                          compiled.status().message()));
    }
  }
  return names;
}

void Loader::CheckGoogleNamespaces(const SourceFile& f, const XMLElement* e,
                                   const xmpp::Element& stanza) {
  const absl::string_view ns = stanza.ns();
  const bool unknown_google =
      IsGoogleNamespace(ns) && !IsKnownGoogleNamespace(ns);
  const bool foreign_session =
      stanza.name() == "session" && ns != xmpp::ns::kGoogleSession &&
      ns != xmpp::ns::kSession && ns != xmpp::ns::kJingle;
  if (unknown_google || foreign_session) {
    Warning(f, e,
            absl::StrCat("<", stanza.name(), "> in namespace \"", ns,
                         "\", which talkcheck does not know",
                         stanza.name() == "session"
                             ? absl::StrCat(" (Google sessions use \"",
                                            xmpp::ns::kGoogleSession, "\")")
                             : std::string(),
                         ": a misspelt xmlns?"));
  }
  for (const xmpp::Element* child : stanza.Children()) {
    CheckGoogleNamespaces(f, e, *child);
  }
}

void Loader::NoteCaptures(const SourceFile& f, const XMLElement* e,
                          const std::vector<std::string>& captures) {
  for (const std::string& name : captures) {
    if (captures_.count(name) > 0) continue;
    if (const std::optional<std::string> other = NearbyName(name)) {
      warnings_.push_back(AtValue(f, e, absl::StrCat("${", name, "}")));
      warnings_.back().message =
          absl::StrCat("${", name,
                       "} is a new capture (it matches any value), one typo "
                       "away from ${",
                       *other, "}: a misspelling?");
    }
    captures_.emplace(
        name, CaptureSite{AtValue(f, e, absl::StrCat("${", name, "}"))});
  }
}

bool Loader::IsInitiate(const xmpp::Element& stanza) {
  if ((stanza.name() == "session" && stanza.AttrOr("type", "") == "initiate") ||
      (stanza.name() == "jingle" &&
       stanza.AttrOr("action", "") == "session-initiate")) {
    return true;
  }
  for (const xmpp::Element* child : stanza.Children()) {
    if (IsInitiate(*child)) return true;
  }
  return false;
}

}  // namespace talkcheck::harness::scenario_internal

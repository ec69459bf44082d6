// The scenario author's guide (scenarios/README.md) against the loader: every
// element the loader reads has an entry with an example in the guide's
// reference, and every attribute the loader accepts on it is named there.
// The attribute lists come from the loader itself (lint's "allowed: ..."
// message for an unknown attribute), so a new attribute without its
// documentation fails this test.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario/scenario_loader.h"

namespace talkcheck::harness {
namespace {

constexpr char kGuide[] = "scenarios/README.md";

// The guide's reference: from its "## Reference" heading to the next "## ".
std::string Reference() {
  std::ifstream in(kGuide);
  std::stringstream text;
  text << in.rdbuf();
  const std::string guide = text.str();
  const size_t start = guide.find("## Reference");
  if (start == std::string::npos) return "";
  const size_t end = guide.find("\n## ", start + 1);
  return guide.substr(start, end == std::string::npos ? end : end - start);
}

// One element in the context the loader reads it: `scenario` holds it with
// the attribute bogus="1" where BOGUS stands.
struct Context {
  std::string element;
  std::string scenario;
};

const std::vector<Context>& Contexts() {
  static const auto* const kContexts = new std::vector<Context>{
      {"scenario", R"(<scenario name="x" BOGUS/>)"},
      {"peer", R"(<scenario name="x"><peer BOGUS/></scenario>)"},
      {"var",
       R"(<scenario name="x"><var name="a" value="b" BOGUS/></scenario>)"},
      {"include",
       R"(<scenario name="x"><include file="y.xml" BOGUS/></scenario>)"},
      {"send",
       R"(<scenario name="x"><send BOGUS><message/></send></scenario>)"},
      {"expect",
       R"(<scenario name="x"><expect within="1s" BOGUS><message/></expect></scenario>)"},
      {"expect-none",
       R"(<scenario name="x"><expect-none for="1s" BOGUS/></scenario>)"},
      {"delay", R"(<scenario name="x"><delay for="1s" BOGUS/></scenario>)"},
      {"any-order",
       R"(<scenario name="x"><any-order within="1s" BOGUS><expect><message/></expect></any-order></scenario>)"},
      {"control",
       R"(<scenario name="x"><control action="call" BOGUS/></scenario>)"},
      {"peer-behaviour",
       R"(<scenario name="x"><peer-behaviour BOGUS/></scenario>)"},
      {"media", R"(<scenario name="x"><media within="1s" BOGUS/></scenario>)"},
      {"one-of", R"(<scenario name="x"><one-of within="1s" BOGUS>
         <branch><expect><message/></expect></branch>
         <branch><expect><iq/></expect></branch></one-of></scenario>)"},
      {"repeat",
       R"(<scenario name="x"><repeat max="2" BOGUS><delay for="1s"/></repeat></scenario>)"},
  };
  return *kContexts;
}

// The attributes the loader accepts on the element, from its message.
std::vector<std::string> Allowed(const Context& context) {
  std::string text = context.scenario;
  text.replace(text.find("BOGUS"), 5, "bogus=\"1\"");
  for (const LoadError& e : LoadScenarioText(text, "x.xml").errors) {
    absl::string_view message = e.message;
    const size_t at = message.find("; allowed: ");
    if (!absl::StrContains(message, "\"bogus\"") ||
        at == absl::string_view::npos) {
      continue;
    }
    return absl::StrSplit(message.substr(at + 11), ", ");
  }
  return {};
}

// The paragraph of the reference that starts with `start` (to the next blank
// line); empty when there is none.
std::string Paragraph(const std::string& reference, const std::string& start) {
  const size_t at = reference.find(start);
  if (at == std::string::npos) return "";
  const size_t end = reference.find("\n\n", at);
  return reference.substr(at, end == std::string::npos ? end : end - at);
}

bool Names(const std::string& text, const std::string& attribute) {
  return absl::StrContains(text, absl::StrCat(attribute, "=")) ||
         absl::StrContains(text, absl::StrCat("`", attribute, "`"));
}

// Verifies that each element has an entry in the reference, with an example,
// that names every attribute the loader accepts on it (or, for the
// attributes every step takes, the shared entry does).
TEST(AuthorGuideTest, DocumentsEveryElementAndAttribute) {
  const std::string reference = Reference();
  ASSERT_FALSE(reference.empty()) << kGuide << " has no ## Reference section";
  const std::string common =
      Paragraph(reference, "**Attributes every step takes**");
  EXPECT_FALSE(common.empty());
  for (const Context& context : Contexts()) {
    const std::string entry =
        Paragraph(reference, absl::StrCat("**`<", context.element));
    ASSERT_FALSE(entry.empty())
        << "no entry **`<" << context.element << " ...>`** in the reference";
    // The example: the element written out again after the entry's title.
    EXPECT_NE(entry.find(absl::StrCat("`<", context.element), 4),
              std::string::npos)
        << "no example in the entry of <" << context.element << ">";
    const std::vector<std::string> allowed = Allowed(context);
    EXPECT_FALSE(allowed.empty()) << "<" << context.element << ">";
    for (const std::string& attribute : allowed) {
      EXPECT_TRUE(Names(entry, attribute) || Names(common, attribute))
          << "<" << context.element << " " << attribute
          << "=...> is not documented in its entry in " << kGuide;
    }
  }
  // Elements that take no attributes, and the fragment root.
  for (const char* element : {"description", "branch", "fragment"}) {
    EXPECT_FALSE(Paragraph(reference, absl::StrCat("**`<", element)).empty())
        << "no entry for <" << element << ">";
  }
}

}  // namespace
}  // namespace talkcheck::harness

#include "harness/scenario/variables.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPeer[] = "peer@localhost/Talk.v104";

// Verifies that values can be set, replaced, read and erased.
TEST(VariablesTest, SetGetErase) {
  Variables vars;
  EXPECT_EQ(vars.Get("peer"), nullptr);
  EXPECT_FALSE(vars.Has("peer"));

  vars.Set("peer", kPeer);
  ASSERT_NE(vars.Get("peer"), nullptr);
  EXPECT_EQ(*vars.Get("peer"), kPeer);
  EXPECT_TRUE(vars.Has("peer"));

  vars.Set("peer", "other@localhost");
  EXPECT_EQ(*vars.Get("peer"), "other@localhost");
  EXPECT_EQ(vars.all().size(), 1u);

  vars.Erase("peer");
  EXPECT_FALSE(vars.Has("peer"));
  vars.Erase("peer");  // erasing an unset variable is harmless
  EXPECT_TRUE(vars.all().empty());
}

// A scratch layer reads through to the variables under it, and what it sets
// or erases stays in the layer.
TEST(VariablesTest, LayerReadsThroughAndWritesToItself) {
  Variables vars;
  vars.Set("peer", kPeer);
  Variables layer(&vars);
  ASSERT_NE(layer.Get("peer"), nullptr);
  EXPECT_EQ(*layer.Get("peer"), kPeer);
  layer.Set("sid", "42");
  layer.Set("peer", "other@localhost");
  EXPECT_EQ(*layer.Get("peer"), "other@localhost");
  EXPECT_EQ(*layer.Substitute("${peer} ${sid}"), "other@localhost 42");
  EXPECT_FALSE(vars.Has("sid"));
  EXPECT_EQ(*vars.Get("peer"), kPeer);
  layer.Erase("peer");  // uncovers the value under it
  EXPECT_EQ(*layer.Get("peer"), kPeer);
  layer.Erase("sid");
  EXPECT_FALSE(layer.Has("sid"));
  EXPECT_TRUE(layer.all().empty());
}

// Verifies that references are replaced, repeated ones each time.
TEST(VariablesTest, SubstitutesReferences) {
  Variables vars;
  vars.Set("peer", kPeer);
  vars.Set("sid", "3688330360");
  absl::StatusOr<std::string> text =
      vars.Substitute("<iq to='${peer}'><session id='${sid}'/>${sid}</iq>");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "<iq to='peer@localhost/Talk.v104'><session id='3688330360'/>"
            "3688330360</iq>");
}

// Verifies that text without references, and lone dollars, pass unchanged.
TEST(VariablesTest, LeavesPlainTextAlone) {
  Variables vars;
  EXPECT_EQ(*vars.Substitute(""), "");
  EXPECT_EQ(*vars.Substitute("costs $5 {or} $ {6}$"), "costs $5 {or} $ {6}$");
}

// Verifies that values are XML-escaped by default, all five characters.
TEST(VariablesTest, EscapesValuesForXml) {
  Variables vars;
  vars.Set("nasty", R"(a&b<c>d"e'f)");
  EXPECT_EQ(*vars.Substitute("<x v='${nasty}'/>"),
            "<x v='a&amp;b&lt;c&gt;d&quot;e&apos;f'/>");
  EXPECT_EQ(*vars.Substitute("${nasty}", /*escape_xml=*/false),
            R"(a&b<c>d"e'f)");
  // At either end, side by side, and none at all.
  vars.Set("edges", R"(<&&'plain text">)");
  EXPECT_EQ(*vars.Substitute("${edges}"),
            "&lt;&amp;&amp;&apos;plain text&quot;&gt;");
  vars.Set("plain", "alice@localhost/Talk.v104");
  EXPECT_EQ(*vars.Substitute("${plain}"), "alice@localhost/Talk.v104");
}

// Verifies that the text around references is never escaped, only values.
TEST(VariablesTest, DoesNotEscapeTheTemplate) {
  Variables vars;
  vars.Set("v", "1");
  EXPECT_EQ(*vars.Substitute("<a b='&amp;'>${v}</a>"), "<a b='&amp;'>1</a>");
}

// Verifies that `$${` stands for a literal `${`.
TEST(VariablesTest, DoubleDollarIsLiteral) {
  Variables vars;
  vars.Set("x", "1");
  EXPECT_EQ(*vars.Substitute("$${x} is ${x}"), "${x} is 1");
  // The escaped form needs no closing brace and names nothing.
  EXPECT_EQ(*vars.Substitute("cost: $${"), "cost: ${");
  // Scanning is left to right: a dollar, then an escaped `${`.
  EXPECT_EQ(*vars.Substitute("$$${x}"), "$${x}");
}

// Verifies that an undefined variable is kNotFound naming it.
TEST(VariablesTest, UndefinedIsNotFound) {
  Variables vars;
  vars.Set("peer", kPeer);
  absl::StatusOr<std::string> text = vars.Substitute("${peer} ${cut_ufrag}");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("cut_ufrag"));
}

// Verifies that an unterminated reference is kInvalidArgument.
TEST(VariablesTest, UnterminatedIsInvalidArgument) {
  Variables vars;
  vars.Set("peer", kPeer);
  for (const char* text : {"${peer", "to='${peer'", "${", "${peer} and ${"}) {
    absl::StatusOr<std::string> out = vars.Substitute(text);
    ASSERT_FALSE(out.ok()) << text;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("unterminated"));
  }
}

// Verifies that a malformed name is kInvalidArgument, not a lookup.
TEST(VariablesTest, InvalidNameIsInvalidArgument) {
  Variables vars;
  for (const char* text : {"${}", "${a b}", "${1x}"}) {
    absl::StatusOr<std::string> out = vars.Substitute(text);
    ASSERT_FALSE(out.ok()) << text;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

// Verifies that names with ':', '.' and '-' (generated values) substitute.
TEST(VariablesTest, GeneratedNames) {
  Variables vars;
  vars.Set("candidates:rtp", "10.0.0.5:50123");
  vars.Set("peer.ufrag-2", "Q0xh");
  EXPECT_EQ(*vars.Substitute("${candidates:rtp}/${peer.ufrag-2}"),
            "10.0.0.5:50123/Q0xh");
}

// Verifies that references are listed once, in order of first appearance.
TEST(ReferencedVariablesTest, ListsInOrder) {
  EXPECT_THAT(ReferencedVariables("${b} ${a} ${b} ${c}"),
              ElementsAre("b", "a", "c"));
  EXPECT_THAT(ReferencedVariables("no references here, $ {x}"), IsEmpty());
}

// Verifies that escaped references are not listed, and an unterminated one
// ends the list without losing what came before.
TEST(ReferencedVariablesTest, SkipsEscapesAndStopsAtUnterminated) {
  EXPECT_THAT(ReferencedVariables("$${a} ${b}"), ElementsAre("b"));
  EXPECT_THAT(ReferencedVariables("${a} ${b"), ElementsAre("a"));
}

// Verifies that malformed names are listed so the loader can report them.
TEST(ReferencedVariablesTest, ListsMalformedNames) {
  EXPECT_THAT(ReferencedVariables("${a b}"), ElementsAre("a b"));
}

// Verifies the name grammar [A-Za-z_][A-Za-z0-9_:.-]*.
TEST(IsValidVariableNameTest, Grammar) {
  for (const char* name : {"a", "_", "cut", "cut_bare", "candidates:rtp",
                           "peer.ufrag-2", "A9", "last_id"}) {
    EXPECT_TRUE(IsValidVariableName(name)) << name;
  }
  for (const char* name :
       {"", "1a", "-a", ":a", ".a", "a b", "a}", "a$", "caf\xc3\xa9", "a/b"}) {
    EXPECT_FALSE(IsValidVariableName(name)) << name;
  }
}

// Test that a value doubling on itself ends with an error, not bad_alloc.
TEST(VariablesTest, SubstituteIsBounded) {
  Variables vars;
  vars.Set("v", std::string(1 << 20, 'x'));
  std::string text;
  for (int i = 0; i < 20; ++i) text += "${v}";
  absl::StatusOr<std::string> out = vars.Substitute(text);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace talkcheck::harness

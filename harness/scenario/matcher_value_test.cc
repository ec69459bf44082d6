// Pattern values (literal, "*", captures, regexes) on attributes and text,
// through Match().
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario/matcher.h"
#include "harness/scenario/matcher_testing.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// --- Attribute values -------------------------------------------------------

// Verifies that literal attributes match and extra ones are allowed.
TEST_F(MatcherTest, LiteralAttributes) {
  MatchResult result = Run("<iq type='set'/>", "<iq type='set' id='c1'/>");
  EXPECT_TRUE(result.matched);
  EXPECT_EQ(result.score, 2);
  EXPECT_EQ(Difference("<iq type='result'/>", "<iq type='error'/>"),
            "/iq[@type]: expected attribute type='result', got 'error'");
}

// Verifies that `*` accepts any value, even empty, but needs the attribute.
TEST_F(MatcherTest, StarNeedsPresence) {
  EXPECT_TRUE(Run("<iq id='*'/>", "<iq id=''/>").matched);
  EXPECT_TRUE(Run("<iq id='*'/>", "<iq id='x'/>").matched);
  EXPECT_EQ(Difference("<iq id='*'/>", "<iq type='get'/>"),
            "/iq[@id]: missing attribute id");
}

// Verifies that a variable captures on first use and compares afterwards.
TEST_F(MatcherTest, CapturesThenCompares) {
  EXPECT_TRUE(Run("<iq id='${iq}'/>", "<iq id='abc'/>").matched);
  EXPECT_EQ(Var("iq"), "abc");
  EXPECT_TRUE(Run("<iq id='${iq}'/>", "<iq id='abc'/>").matched);
  EXPECT_EQ(Difference("<iq id='${iq}'/>", "<iq id='xyz'/>"),
            "/iq[@id]: expected attribute id='abc' (${iq}), got 'xyz'");
  EXPECT_EQ(Var("iq"), "abc");
}

// Verifies that defined variables are substituted into literals.
TEST_F(MatcherTest, SubstitutesDefinedVariables) {
  vars_.Set("peer", "alice@example.com/Talk.v104");
  EXPECT_TRUE(Run("<iq to='${peer}'/>", kCandidates).matched);
  EXPECT_EQ(Difference("<iq from='${peer}'/>", "<iq from='bob@example.com'/>"),
            "/iq[@from]: expected attribute from='alice@example.com/Talk.v104' "
            "(${peer}), got 'bob@example.com'");
}

// Verifies that a variable used twice in one element must see one value.
TEST_F(MatcherTest, RepeatedCaptureInOneElement) {
  EXPECT_EQ(Difference("<iq from='${j}' to='${j}'/>", "<iq from='a' to='b'/>"),
            "/iq[@to]: expected attribute to='a' (${j}), got 'b'");
  EXPECT_FALSE(vars_.Has("j"));
  EXPECT_TRUE(
      Run("<iq from='${j}' to='${j}'/>", "<iq from='a' to='a'/>").matched);
  EXPECT_EQ(Var("j"), "a");
}

// Verifies that /regex/ must match the whole value.
TEST_F(MatcherTest, RegexMatchesWholeValue) {
  EXPECT_TRUE(Run("<iq id='/[a-z]+[0-9]+/'/>", "<iq id='abc12'/>").matched);
  EXPECT_EQ(Difference("<iq id='/[a-z]+[0-9]+/'/>", "<iq id='abc12x'/>"),
            "/iq[@id]: expected attribute id matching /[a-z]+[0-9]+/, got "
            "'abc12x'");
  EXPECT_FALSE(Run("<iq id='/bc/'/>", "<iq id='abc'/>").matched);
  EXPECT_TRUE(Run("<iq id='/(ab|cd)*/'/>", "<iq id=''/>").matched);
}

// Verifies that a bad regex is a mismatch that says so, not a crash.
// Verifies that an invalid regex is the scenario's error, not a mismatch
// (an expect-none would otherwise pass whatever arrives).
TEST_F(MatcherTest, BadRegexIsAScenarioError) {
  MatchResult result = Run("<iq id='/(ab/'/>", "<iq id='ab'/>");
  EXPECT_FALSE(result.matched);
  EXPECT_THAT(result.error, StartsWith("invalid regular expression /(ab/ for "
                                       "attribute id: "));
}

// Verifies that `/` alone and values merely containing slashes are literals.
TEST_F(MatcherTest, SlashesAreLiteralUnlessAround) {
  EXPECT_TRUE(Run("<iq to='/'/>", "<iq to='/'/>").matched);
  EXPECT_TRUE(Run("<iq to='a/Talk'/>", "<iq to='a/Talk'/>").matched);
}

// Verifies that literal text around unset variables captures the middle.
TEST_F(MatcherTest, CapturesBetweenLiterals) {
  EXPECT_TRUE(
      Run("<c name='video_${channel}'/>", "<c name='video_rtcp'/>").matched);
  EXPECT_EQ(Var("channel"), "rtcp");
  EXPECT_TRUE(Run("<c id='c-${n}-end'/>", "<c id='c-12-end'/>").matched);
  EXPECT_EQ(Var("n"), "12");
  EXPECT_EQ(Difference("<c id='c-${m}-end'/>", "<c id='x-12-end'/>"),
            "/c[@id]: expected attribute id matching 'c-${m}-end', got "
            "'x-12-end'");
  EXPECT_FALSE(vars_.Has("m"));
}

// Verifies that several unset variables split the value at the literals.
TEST_F(MatcherTest, CapturesSeveralVariables) {
  EXPECT_TRUE(
      Run("<c addr='${host}:${port}'/>", "<c addr='10.0.0.5:50123'/>").matched);
  EXPECT_EQ(Var("host"), "10.0.0.5");
  EXPECT_EQ(Var("port"), "50123");
}

// Verifies that a variable repeated in a mixed value captures one value.
TEST_F(MatcherTest, RepeatedVariableInMixedValue) {
  EXPECT_TRUE(Run("<c v='${a}-${a}'/>", "<c v='x-y-x-y'/>").matched);
  EXPECT_EQ(Var("a"), "x-y");
  EXPECT_FALSE(Run("<c v='${b}-${b}'/>", "<c v='ab-cd'/>").matched);
  EXPECT_FALSE(vars_.Has("b"));
  // A digit right after the repeat is a literal, not a longer backreference.
  EXPECT_TRUE(Run("<c v='${d}.${d}1'/>", "<c v='7.71'/>").matched);
  EXPECT_EQ(Var("d"), "7");
}

// Verifies that adjacent unset variables split shortest-first.
TEST_F(MatcherTest, AdjacentVariablesSplitShortestFirst) {
  EXPECT_TRUE(Run("<c v='${p}${q}!'/>", "<c v='xy!'/>").matched);
  EXPECT_EQ(Var("p"), "");
  EXPECT_EQ(Var("q"), "xy");
}

// Verifies that captures inside literals work on long values, which a
// recursive regex engine could not take.
TEST_F(MatcherTest, CapturesInLongValues) {
  const std::string tail(100000, 'x');
  EXPECT_TRUE(Run("<body>start ${rest}</body>",
                  absl::StrCat("<body>start ", tail, "</body>"))
                  .matched);
  EXPECT_EQ(Var("rest"), tail);
}

// Verifies that a regex is not run on a value long enough to overflow
// std::regex's stack: it is a mismatch that says why.
TEST_F(MatcherTest, RegexRefusesLongValues) {
  const std::string value(2000, 'a');
  EXPECT_EQ(
      Difference("<c v='/a*/'/>", absl::StrCat("<c v='", value, "'/>")),
      absl::StrCat("/c[@v]: expected attribute v matching /a*/, got '", value,
                   "' (value too long for a regular expression: 2000 "
                   "bytes, limit 1024)"));
  EXPECT_TRUE(Run("<c v='/a*/'/>",
                  absl::StrCat("<c v='", std::string(1024, 'a'), "'/>"))
                  .matched);
}

// Verifies that set variables and literals in a mixed value are matched
// literally, regex characters included.
TEST_F(MatcherTest, MixedValueLiteralsAreNotRegex) {
  vars_.Set("host", "10.0.0.5");
  EXPECT_TRUE(
      Run("<c addr='${host}:${port}'/>", "<c addr='10.0.0.5:1'/>").matched);
  EXPECT_EQ(Var("port"), "1");
  EXPECT_FALSE(
      Run("<c addr='${host}:${p2}'/>", "<c addr='10x0y0z5:1'/>").matched);
  EXPECT_TRUE(Run("<c v='a.b(${x})[*]'/>", "<c v='a.b(zz)[*]'/>").matched);
  EXPECT_EQ(Var("x"), "zz");
  EXPECT_FALSE(Run("<c v='a.b(${y})'/>", "<c v='aXb(zz)'/>").matched);
}

// Verifies that `$${` in a pattern is a literal `${`.
TEST_F(MatcherTest, EscapedDollarIsLiteral) {
  EXPECT_TRUE(Run("<c v='$${x}'/>", "<c v='${x}'/>").matched);
  EXPECT_FALSE(vars_.Has("x"));
  EXPECT_FALSE(Run("<c v='$${x}'/>", "<c v='1'/>").matched);
}

// Verifies that a malformed value is a mismatch that says why.
TEST_F(MatcherTest, MalformedValueIsAMismatch) {
  EXPECT_EQ(Difference("<c v='${x'/>", "<c v='1'/>"),
            "/c[@v]: invalid pattern value '${x' for attribute v: "
            "unterminated '${'");
}

// Verifies that pattern attributes carry their namespace: unprefixed means
// none, prefixes resolve whatever the actual's prefix is.
TEST_F(MatcherTest, AttributeNamespaces) {
  constexpr char kActual[] =
      "<message xmlns:g='urn:x' g:type='chat' xml:lang='en'/>";
  EXPECT_EQ(Difference("<message type='chat'/>", kActual),
            "/message[@type]: missing attribute type");
  EXPECT_TRUE(
      Run("<message xmlns:h='urn:x' h:type='chat' xml:lang='en'/>", kActual)
          .matched);
  EXPECT_EQ(Difference("<message xmlns:h='urn:x' h:type='normal'/>", kActual),
            "/message[@{urn:x}type]: expected attribute {urn:x}type='normal', "
            "got 'chat'");
  EXPECT_EQ(Difference("<message xml:lang='de'/>", kActual),
            "/message[@xml:lang]: expected attribute xml:lang='de', got 'en'");
  EXPECT_EQ(
      Difference("<message g='1'/>", "<message xmlns:a='urn:a' a:g='1'/>"),
      "/message[@g]: missing attribute g");
}

// --- Text -------------------------------------------------------------------

// Verifies that text is compared with surrounding whitespace trimmed.
TEST_F(MatcherTest, TextIsTrimmed) {
  EXPECT_TRUE(
      Run("<m><body>hello</body></m>", "<m><body>\n  hello \n</body></m>")
          .matched);
  EXPECT_TRUE(Run("<m><body>  hello  </body></m>", "<m><body>hello</body></m>")
                  .matched);
  EXPECT_EQ(Difference("<m><body>hello</body></m>", "<m><body>bye</body></m>"),
            "/m/body: expected text 'hello', got 'bye'");
}

// Verifies that text takes the same value forms as attributes.
TEST_F(MatcherTest, TextValueForms) {
  EXPECT_TRUE(
      Run("<m><body>${msg}</body></m>", "<m><body> hi there </body></m>")
          .matched);
  EXPECT_EQ(Var("msg"), "hi there");
  EXPECT_TRUE(Run("<priority>/-?[0-9]+/</priority>", "<priority>-5</priority>")
                  .matched);
  EXPECT_EQ(
      Difference("<priority>/[0-9]+/</priority>", "<priority>high</priority>"),
      "/priority: expected text matching /[0-9]+/, got 'high'");
  EXPECT_TRUE(
      Run("<body>line ${rest}</body>", "<body>line 1\nline 2</body>").matched);
  EXPECT_EQ(Var("rest"), "1\nline 2");
  EXPECT_TRUE(Run("<status>*</status>", "<status>Away</status>").matched);
}

// Verifies that a pattern without text ignores the actual's, and that the
// layout whitespace of a pasted pattern is not text.
TEST_F(MatcherTest, PatternWithoutTextIgnoresText) {
  EXPECT_TRUE(Run("<status/>", "<status>Away</status>").matched);
  EXPECT_TRUE(Run("<p>\n  <status/>\n</p>", "<p><status/></p>").matched);
}
// Verifies that "!VALUE" matches any value but VALUE's, never captures, and
// that "!!" is a literal '!'.
TEST_F(MatcherTest, NegatedValues) {
  vars_.Set("sid", "123");
  EXPECT_TRUE(Run("<s id='!${sid}'/>", "<s id='124'/>").matched);
  EXPECT_EQ(Difference("<s id='!${sid}'/>", "<s id='123'/>"),
            "/s[@id]: expected attribute id other than '123' (!${sid}), got "
            "'123'");
  EXPECT_TRUE(Run("<s type='!reject'/>", "<s type='accept'/>").matched);
  EXPECT_FALSE(Run("<s type='!reject'/>", "<s type='reject'/>").matched);
  EXPECT_TRUE(Run("<s g='!/[01]/'/>", "<s g='2'/>").matched);
  EXPECT_FALSE(Run("<s g='!/[01]/'/>", "<s g='1'/>").matched);
  EXPECT_TRUE(Run("<s n='!!x'/>", "<s n='!x'/>").matched);
  EXPECT_FALSE(Run("<s n='!!x'/>", "<s n='y'/>").matched);
  // An unset variable in a negation is the scenario's error.
  MatchResult unset = Run("<s id='!${nope}'/>", "<s id='1'/>");
  EXPECT_FALSE(unset.matched);
  EXPECT_THAT(unset.error, HasSubstr("${nope} is not set"));
  EXPECT_EQ(Var("nope"), "<unset>");
}

// Verifies that ${var} inside a regex is its value, regex-escaped.
TEST_F(MatcherTest, RegexSubstitutesEscapedVariables) {
  vars_.Set("host", "a.b+c");
  EXPECT_TRUE(Run("<c id='/${host}:[0-9]+/'/>", "<c id='a.b+c:5'/>").matched);
  EXPECT_FALSE(Run("<c id='/${host}:[0-9]+/'/>", "<c id='aXbbc:5'/>").matched);
  MatchResult unset = Run("<c id='/${port}/'/>", "<c id='1'/>");
  EXPECT_THAT(unset.error, HasSubstr("invalid regular expression /${port}/"));
}

}  // namespace
}  // namespace talkcheck::harness

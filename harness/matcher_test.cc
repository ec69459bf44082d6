#include "harness/matcher.h"

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/variables.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using xmpp::Element;

constexpr char kSid[] = "3688330360";

// PROTOCOL.md Appendix A.1, step 1 (comments dropped: stanzas may not carry
// them).
constexpr char kInitiate[] = R"(
<iq type="set" id="c1" from="alice@example.com/Talk.v104" to="bob@example.com/Talk.v104">
  <session xmlns="http://www.google.com/session" type="initiate" id="3688330360"
           initiator="alice@example.com/Talk.v104">
    <description xmlns="http://www.google.com/session/phone">
      <payload-type id="103" name="ISAC"/>
      <payload-type id="97"  name="IPCMWB"/>
      <payload-type id="102" name="iLBC"/>
      <payload-type id="4"   name="G723"/>
      <payload-type id="100" name="EG711U"/>
      <payload-type id="101" name="EG711A"/>
      <payload-type id="0"   name="PCMU"/>
      <payload-type id="8"   name="PCMA"/>
      <payload-type id="13"  name="CN"/>
    </description>
  </session>
</iq>)";

// A.1 step 3 with both channels' candidates in one message, rtcp first.
constexpr char kCandidates[] = R"(
<iq type="set" id="b7" to="alice@example.com/Talk.v104">
  <session xmlns="http://www.google.com/session" type="candidates" id="3688330360"
           initiator="alice@example.com/Talk.v104">
    <candidate name="rtcp" address="10.0.0.5" port="50124" preference="1" username="R1xh2FjIkLmNoPq8"
               password="ZX9yWvUt8sRqPoNm" protocol="udp" generation="0" type="local" network="0"/>
    <candidate name="rtp" address="10.0.0.5" port="50123" preference="1" username="Q0xh2FjIkLmNoPq8"
               password="ZX9yWvUt8sRqPoNm" protocol="udp" generation="0" type="local" network="0"/>
  </session>
</iq>)";

// A.1 step 5: the accept carries a subset of the offer.
constexpr char kAccept[] = R"(
<iq type="set" id="b9" to="alice@example.com/Talk.v104">
  <session xmlns="http://www.google.com/session" type="accept" id="3688330360"
           initiator="alice@example.com/Talk.v104">
    <description xmlns="http://www.google.com/session/phone">
      <payload-type id="103" name="ISAC"/>
      <payload-type id="0" name="PCMU"/>
    </description>
  </session>
</iq>)";

Element Parse(absl::string_view xml) {
  absl::StatusOr<Element> element = xmpp::ParseElement(xml);
  EXPECT_TRUE(element.ok()) << element.status() << "\n" << xml;
  return element.ok() ? *std::move(element) : Element("", "unparsable");
}

class MatcherTest : public ::testing::Test {
 protected:
  MatchResult Run(absl::string_view pattern, absl::string_view actual,
                  bool exact = false) {
    MatchOptions options;
    options.exact = exact;
    MatchResult result = Match(Parse(pattern), Parse(actual), vars_, options);
    EXPECT_EQ(result.matched, result.difference.empty()) << result.difference;
    return result;
  }

  // The difference of a match that must fail.
  std::string Difference(absl::string_view pattern, absl::string_view actual,
                         bool exact = false) {
    MatchResult result = Run(pattern, actual, exact);
    EXPECT_FALSE(result.matched);
    return result.difference;
  }

  std::string Var(absl::string_view name) const {
    const std::string* value = vars_.Get(name);
    return value == nullptr ? "<unset>" : *value;
  }

  Variables vars_;
};

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
TEST_F(MatcherTest, BadRegexIsAMismatch) {
  MatchResult result = Run("<iq id='/(ab/'/>", "<iq id='ab'/>");
  EXPECT_FALSE(result.matched);
  EXPECT_THAT(result.difference,
              StartsWith("/iq[@id]: invalid regular expression /(ab/ for "
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

// --- Elements and children --------------------------------------------------

// Verifies that names and namespaces must both be equal.
TEST_F(MatcherTest, ElementNameAndNamespace) {
  MatchResult result = Run("<iq type='set'/>", "<presence type='set'/>");
  EXPECT_EQ(result.difference,
            "/iq: expected element {jabber:client}iq, got "
            "{jabber:client}presence");
  EXPECT_EQ(result.score, 0);
  EXPECT_EQ(Difference("<query xmlns='urn:a'/>", "<query xmlns='urn:b'/>"),
            "/query: expected element {urn:a}query, got {urn:b}query");
}

// Verifies that a prefixed pattern matches a default-namespace actual.
TEST_F(MatcherTest, PrefixedPatternMatchesDefaultNamespace) {
  constexpr char kPattern[] = R"(
    <iq type="set">
      <gs:session xmlns:gs="http://www.google.com/session" type="initiate">
        <ph:description xmlns:ph="http://www.google.com/session/phone">
          <ph:payload-type name="PCMU"/>
        </ph:description>
      </gs:session>
    </iq>)";
  EXPECT_TRUE(Run(kPattern, kInitiate).matched);
}

// Verifies that a missing child is reported at its parent.
TEST_F(MatcherTest, MissingChild) {
  EXPECT_EQ(
      Difference("<iq><session xmlns='http://www.google.com/session'/></iq>",
                 "<iq type='result'><query xmlns='jabber:iq:roster'/></iq>"),
      "/iq: missing child {http://www.google.com/session}session");
}

// Verifies that a child with one candidate reports the candidate's own first
// difference, with the path going into it.
TEST_F(MatcherTest, SingleCandidateDifferenceDescends) {
  constexpr char kPattern[] = R"(
    <iq type="set">
      <session xmlns="http://www.google.com/session" type="accept"/>
    </iq>)";
  constexpr char kReject[] = R"(
    <iq type="set" id="b9">
      <session xmlns="http://www.google.com/session" type="reject" id="1"/>
    </iq>)";
  EXPECT_EQ(Difference(kPattern, kReject),
            "/iq/session[@type]: expected attribute type='accept', got "
            "'reject'");
  EXPECT_EQ(Difference(R"(<iq><session xmlns="http://www.google.com/session"
                            initiator="*"/></iq>)",
                       kReject),
            "/iq/session[@initiator]: missing attribute initiator");
}

// Verifies that children match in any order.
TEST_F(MatcherTest, ChildrenInAnyOrder) {
  constexpr char kPattern[] = R"(
    <iq type="set">
      <session xmlns="http://www.google.com/session" type="candidates">
        <candidate name="rtp"/>
        <candidate name="rtcp"/>
      </session>
    </iq>)";
  EXPECT_TRUE(Run(kPattern, kCandidates).matched);
}

// Verifies that each pattern child needs its own actual child.
TEST_F(MatcherTest, DuplicateChildrenNeedDistinctPartners) {
  constexpr char kPattern[] = R"(
    <description xmlns="http://www.google.com/session/phone">
      <payload-type id="0"/>
      <payload-type id="0"/>
    </description>)";
  EXPECT_EQ(
      Difference(kPattern, R"(
        <description xmlns="http://www.google.com/session/phone">
          <payload-type id="0" name="PCMU"/>
          <payload-type id="8" name="PCMA"/>
        </description>)"),
      "/description/payload-type[2]: no child matches "
      "{http://www.google.com/session/phone}payload-type id='0' (2 candidates "
      "tried: payload-type[1] already matched by /description/payload-type[1]; "
      "payload-type[2][@id]: expected attribute id='0', got '8')");
  EXPECT_TRUE(Run(kPattern, R"(
        <description xmlns="http://www.google.com/session/phone">
          <payload-type id="8"/><payload-type id="0"/><payload-type id="0"/>
        </description>)")
                  .matched);
}

// Verifies that a lone candidate already taken is reported as such.
TEST_F(MatcherTest, LoneCandidateAlreadyTaken) {
  EXPECT_EQ(Difference("<p><c/><c/></p>", "<p><c/></p>"),
            "/p/c[2]: no child matches {jabber:client}c (1 candidate tried: c "
            "already matched by /p/c[1])");
}

// Verifies that a capturing child is re-paired when a later sibling needs its
// partner: `${a}` ends up with the value the literal sibling left over.
TEST_F(MatcherTest, BacktracksCapturingChild) {
  constexpr char kPattern[] = R"(
    <session xmlns="http://www.google.com/session">
      <candidate name="${a}"/>
      <candidate name="rtcp"/>
    </session>)";
  constexpr char kActual[] = R"(
    <session xmlns="http://www.google.com/session">
      <candidate name="rtcp"/>
      <candidate name="rtp"/>
    </session>)";
  EXPECT_TRUE(Run(kPattern, kActual).matched);
  EXPECT_EQ(Var("a"), "rtp");
}

// Verifies that a capture made by one child is seen by later siblings and
// undone when the search backtracks.
TEST_F(MatcherTest, SiblingsShareCaptures) {
  EXPECT_TRUE(Run("<p><c n='${x}'/><d r='${x}'/></p>",
                  "<p><c n='1'/><c n='2'/><d r='2'/></p>")
                  .matched);
  EXPECT_EQ(Var("x"), "2");
  // Captured deep inside one child, compared in the next.
  EXPECT_TRUE(Run("<p><a><b v='${y}'/></a><c v='${y}'/></p>",
                  "<p><c v='9'/><a><b v='8'/></a><a><b v='9'/></a></p>")
                  .matched);
  EXPECT_EQ(Var("y"), "9");
}

// Verifies that a capture in a parent's attributes constrains its children.
TEST_F(MatcherTest, ParentCaptureConstrainsChildren) {
  EXPECT_TRUE(Run("<p id='${id}'><c ref='${id}'/></p>",
                  "<p id='5'><c ref='4'/><c ref='5'/></p>")
                  .matched);
  EXPECT_EQ(Difference("<p id='${id2}'><c ref='${id2}'/></p>",
                       "<p id='5'><c ref='4'/></p>"),
            "/p/c[@ref]: expected attribute ref='5' (${id2}), got '4'");
}

// Verifies that nothing is captured when the match fails, however far it got.
TEST_F(MatcherTest, CapturesNotCommittedOnFailure) {
  vars_.Set("kept", "1");
  EXPECT_FALSE(
      Run("<iq id='${iq}' type='result'/>", "<iq id='1' type='error'/>")
          .matched);
  EXPECT_FALSE(
      Run(R"(<iq id="${iq}"><session xmlns="http://www.google.com/session"
                        id="${sid}"><candidate name="${n}"/><candidate name="x"/>
                      </session></iq>)",
          kCandidates)
          .matched);
  EXPECT_FALSE(vars_.Has("iq"));
  EXPECT_FALSE(vars_.Has("sid"));
  EXPECT_FALSE(vars_.Has("n"));
  EXPECT_EQ(vars_.all().size(), 1u);
}

// --- Exact mode -------------------------------------------------------------

// Verifies that exact mode rejects extra attributes, children and text, and
// applies all the way down.
TEST_F(MatcherTest, ExactRejectsExtras) {
  EXPECT_TRUE(Run("<iq type='result' id='1'/>", "<iq id='1' type='result'/>",
                  /*exact=*/true)
                  .matched);
  EXPECT_EQ(Difference("<iq type='result' id='1'/>",
                       "<iq type='result' id='1' to='x'/>", true),
            "/iq[@to]: unexpected attribute to='x' (exact)");
  EXPECT_EQ(Difference("<iq type='result'/>",
                       "<iq type='result'><query xmlns='urn:q'/></iq>", true),
            "/iq: unexpected extra child {urn:q}query (exact)");
  EXPECT_EQ(Difference("<body/>", "<body>hi</body>", true),
            "/body: unexpected text 'hi' (exact)");
  EXPECT_EQ(Difference("<iq><query xmlns='urn:q'/></iq>",
                       "<iq><query xmlns='urn:q' ver='1'/></iq>", true),
            "/iq/query[@ver]: unexpected attribute ver='1' (exact)");
  // The same stanzas pass without exact.
  EXPECT_TRUE(Run("<iq type='result'/>",
                  "<iq type='result' to='x'><query xmlns='urn:q'/>hi</iq>")
                  .matched);
}

// Verifies that exact mode reports the child left over after pairing.
TEST_F(MatcherTest, ExactReportsLeftoverChild) {
  constexpr char kPattern[] = R"(
    <iq type="set" id="b7" to="alice@example.com/Talk.v104">
      <session xmlns="http://www.google.com/session" type="candidates"
               id="3688330360" initiator="alice@example.com/Talk.v104">
        <candidate name="rtp" address="*" port="*" preference="*"
                   username="*" password="*" protocol="udp" generation="0"
                   type="local" network="0"/>
      </session>
    </iq>)";
  EXPECT_EQ(Difference(kPattern, kCandidates, true),
            "/iq/session: unexpected extra child "
            "{http://www.google.com/session}candidate name='rtcp' "
            "address='10.0.0.5' port='50124' preference='1' "
            "username='R1xh2FjIkLmNoPq8' password='ZX9yWvUt8sRqPoNm' "
            "protocol='udp' generation='0' type='local' network='0' (exact)");
  EXPECT_TRUE(Run(kPattern, kCandidates).matched);
}

// Verifies that namespace declarations are not attributes for exact mode.
TEST_F(MatcherTest, ExactIgnoresNamespaceDeclarations) {
  EXPECT_TRUE(Run("<iq type='result'><query xmlns='jabber:iq:roster'/></iq>",
                  "<iq xmlns='jabber:client' xmlns:r='jabber:iq:roster' "
                  "type='result'><r:query/></iq>",
                  true)
                  .matched);
}

// Verifies that exact text is compared like any text.
TEST_F(MatcherTest, ExactText) {
  EXPECT_TRUE(Run("<body>hi</body>", "<body> hi </body>", true).matched);
  EXPECT_EQ(Difference("<body>hi</body>", "<body>ho</body>", true),
            "/body: expected text 'hi', got 'ho'");
}

// --- Scores -----------------------------------------------------------------

// Verifies that the score picks the stanza nearest the pattern.
TEST_F(MatcherTest, ScorePicksNearestStanza) {
  constexpr char kPattern[] = R"(
    <iq type="set">
      <session xmlns="http://www.google.com/session" type="accept" id="${sid}"/>
    </iq>)";
  const std::vector<std::string> received = {
      "<presence type='set'/>",
      "<iq type='result' id='b9'/>",
      "<iq type='set'><session xmlns='http://www.google.com/session' "
      "type='reject' id='1'/></iq>",
      "<iq type='set'><query xmlns='jabber:iq:roster'/></iq>",
  };
  const Element pattern = Parse(kPattern);
  std::vector<int> scores;
  for (const std::string& stanza : received) {
    MatchResult result = Match(pattern, Parse(stanza), vars_);
    EXPECT_FALSE(result.matched) << stanza;
    scores.push_back(result.score);
  }
  EXPECT_EQ(scores, (std::vector<int>{0, 1, 4, 2}));
  // A full match scores every name, attribute and child of the pattern.
  EXPECT_EQ(Match(pattern, Parse(kAccept), vars_).score, 5);
}

// Verifies that a child with no partner still scores its best candidate.
TEST_F(MatcherTest, ScoreCountsPartialChildren) {
  const Element pattern = Parse("<p><c a='1' b='2'/><d/></p>");
  EXPECT_EQ(Match(pattern, Parse("<p><c a='1' b='3'/><d/></p>"), vars_).score,
            1 + 2 + 1);  // p; c and its a, not b; d
  EXPECT_EQ(Match(pattern, Parse("<p><c a='0' b='3'/></p>"), vars_).score,
            1 + 1);
}

// --- The Google session examples (PROTOCOL.md Appendix A) -------------------

// Verifies the initiate expect of a scenario against the 2005 offer.
TEST_F(MatcherTest, GoogleInitiate) {
  constexpr char kPattern[] = R"(
    <iq type="set" id="${iq}">
      <session xmlns="http://www.google.com/session" type="initiate"
               id="${sid}" initiator="${peer}">
        <description xmlns="http://www.google.com/session/phone">
          <payload-type id="0" name="PCMU"/>
          <payload-type id="103" name="ISAC"/>
        </description>
      </session>
    </iq>)";
  MatchResult result = Run(kPattern, kInitiate);
  EXPECT_TRUE(result.matched) << result.difference;
  EXPECT_EQ(Var("iq"), "c1");
  EXPECT_EQ(Var("sid"), kSid);
  EXPECT_EQ(Var("peer"), "alice@example.com/Talk.v104");
}

// Verifies a candidates expect with one capture per channel, listed in the
// other order from the stanza.
TEST_F(MatcherTest, GoogleCandidates) {
  vars_.Set("sid", kSid);
  constexpr char kPattern[] = R"(
    <iq type="set">
      <session xmlns="http://www.google.com/session" type="candidates"
               id="${sid}">
        <candidate name="rtp" username="${rtp_ufrag}" port="/[0-9]+/"
                   protocol="udp" generation="0"/>
        <candidate name="rtcp" username="${rtcp_ufrag}" protocol="udp"/>
      </session>
    </iq>)";
  EXPECT_TRUE(Run(kPattern, kCandidates).matched);
  EXPECT_EQ(Var("rtp_ufrag"), "Q0xh2FjIkLmNoPq8");
  EXPECT_EQ(Var("rtcp_ufrag"), "R1xh2FjIkLmNoPq8");
}

// Verifies that `${a}` on one candidate and a literal on its sibling pair up
// whichever order the client sends them in.
TEST_F(MatcherTest, GoogleCandidatesCaptureTheOther) {
  constexpr char kPattern[] = R"(
    <iq><session xmlns="http://www.google.com/session">
      <candidate name="${a}" username="${a_ufrag}"/>
      <candidate name="rtcp"/>
    </session></iq>)";
  EXPECT_TRUE(Run(kPattern, kCandidates).matched);
  EXPECT_EQ(Var("a"), "rtp");
  EXPECT_EQ(Var("a_ufrag"), "Q0xh2FjIkLmNoPq8");
}

// Verifies that an accept with a subset of the offer matches a pattern asking
// for part of it, and explains which payload type is missing otherwise.
TEST_F(MatcherTest, GoogleAcceptSubset) {
  vars_.Set("sid", kSid);
  EXPECT_TRUE(Run(R"(
    <iq type="set">
      <session xmlns="http://www.google.com/session" type="accept" id="${sid}">
        <description xmlns="http://www.google.com/session/phone">
          <payload-type id="0" name="PCMU"/>
        </description>
      </session>
    </iq>)",
                  kAccept)
                  .matched);
  EXPECT_EQ(Difference(R"(
    <iq type="set">
      <session xmlns="http://www.google.com/session" type="accept">
        <description xmlns="http://www.google.com/session/phone">
          <payload-type id="0" name="PCMU"/>
          <payload-type id="8" name="PCMA"/>
        </description>
      </session>
    </iq>)",
                       kAccept),
            "/iq/session/description/payload-type[2]: no child matches "
            "{http://www.google.com/session/phone}payload-type id='8' "
            "name='PCMA' (2 candidates tried: payload-type[1][@id]: expected "
            "attribute id='8', got '103'; payload-type[2] already matched by "
            "/iq/session/description/payload-type[1])");
}

// Verifies that payload types are told apart by namespace (A.3 video call).
TEST_F(MatcherTest, GoogleVideoPayloadNamespaces) {
  constexpr char kVideoInitiate[] = R"(
    <iq type="set" id="v1">
      <session xmlns="http://www.google.com/session" type="initiate" id="7">
        <description xmlns="http://www.google.com/session/video">
          <payload-type xmlns="http://www.google.com/session/phone" id="103" name="ISAC" clockrate="16000"/>
          <payload-type xmlns="http://www.google.com/session/phone" id="0" name="PCMU" clockrate="8000"/>
          <payload-type xmlns="http://www.google.com/session/video" id="99" name="H264-SVC"
                        width="320" height="200" framerate="30"/>
        </description>
      </session>
    </iq>)";
  EXPECT_TRUE(Run(R"(
    <iq><session xmlns="http://www.google.com/session">
      <description xmlns="http://www.google.com/session/video">
        <payload-type name="${video_codec}"/>
      </description>
    </session></iq>)",
                  kVideoInitiate)
                  .matched);
  EXPECT_EQ(Var("video_codec"), "H264-SVC");
  EXPECT_EQ(Difference(R"(
    <iq><session xmlns="http://www.google.com/session">
      <description xmlns="http://www.google.com/session/video">
        <payload-type name="PCMU"/>
      </description>
    </session></iq>)",
                       kVideoInitiate),
            "/iq/session/description/payload-type[@name]: expected attribute "
            "name='PCMU', got 'H264-SVC'");
}

// --- Search limits ----------------------------------------------------------

// Verifies that children sharing a capture cannot hang the matcher: the
// search gives up with a difference that says so.
TEST_F(MatcherTest, SearchGivesUp) {
  std::string pattern = "<p>";
  for (int i = 0; i < 9; ++i) pattern += "<c g='${x}'/>";
  pattern += "<c g='${x}' kind='k'/></p>";
  std::string actual = "<p><c g='2' kind='k'/>";
  for (int i = 0; i < 12; ++i) actual += "<c g='1'/>";
  actual += "</p>";
  const auto start = std::chrono::steady_clock::now();
  MatchResult result = Run(pattern, actual);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_FALSE(result.matched);
  EXPECT_THAT(result.difference, StartsWith("/p: gave up after "));
  EXPECT_FALSE(vars_.Has("x"));
}

// Verifies that many independent children are paired without a search.
TEST_F(MatcherTest, ManyIndependentChildrenArePairedQuickly) {
  std::string pattern = "<p>";
  std::string actual = "<p>";
  for (int i = 0; i < 40; ++i) {
    pattern += absl::StrCat("<c n='${v", i, "}'/>");
    actual += absl::StrCat("<c n='", i, "'/>");
  }
  pattern += "<c n='0'/></p>";
  actual += "</p>";
  EXPECT_THAT(Difference(pattern, actual),
              StartsWith("/p/c[41]: no child matches {jabber:client}c n='0' "
                         "(40 candidates tried: c[1] already matched by "
                         "/p/c[1]; c[2] already matched by /p/c[2]; "));
  actual.insert(actual.size() - 4, "<c n='0'/>");
  EXPECT_TRUE(Run(pattern, actual).matched);
  // Each capture took a value; which one is a matter of pairing.
  EXPECT_TRUE(vars_.Has("v0"));
  EXPECT_TRUE(vars_.Has("v39"));
}

// --- Printing ---------------------------------------------------------------

// Verifies the report layout: one element per line, namespaces where they
// change, attributes in document order, leaf text inline.
TEST(PrettyPrintTest, Layout) {
  const Element stanza = Parse(R"(<message to="a@b" type="chat" xml:lang="en"
      xmlns:x="urn:extra" x:flag="1"><body>hi &amp; bye</body><active
      xmlns="http://jabber.org/protocol/chatstates"/><html xmlns="urn:h"><p>a
b</p><p/></html></message>)");
  EXPECT_EQ(PrettyPrint(stanza),
            "<message xmlns:ns1=\"urn:extra\" to=\"a@b\" type=\"chat\" "
            "xml:lang=\"en\" ns1:flag=\"1\">\n"
            "  <body>hi &amp; bye</body>\n"
            "  <active xmlns=\"http://jabber.org/protocol/chatstates\"/>\n"
            "  <html xmlns=\"urn:h\">\n"
            "    <p>a&#10;b</p>\n"
            "    <p/>\n"
            "  </html>\n"
            "</message>\n");
}

// Verifies that a root outside jabber:client declares its namespace, and that
// text beside children gets its own line.
TEST(PrettyPrintTest, RootNamespaceAndMixedContent) {
  EXPECT_EQ(
      PrettyPrint(Parse("<query xmlns='jabber:iq:roster'>x<item/></query>")),
      "<query xmlns=\"jabber:iq:roster\">\n"
      "  x\n"
      "  <item/>\n"
      "</query>\n");
}

// Verifies that an attribute difference is marked on the received stanza's
// line for that element.
TEST(RenderMismatchTest, MarksActualLine) {
  Variables vars;
  const Element pattern = Parse(
      "<iq type='set'><session xmlns='http://www.google.com/session' "
      "type='accept'/></iq>");
  const Element actual = Parse(
      "<iq type='set' id='b9'><session xmlns='http://www.google.com/session' "
      "type='reject' id='1'/></iq>");
  MatchResult result = Match(pattern, actual, vars);
  ASSERT_FALSE(result.matched);
  EXPECT_EQ(RenderMismatch(pattern, actual, result),
            "first difference: /iq/session[@type]: expected attribute "
            "type='accept', got 'reject'\n"
            "expected:\n"
            "  <iq type=\"set\">\n"
            "    <session xmlns=\"http://www.google.com/session\" "
            "type=\"accept\"/>\n"
            "  </iq>\n"
            "nearest stanza received:\n"
            "  <iq type=\"set\" id=\"b9\">\n"
            "    <session xmlns=\"http://www.google.com/session\" "
            "type=\"reject\" id=\"1\"/>  <-- expected attribute type='accept', "
            "got 'reject'\n"
            "  </iq>\n");
}

// Verifies that a child the stanza lacks is marked on the pattern's line.
TEST(RenderMismatchTest, MarksPatternLineForUnmatchedChild) {
  Variables vars;
  const Element pattern = Parse(R"(
    <iq type="set">
      <session xmlns="http://www.google.com/session" type="accept">
        <description xmlns="http://www.google.com/session/phone">
          <payload-type id="0" name="PCMU"/>
          <payload-type id="8" name="PCMA"/>
        </description>
      </session>
    </iq>)");
  const Element actual = Parse(kAccept);
  MatchResult result = Match(pattern, actual, vars);
  ASSERT_FALSE(result.matched);
  const std::string report = RenderMismatch(pattern, actual, result);
  EXPECT_THAT(report,
              HasSubstr("\n        <payload-type id=\"8\" name=\"PCMA\"/>  "
                        "<-- no child matches "
                        "{http://www.google.com/session/phone}payload-type"));
  EXPECT_THAT(report, HasSubstr("nearest stanza received:\n  <iq type=\"set\" "
                                "id=\"b9\" to=\"alice@example.com/"
                                "Talk.v104\">\n"));
  EXPECT_EQ(report.find("<--"), report.rfind("<--"));  // marked once
}

// Verifies that a missing child is marked on the received parent's line, and
// a wrong root element on the received root.
TEST(RenderMismatchTest, MarksParentForMissingChildAndRootForWrongElement) {
  Variables vars;
  const Element pattern =
      Parse("<iq><session xmlns='http://www.google.com/session'/></iq>");
  const Element result_iq = Parse("<iq type='result' id='c1'/>");
  EXPECT_THAT(
      RenderMismatch(pattern, result_iq, Match(pattern, result_iq, vars)),
      HasSubstr("  <iq type=\"result\" id=\"c1\"/>  <-- missing child "
                "{http://www.google.com/session}session\n"));
  const Element presence = Parse("<presence/>");
  EXPECT_THAT(
      RenderMismatch(pattern, presence, Match(pattern, presence, vars)),
      HasSubstr("  <presence/>  <-- expected element {jabber:client}iq, got "
                "{jabber:client}presence\n"));
}

// Verifies that a match renders both sides without marks.
TEST(RenderMismatchTest, MatchHasNoMarks) {
  Variables vars;
  const Element stanza = Parse("<iq type='result'/>");
  MatchResult result = Match(stanza, stanza, vars);
  ASSERT_TRUE(result.matched);
  EXPECT_EQ(RenderMismatch(stanza, stanza, result),
            "expected:\n  <iq type=\"result\"/>\nnearest stanza received:\n  "
            "<iq type=\"result\"/>\n");
}

}  // namespace
}  // namespace talkcheck::harness

// Element matching: names, namespaces, children in any order, exact mode,
// scores, the Google session examples and the limits of the child search.
#include "harness/scenario/matcher.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario/matcher_testing.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

using ::testing::StartsWith;
using xmpp::Element;

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

// --- Optional children (tc:optional)
// ------------------------------------------

// An accept's payload-types as a subset of an offer's: each offered codec may
// appear once, with its id and exact name; nothing else may.
constexpr char kOfferedSubset[] = R"(
  <description xmlns="http://www.google.com/session/phone"
               xmlns:tc="urn:talkcheck:pattern">
    <payload-type id="97" name="IPCMWB" tc:optional="true"/>
    <payload-type id="0" name="PCMU" tc:optional="true"/>
    <payload-type id="4" name="G723" tc:optional="true"/>
    <payload-type id="8" name="PCMA" tc:optional="true"/>
  </description>)";

std::string Description(absl::string_view payload_types) {
  return absl::StrCat(
      "<description xmlns='http://www.google.com/session/phone'>",
      payload_types, "</description>");
}

// Verifies that any subset of optional children matches in exact mode, the
// empty one included, and extra attributes on them are allowed.
TEST_F(MatcherTest, OptionalChildrenMatchAnySubset) {
  for (const char* accept :
       {"<payload-type id='0' name='PCMU'/>",
        "<payload-type id='8' name='PCMA'/><payload-type id='0' name='PCMU'/>",
        "<payload-type id='4' name='G723' clockrate='8000'/>"
        "<payload-type id='97' name='IPCMWB'/><payload-type id='0' "
        "name='PCMU'/><payload-type id='8' name='PCMA'/>",
        ""}) {
    MatchOptions options;
    options.exact_children = true;
    EXPECT_TRUE(
        Match(Parse(kOfferedSubset), Parse(Description(accept)), vars_, options)
            .matched)
        << accept;
  }
  EXPECT_TRUE(Run(kOfferedSubset,
                  Description("<payload-type id='0' "
                              "name='PCMU'/>"),
                  /*exact=*/true)
                  .matched);
}

// Verifies that what is not one of the optional children, or is one of them
// twice, is an extra child in exact mode, and that the report names it.
TEST_F(MatcherTest, OptionalChildrenLeaveNoRoomForOthers) {
  EXPECT_EQ(Difference(kOfferedSubset,
                       Description("<payload-type id='1' name='PCMU'/>"), true),
            "/description: unexpected extra child "
            "{http://www.google.com/session/phone}payload-type id='1' "
            "name='PCMU' (exact)");
  EXPECT_THAT(Difference(kOfferedSubset,
                         Description("<payload-type id='0' name='PCMU'/>"
                                     "<payload-type id='0' name='PCMU'/>"),
                         true),
              StartsWith("/description: unexpected extra child "));
  EXPECT_THAT(
      Difference(kOfferedSubset,
                 Description("<payload-type id='0' name='pcmu'/>"), true),
      StartsWith("/description: unexpected extra child "));
  // Without exact mode, extras are allowed as ever.
  EXPECT_TRUE(
      Run(kOfferedSubset, Description("<payload-type id='18' name='G729'/>"))
          .matched);
}

// Verifies that a required child keeps its partner while an optional one
// takes what is left, moving the required child when that pairs everyone.
TEST_F(MatcherTest, OptionalChildrenPairAroundRequiredOnes) {
  constexpr char kPattern[] = R"(
    <list xmlns="urn:a" xmlns:tc="urn:talkcheck:pattern">
      <item v="*"/>
      <item v="1" tc:optional="true"/>
    </list>)";
  EXPECT_TRUE(
      Run(kPattern, "<list xmlns='urn:a'><item v='1'/></list>", true).matched);
  // The required child first takes v=1; the optional one can only be v=1, so
  // the required child must move to v=2 for both to be paired.
  EXPECT_TRUE(Run(kPattern,
                  "<list xmlns='urn:a'><item v='1'/><item v='2'/></list>", true)
                  .matched);
  EXPECT_EQ(
      Difference(kPattern,
                 "<list xmlns='urn:a'><item v='2'/><item v='3'/></list>", true),
      "/list: unexpected extra child {urn:a}item v='3' (exact)");
  EXPECT_EQ(Difference(kPattern, "<list xmlns='urn:a'/>"),
            "/list: missing child {urn:a}item");
}

// --- Absent children (tc:absent)
// ------------------------------------------

// Verifies that a child marked tc:absent matches only a stanza without a
// child of its name and namespace (a G1 initiate: no p2p transport), whatever
// that child holds, and that the report names the child found.
TEST_F(MatcherTest, AbsentChildMatchesOnlyWithoutSuchAChild) {
  constexpr char kG1Initiate[] = R"(
    <session xmlns="http://www.google.com/session" type="initiate"
             xmlns:tc="urn:talkcheck:pattern">
      <transport xmlns="http://www.google.com/transport/p2p" tc:absent="true"/>
    </session>)";
  EXPECT_TRUE(Run(kG1Initiate,
                  "<session xmlns='http://www.google.com/session' "
                  "type='initiate'><description "
                  "xmlns='http://www.google.com/session/phone'/></session>")
                  .matched);
  // A transport of another namespace is not the absent one.
  EXPECT_TRUE(Run(kG1Initiate,
                  "<session xmlns='http://www.google.com/session' "
                  "type='initiate'><transport xmlns='urn:other'/></session>")
                  .matched);
  EXPECT_EQ(Difference(kG1Initiate,
                       "<session xmlns='http://www.google.com/session' "
                       "type='initiate'><transport "
                       "xmlns='http://www.google.com/transport/p2p'><candidate "
                       "name='rtp'/></transport></session>"),
            "/session: unexpected child "
            "{http://www.google.com/transport/p2p}transport (the pattern "
            "marks {http://www.google.com/transport/p2p}transport tc:absent)");
  // Exact mode does not count it as a child the stanza must hold.
  EXPECT_TRUE(Run(kG1Initiate,
                  "<session xmlns='http://www.google.com/session' "
                  "type='initiate'/>",
                  true)
                  .matched);
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
}  // namespace
}  // namespace talkcheck::harness

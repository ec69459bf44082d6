// The failure report and the pretty-printer (mismatch_render.cc).
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario/matcher.h"
#include "harness/scenario/matcher_testing.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using xmpp::Element;

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
// Verifies the difference split for the JSON report: path, reason and the
// values compared, also for the exact mode's extra attribute.
TEST(SplitDifferenceTest, PathExpectedActual) {
  DifferenceParts parts = SplitDifference(
      "/iq[@type]: expected attribute type='result', got 'get'");
  EXPECT_EQ(parts.path, "/iq[@type]");
  EXPECT_EQ(parts.reason, "expected attribute type='result', got 'get'");
  EXPECT_EQ(parts.expected, "type='result'");
  EXPECT_EQ(parts.actual, "get");

  parts = SplitDifference(
      "/iq/session[@id]: expected attribute id='42' (${sid}), got '7'");
  EXPECT_EQ(parts.expected, "id='42'");
  EXPECT_EQ(parts.actual, "7");

  parts = SplitDifference("/iq[@x]: unexpected attribute x='1' (exact)");
  EXPECT_EQ(parts.path, "/iq[@x]");
  EXPECT_EQ(parts.expected, "");
  EXPECT_EQ(parts.actual, "x='1'");

  parts = SplitDifference("not a path");
  EXPECT_EQ(parts.path, "");
  EXPECT_EQ(parts.reason, "not a path");
}

}  // namespace talkcheck::harness

// ParseElement's one-pass parser (element_parser.cc): what it had to match in
// the tinyxml2-based parser it replaced (lines, end-of-line handling, which
// error wins), and where it is stricter on purpose. element_test.cc has the
// model's own tests.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "xmpp/element.h"
#include "xmpp/stream_error.h"

namespace talkcheck::xmpp {
namespace {

Element Parse(absl::string_view xml,
              const NamespaceScope& scope = NamespaceScope::ClientStream()) {
  absl::StatusOr<Element> element = ParseElement(xml, scope);
  EXPECT_TRUE(element.ok()) << xml << ": " << element.status();
  return element.ok() ? *std::move(element) : Element("", "parse-failed");
}

absl::Status Error(absl::string_view xml, const NamespaceScope& scope =
                                              NamespaceScope::ClientStream()) {
  absl::StatusOr<Element> element = ParseElement(xml, scope);
  EXPECT_FALSE(element.ok()) << xml << " parsed as " << element->ToString();
  return element.status();
}

std::optional<StreamCondition> Condition(absl::string_view xml) {
  return GetStreamCondition(Error(xml));
}

std::string Nested(int open, absl::string_view innermost) {
  std::string xml;
  for (int i = 0; i < open; ++i) xml += "<a>";
  xml += std::string(innermost);
  for (int i = 0; i < open; ++i) xml += "</a>";
  return xml;
}

TEST(ElementParserTest, LinesCountLineFeedsOnly) {
  // CR LF counts once; a lone CR (old Mac line ends) does not end a line, as
  // tinyxml2 counted.
  Element a = Parse("<a>\r\n<b/>\r<c/>\n\n<d\n/></a>");
  const std::vector<const Element*> children = a.Children();
  ASSERT_EQ(children.size(), 3u);
  EXPECT_EQ(a.line(), 1);
  EXPECT_EQ(children[0]->line(), 2);
  EXPECT_EQ(children[1]->line(), 2);
  EXPECT_EQ(children[2]->line(), 4);
}

TEST(ElementParserTest, LinesCountLineFeedsInValuesTextAndCData) {
  Element a = Parse(
      "<a v='1\n2'\n><![CDATA[\n]]>x\ny<b/>&#10;<c w=\"\n\"/>\n\t<d/></a>");
  const std::vector<const Element*> children = a.Children();
  ASSERT_EQ(children.size(), 3u);
  EXPECT_EQ(children[0]->line(), 5);
  EXPECT_EQ(children[1]->line(), 5);  // a reference is not a line end
  EXPECT_EQ(children[2]->line(), 7);
}

TEST(ElementParserTest, LeadingWhitespaceCountsTowardsTheRootsLine) {
  EXPECT_EQ(Parse("\n \r\n<a/>\n").line(), 3);
}

TEST(ElementParserTest, EndOfLineHandling) {
  // XML 1.0 §2.11: CR LF and lone CR become LF, everywhere.
  EXPECT_EQ(Parse("<a>x\r\ny\rz</a>").Text(), "x\ny\nz");
  EXPECT_EQ(Parse("<a><![CDATA[x\r\ny\rz]]></a>").Text(), "x\ny\nz");
  EXPECT_EQ(Parse("<a>\r\n\r \r</a>").Text(), "\n\n \n");
  // LF then a lone CR is two line ends; tinyxml2 made one of them.
  EXPECT_EQ(Parse("<a>x\n\ry</a>").Text(), "x\n\ny");
  EXPECT_EQ(Parse("<a><![CDATA[\n\r]]></a>").Text(), "\n\n");
  EXPECT_EQ(Parse("<a>\n\r<b/></a>").Text(), "\n\n");
  // In attribute values each line end is one space (§3.3.3).
  EXPECT_EQ(*Parse("<a v='x\r\ny\rz'/>").Attr("v"), "x y z");
  EXPECT_EQ(*Parse("<a v='x\n\ry'/>").Attr("v"), "x  y");
  // Written as references, they are kept.
  EXPECT_EQ(*Parse("<a v='&#13;&#10;&#9;'/>").Attr("v"), "\r\n\t");
  EXPECT_EQ(Parse("<a>&#13;</a>").Text(), "\r");
}

TEST(ElementParserTest, WhitespaceOnlyTextIsKeptEverywhere) {
  Element a = Parse("<a>\n <b> </b>\t<c/>\r\n</a>");
  EXPECT_EQ(a.ToString(), "<a>\n <b> </b>\t<c/>\n</a>");
  // Whitespace next to other text or CDATA joins it in one run.
  Element mixed = Parse("<a> x <![CDATA[ ]]> <b/></a>");
  EXPECT_EQ(mixed.Text(), " x   ");
  EXPECT_EQ(mixed.ToString(), "<a> x   <b/></a>");
  // Around the root it is not content.
  EXPECT_EQ(Parse(" \n<a/>\r\n ").ToString(), "<a/>");
}

TEST(ElementParserTest, CDataSections) {
  EXPECT_EQ(Parse("<a>x<![CDATA[]]>y</a>").ToString(), "<a>xy</a>");
  EXPECT_EQ(Parse("<a><![CDATA[]]]]><![CDATA[>]]></a>").Text(), "]]>");
  EXPECT_EQ(Parse("<a><![CDATA[&amp;<b>]]></a>").Text(), "&amp;<b>");
  EXPECT_EQ(Condition("<a><![CDATA[\x01]]></a>"),
            StreamCondition::kNotWellFormed);
  EXPECT_EQ(Parse("<a><![CDATA[x]]]></a>").Text(), "x]");
  EXPECT_EQ(Condition("<a><![CDATA[x]]</a>"), StreamCondition::kNotWellFormed);
  EXPECT_EQ(Condition("<a><![cdata[x]]></a>"), StreamCondition::kRestrictedXml);
}

TEST(ElementParserTest, ReferencesInNamespaceDeclarations) {
  Element a = Parse("<p:a xmlns:p='urn:&#x70;&amp;q' p:v='&lt;'/>");
  EXPECT_EQ(a.ns(), "urn:p&q");
  EXPECT_EQ(*a.Attr("urn:p&q", "v"), "<");
  EXPECT_EQ(Parse("<a xmlns='urn:&#x41;'><b/></a>").FirstChild()->ns(),
            "urn:A");
  EXPECT_EQ(Condition("<a xmlns='&ent;'/>"), StreamCondition::kRestrictedXml);
  EXPECT_EQ(Condition("<a xmlns:p='&#0;'/>"), StreamCondition::kNotWellFormed);
}

TEST(ElementParserTest, ReferencesAreNotNames) {
  for (absl::string_view xml :
       {"<a&amp;b/>", "<a b&amp;c='1'/>", "<a></a&amp;>", "<&#97;/>"}) {
    SCOPED_TRACE(xml);
    EXPECT_EQ(Condition(xml), StreamCondition::kNotWellFormed);
  }
}

TEST(ElementParserTest, NonAsciiNames) {
  Element e = Parse("<\xC3\xA9l\xC3\xA9ment \xC3\xA0='1'/>");
  EXPECT_EQ(e.name(), "\xC3\xA9l\xC3\xA9ment");
  EXPECT_EQ(*e.Attr("\xC3\xA0"), "1");
  // U+00D7 (multiplication sign) is not a NameStartChar.
  EXPECT_EQ(Condition("<\xC3\x97/>"), StreamCondition::kNotWellFormed);
}

TEST(ElementParserTest, DepthLimit) {
  // 98 open elements, and empty-element tags one deeper, as tinyxml2 allowed.
  EXPECT_TRUE(ParseElement(Nested(98, "<b/>")).ok());
  EXPECT_TRUE(ParseElement(Nested(98, "")).ok());
  EXPECT_EQ(GetStreamCondition(ParseElement(Nested(98, "<b></b>")).status()),
            StreamCondition::kPolicyViolation);
  EXPECT_EQ(GetStreamCondition(ParseElement(Nested(99, "")).status()),
            StreamCondition::kPolicyViolation);
  // It is an error of the markup: it wins over errors of the tree before it.
  EXPECT_EQ(GetStreamCondition(
                ParseElement(absl::StrCat("<p:x>", Nested(99, ""), "</p:x>"))
                    .status()),
            StreamCondition::kPolicyViolation);
}

TEST(ElementParserTest, MarkupErrorsWinOverTreeErrorsBeforeThem) {
  // The old parser checked the markup first, then the tree.
  EXPECT_EQ(Condition("<a p:b='1'><!-- x --></a>"),
            StreamCondition::kRestrictedXml);
  EXPECT_EQ(Condition("<a>&foo;<b></a>"), StreamCondition::kNotWellFormed);
  EXPECT_EQ(Condition("<p:a>&#0;<?pi?></p:a>"),
            StreamCondition::kRestrictedXml);
  // Within the markup, its pre-scan's errors came before tinyxml2's.
  EXPECT_EQ(Condition("<a b></a><!-- x -->"), StreamCondition::kRestrictedXml);
  EXPECT_EQ(Condition("<a><!-- x --><b></a>"), StreamCondition::kRestrictedXml);
  EXPECT_EQ(Condition("<a> \v<!-- x --></a>"), StreamCondition::kNotWellFormed);
}

TEST(ElementParserTest, TreeErrorsComeInDocumentOrder) {
  EXPECT_EQ(Condition("<a>&foo;<p:b/></a>"), StreamCondition::kRestrictedXml);
  EXPECT_EQ(Condition("<p:a>&foo;</p:a>"),
            StreamCondition::kBadNamespacePrefix);
  EXPECT_EQ(Condition("<a>&#0;&foo;</a>"), StreamCondition::kNotWellFormed);
  // Declarations first, then the element's name, then its attributes.
  EXPECT_EQ(Condition("<p:a xmlns='&foo;'/>"), StreamCondition::kRestrictedXml);
  EXPECT_EQ(Condition("<p:a b='&foo;'/>"),
            StreamCondition::kBadNamespacePrefix);
  EXPECT_EQ(Condition("<a b='&foo;' q:c='1'/>"),
            StreamCondition::kRestrictedXml);
  EXPECT_EQ(Condition("<a q:c='1' b='&foo;'/>"),
            StreamCondition::kBadNamespacePrefix);
}

TEST(ElementParserTest, EachErrorNamesItsLine) {
  struct Case {
    absl::string_view xml;
    StreamCondition condition;
    absl::string_view line;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"<a>\n<b>\n</c></a>", StreamCondition::kNotWellFormed, "line 3"},
           {"<a>\n\n<!-- x --></a>", StreamCondition::kRestrictedXml, "line 3"},
           {"<a>\n<p:b/></a>", StreamCondition::kBadNamespacePrefix, "line 2"},
           {"<a>\n\n&#0;</a>", StreamCondition::kNotWellFormed, "line 3"},
           {"<a>\n<b c='1' c='2'/></a>", StreamCondition::kNotWellFormed,
            "line 2"},
           {"<a>\n<b\v/></a>", StreamCondition::kNotWellFormed, "line 2"},
           {"<a>\n\n\n\xEF\xBF\xBF</a>", StreamCondition::kNotWellFormed,
            "line 4"},
       }) {
    SCOPED_TRACE(c.xml);
    const absl::Status status = Error(c.xml);
    EXPECT_EQ(GetStreamCondition(status), c.condition);
    EXPECT_NE(status.message().find(c.line), absl::string_view::npos) << status;
  }
}

TEST(ElementParserTest, StricterThanTinyxml2) {
  // tinyxml2 took \v and \f for whitespace in tags; XML 1.0 §2.2 has neither.
  // It also read an end tag like a start tag (§3.1 ETag is '</' Name S? '>'),
  // and passed U+FFFE and U+FFFF (not §2.2 Chars).
  for (absl::string_view xml :
       {"<a\v/>", "<a b='1'\f/>", "<a b\v='1'/>", "<a></a\v>", "<a></a x='1'>",
        "<a>\xEF\xBF\xBE</a>", "<a b='\xEF\xBF\xBF'/>"}) {
    SCOPED_TRACE(xml);
    EXPECT_EQ(Condition(xml), StreamCondition::kNotWellFormed);
  }
  EXPECT_EQ(Parse("<a></a \t\r\n>").name(), "a");
}

TEST(ElementParserTest, EmptyScope) {
  const NamespaceScope none;
  Element a = Parse("<a><b xmlns='urn:b'><c/></b></a>", none);
  EXPECT_EQ(a.ns(), "");
  EXPECT_EQ(a.FirstChild()->FirstChild()->ns(), "urn:b");
  EXPECT_EQ(GetStreamCondition(Error("<stream:a/>", none)),
            StreamCondition::kBadNamespacePrefix);
  EXPECT_EQ(Parse("<xml:a/>", none).ns(),
            "http://www.w3.org/XML/1998/namespace");
}

TEST(ElementParserTest, PrefixesAreUndoneWhenTheirElementCloses) {
  EXPECT_EQ(Condition("<a><b xmlns:p='urn:p'/><p:c/></a>"),
            StreamCondition::kBadNamespacePrefix);
  EXPECT_EQ(Condition("<a><b xmlns:p='urn:p'></b><p:c/></a>"),
            StreamCondition::kBadNamespacePrefix);
  Element a =
      Parse("<a xmlns:p='urn:1'><b xmlns:p='urn:2'><p:c/></b><p:d/></a>");
  EXPECT_EQ(a.FirstChild()->FirstChild()->ns(), "urn:2");
  EXPECT_EQ(a.Children()[1]->ns(), "urn:1");
}

}  // namespace
}  // namespace talkcheck::xmpp

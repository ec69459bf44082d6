#include "xmpp/element.h"

#include <iterator>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "xmpp/namespaces.h"
#include "xmpp/stream_error.h"

namespace talkcheck::xmpp {
namespace {

// Structural equality through the public API, plus the serialised form (which
// also pins down how text and children interleave).
void ExpectSameTree(const Element& a, const Element& b) {
  EXPECT_EQ(a.ns(), b.ns());
  EXPECT_EQ(a.name(), b.name());
  ASSERT_EQ(a.attributes().size(), b.attributes().size()) << a.name();
  for (size_t i = 0; i < a.attributes().size(); ++i) {
    EXPECT_EQ(a.attributes()[i].ns, b.attributes()[i].ns);
    EXPECT_EQ(a.attributes()[i].name, b.attributes()[i].name);
    EXPECT_EQ(a.attributes()[i].value, b.attributes()[i].value);
  }
  EXPECT_EQ(a.Text(), b.Text());
  const auto ac = a.Children();
  const auto bc = b.Children();
  ASSERT_EQ(ac.size(), bc.size()) << a.name();
  for (size_t i = 0; i < ac.size(); ++i) ExpectSameTree(*ac[i], *bc[i]);
  EXPECT_EQ(a.ToString(), b.ToString());
}

Element Parse(absl::string_view xml,
              const NamespaceScope& scope = NamespaceScope::ClientStream()) {
  absl::StatusOr<Element> element = ParseElement(xml, scope);
  EXPECT_TRUE(element.ok()) << xml << ": " << element.status();
  return element.ok() ? *std::move(element) : Element("", "parse-failed");
}

std::optional<StreamCondition> ParseError(absl::string_view xml) {
  absl::StatusOr<Element> element = ParseElement(xml);
  EXPECT_FALSE(element.ok()) << xml << " parsed as " << element->ToString();
  return element.ok() ? std::nullopt : GetStreamCondition(element.status());
}

// Round trip: parse(e.ToString()) is e.
void ExpectRoundTrip(const Element& e) {
  const std::string wire = e.ToString();
  absl::StatusOr<Element> back = ParseElement(wire);
  ASSERT_TRUE(back.ok()) << wire << ": " << back.status();
  ExpectSameTree(e, *back);
}

// --- Namespaces ---

// Test that a bare stanza inside a client stream is in jabber:client.
TEST(ElementTest, ImpliesJabberClientForBareStanza) {
  Element iq = Parse("<iq type='get' id='1'/>");
  EXPECT_TRUE(iq.Is(ns::kClient, "iq"));
  EXPECT_EQ(*iq.Attr("type"), "get");
  EXPECT_EQ(iq.AttrOr("id", "none"), "1");
  EXPECT_EQ(iq.AttrOr("to", "none"), "none");
}

TEST(ElementTest, ChildrenInheritDefaultNamespace) {
  Element iq = Parse(
      "<iq type='result'><query xmlns='google:jingleinfo'><stun>"
      "<server host='stun.l.google.com' udp='19302'/></stun></query></iq>");
  const Element* query = iq.FindChild(ns::kJingleInfo, "query");
  ASSERT_NE(query, nullptr);
  const Element* stun = query->FindChild(ns::kJingleInfo, "stun");
  ASSERT_NE(stun, nullptr);
  const Element* server = stun->FirstChild();
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(server->Is(ns::kJingleInfo, "server"));
  // Matching is by (namespace, name), never by name alone.
  EXPECT_EQ(iq.FindChild(ns::kClient, "query"), nullptr);
}

TEST(ElementTest, ResolvesStreamPrefixFromScope) {
  Element features = Parse(
      "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
      "<session "
      "xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>");
  EXPECT_TRUE(features.Is(ns::kStream, "features"));
  EXPECT_NE(features.FindChild(ns::kBind, "bind"), nullptr);
  EXPECT_NE(features.FindChild(ns::kSession, "session"), nullptr);
  // Without the stream header's binding the prefix is undeclared.
  absl::StatusOr<Element> bare =
      ParseElement("<stream:features/>", NamespaceScope());
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(GetStreamCondition(bare.status()),
            StreamCondition::kBadNamespacePrefix);
}

// Test that the prefixed and default-namespace spellings are the same element.
TEST(ElementTest, PrefixedEqualsDefaultNamespace) {
  Element prefixed = Parse(
      "<caps:c xmlns:caps='http://jabber.org/protocol/caps' "
      "node='http://www.google.com/xmpp/client/caps' ver='1.0' "
      "ext='voice-v1'/>");
  Element unprefixed = Parse(
      "<c xmlns='http://jabber.org/protocol/caps' "
      "node='http://www.google.com/xmpp/client/caps' ver='1.0' "
      "ext='voice-v1'/>");
  EXPECT_TRUE(prefixed.Is(ns::kCaps, "c"));
  ExpectSameTree(prefixed, unprefixed);
  EXPECT_EQ(prefixed.ToString(),
            "<c xmlns=\"http://jabber.org/protocol/caps\" "
            "node=\"http://www.google.com/xmpp/client/caps\" ver=\"1.0\" "
            "ext=\"voice-v1\"/>");
}

TEST(ElementTest, PrefixedChildInsidePresence) {
  Element presence = Parse(
      "<presence xmlns:caps='http://jabber.org/protocol/caps'>"
      "<caps:c node='n' ver='1'/><priority>1</priority></presence>");
  const Element* c = presence.FindChild(ns::kCaps, "c");
  ASSERT_NE(c, nullptr);
  // A prefix binding does not change the default namespace.
  const Element* priority = presence.FindChild(ns::kClient, "priority");
  ASSERT_NE(priority, nullptr);
  EXPECT_EQ(priority->Text(), "1");
  EXPECT_TRUE(presence.attributes().empty());
}

// Test the Google session case: candidates inherit the session namespace.
TEST(ElementTest, GoogleSessionCandidatesInheritNamespace) {
  Element iq = Parse(
      "<iq type='set' to='a@b/c' id='7'>"
      "<session xmlns='http://www.google.com/session' type='candidates' "
      "id='42' "
      "initiator='a@b/c'><candidate name='rtp' address='10.0.0.1' port='1234' "
      "preference='1' username='u' protocol='udp' generation='0' password='p' "
      "type='local' network='0'/></session></iq>");
  const Element* session = iq.FindChild(ns::kGoogleSession, "session");
  ASSERT_NE(session, nullptr);
  const Element* candidate =
      session->FindChild(ns::kGoogleSession, "candidate");
  ASSERT_NE(candidate, nullptr);
  EXPECT_EQ(*candidate->Attr("address"), "10.0.0.1");
  EXPECT_EQ(candidate->attributes().size(), 10u);
  for (const Attribute& a : candidate->attributes()) EXPECT_EQ(a.ns, "");
  ExpectRoundTrip(iq);
}

// Test that payload types redeclaring the phone namespace inside a video
// description keep it, while their siblings inherit the video namespace.
TEST(ElementTest, PayloadTypesRedeclareNamespace) {
  Element description = Parse(
      "<description xmlns='http://www.google.com/session/video'>"
      "<payload-type id='97' name='H264-SVC' width='320' height='200' "
      "framerate='30'/>"
      "<payload-type xmlns='http://www.google.com/session/phone' id='103' "
      "name='ISAC' clockrate='16000'/>"
      "<payload-type xmlns='http://www.google.com/session/phone' id='0' "
      "name='PCMU' clockrate='8000'/></description>");
  const auto video = description.FindChildren(ns::kGoogleVideo, "payload-type");
  const auto phone = description.FindChildren(ns::kGooglePhone, "payload-type");
  ASSERT_EQ(video.size(), 1u);
  ASSERT_EQ(phone.size(), 2u);
  EXPECT_EQ(*phone[1]->Attr("name"), "PCMU");
  EXPECT_EQ(description.ToString(ns::kGoogleSession),
            "<description xmlns=\"http://www.google.com/session/video\">"
            "<payload-type id=\"97\" name=\"H264-SVC\" width=\"320\" "
            "height=\"200\" framerate=\"30\"/>"
            "<payload-type xmlns=\"http://www.google.com/session/phone\" "
            "id=\"103\" name=\"ISAC\" clockrate=\"16000\"/>"
            "<payload-type xmlns=\"http://www.google.com/session/phone\" "
            "id=\"0\" name=\"PCMU\" clockrate=\"8000\"/></description>");
  ExpectRoundTrip(description);
}

TEST(ElementTest, XmlLangIsInXmlNamespace) {
  Element message = Parse(
      "<message xml:lang='en' to='a@b'><body "
      "xml:lang='de'>Hallo</body></message>");
  EXPECT_EQ(*message.Attr(ns::kXml, "lang"), "en");
  EXPECT_EQ(message.Attr("lang"), nullptr);
  EXPECT_EQ(*message.FirstChild()->Attr(ns::kXml, "lang"), "de");
  EXPECT_EQ(message.ToString(),
            "<message xml:lang=\"en\" to=\"a@b\"><body xml:lang=\"de\">Hallo"
            "</body></message>");
  ExpectRoundTrip(message);
}

TEST(ElementTest, UnprefixedAttributesAreInNoNamespace) {
  Element query = Parse("<query xmlns='jabber:iq:roster' ver='ver7'/>");
  ASSERT_EQ(query.attributes().size(), 1u);
  EXPECT_EQ(query.attributes()[0].ns, "");
  EXPECT_EQ(query.attributes()[0].name, "ver");
  EXPECT_EQ(query.Attr(ns::kRoster, "ver"), nullptr);
}

TEST(ElementTest, NamespacedAttributesGetGeneratedPrefixes) {
  Element x = Parse(
      "<x xmlns:p='urn:p' xmlns:q='urn:q' p:a='1' q:b='2' p:c='3' d='4'/>");
  EXPECT_EQ(*x.Attr("urn:p", "a"), "1");
  EXPECT_EQ(*x.Attr("urn:q", "b"), "2");
  EXPECT_EQ(*x.Attr("urn:p", "c"), "3");
  EXPECT_EQ(*x.Attr("d"), "4");
  EXPECT_EQ(
      x.ToString(),
      "<x xmlns:ns1=\"urn:p\" ns1:a=\"1\" xmlns:ns2=\"urn:q\" ns2:b=\"2\" "
      "ns1:c=\"3\" d=\"4\"/>");
  ExpectRoundTrip(x);
}

TEST(ElementTest, NamespaceDeclarationsAreNotAttributes) {
  Element iq = Parse("<iq xmlns='jabber:client' xmlns:foo='urn:foo' id='1'/>");
  ASSERT_EQ(iq.attributes().size(), 1u);
  EXPECT_EQ(iq.attributes()[0].name, "id");
}

TEST(ElementTest, EmptyDefaultNamespace) {
  Element x = Parse("<x xmlns=''><y/></x>");
  EXPECT_EQ(x.ns(), "");
  EXPECT_EQ(x.FirstChild()->ns(), "");
  Element a = Parse("<a xmlns='urn:a'><b xmlns=''><c/></b></a>");
  EXPECT_EQ(a.FirstChild()->ns(), "");
  EXPECT_EQ(a.ToString(), "<a xmlns=\"urn:a\"><b xmlns=\"\"><c/></b></a>");
  ExpectRoundTrip(a);
}

TEST(ElementTest, PrefixScopeEndsWithElement) {
  EXPECT_EQ(ParseError("<a><x xmlns:p='urn:p'/><p:b/></a>"),
            StreamCondition::kBadNamespacePrefix);
  Element a = Parse("<a xmlns:p='urn:1'><p:b xmlns:p='urn:2'/><p:c/></a>");
  EXPECT_EQ(a.Children()[0]->ns(), "urn:2");
  EXPECT_EQ(a.Children()[1]->ns(), "urn:1");
}

TEST(ElementTest, UsesGivenScope) {
  Element bare = Parse("<iq/>", NamespaceScope());
  EXPECT_EQ(bare.ns(), "");
  NamespaceScope server;
  server.Bind("", "jabber:server");
  server.Bind("db", "jabber:server:dialback");
  Element result = Parse("<db:result from='a' to='b'>key</db:result>", server);
  EXPECT_TRUE(result.Is("jabber:server:dialback", "result"));
  EXPECT_TRUE(Parse("<message/>", server).Is("jabber:server", "message"));
}

TEST(ElementTest, NamespaceScopeBindings) {
  NamespaceScope empty;
  EXPECT_EQ(empty.Lookup(""), nullptr);
  ASSERT_NE(empty.Lookup("xml"), nullptr);
  EXPECT_EQ(*empty.Lookup("xml"), ns::kXml);
  NamespaceScope client = NamespaceScope::ClientStream();
  EXPECT_EQ(*client.Lookup(""), ns::kClient);
  EXPECT_EQ(*client.Lookup("stream"), ns::kStream);
  EXPECT_EQ(*client.Lookup("xml"), ns::kXml);
  client.Bind("", "jabber:server");
  EXPECT_EQ(*client.Lookup(""), "jabber:server");
  client.Bind("xml", "urn:not-xml");  // the xml prefix cannot move
  EXPECT_EQ(*client.Lookup("xml"), ns::kXml);
}

// --- Character data and escaping ---

TEST(ElementTest, DecodesPredefinedEntitiesAndCharacterReferences) {
  Element a = Parse(
      "<a v='&quot;&apos;&lt;&gt;&amp;&#9;&#x41;&#10;'>&lt;b&gt; &amp; "
      "&#x263A;&#128512;</a>");
  EXPECT_EQ(*a.Attr("v"), "\"'<>&\tA\n");
  EXPECT_EQ(a.Text(), "<b> & \u263A\U0001F600");
}

// Test that references and forbidden bytes are found wherever they sit in a
// long value (the decoder skips eight bytes at a time).
TEST(ElementTest, FindsSpecialBytesAtEveryOffset) {
  for (size_t at = 0; at < 20; ++at) {
    SCOPED_TRACE(at);
    const std::string before(at, 'a');
    const std::string after(19 - at, 'z');
    Element ok = Parse(absl::StrCat("<a v='", before, "&amp;", after, "'>",
                                    before, "&lt;", after, "</a>"));
    EXPECT_EQ(*ok.Attr("v"), absl::StrCat(before, "&", after));
    EXPECT_EQ(ok.Text(), absl::StrCat(before, "<", after));
    EXPECT_EQ(
        *Parse(absl::StrCat("<a v='", before, "\t", after, "'/>")).Attr("v"),
        absl::StrCat(before, " ", after));
    EXPECT_EQ(ParseError(absl::StrCat("<a v='", before, "\x01", after, "'/>")),
              StreamCondition::kNotWellFormed);
    EXPECT_EQ(ParseError(absl::StrCat("<a>", before, "\x1F", after, "</a>")),
              StreamCondition::kNotWellFormed);
    EXPECT_EQ(ParseError(absl::StrCat("<a>", before, "]]>", after, "</a>")),
              StreamCondition::kNotWellFormed);
    EXPECT_EQ(ParseError(absl::StrCat("<a>", before, "&x;", after, "</a>")),
              StreamCondition::kRestrictedXml);
  }
}

TEST(ElementTest, NormalisesLiteralWhitespaceInAttributes) {
  Element a = Parse("<a v='x\ty\nz\r\nw'/>");
  EXPECT_EQ(*a.Attr("v"), "x y z w");
}

TEST(ElementTest, KeepsCharacterDataExactly) {
  Element body = Parse("<body>  </body>");
  EXPECT_EQ(body.Text(), "  ");
  Element a = Parse("<a> <b/>\t<c/>\n</a>");
  EXPECT_EQ(a.Text(), " \t\n");
  EXPECT_EQ(a.ToString(), "<a> <b/>\t<c/>\n</a>");
  Element crlf = Parse("<a>\r\n <b>x\r\ny</b>\r</a>");
  EXPECT_EQ(crlf.Text(), "\n \n");
  EXPECT_EQ(crlf.FirstChild()->Text(), "x\ny");
  Element mixed = Parse("<a>x<![CDATA[y]]> <![CDATA[z]]>w<b/> </a>");
  EXPECT_EQ(mixed.ToString(), "<a>xy zw<b/> </a>");
}

TEST(ElementTest, CDataIsCharacterData) {
  Element body = Parse("<body><![CDATA[<b>&amp;</b> <!-- x -->]]></body>");
  EXPECT_EQ(body.Text(), "<b>&amp;</b> <!-- x -->");
  EXPECT_EQ(body.ToString(),
            "<body>&lt;b&gt;&amp;amp;&lt;/b&gt; &lt;!-- x --&gt;</body>");
  EXPECT_EQ(Parse("<a><![CDATA[]]></a>").ToString(), "<a/>");
}

TEST(ElementTest, AttributeEscapingRoundTrips) {
  Element a("urn:test", "a");
  a.SetAttr("quotes", "say \"hi\" and 'bye'")
      .SetAttr("markup", "<b> & </b>")
      .SetAttr("space", "tab\there\nnew line\r\ncrlf  two");
  EXPECT_EQ(a.ToString("urn:test"),
            "<a quotes=\"say &quot;hi&quot; and 'bye'\" "
            "markup=\"&lt;b&gt; &amp; &lt;/b&gt;\" "
            "space=\"tab&#9;here&#10;new line&#13;&#10;crlf  two\"/>");
  ExpectRoundTrip(a);
}

TEST(ElementTest, TextEscapingRoundTrips) {
  Element body(ns::kClient, "body");
  body.SetText("a ]]> b <c> & d\r\ne\tf  ");
  EXPECT_EQ(body.ToString(),
            "<body>a ]]&gt; b &lt;c&gt; &amp; d&#13;\ne\tf  </body>");
  ExpectRoundTrip(body);
  Element spaces(ns::kClient, "body");
  spaces.SetText(" \n ");
  ExpectRoundTrip(spaces);
}

TEST(ElementTest, EscapeFunctions) {
  EXPECT_EQ(EscapeText("a<b>&c\"d'"), "a&lt;b&gt;&amp;c\"d'");
  EXPECT_EQ(EscapeAttribute("a<b>&c\"d'\t"), "a&lt;b&gt;&amp;c&quot;d'&#9;");
  EXPECT_EQ(EscapeText(""), "");
  EXPECT_EQ(EscapeText("plain \xC3\xA9"), "plain \xC3\xA9");
}

// --- Parse errors ---

TEST(ElementTest, MalformedXmlIsNotWellFormed) {
  // The last five: tinyxml2 skips whitespace after '<' and '</'; XML does not.
  for (absl::string_view xml :
       {"",
        "   ",
        "<a>",
        "<a></b>",
        "<a><b></a></b>",
        "</a>",
        "<a/><b/>",
        "<a/>junk",
        "junk<a/>",
        "<a b='1' b='2'/>",
        "<a b=1/>",
        "<a b/>",
        "<a b='1'c='2'/>",
        "<a b='<'/>",
        "<a>&</a>",
        "<a>AT&T rocks; no</a>",
        "<a>&#0;</a>",
        "<a>&#xD800;</a>",
        "<a>&#x110000;</a>",
        "<a>&#xZ;</a>",
        "<a>&#;</a>",
        "<a>&;</a>",
        "<a>x]]>y</a>",
        "<a>\x01</a>",
        "<a b='\x02'/>",
        "<a>\v</a>",
        "<a:b:c/>",
        "<:a/>",
        "<a:/>",
        "<a>\xFF</a>",
        "<a>\xC0\xAF</a>",
        "<a>\xED\xA0\x80</a>",
        "\xEF\xBB\xBF<a/>",
        "<![CDATA[x]]><a/>",
        "<a><![CDATA[x</a>",
        "<p:a xmlns:p=''/>",
        "<a xmlns:xml='urn:x'/>",
        "<a xmlns:xmlns='urn:x'/>",
        "<a xmlns='http://www.w3.org/2000/xmlns/'/>",
        "<a xmlns:p='urn:x' xmlns:q='urn:x' p:b='1' q:b='2'/>",
        "<a",
        "<a b='1",
        "<a/ >",
        "< a/>",
        "<a></ a>",
        "<a>\r\n<b>x</b><\n/a>\r y </b>\n</a>",
        "<a><1/></a>",
        "<a></-a></a>"}) {
    SCOPED_TRACE(xml);
    EXPECT_EQ(ParseError(xml), StreamCondition::kNotWellFormed);
  }
  EXPECT_EQ(ParseError(absl::string_view("<a>\0</a>", 8)),
            StreamCondition::kNotWellFormed);
  EXPECT_EQ(ParseError(absl::string_view("<a/>\0", 5)),
            StreamCondition::kNotWellFormed);
}

TEST(ElementTest, UndeclaredPrefixIsBadNamespacePrefix) {
  for (absl::string_view xml : {"<foo:a/>", "<a foo:b='1'/>", "<a><p:b/></a>",
                                "<a><b xmlns:p='urn:p'/><p:c/></a>"}) {
    SCOPED_TRACE(xml);
    EXPECT_EQ(ParseError(xml), StreamCondition::kBadNamespacePrefix);
  }
}

TEST(ElementTest, RestrictedXml) {
  for (absl::string_view xml : {
           "<a><!-- comment --></a>",
           "<!-- comment --><a/>",
           "<a/><!-- trailing -->",
           "<?xml version='1.0'?><a/>",
           "<a><?pi data?></a>",
           "<!DOCTYPE a><a/>",
           "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
           "<a><!ENTITY x 'y'></a>",
           "<a>&foo;</a>",
           "<a>&nbsp;</a>",
           "<a b='&foo;'/>",
           "<a xmlns='&ent;'/>",
       }) {
    SCOPED_TRACE(xml);
    EXPECT_EQ(ParseError(xml), StreamCondition::kRestrictedXml);
  }
  // Inside CDATA, or escaped, these are plain characters.
  EXPECT_EQ(Parse("<a><![CDATA[<!-- &foo; <?pi?>]]></a>").Text(),
            "<!-- &foo; <?pi?>");
  EXPECT_EQ(*Parse("<a b='&amp;foo; &lt;!-- x --&gt;'/>").Attr("b"),
            "&foo; <!-- x -->");
}

TEST(ElementTest, ErrorMessagesCarryLine) {
  absl::StatusOr<Element> e = ParseElement("<a>\n<b/>\n<!-- x --></a>");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("line 3"), absl::string_view::npos)
      << e.status();
  e = ParseElement("<a>\n<b>&bogus;</b></a>");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("&bogus;"), absl::string_view::npos);
  EXPECT_NE(e.status().message().find("line 2"), absl::string_view::npos);
}

TEST(ElementTest, DeepNestingIsRejected) {
  std::string xml;
  for (int i = 0; i < 200; ++i) xml += "<a>";
  for (int i = 0; i < 200; ++i) xml += "</a>";
  absl::StatusOr<Element> e = ParseElement(xml);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(GetStreamCondition(e.status()), StreamCondition::kPolicyViolation);
  // Depths a stanza really has are fine.
  xml.clear();
  for (int i = 0; i < 50; ++i) xml += "<a>";
  for (int i = 0; i < 50; ++i) xml += "</a>";
  EXPECT_TRUE(ParseElement(xml).ok());
}

// --- Serialisation ---

TEST(ElementTest, SerialisesMinimalNamespaces) {
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "get").SetAttr("id", "1");
  Element& query = iq.AddChild(ns::kJingleInfo, "query");
  query.AddChild(ns::kJingleInfo, "stun");
  EXPECT_EQ(iq.ToString(),
            "<iq type=\"get\" id=\"1\"><query xmlns=\"google:jingleinfo\">"
            "<stun/></query></iq>");
  EXPECT_EQ(iq.ToString(""),
            "<iq xmlns=\"jabber:client\" type=\"get\" id=\"1\">"
            "<query xmlns=\"google:jingleinfo\"><stun/></query></iq>");
  Element plain("", "x");
  EXPECT_EQ(plain.ToString(), "<x xmlns=\"\"/>");
  EXPECT_EQ(plain.ToString(""), "<x/>");
}

TEST(ElementTest, SerialisesStreamElementsWithPrefix) {
  Element features(ns::kStream, "features");
  features.AddChild(ns::kBind, "bind");
  features.AddChild(ns::kClient, "x");
  EXPECT_EQ(
      features.ToString(),
      "<stream:features><bind xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\"/>"
      "<x/></stream:features>");
  ExpectRoundTrip(features);
  Element error(ns::kStream, "error");
  error.AddChild(ns::kStreams, "not-well-formed");
  error.AddChild(ns::kStreams, "text").SetText("bad & worse");
  EXPECT_EQ(
      error.ToString(),
      "<stream:error><not-well-formed "
      "xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/><text "
      "xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\">bad &amp; worse</text>"
      "</stream:error>");
  ExpectRoundTrip(error);
}

TEST(ElementTest, AppendToBatches) {
  std::string out = "<stream:stream>";
  Element(ns::kClient, "presence").AppendTo(out);
  Element(ns::kClient, "message").AppendTo(out, ns::kClient);
  EXPECT_EQ(out, "<stream:stream><presence/><message/>");
}

TEST(ElementTest, RoundTripsRealisticStanzas) {
  for (absl::string_view xml : {
           "<iq type='set' id='bind_1'><bind "
           "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>talk&amp;co"
           "</resource></bind></iq>",
           "<presence from='a@gmail.com/Talk.v1' "
           "to='b@gmail.com'><show>away</show>"
           "<status>Out &lt;for&gt; lunch</status><priority>0</priority>"
           "<c xmlns='http://jabber.org/protocol/caps' "
           "node='http://www.google.com/xmpp/client/caps' ver='1.0.0.104' "
           "ext='share-v1 voice-v1'/><x "
           "xmlns='vcard-temp:x:update'><photo/></x>"
           "</presence>",
           "<message type='chat' xml:lang='fr'><body>\n  Bonjour\t!\n</body>"
           "<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
           "<iq type='set'>\n  <session xmlns='http://www.google.com/session' "
           "type='initiate' id='1' initiator='a@b/c'>\n    <description "
           "xmlns='http://www.google.com/session/phone'>\n      <payload-type "
           "id='103' name='ISAC' clockrate='16000'/>\n    </description>\n  "
           "</session>\n</iq>",
       }) {
    SCOPED_TRACE(xml);
    Element e = Parse(xml);
    ExpectRoundTrip(e);
    EXPECT_EQ(Parse(e.ToString()).ToString(), e.ToString());
  }
}

// Builds a random tree for the round-trip property: mixed namespaces (stream,
// none, redeclared), namespaced attributes, and text full of markup characters
// and whitespace-only runs between children.
Element RandomElement(std::mt19937& rng, int depth) {
  static constexpr const char* kNamespaces[] = {
      ns::kClient,        ns::kStream,      "",
      ns::kGoogleSession, ns::kGooglePhone, "urn:a&b\"c"};
  static constexpr const char* kNames[] = {"iq", "a", "payload-type", "x.y_z"};
  static constexpr const char* kTexts[] = {" ",
                                           "\t",
                                           "\n",
                                           "\r\n",
                                           "\r",
                                           "  \n  ",
                                           "plain",
                                           "<&>",
                                           "]]>",
                                           "\"quoted'",
                                           "\xC3\xA9\xE2\x98\xBA"};
  auto pick = [&rng](const auto& options) {
    return options[rng() % std::size(options)];
  };
  Element e(pick(kNamespaces), pick(kNames));
  const int attributes = rng() % 4;
  for (int i = 0; i < attributes; ++i) {
    std::string value = absl::StrCat(pick(kTexts), pick(kTexts));
    switch (rng() % 3) {
      case 0:
        e.SetAttr(absl::StrCat("k", i), value);
        break;
      case 1:
        e.SetAttr(ns::kXml, "lang", value);
        break;
      case 2:
        e.SetAttr(absl::StrCat(pick(kNamespaces), "#x"), "k", value);
        break;
    }
  }
  const int children = depth > 0 ? rng() % 5 : 0;
  for (int i = 0; i < children; ++i) {
    if (rng() % 2 == 0) {
      e.AddText(pick(kTexts));
    } else {
      e.AddChild(RandomElement(rng, depth - 1));
    }
  }
  return e;
}

// Test the round-trip property on many shapes of tree.
TEST(ElementTest, RandomTreesRoundTrip) {
  std::mt19937 rng(20240601);
  for (int i = 0; i < 500; ++i) {
    Element e = RandomElement(rng, 4);
    SCOPED_TRACE(e.ToString());
    ExpectRoundTrip(e);
    if (HasFailure()) break;
  }
}

// Verifies that serialisation writes nothing that would not parse back (issue
// 13 §1): elements and attributes named in code with non-NCNames are left
// out, characters XML cannot carry become U+FFFD.
TEST(ElementTest, SerialisationNeverWritesUnparsableXml) {
  Element message(ns::kClient, "message");
  message.AddChild("urn:a", "0y");
  message.AddChild("urn:a", "a:b");
  message.AddChild(ns::kXmlns, "x");
  message.AddChild(ns::kXml, "lang-element").SetText("x");
  message.SetAttr("-bad", "1")
      .SetAttr("good",
               "a\x01"
               "b\xFF\xEF\xBF\xBF");
  message.AddChild(ns::kClient, "body").SetText(std::string("n\0l\x1B", 4));
  const std::string wire = message.ToString();
  EXPECT_EQ(wire,
            "<message good=\"a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD\">"
            "<xml:lang-element>x</xml:lang-element>"
            "<body>n\xEF\xBF\xBD"
            "l\xEF\xBF\xBD</body></message>");
  absl::StatusOr<Element> parsed = ParseElement(wire);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->ToString(), wire);
}

// --- The model ---

TEST(ElementTest, CopiesAreDeep) {
  Element original = Parse("<a x='1'><b>text</b><c/></a>");
  Element copy = original;
  copy.SetAttr("x", "2");
  copy.FindChild(ns::kClient, "b")->SetText("changed");
  copy.AddChild(ns::kClient, "d");
  EXPECT_EQ(original.ToString(), "<a x=\"1\"><b>text</b><c/></a>");
  EXPECT_EQ(copy.ToString(), "<a x=\"2\"><b>changed</b><c/><d/></a>");
  Element assigned(ns::kClient, "z");
  assigned = original;
  ExpectSameTree(assigned, original);
  // Assigning a descendant to its ancestor copies before the old tree goes.
  assigned = *assigned.FirstChild();
  EXPECT_EQ(assigned.ToString(), "<b>text</b>");
  Element moved = std::move(copy);
  EXPECT_EQ(moved.Children().size(), 3u);
}

TEST(ElementTest, AttributesGetSetRemove) {
  Element e(ns::kClient, "iq");
  e.SetAttr("type", "get").SetAttr("id", "1").SetAttr("type", "result");
  ASSERT_EQ(e.attributes().size(), 2u);
  EXPECT_EQ(*e.Attr("type"), "result");
  EXPECT_EQ(e.attributes()[0].name, "type");  // replaced in place
  e.SetAttr(ns::kXml, "lang", "en");
  EXPECT_EQ(e.attributes().size(), 3u);
  EXPECT_EQ(e.Attr("lang"), nullptr);
  EXPECT_FALSE(e.RemoveAttr("lang"));  // no-namespace form only
  EXPECT_TRUE(e.RemoveAttr("type"));
  EXPECT_FALSE(e.RemoveAttr("type"));
  EXPECT_EQ(e.ToString(), "<iq id=\"1\" xml:lang=\"en\"/>");
}

TEST(ElementTest, ChildQueries) {
  Element e = Parse("<a>t<b n='1'/><c/><b n='2'/></a>");
  ASSERT_EQ(e.Children().size(), 3u);
  EXPECT_EQ(e.FirstChild()->name(), "b");
  const auto bs = e.FindChildren(ns::kClient, "b");
  ASSERT_EQ(bs.size(), 2u);
  EXPECT_EQ(*bs[1]->Attr("n"), "2");
  EXPECT_EQ(e.FindChild(ns::kClient, "c"), e.Children()[1]);
  for (Element* child : e.MutableChildren()) child->SetAttr("m", "x");
  EXPECT_EQ(e.ToString(),
            "<a>t<b n=\"1\" m=\"x\"/><c m=\"x\"/><b n=\"2\" m=\"x\"/></a>");
  EXPECT_EQ(Element("", "leaf").FirstChild(), nullptr);
}

TEST(ElementTest, AddChildReturnsStoredChild) {
  Element iq(ns::kClient, "iq");
  Element query(ns::kRoster, "query");
  Element& stored = iq.AddChild(std::move(query));
  stored.AddChild(ns::kRoster, "item").SetAttr("jid", "a@b");
  EXPECT_EQ(
      iq.ToString(),
      "<iq><query xmlns=\"jabber:iq:roster\"><item jid=\"a@b\"/></query></iq>");
}

TEST(ElementTest, RemoveChild) {
  Element e = Parse("<a>x<b/>y<c/></a>");
  const Element* b = e.FindChild(ns::kClient, "b");
  EXPECT_TRUE(e.RemoveChild(b));
  EXPECT_EQ(e.ToString(), "<a>xy<c/></a>");
  ExpectRoundTrip(e);
  Element other(ns::kClient, "c");
  EXPECT_FALSE(e.RemoveChild(&other));
  EXPECT_FALSE(e.RemoveChild(nullptr));
  EXPECT_FALSE(e.RemoveChild(&e));
  EXPECT_TRUE(e.RemoveChild(e.FirstChild()));
  EXPECT_EQ(e.FirstChild(), nullptr);
  EXPECT_EQ(e.Text(), "xy");
  e.ClearChildren();
  EXPECT_EQ(e.ToString(), "<a/>");
}

TEST(ElementTest, TextGetSet) {
  Element e = Parse("<a>one<b>inner</b>two</a>");
  EXPECT_EQ(e.Text(), "onetwo");  // direct character data only
  e.SetText("new");
  EXPECT_EQ(e.Text(), "new");
  EXPECT_EQ(e.ToString(), "<a>new<b>inner</b></a>");
  e.AddText(" more");
  EXPECT_EQ(e.ToString(), "<a>new<b>inner</b> more</a>");
  e.SetText("");
  EXPECT_EQ(e.ToString(), "<a><b>inner</b></a>");
  e.AddText("");
  EXPECT_EQ(e.ToString(), "<a><b>inner</b></a>");
  ExpectRoundTrip(e);
}

TEST(ElementTest, LineNumbers) {
  Element iq = Parse(
      "<iq type='set'\n    id='1'>\n  <query xmlns='jabber:iq:roster'>\n"
      "    <item jid='a@b'/>\n  </query>\n</iq>");
  EXPECT_EQ(iq.line(), 1);
  const Element* query = iq.FirstChild();
  EXPECT_EQ(query->line(), 3);
  EXPECT_EQ(query->FirstChild()->line(), 4);
  Element built(ns::kClient, "iq");
  EXPECT_EQ(built.line(), 0);
  built.set_line(9);
  EXPECT_EQ(Element(built).line(), 9);
}

}  // namespace
}  // namespace talkcheck::xmpp

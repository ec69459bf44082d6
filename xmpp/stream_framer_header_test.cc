// The stream header: its attributes, namespace bindings and prefixes.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"
#include "xmpp/stream_framer_test_util.h"

namespace talkcheck::xmpp {
namespace {

using ::talkcheck::xmpp::framer_testing::ConditionOf;
using ::talkcheck::xmpp::framer_testing::FeedAll;
using ::talkcheck::xmpp::framer_testing::FeedInPieces;
using ::talkcheck::xmpp::framer_testing::kHeader;
using ::talkcheck::xmpp::framer_testing::Outcome;
using EventType = StreamFramer::EventType;

// Verifies the header's attributes: xml:lang in the XML namespace, xmlns
// excluded.
TEST(StreamFramerTest, HeaderXmlLang) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer
                  .Feed("<stream:stream xmlns='jabber:client' "
                        "xmlns:stream='http://etherx.jabber.org/streams' "
                        "to='example.com' version='1.0' xml:lang='en'>",
                        events)
                  .ok());
  ASSERT_EQ(events.size(), 1u);
  const Element& header = events[0].header;
  EXPECT_TRUE(header.Is(ns::kStream, "stream"));
  ASSERT_NE(header.Attr(ns::kXml, "lang"), nullptr);
  EXPECT_EQ(*header.Attr(ns::kXml, "lang"), "en");
  EXPECT_EQ(header.Attr("lang"), nullptr);
  EXPECT_EQ(header.Attr("xmlns"), nullptr);
  EXPECT_EQ(header.attributes().size(), 3u);
  EXPECT_EQ(events[0].xml,
            "<stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' "
            "to='example.com' version='1.0' xml:lang='en'>");
}

// Verifies the header's namespace bindings become scope() and resolve its own
// name.
TEST(StreamFramerTest, HeaderWithPrefixes) {
  StreamFramer framer;
  ASSERT_NE(framer.scope().Lookup(""),
            nullptr);  // ClientStream() before the header
  EXPECT_EQ(*framer.scope().Lookup(""), ns::kClient);
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer.Feed(kHeader, events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kStreamOpen);
  EXPECT_TRUE(events[0].header.Is(ns::kStream, "stream"));
  EXPECT_EQ(events[0].header.AttrOr("to", ""), "example.com");
  EXPECT_EQ(events[0].header.AttrOr("version", ""), "1.0");
  ASSERT_NE(framer.scope().Lookup(""), nullptr);
  EXPECT_EQ(*framer.scope().Lookup(""), ns::kClient);
  ASSERT_NE(framer.scope().Lookup("stream"), nullptr);
  EXPECT_EQ(*framer.scope().Lookup("stream"), ns::kStream);
  EXPECT_TRUE(framer.stream_open());

  // A server-to-server style header with an extra prefix and a default
  // namespace.
  StreamFramer framer2;
  events.clear();
  ASSERT_TRUE(framer2
                  .Feed("<stream:stream xmlns='jabber:server' "
                        "xmlns:db='jabber:server:dialback' "
                        "xmlns:stream='http://etherx.jabber.org/streams'>",
                        events)
                  .ok());
  ASSERT_NE(framer2.scope().Lookup("db"), nullptr);
  EXPECT_EQ(*framer2.scope().Lookup("db"), "jabber:server:dialback");
  EXPECT_EQ(*framer2.scope().Lookup(""), "jabber:server");
}

// Verifies an unprefixed header resolves against its default namespace.
TEST(StreamFramerTest, HeaderWithoutPrefix) {
  const Outcome outcome =
      FeedAll("<stream xmlns='http://etherx.jabber.org/streams'><a/></stream>");
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(outcome.events.size(), 3u);
  EXPECT_EQ(outcome.events[0], "open {http://etherx.jabber.org/streams}stream");
}

// Verifies a wrong stream namespace is reported as resolved, not refused: the
// stream owner decides (RFC 6120 §4.9.3.10 invalid-namespace).
TEST(StreamFramerTest, HeaderWithWrongStreamNamespace) {
  const Outcome outcome = FeedAll(
      "<stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://wrong.example/'>");
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(outcome.events.size(), 1u);
  EXPECT_EQ(outcome.events[0], "open {http://wrong.example/}stream");
}

// Verifies an undeclared prefix on the header gives <bad-namespace-prefix/>.
TEST(StreamFramerTest, HeaderWithUndeclaredPrefix) {
  EXPECT_EQ(ConditionOf("<stream:stream xmlns='jabber:client'>"),
            StreamCondition::kBadNamespacePrefix);
  EXPECT_EQ(ConditionOf("<stream:stream xmlns:stream='http://etherx.jabber.org/"
                        "streams' foo:bar='1'>"),
            StreamCondition::kBadNamespacePrefix);
}

// Verifies references in header attribute values are decoded.
TEST(StreamFramerTest, HeaderAttributeReferences) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer
                  .Feed("<stream:stream xmlns:stream='http://etherx.jabber.org/"
                        "streams' to='ex&amp;ample&#46;com&#x2F;&lt;&gt;' "
                        "from=\"&quot;&apos;&#x1F600;\" id='a\tb'>",
                        events)
                  .ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].header.AttrOr("to", ""), "ex&ample.com/<>");
  EXPECT_EQ(events[0].header.AttrOr("from", ""), "\"'\xF0\x9F\x98\x80");
  EXPECT_EQ(events[0].header.AttrOr("id", ""), "a b");
  EXPECT_EQ(ConditionOf("<stream:stream xmlns:stream='x' to='&bogus;'>"),
            StreamCondition::kRestrictedXml);
}

// Verifies a self-closed header opens and closes an empty stream.
TEST(StreamFramerTest, SelfClosedHeader) {
  StreamFramer framer;
  const Outcome outcome = FeedInPieces(
      framer,
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>",
      {1 << 10});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(outcome.events.size(), 2u);
  EXPECT_EQ(outcome.events[1].substr(0, 5), "close");
  EXPECT_TRUE(framer.closed());
}

}  // namespace
}  // namespace talkcheck::xmpp

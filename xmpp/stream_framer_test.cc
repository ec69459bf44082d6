#include "xmpp/stream_framer.h"

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer_test_util.h"

namespace talkcheck::xmpp {
namespace {

using ::talkcheck::xmpp::framer_testing::ConditionOf;
using ::talkcheck::xmpp::framer_testing::FeedAll;
using ::talkcheck::xmpp::framer_testing::FeedInPieces;
using ::talkcheck::xmpp::framer_testing::InStream;
using ::talkcheck::xmpp::framer_testing::kHeader;
using ::talkcheck::xmpp::framer_testing::Outcome;
using EventType = StreamFramer::EventType;

// A client stream touching every construct the framer must carry across read
// boundaries: declaration, prefixed header, keep-alives, references, CDATA,
// quoted
// '>' and '/', 2-, 3- and 4-byte UTF-8, empty and nested elements, the close
// tag.
constexpr char kStanza1[] =
    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
    "mechanism='PLAIN'>AGp1bGlldAByMG0zMA==</auth>";
constexpr char kStanza2[] =
    "<iq type='set' id='bind_1'><bind "
    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>Talk.v104&amp;"
    "</resource></bind></iq>";
constexpr char kStanza3[] =
    "<presence><c xmlns='http://jabber.org/protocol/caps' "
    "node='http://www.google.com/xmpp/client/caps' ver='1.0.0.104' "
    "ext='voice-v1'/><status>Caf\xC3\xA9 &#233;&#xE9; \xE2\x82\xAC "
    "\xF0\x9F\x98\x80</status></presence>";
constexpr char kStanza4[] =
    "<message to=\"romeo@example.net/orchard\" type='chat' "
    "id=\"a'>b\"><body><![CDATA[<b>x</b> ]] ]]]]></body>"
    "<x a='&lt;&gt;&quot;&apos;' b=\"/>\"/></message>";
constexpr char kStanza5[] = "<iq type='get' id='q>/'/>";
constexpr char kClose[] = "</stream:stream>";

std::string RecordedStream() {
  return absl::StrCat("<?xml version='1.0'?>\n", kHeader, "\n", kStanza1,
                      "\n\n  ", kStanza2, " \r\n\t", kStanza3, kStanza4, " ",
                      kStanza5, "\n", kClose);
}

const std::vector<std::string>& ExpectedEvents() {
  static const auto* const kExpected = new std::vector<std::string>{
      "open {http://etherx.jabber.org/streams}stream {}to=example.com "
      "{}version=1.0",
      absl::StrCat("element ", kStanza1),
      absl::StrCat("element ", kStanza2),
      absl::StrCat("element ", kStanza3),
      absl::StrCat("element ", kStanza4),
      absl::StrCat("element ", kStanza5),
      absl::StrCat("close ", kClose),
  };
  return *kExpected;
}

// Verifies the whole stream in one read gives the header, five stanzas and the
// close.
TEST(StreamFramerTest, FramesRecordedStreamInOneRead) {
  StreamFramer framer;
  EXPECT_FALSE(framer.stream_open());
  const Outcome outcome = FeedInPieces(framer, RecordedStream(), {1 << 20});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.events, ExpectedEvents());
  EXPECT_TRUE(framer.closed());
  EXPECT_FALSE(framer.stream_open());
}

// Verifies one byte per read changes nothing.
TEST(StreamFramerTest, OneByteAtATime) {
  StreamFramer framer;
  const Outcome outcome = FeedInPieces(framer, RecordedStream(), {1});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.events, ExpectedEvents());
}

// Verifies every split point of a two-read delivery gives the same events.
TEST(StreamFramerTest, EveryTwoPartSplit) {
  const std::string stream = RecordedStream();
  for (size_t split = 0; split <= stream.size(); ++split) {
    StreamFramer framer;
    const Outcome outcome = FeedInPieces(
        framer, stream, {split == 0 ? stream.size() : split, stream.size()});
    ASSERT_TRUE(outcome.status.ok())
        << "split " << split << ": " << outcome.status;
    ASSERT_EQ(outcome.events, ExpectedEvents()) << "split " << split;
  }
}

// Verifies odd read sizes (including ones that cut UTF-8 and references) change
// nothing.
TEST(StreamFramerTest, VariousReadSizes) {
  for (size_t size : {2u, 3u, 5u, 7u, 13u, 64u, 4096u}) {
    StreamFramer framer;
    const Outcome outcome = FeedInPieces(framer, RecordedStream(), {size});
    ASSERT_TRUE(outcome.status.ok()) << size << ": " << outcome.status;
    EXPECT_EQ(outcome.events, ExpectedEvents()) << size;
  }
}

// Verifies the events of each Feed are exactly those its bytes complete.
TEST(StreamFramerTest, EventsArriveWhenComplete) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer
                  .Feed("<stream:stream xmlns:stream='http://etherx.jabber"
                        ".org/streams' xmlns='jabber:client'",
                        events)
                  .ok());
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(framer.stream_open());
  ASSERT_TRUE(framer.Feed(">", events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(framer.stream_open());
  ASSERT_TRUE(framer.Feed("<presence/><message><body>hi</bo", events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, EventType::kElement);
  EXPECT_EQ(events[1].xml, "<presence/>");
  ASSERT_TRUE(framer.Feed("dy></message>", events).ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].xml, "<message><body>hi</body></message>");
}

// Verifies many stanzas in one read each come out whole and in order.
TEST(StreamFramerTest, ManyStanzasInOneRead) {
  std::string body;
  for (int i = 0; i < 500; ++i) {
    absl::StrAppend(&body, "<message id='", i, "'><body>", i,
                    "</body></message>");
  }
  const Outcome outcome = FeedAll(InStream(body));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(outcome.events.size(), 501u);
  EXPECT_EQ(outcome.events[1],
            "element <message id='0'><body>0</body></message>");
  EXPECT_EQ(outcome.events[500],
            "element <message id='499'><body>499</body></message>");
}

// Verifies, on many mutants of the recorded stream (bytes replaced, inserted or
// deleted, biased towards markup), that read boundaries never change the
// outcome: the same events and the same error, whether fed at once, by bytes or
// in random pieces.
TEST(StreamFramerTest, ReadBoundariesNeverChangeTheOutcome) {
  constexpr absl::string_view kAlphabet =
      "<>/&;#x'\"=![]-?:aZ \n\xC3\xA9\x80\xF0\x9F\xED\xA0";
  const std::string original = RecordedStream();
  std::mt19937 random(6120);
  for (int mutant = 0; mutant < 400; ++mutant) {
    std::string stream = original;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = random() % stream.size();
      const char byte = kAlphabet[random() % kAlphabet.size()];
      switch (random() % 3) {
        case 0:
          stream[at] = byte;
          break;
        case 1:
          stream.insert(stream.begin() + at, byte);
          break;
        default:
          stream.erase(at, 1);
          break;
      }
    }
    StreamFramer whole_framer, bytes_framer, pieces_framer;
    const Outcome whole = FeedInPieces(whole_framer, stream, {stream.size()});
    const Outcome bytes = FeedInPieces(bytes_framer, stream, {1});
    std::vector<size_t> sizes;
    for (int i = 0; i < 64; ++i) sizes.push_back(1 + random() % 40);
    const Outcome pieces = FeedInPieces(pieces_framer, stream, sizes);
    ASSERT_EQ(whole.events, bytes.events) << absl::CEscape(stream);
    ASSERT_EQ(whole.events, pieces.events) << absl::CEscape(stream);
    ASSERT_EQ(whole.status.ok(), bytes.status.ok()) << absl::CEscape(stream);
    ASSERT_EQ(GetStreamCondition(whole.status),
              GetStreamCondition(bytes.status))
        << absl::CEscape(stream) << whole.status << bytes.status;
    ASSERT_EQ(GetStreamCondition(whole.status),
              GetStreamCondition(pieces.status))
        << absl::CEscape(stream) << whole.status << pieces.status;
  }
}

// Verifies a 2-byte and a 4-byte character split at each inner byte are
// accepted whole.
TEST(StreamFramerTest, SplitUtf8Characters) {
  for (absl::string_view ch :
       {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    const std::string stanza =
        absl::StrCat("<message><body>a", ch, "b</body></message>");
    const std::string stream = InStream(stanza);
    const size_t at = absl::string_view(stream).find(ch);
    for (size_t cut = 1; cut < ch.size(); ++cut) {
      StreamFramer framer;
      std::vector<StreamFramer::Event> events;
      ASSERT_TRUE(
          framer.Feed(absl::string_view(stream).substr(0, at + cut), events)
              .ok());
      ASSERT_TRUE(
          framer.Feed(absl::string_view(stream).substr(at + cut), events).ok());
      ASSERT_EQ(events.size(), 2u);
      EXPECT_EQ(events[1].xml, stanza);
    }
  }
  // Also in an attribute value and in element names.
  const std::string odd =
      "<\xC3\xA9l\xC3\xA9ment a='\xF0\x9F\x98\x80'></\xC3\xA9l\xC3\xA9ment>";
  StreamFramer framer;
  const Outcome outcome = FeedInPieces(framer, InStream(odd), {1});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(outcome.events.size(), 2u);
  EXPECT_EQ(outcome.events[1], absl::StrCat("element ", odd));
}

// Verifies whitespace keep-alives between stanzas produce no events.
TEST(StreamFramerTest, SkipsWhitespaceKeepAlives) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer.Feed(kHeader, events).ok());
  for (absl::string_view ping : {" ", "\n", "\r\n", "\t", "   \n  "}) {
    ASSERT_TRUE(framer.Feed(ping, events).ok());
  }
  EXPECT_EQ(events.size(), 1u);
  ASSERT_TRUE(framer.Feed(" <presence/> ", events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].xml, "<presence/>");
}

// Verifies the stream close is an event, and a close tag naming another element
// is not.
TEST(StreamFramerTest, StreamClose) {
  const Outcome outcome = FeedAll(InStream("<presence/></stream:stream >"));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(outcome.events.size(), 3u);
  EXPECT_EQ(outcome.events[2], "close </stream:stream >");

  EXPECT_EQ(ConditionOf(InStream("</stream:streams>")),
            StreamCondition::kNotWellFormed);
  EXPECT_EQ(ConditionOf(InStream("</stream>")),
            StreamCondition::kNotWellFormed);
  EXPECT_EQ(ConditionOf(InStream("</s:stream>")),
            StreamCondition::kNotWellFormed);
  // The close must match the header's own prefix.
  const std::string other_prefix =
      "<s:stream xmlns:s='http://etherx.jabber.org/streams'>";
  EXPECT_TRUE(FeedAll(absl::StrCat(other_prefix, "</s:stream>")).status.ok());
  EXPECT_EQ(ConditionOf(absl::StrCat(other_prefix, "</stream:stream>")),
            StreamCondition::kNotWellFormed);
}

// Verifies whitespace after the close is tolerated and anything else refused.
TEST(StreamFramerTest, DataAfterClose) {
  EXPECT_TRUE(FeedAll(InStream("</stream:stream>\r\n")).status.ok());
  EXPECT_EQ(ConditionOf(InStream("</stream:stream><presence/>")),
            StreamCondition::kNotWellFormed);
}

// Verifies the restricted constructs of RFC 6120 §11.1 give <restricted-xml/>.
TEST(StreamFramerTest, RestrictedXml) {
  const std::vector<std::string> cases = {
      // DOCTYPE, before and after the header.
      "<!DOCTYPE stream:stream>",
      "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x 'y'>]>",
      InStream("<!DOCTYPE x>"),
      // Processing instructions other than the leading declaration.
      "<?xml-stylesheet href='a'?>",
      "<?php echo 1; ?>",
      "<?x?>",
      "<?xm y?>",
      "<?xml version='1.0'?><?xml version='1.0'?>",
      InStream("<?pi?>"),
      InStream("<message><?pi x?></message>"),
      // Comments, anywhere.
      "<!-- hello -->",
      InStream("<!---->"),
      InStream("<message><!-- x --></message>"),
      // Entity declarations.
      InStream("<!ENTITY x 'y'>"),
      InStream("<!ELEMENT x ANY>"),
      InStream("<!ATTLIST x y CDATA #IMPLIED>"),
      // Entity references other than the five predefined ones.
      InStream("<message><body>&nbsp;</body></message>"),
      InStream("<message><body>&ampx;</body></message>"),
      InStream("<message><body>&AMP;</body></message>"),
      InStream("<message to='&xxe;'/>"),
  };
  for (const std::string& xml : cases) {
    EXPECT_EQ(ConditionOf(xml), StreamCondition::kRestrictedXml) << xml;
    // One byte at a time must reach the same verdict.
    StreamFramer framer;
    EXPECT_EQ(GetStreamCondition(FeedInPieces(framer, xml, {1}).status),
              StreamCondition::kRestrictedXml)
        << xml;
  }
}

// Verifies the predefined entities and character references are accepted.
TEST(StreamFramerTest, PredefinedEntitiesAndCharacterReferences) {
  const std::string stanza =
      "<message a='&amp;&lt;&gt;&quot;&apos;&#65;&#x41;&#x1F600;'>"
      "<body>&amp;&lt;&gt;&quot;&apos;&#10;&#x10FFFF;</body></message>";
  const Outcome outcome = FeedAll(InStream(stanza));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.events.back(), absl::StrCat("element ", stanza));
}

// Verifies malformed and out-of-range character references are
// <not-well-formed/>.
TEST(StreamFramerTest, BadCharacterReferences) {
  for (absl::string_view ref :
       {"&#0;", "&#x0;", "&#;", "&#x;", "&#xD800;", "&#x110000;",
        "&#99999999999;", "&#12a;", "&#xFFFE;", "& ;", "&;", "&amp", "&#65"}) {
    const std::string xml =
        InStream(absl::StrCat("<message><body>", ref, " </body></message>"));
    EXPECT_EQ(ConditionOf(xml), StreamCondition::kNotWellFormed) << ref;
  }
}

// Verifies invalid UTF-8 gives <unsupported-encoding/> (RFC 6120 §4.9.3.22,
// §11.6), wherever it appears and however it is split.
TEST(StreamFramerTest, InvalidUtf8) {
  const std::vector<std::string> bad = {
      "\x80",              // stray continuation byte
      "\xBF",              // stray continuation byte
      "\xC0\x80",          // overlong NUL
      "\xC1\xBF",          // overlong
      "\xE0\x80\x80",      // overlong 3-byte
      "\xE0\x9F\xBF",      // overlong 3-byte
      "\xED\xA0\x80",      // surrogate U+D800
      "\xED\xBF\xBF",      // surrogate U+DFFF
      "\xF0\x80\x80\x80",  // overlong 4-byte
      "\xF0\x8F\xBF\xBF",  // overlong 4-byte
      "\xF4\x90\x80\x80",  // U+110000
      "\xF5\x80\x80\x80",  // lead beyond U+10FFFF
      "\xFE",              // never valid
      "\xFF",              // never valid
      "\xC3"
      "a",  // truncated 2-byte
      "\xE2\x82"
      "a",  // truncated 3-byte
      "\xF0\x9F\x98"
      "<",             // truncated 4-byte before markup
      "\xC3\xA9\xA9",  // extra continuation byte
  };
  for (const std::string& bytes : bad) {
    for (const std::string& xml :
         {InStream(absl::StrCat("<message><body>", bytes, "</body></message>")),
          InStream(absl::StrCat("<message a='", bytes, "'/>")),
          InStream(absl::StrCat("<m", bytes, "/>")),
          InStream(absl::StrCat("<message><![CDATA[", bytes, "]]></message>")),
          absl::StrCat("<stream:stream to='", bytes, "'>")}) {
      EXPECT_EQ(ConditionOf(xml), StreamCondition::kUnsupportedEncoding)
          << absl::CEscape(xml);
      StreamFramer framer;
      EXPECT_EQ(GetStreamCondition(FeedInPieces(framer, xml, {1}).status),
                StreamCondition::kUnsupportedEncoding)
          << absl::CEscape(xml);
    }
  }
}

// Verifies a boundary code point on each side of every validity rule is
// accepted.
TEST(StreamFramerTest, ValidUtf8Boundaries) {
  for (absl::string_view ch :
       {"\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xEC\xBF\xBF", "\xED\x9F\xBF",
        "\xEE\x80\x80", "\xEF\xBF\xBD", "\xF0\x90\x80\x80",
        "\xF4\x8F\xBF\xBF"}) {
    const std::string xml = InStream(absl::StrCat("<m>", ch, "</m>"));
    EXPECT_TRUE(FeedAll(xml).status.ok()) << absl::CEscape(ch);
  }
}

// Verifies the declaration may only name UTF-8 (RFC 6120 §11.6).
TEST(StreamFramerTest, DeclarationEncoding) {
  EXPECT_TRUE(
      FeedAll(absl::StrCat("<?xml version='1.0' encoding='UTF-8'?>", kHeader))
          .status.ok());
  EXPECT_TRUE(FeedAll(absl::StrCat("<?xml version=\"1.0\" encoding=\"utf-8\" "
                                   "standalone='yes' ?>\n",
                                   kHeader))
                  .status.ok());
  EXPECT_EQ(ConditionOf(absl::StrCat(
                "<?xml version='1.0' encoding='ISO-8859-1'?>", kHeader)),
            StreamCondition::kUnsupportedEncoding);
  EXPECT_EQ(ConditionOf("<?xml version='1.0' encoding='UTF-16'?>"),
            StreamCondition::kUnsupportedEncoding);
  EXPECT_EQ(ConditionOf("<?xml?>"), StreamCondition::kNotWellFormed);
  EXPECT_EQ(ConditionOf("<?xml version='1.0!'?>"),
            StreamCondition::kNotWellFormed);
  EXPECT_EQ(ConditionOf("<?xml version='2.0'?>"),
            StreamCondition::kNotWellFormed);
  EXPECT_EQ(ConditionOf("<?xml encoding='UTF-8'?>"),
            StreamCondition::kNotWellFormed);
  EXPECT_EQ(ConditionOf("<?xml version='1.0' foo='bar'?>"),
            StreamCondition::kNotWellFormed);
  // The declaration must come first: after whitespace it is a processing
  // instruction.
  EXPECT_EQ(ConditionOf(" <?xml version='1.0'?>"),
            StreamCondition::kRestrictedXml);
}

// Verifies a UTF-8 byte order mark before the declaration or header is
// accepted.
TEST(StreamFramerTest, ByteOrderMark) {
  const Outcome outcome =
      FeedAll(absl::StrCat("\xEF\xBB\xBF<?xml version='1.0'?>", kHeader));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.events.size(), 1u);
  EXPECT_EQ(ConditionOf("\xEF\xBB\xBF\xEF\xBB\xBF<a>"),
            StreamCondition::kNotWellFormed);
}

// Verifies the well-formedness violations the framer sees give
// <not-well-formed/>.
TEST(StreamFramerTest, NotWellFormed) {
  const std::vector<std::string> cases = {
      "hello",                           // text before the header
      "</stream:stream>",                // close before open
      "<>",                              // empty name
      "< stream:stream>",                // space before name
      InStream("hello"),                 // text at the top level
      InStream("&amp;"),                 // a reference at the top level
      InStream(">"),                     // stray '>'
      InStream("<message></iq>"),        // mismatched end tag
      InStream("<a><b></a></b>"),        // crossed end tags
      InStream("<message></messages>"),  // longer end tag
      InStream("<messages></message>"),  // shorter end tag
      InStream("<a></a x='1'>"),         // attribute in end tag
      InStream("<a x='<'/>"),            // '<' in attribute value
      InStream("<a x=1/>"),              // unquoted value
      InStream("<a x/>"),                // attribute without value
      InStream("<a x='1'y='2'/>"),       // no space between attributes
      InStream("<a x='1\"/><b/>"),       // mismatched quotes, then '<' in value
      InStream("<a / >"),                // '/' not followed by '>'
      InStream("<a>></b>"),              // '>' is text; the end tag is wrong
      InStream("<a><![CDATA[x]]></a><![CDATA[y]]>"),  // CDATA at top level
      InStream("<a><!x></a>"),              // unknown markup declaration
      InStream("<a><!-x--></a>"),           // half comment opener
      InStream("<a>\x01</a>"),              // control character
      InStream("<a b='\x0B'/>"),            // control character in value
      InStream("<a><![CDATA[\x1F]]></a>"),  // control character in CDATA
      InStream("<a>x & y</a>"),             // bare ampersand
      "<stream:stream xmlns:stream='x' a='1' a='2'>",  // duplicate attribute
      "<stream:stream xmlns:s=''>",  // empty prefixed declaration
      "<a:b:c>",                     // not a QName
  };
  for (const std::string& xml : cases) {
    EXPECT_EQ(ConditionOf(xml), StreamCondition::kNotWellFormed)
        << absl::CEscape(xml);
  }
}

// Verifies '>' and '/' inside quoted values and CDATA do not end anything.
TEST(StreamFramerTest, MarkupCharactersInsideValuesAndCdata) {
  const std::string stanza =
      "<iq id='>' to=\"a/b>\" x='/>' y=\"'\" z='\"'><query "
      "xmlns='jabber:iq:roster'><![CDATA[</iq> <a> ]> ]]]></query></iq>";
  StreamFramer framer;
  const Outcome outcome = FeedInPieces(framer, InStream(stanza), {1});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(outcome.events.size(), 2u);
  EXPECT_EQ(outcome.events[1], absl::StrCat("element ", stanza));
}

// Verifies an element over the limit is refused while still incomplete, so the
// framer never holds more than the limit.
TEST(StreamFramerTest, OversizeIncompleteElement) {
  FramerLimits limits;
  limits.max_element_bytes = 1000;
  StreamFramer framer(limits);
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer.Feed(kHeader, events).ok());
  ASSERT_TRUE(framer.Feed("<message><body>", events).ok());
  const std::string chunk(100, 'x');
  absl::Status status;
  size_t fed = 15;
  while (status.ok() && fed < 100000) {
    status = framer.Feed(chunk, events);
    fed += chunk.size();
  }
  EXPECT_EQ(GetStreamCondition(status), StreamCondition::kPolicyViolation);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GT(fed, 1000u);
  EXPECT_LE(fed, 1100u);
  EXPECT_EQ(events.size(), 1u);
}

// Verifies a complete element over the limit in one read is refused, and one
// exactly at the limit accepted.
TEST(StreamFramerTest, OversizeCompleteElement) {
  FramerLimits limits;
  limits.max_element_bytes = 200;  // the header (116 bytes) must fit too
  const std::string prefix = "<message><body>";
  const std::string suffix = "</body></message>";
  const size_t filler = 200 - prefix.size() - suffix.size();
  const std::string fits = prefix + std::string(filler, 'x') + suffix;
  ASSERT_EQ(fits.size(), 200u);
  Outcome outcome = FeedAll(InStream(fits), limits);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.events.size(), 2u);

  const std::string too_big = prefix + std::string(filler + 1, 'x') + suffix;
  outcome = FeedAll(InStream(too_big + "<presence/>"), limits);
  EXPECT_EQ(GetStreamCondition(outcome.status),
            StreamCondition::kPolicyViolation);
  EXPECT_EQ(outcome.events.size(), 1u);  // the header only
  // Same verdict when the element arrives byte by byte.
  StreamFramer framer(limits);
  EXPECT_EQ(
      GetStreamCondition(FeedInPieces(framer, InStream(too_big), {1}).status),
      StreamCondition::kPolicyViolation);
}

// Verifies the header is bounded by the same limit.
TEST(StreamFramerTest, OversizeHeader) {
  FramerLimits limits;
  limits.max_element_bytes = 200;
  const std::string header =
      absl::StrCat("<stream:stream to='", std::string(300, 'a'));
  EXPECT_EQ(GetStreamCondition(FeedAll(header, limits).status),
            StreamCondition::kPolicyViolation);
}

// Verifies nesting up to max_depth is accepted and one more level is refused.
TEST(StreamFramerTest, Depth) {
  FramerLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(
      FeedAll(InStream("<a><b><c/></b></a><a><b><c></c></b></a>"), limits)
          .status.ok());
  EXPECT_EQ(GetStreamCondition(
                FeedAll(InStream("<a><b><c><d/></c></b></a>"), limits).status),
            StreamCondition::kPolicyViolation);
  EXPECT_EQ(
      GetStreamCondition(FeedAll(InStream("<a><b><c><d>"), limits).status),
      StreamCondition::kPolicyViolation);
  // The default limit stops a deeply nested bomb long before the size limit.
  std::string bomb;
  for (int i = 0; i < 1000; ++i) bomb += "<a>";
  EXPECT_EQ(ConditionOf(InStream(bomb)), StreamCondition::kPolicyViolation);
}

// Verifies Reset() after STARTTLS expects a fresh header, declaration allowed.
TEST(StreamFramerTest, ResetAfterStartTls) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer
                  .Feed(absl::StrCat("<?xml version='1.0'?>", kHeader,
                                     "<starttls xmlns='urn:ietf:params:xml:ns:"
                                     "xmpp-tls'/>"),
                        events)
                  .ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].xml,
            "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  framer.Reset();
  EXPECT_FALSE(framer.stream_open());
  events.clear();
  ASSERT_TRUE(
      framer
          .Feed(absl::StrCat("<?xml version='1.0'?>",
                             "<s:stream xmlns='jabber:client' "
                             "xmlns:s='http://etherx.jabber.org/streams' "
                             "version='1.0'><presence/></s:stream>"),
                events)
          .ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, EventType::kStreamOpen);
  EXPECT_EQ(events[1].xml, "<presence/>");
  EXPECT_EQ(events[2].type, EventType::kStreamClose);
  ASSERT_NE(framer.scope().Lookup("s"), nullptr);
  EXPECT_EQ(*framer.scope().Lookup("s"), ns::kStream);
}

// Verifies Reset() drops a half-read element (bytes read before the TLS
// handshake).
TEST(StreamFramerTest, ResetDiscardsBufferedInput) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer.Feed(absl::StrCat(kHeader, "<message><bo"), events).ok());
  framer.Reset();
  events.clear();
  ASSERT_TRUE(framer.Feed(absl::StrCat(kHeader, "<presence/>"), events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].xml, "<presence/>");
}

// Verifies an error sticks: later reads return the same status and add no
// events.
TEST(StreamFramerTest, ErrorIsSticky) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  const absl::Status first =
      framer.Feed(InStream("<presence/><!-- no -->"), events);
  EXPECT_EQ(GetStreamCondition(first), StreamCondition::kRestrictedXml);
  EXPECT_EQ(events.size(), 2u);  // completed before the violation
  EXPECT_EQ(framer.Feed("<presence/>", events), first);
  EXPECT_EQ(framer.Feed("", events), first);
  EXPECT_EQ(events.size(), 2u);
  EXPECT_FALSE(framer.stream_open());
}

// Verifies the framed stanzas parse with the header's scope.
TEST(StreamFramerTest, FramedElementsParse) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  ASSERT_TRUE(framer.Feed(RecordedStream(), events).ok());
  for (const auto& event : events) {
    if (event.type != EventType::kElement) continue;
    absl::StatusOr<Element> element = ParseElement(event.xml, framer.scope());
    ASSERT_TRUE(element.ok()) << event.xml << ": " << element.status();
    // value() rather than operator->: it also makes this binary itself
    // reference libabsl_statusor, which the framer's and element's shared
    // objects need at load time (@system_libs//:absl links with --as-needed,
    // and gold only counts references from the binary's own objects).
    EXPECT_FALSE(element.value().name().empty());
  }
}

}  // namespace
}  // namespace talkcheck::xmpp

namespace talkcheck::xmpp {
namespace {

// Verifies that element names that are not QNames (issue 13 §1) end the stream
// with not-well-formed, in the header and in stanzas, whatever the read size.
TEST(StreamFramerTest, RefusesElementNamesThatAreNotQNames) {
  for (const char* stanza :
       {"<x:0y xmlns:x='urn:a'/>", "<message><x:-y xmlns:x='urn:a'/></message>",
        "<message><a\xC3\x97/></message>", "<0p:a xmlns:0p='urn:a'></0p:a>",
        "<message><a:b:c/></message>"}) {
    for (size_t chunk : {1, 3, 1000}) {
      SCOPED_TRACE(absl::StrCat(stanza, " in chunks of ", chunk));
      StreamFramer framer;
      std::vector<StreamFramer::Event> events;
      ASSERT_TRUE(framer.Feed(kHeader, events).ok());
      const std::string text = stanza;
      absl::Status status;
      for (size_t at = 0; at < text.size() && status.ok(); at += chunk) {
        status = framer.Feed(absl::string_view(text).substr(at, chunk), events);
      }
      EXPECT_EQ(GetStreamCondition(status), StreamCondition::kNotWellFormed)
          << status;
    }
  }
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  EXPECT_EQ(GetStreamCondition(framer.Feed(
                "<stream:0stream xmlns:stream='http://etherx.jabber.org/"
                "streams' version='1.0'>",
                events)),
            StreamCondition::kNotWellFormed);
}

}  // namespace
}  // namespace talkcheck::xmpp

namespace talkcheck::xmpp {
namespace {

// Verifies that an element with more attributes than limits.max_attributes is
// a policy violation found while scanning, whatever the read size, and that
// the count restarts with every start tag (issue 13 §1: one stanza with 30,000
// attributes cost 3 s of CPU before login).
TEST(StreamFramerTest, BoundsAttributesPerElement) {
  FramerLimits limits;
  limits.max_attributes = 16;
  std::string many = "<message";
  for (int i = 0; i < 30000; ++i) absl::StrAppend(&many, " a", i, "=''");
  many += "/>";
  std::string within = "<message";
  for (int i = 0; i < 16; ++i) absl::StrAppend(&within, " a", i, "=\"v\"");
  within += "><x";
  for (int i = 0; i < 16; ++i) absl::StrAppend(&within, " b", i, "='v'");
  within += "/></message>";
  for (size_t chunk : {1, 7, 100000}) {
    SCOPED_TRACE(chunk);
    StreamFramer framer(limits);
    std::vector<StreamFramer::Event> events;
    ASSERT_TRUE(framer.Feed(kHeader, events).ok());
    absl::Status status;
    for (size_t at = 0; at < within.size() && status.ok(); at += chunk) {
      status = framer.Feed(absl::string_view(within).substr(at, chunk), events);
    }
    ASSERT_TRUE(status.ok()) << status;
    ASSERT_EQ(events.size(), 2u);
    for (size_t at = 0; at < many.size() && status.ok(); at += chunk) {
      status = framer.Feed(absl::string_view(many).substr(at, chunk), events);
    }
    EXPECT_EQ(GetStreamCondition(status), StreamCondition::kPolicyViolation)
        << status;
  }
}

}  // namespace
}  // namespace talkcheck::xmpp

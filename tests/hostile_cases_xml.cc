// The bad-input suite's XML cases: what a hostile client can do with the bytes
// of its stream (names, namespaces, restricted XML, encodings, sizes) and the
// stream error RFC 6120 names for each. See docs/protocol-notes.md ("Stream
// errors the fake server sends") for the table these follow.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fake_server/config.pb.h"
#include "tests/hostile_case.h"

namespace talkcheck::integration {
namespace {

constexpr char kHeaderRest[] =
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'";

// A stream header with `attributes` besides the two namespace declarations.
std::string Header(absl::string_view attributes) {
  return absl::StrCat("<?xml version='1.0'?><stream:stream ", attributes, " ",
                      kHeaderRest, ">");
}

// `count` distinct attributes a0='x' a1='x' ...
std::string Attributes(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) absl::StrAppend(&out, " a", i, "='x'");
  return out;
}

// A message to the peer with `inner` as its content.
std::string MessageWith(absl::string_view inner) {
  return absl::StrCat("<message ", kToPeer, ">", inner, "</message>");
}

std::string Nested(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += "<a>";
  for (int i = 0; i < depth; ++i) out += "</a>";
  return out;
}

// Billion laughs: ten levels of ten references each.
std::string BillionLaughs() {
  std::string doctype = "<!DOCTYPE stream:stream [<!ENTITY l0 'ha'>";
  for (int i = 1; i < 10; ++i) {
    absl::StrAppend(&doctype, "<!ENTITY l", i, " '");
    for (int j = 0; j < 10; ++j) absl::StrAppend(&doctype, "&l", i - 1, ";");
    doctype += "'>";
  }
  doctype += "]>";
  return absl::StrCat("<?xml version='1.0'?>", doctype,
                      "<stream:stream to='localhost' version='1.0' ",
                      kHeaderRest, ">&l9;");
}

}  // namespace

std::vector<HostileCase> XmlCases() {
  using S = Stage;
  const std::string versioned = "to='localhost' version='1.0'";
  return {
      // Issue 13 §1: names that are not NCNames never reach anyone.
      StreamErrorCase("NonNcNameDigitAfterPrefix", "RFC 6120 §4.9.3.13",
                      S::kLoggedIn, "<x:0y xmlns:x='urn:a'/>",
                      "not-well-formed"),
      StreamErrorCase("NonNcNamePrefixStartsWithHyphen", "RFC 6120 §4.9.3.13",
                      S::kLoggedIn, MessageWith("<-x:y xmlns:-x='urn:a'/>"),
                      "not-well-formed"),
      StreamErrorCase("NonNcNameLocalStartsWithDot", "RFC 6120 §4.9.3.13",
                      S::kLoggedIn, MessageWith("<x:.y xmlns:x='urn:a'/>"),
                      "not-well-formed"),
      StreamErrorCase(
          "NonNcNameAttribute", "RFC 6120 §4.9.3.13", S::kLoggedIn,
          absl::StrCat("<message ", kToPeer, " x:0a='1' xmlns:x='urn:a'/>"),
          "not-well-formed"),
      // U+00D7 (multiplication sign) is in no NameChar range.
      StreamErrorCase("NonNameCodePoint", "RFC 6120 §4.9.3.13", S::kLoggedIn,
                      MessageWith("<b\xC3\x97"
                                  "d/>"),
                      "not-well-formed"),
      // Issue 13 §1: bounded attribute parsing, before login and after.
      StreamErrorCase("AttributeFloodInHeader", "RFC 6120 §4.9.3.14",
                      S::kConnected,
                      Header(absl::StrCat(versioned, Attributes(30000))),
                      "policy-violation"),
      StreamErrorCase("AttributeFloodBeforeLogin", "RFC 6120 §4.9.3.14",
                      S::kStreamOpen,
                      absl::StrCat("<presence", Attributes(30000), "/>"),
                      "policy-violation"),
      StreamErrorCase(
          "AttributeFloodAfterLogin", "RFC 6120 §4.9.3.14", S::kLoggedIn,
          absl::StrCat("<message ", kToPeer, Attributes(30000), "/>"),
          "policy-violation"),
      StreamErrorCase("LongNameBeforeLogin", "RFC 6120 §4.9.3.14",
                      S::kStreamOpen,
                      absl::StrCat("<", std::string(100000, 'n'), "/>"),
                      "policy-violation"),
      // Restricted XML (RFC 6120 §11.1).
      StreamErrorCase("BillionLaughs", "RFC 6120 §11.1, §4.9.3.18",
                      S::kConnected, BillionLaughs(), "restricted-xml"),
      StreamErrorCase("ExternalEntityDoctype", "RFC 6120 §11.1, §4.9.3.18",
                      S::kStreamOpen,
                      "<!DOCTYPE m [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>",
                      "restricted-xml"),
      StreamErrorCase("ProcessingInstruction", "RFC 6120 §11.1, §4.9.3.18",
                      S::kLoggedIn, "<?evil payload?>", "restricted-xml"),
      StreamErrorCase("Comment", "RFC 6120 §11.1, §4.9.3.18", S::kLoggedIn,
                      "<!-- hello -->", "restricted-xml"),
      StreamErrorCase("CommentInsideStanza", "RFC 6120 §11.1, §4.9.3.18",
                      S::kLoggedIn, MessageWith("<body><!-- x --></body>"),
                      "restricted-xml"),
      StreamErrorCase("UndefinedEntityInAttribute", "RFC 6120 §11.1, §4.9.3.18",
                      S::kLoggedIn, "<message to='&peer;'/>", "restricted-xml"),
      // XML 1.0 §4.1 WFC Legal Character: &#0; is no Char.
      StreamErrorCase("ForbiddenCharacterReference", "RFC 6120 §4.9.3.13",
                      S::kLoggedIn, MessageWith("<body>&#0;</body>"),
                      "not-well-formed"),
      StreamErrorCase("NulByte", "RFC 6120 §4.9.3.13", S::kLoggedIn,
                      MessageWith(std::string("<body>\0</body>", 14)),
                      "not-well-formed"),
      StreamErrorCase("TextAtTopLevel", "RFC 6120 §4.9.3.13", S::kLoggedIn,
                      "hello", "not-well-formed"),
      StreamErrorCase(
          "StreamCloseMidStanza", "RFC 6120 §4.9.3.13", S::kLoggedIn,
          absl::StrCat("<message ", kToPeer, "><body>half</stream:stream>"),
          "not-well-formed"),
      StreamErrorCase(
          "HttpRequestOnXmppPort", "RFC 6120 §4.9.3.13", S::kConnected,
          "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "not-well-formed"),
      StreamErrorCase(
          "TlsClientHelloOnPlainStream", "RFC 6120 §4.9.3.13", S::kConnected,
          std::string("\x16\x03\x01\x00\x2f\x01\x00\x00\x2b\x03\x03", 11),
          "not-well-formed"),
      // Sizes and depth (limits.*).
      StreamErrorCase("DeepNesting", "RFC 6120 §4.9.3.14", S::kLoggedIn,
                      MessageWith(Nested(10000)), "policy-violation"),
      StreamErrorCase("DeepNestingBeforeAuth", "RFC 6120 §4.9.3.14",
                      S::kStreamOpen,
                      absl::StrCat("<auth xmlns='urn:ietf:params:xml:ns:"
                                   "xmpp-sasl' mechanism='PLAIN'>",
                                   Nested(1000), "</auth>"),
                      "policy-violation"),
      StreamErrorCase("HugeText", "RFC 6120 §4.9.3.14", S::kLoggedIn,
                      MessageWith(absl::StrCat(
                          "<body>", std::string(1 << 20, 'x'), "</body>")),
                      "policy-violation"),
      StreamErrorCase("HugeTextBeforeAuth", "RFC 6120 §4.9.3.14",
                      S::kStreamOpen,
                      absl::StrCat("<auth xmlns='urn:ietf:params:xml:ns:"
                                   "xmpp-sasl' mechanism='PLAIN'>",
                                   std::string(1 << 20, 'A'), "</auth>"),
                      "policy-violation"),
      // Encodings (RFC 6120 §11.6: UTF-8 only; §4.9.3.22 names violations of
      // UTF-8's rules as unsupported-encoding).
      StreamErrorCase("OverlongUtf8", "RFC 6120 §11.6, §4.9.3.22", S::kLoggedIn,
                      MessageWith("<body>\xC0\xAF</body>"),
                      "unsupported-encoding"),
      StreamErrorCase("SurrogateInUtf8", "RFC 6120 §11.6, §4.9.3.22",
                      S::kLoggedIn, MessageWith("<body>\xED\xA0\x80</body>"),
                      "unsupported-encoding"),
      StreamErrorCase(
          "BeyondUnicodeUtf8", "RFC 6120 §11.6, §4.9.3.22", S::kLoggedIn,
          MessageWith("<body>\xF4\x90\x80\x80</body>"), "unsupported-encoding"),
      StreamErrorCase("InvalidUtf8InHeader", "RFC 6120 §11.6, §4.9.3.22",
                      S::kConnected,
                      Header(absl::StrCat(versioned, " id='\xFF\xFE'")),
                      "unsupported-encoding"),
      StreamErrorCase(
          "Utf16Declaration", "RFC 6120 §11.6, §4.9.3.22", S::kConnected,
          absl::StrCat("<?xml version='1.0' encoding='UTF-16'?><stream:stream ",
                       versioned, " ", kHeaderRest, ">"),
          "unsupported-encoding"),
      StreamErrorCase("Utf16ByteOrderMark", "RFC 6120 §11.6, §4.9.3.22",
                      S::kConnected, std::string("\xFE\xFF\x00<", 4),
                      "unsupported-encoding"),
      // Namespaces and attributes (XML-NAMES).
      StreamErrorCase("UnboundElementPrefix", "RFC 6120 §4.9.3.2", S::kLoggedIn,
                      "<foo:message/>", "bad-namespace-prefix"),
      StreamErrorCase("UnboundAttributePrefix", "RFC 6120 §4.9.3.2",
                      S::kLoggedIn,
                      absl::StrCat("<message ", kToPeer, " foo:bar='1'/>"),
                      "bad-namespace-prefix"),
      StreamErrorCase("DuplicateAttribute", "RFC 6120 §4.9.3.13", S::kLoggedIn,
                      "<message to='peer@localhost' to='cut@localhost'/>",
                      "not-well-formed"),
      // XML-NAMES §6.3: the same expanded name through two prefixes.
      StreamErrorCase("DuplicateExpandedAttribute", "RFC 6120 §4.9.3.13",
                      S::kLoggedIn,
                      absl::StrCat("<message ", kToPeer,
                                   " xmlns:a='urn:u' xmlns:b='urn:u' a:x='1' "
                                   "b:x='2'/>"),
                      "not-well-formed"),
      StreamErrorCase("DuplicateAttributeInHeader", "RFC 6120 §4.9.3.13",
                      S::kConnected,
                      Header(absl::StrCat(versioned, " to='localhost'")),
                      "not-well-formed"),
      StreamErrorCase("UnknownTopLevelElement", "RFC 6120 §4.9.3.24",
                      S::kLoggedIn, "<foo xmlns='urn:example:foo'/>",
                      "unsupported-stanza-type"),
      // Stream headers.
      StreamErrorCase("UnsupportedVersion", "RFC 6120 §4.7.5, §4.9.3.25",
                      S::kConnected, Header("to='localhost' version='2.0'"),
                      "unsupported-version"),
      StreamErrorCase("MissingVersion", "RFC 6120 §4.7.5, §4.9.3.25",
                      S::kConnected, Header("to='localhost'"),
                      "unsupported-version"),
      StreamErrorCase("UnknownHost", "RFC 6120 §4.9.3.6", S::kConnected,
                      Header("to='example.org' version='1.0'"), "host-unknown"),
      StreamErrorCase(
          "ServerToServerContentNamespace", "RFC 6120 §4.8.2, §4.9.3.10",
          S::kConnected,
          absl::StrCat("<stream:stream ", versioned,
                       " xmlns='jabber:server' "
                       "xmlns:stream='http://etherx.jabber.org/streams'>"),
          "invalid-namespace"),
  };
}

}  // namespace talkcheck::integration

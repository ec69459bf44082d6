// libFuzzer target: ParseElement (one pass) against ParseElementWithTinyxml2
// (the parser it replaced). Both must accept the same text into the same tree
// with the same line on every element, or refuse it with the same stream
// condition; with the stream's bindings and with none.
//
// Each input is compared raw, and as the instructions for a stanza that is
// mostly well-formed (StanzaFromBytes), so mutations reach namespaces,
// references and nesting instead of stopping at the first stray byte.
//
// Where the old parser was wrong the new one is allowed to differ, each case
// narrowly (see ParseElement's comment in element.h):
// - LF followed by a lone CR: tinyxml2 wrote LF, XML 1.0 §2.11 two LFs. The
//   old parser is given the text with every lone CR written as LF (the same
//   document to XML, but with more lines, so lines are not compared then).
// - Refusals the old parser lacked, recognised by the new one's message and a
//   byte the case needs: \v or \f in a tag, anything but whitespace between an
//   end tag's name and its '>', and U+FFFE or U+FFFF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/fuzz/fuzz_check.h"
#include "xmpp/element.h"
#include "xmpp/element_parser_tinyxml2.h"
#include "xmpp/stream_error.h"

namespace {

using talkcheck::xmpp::Element;
using talkcheck::xmpp::GetStreamCondition;
using talkcheck::xmpp::NamespaceScope;
using talkcheck::xmpp::ParseElement;
using talkcheck::xmpp::ParseElementWithTinyxml2;
using talkcheck::xmpp::StreamCondition;

bool SameLines(const Element& a, const Element& b) {
  if (a.line() != b.line()) return false;
  const std::vector<const Element*> ac = a.Children();
  const std::vector<const Element*> bc = b.Children();
  if (ac.size() != bc.size()) return false;
  for (size_t i = 0; i < ac.size(); ++i) {
    if (!SameLines(*ac[i], *bc[i])) return false;
  }
  return true;
}

// Lone CRs written as LF (see the top); empty when the text has no LF CR.
std::string WithoutLfCr(absl::string_view xml) {
  if (!absl::StrContains(xml, "\n\r")) return "";
  std::string out(xml);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r' && (i + 1 == out.size() || out[i + 1] != '\n')) {
      out[i] = '\n';
    }
  }
  return out;
}

// A refusal the old parser lacked (see the top).
bool IsNewRefusal(absl::string_view xml, const absl::Status& status) {
  if (GetStreamCondition(status) != StreamCondition::kNotWellFormed) {
    return false;
  }
  const absl::string_view message = status.message();
  const bool has_vf =
      absl::StrContains(xml, "\v") || absl::StrContains(xml, "\f");
  return (has_vf && absl::StrContains(message, "form feed in a tag")) ||
         (absl::StrContains(xml, "</") &&
          absl::StrContains(message, "not closed by '>'")) ||
         ((absl::StrContains(xml, "\xEF\xBF\xBE") ||
           absl::StrContains(xml, "\xEF\xBF\xBF")) &&
          absl::StrContains(message, "U+FFFE or U+FFFF"));
}

void Compare(absl::string_view xml, const NamespaceScope& scope) {
  const std::string adapted = WithoutLfCr(xml);
  const bool lines_comparable = adapted.empty();
  const absl::StatusOr<Element> old_result =
      ParseElementWithTinyxml2(lines_comparable ? xml : adapted, scope);
  const absl::StatusOr<Element> new_result = ParseElement(xml, scope);
  if (!new_result.ok() && IsNewRefusal(xml, new_result.status())) return;
  FUZZ_CHECK(old_result.ok() == new_result.ok(),
             "input " << absl::CHexEscape(xml) << "\nold: "
                      << (old_result.ok() ? old_result->ToString()
                                          : old_result.status().ToString())
                      << "\nnew: "
                      << (new_result.ok() ? new_result->ToString()
                                          : new_result.status().ToString()));
  if (!old_result.ok()) {
    const auto new_condition = GetStreamCondition(new_result.status());
    FUZZ_CHECK(new_condition.has_value(),
               "input " << absl::CHexEscape(xml) << "\nnew refusal is not a "
                        << "stream error: " << new_result.status());
    FUZZ_CHECK(GetStreamCondition(old_result.status()) == new_condition,
               "input " << absl::CHexEscape(xml)
                        << "\nold: " << old_result.status()
                        << "\nnew: " << new_result.status());
    return;
  }
  FUZZ_CHECK(*old_result == *new_result,
             "input " << absl::CHexEscape(xml)
                      << "\nold: " << absl::CHexEscape(old_result->ToString())
                      << "\nnew: " << absl::CHexEscape(new_result->ToString()));
  FUZZ_CHECK(!lines_comparable || SameLines(*old_result, *new_result),
             "input " << absl::CHexEscape(xml) << "\nlines differ");
}

// Pieces of stanzas, picked by the input's bytes.
constexpr absl::string_view kNames[] = {
    "iq",     "query", "a",        "b:c",  "stream:features", "p:x",
    "jingle", "x",     "xml:lang", "é",    "a.b-c_d",         "1a",
    ":a",     "a:",    "p:q:r",    "xmlns"};
constexpr absl::string_view kAttributes[] = {
    " a='1'",           " b=\"x&amp;y\"",
    " xmlns='urn:x'",   " xmlns:p='urn:p'",
    " xmlns:b='urn:b'", " xmlns=''",
    " xmlns:p=''",      " p:a='v'",
    " xml:lang='en'",   " a = '1'",
    " c='\t\n\r\n\r'",  " d='<'",
    " e='&#x9;&#10;'",  " xmlns:xml='http://www.w3.org/XML/1998/namespace'",
    " xmlns:q='urn:p'", " q:a='w'",
    " f='&foo;'",       " g='&#xD800;'",
    " h='>\"'",         " xmlns:1='u'",
    " xmlns='&amp;'",   " xmlns:p='urn:&#x70;'",
    " b:a='1'",         " xmlns:='u'"};
constexpr absl::string_view kText[] = {"hello",
                                       " ",
                                       "\n",
                                       "\r\n",
                                       "\r",
                                       "\n\r",
                                       "\t",
                                       "&amp;",
                                       "&lt;&gt;",
                                       "&#x41;",
                                       "&#65;",
                                       "&foo;",
                                       "&#0;",
                                       "&",
                                       "]]>",
                                       "]]",
                                       ">",
                                       "\v",
                                       "\xC3\xA9",
                                       "\xEF\xBF\xBE",
                                       "&quot;&apos;",
                                       "&#x10FFFF;",
                                       "&#1114112;",
                                       "&a b;",
                                       "<![CDATA[x<y]]>",
                                       "<![CDATA[]]>",
                                       "<![CDATA[\r\n\r]]>",
                                       "<!-- c -->",
                                       "<?p?>",
                                       "<!DOCTYPE x>",
                                       "\f",
                                       " \v"};
constexpr absl::string_view kTagSpace[] = {" ", "\n", "\r\n", "\t", "\v", ""};

template <size_t N>
absl::string_view Pick(const absl::string_view (&table)[N], uint8_t byte) {
  return table[byte % N];
}

// A stanza built from the input: each byte (with the next as an argument)
// opens, closes or fills an element; what is open at the end is closed.
std::string StanzaFromBytes(absl::string_view bytes) {
  std::string out;
  std::vector<absl::string_view> open;
  size_t i = 0;
  auto next = [&]() -> uint8_t {
    return i < bytes.size() ? static_cast<uint8_t>(bytes[i++]) : 0;
  };
  while (i < bytes.size()) {
    const uint8_t op = next();
    const uint8_t arg = next();
    switch (op % 8) {
      case 0:
      case 1: {  // a start tag, with up to three attributes
        if (open.empty() && !out.empty()) break;
        const absl::string_view name = Pick(kNames, arg);
        out.append("<").append(name.data(), name.size());
        for (int k = op / 8 % 4; k > 0; --k) {
          const absl::string_view a = Pick(kAttributes, next());
          out.append(a.data(), a.size());
        }
        const absl::string_view space = Pick(kTagSpace, op / 32);
        out.append(space.data(), space.size());
        if (op & 0x80) {
          out.append("/>");
          if (open.empty()) return out;
        } else {
          out.append(">");
          open.push_back(name);
        }
        break;
      }
      case 2:
      case 3:
      case 4: {  // character data or other content
        if (open.empty()) break;
        const absl::string_view text = Pick(kText, arg);
        out.append(text.data(), text.size());
        break;
      }
      case 5: {  // the innermost element's end tag
        if (open.empty()) break;
        const absl::string_view space = Pick(kTagSpace, arg);
        out.append("</").append(open.back().data(), open.back().size());
        out.append(space.data(), space.size()).append(">");
        open.pop_back();
        if (open.empty()) return out;
        break;
      }
      case 6:  // a byte as it is
        out.push_back(static_cast<char>(arg));
        break;
      case 7: {  // a mismatched end tag, rarely
        if (arg % 8 == 0 && !open.empty()) {
          absl::StrAppend(&out, "</", Pick(kNames, arg / 8), ">");
          open.pop_back();
        }
        break;
      }
    }
  }
  while (!open.empty()) {
    out.append("</").append(open.back().data(), open.back().size()).append(">");
    open.pop_back();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const NamespaceScope* const kClient =
      new NamespaceScope(NamespaceScope::ClientStream());
  static const NamespaceScope* const kEmpty = new NamespaceScope();
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  Compare(input, *kClient);
  Compare(input, *kEmpty);
  const std::string stanza = StanzaFromBytes(input);
  Compare(stanza, *kClient);
  Compare(stanza, *kEmpty);
  return 0;
}

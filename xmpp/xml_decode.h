// Decoding of character data, CDATA sections and attribute values as written
// in a document: references resolved and checked, end-of-line handling (XML 1.0
// §2.11) and attribute-value normalisation (§3.3.3) applied. Shared by
// ParseElement and the tinyxml2-based parser the differential fuzzer compares
// it with (which passes text tinyxml2 already normalised). Internal to //xmpp.
#ifndef TALKCHECK_XMPP_XML_DECODE_H_
#define TALKCHECK_XMPP_XML_DECODE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace talkcheck::xmpp::internal {

// Where `s` stops being strict UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF) or has a NUL (which XML forbids and C strings end at):
// the index of the first bad sequence or NUL, or s.size().
// With `xml_chars_only`, U+FFFE and U+FFFF (not XML 1.0 §2.2 Chars) stop it
// too.
size_t FindInvalidUtf8(absl::string_view s, bool xml_chars_only);

// The index of the first byte at or after `from` that decoding must look at: a
// control character (tab, LF and CR included), '&', or `other` ('<' in
// attribute values, ']' in text).
size_t FindSpecial(absl::string_view s, size_t from, char other);

// Character data between markup, appended to `out`. Refuses control
// characters, "]]>", malformed references (not-well-formed) and entity
// references other than the predefined five (restricted-xml). `line` is for
// messages.
absl::Status DecodeText(absl::string_view raw, int line, std::string& out);

// Character data made only of XML whitespace: CR LF and lone CR become LF.
void AppendWhitespace(absl::string_view raw, std::string& out);

// The content of a CDATA section (no references), end-of-line handled.
absl::Status AppendCData(absl::string_view raw, int line, std::string& out);

// An attribute value between its quotes: references decoded, literal
// whitespace (CR LF as one) normalised to spaces; whitespace written as
// references is kept.
absl::Status DecodeAttribute(absl::string_view raw, int line, std::string& out);

}  // namespace talkcheck::xmpp::internal

#endif  // TALKCHECK_XMPP_XML_DECODE_H_

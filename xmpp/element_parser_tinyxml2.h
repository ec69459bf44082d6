// ParseElement as it was before its one-pass parser: tinyxml2, a markup
// pre-scan and a tree walk. Test-only (//xmpp:element_parser_tinyxml2): the
// differential fuzzer and the benchmark compare the two.
#ifndef TALKCHECK_XMPP_ELEMENT_PARSER_TINYXML2_H_
#define TALKCHECK_XMPP_ELEMENT_PARSER_TINYXML2_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "xmpp/element.h"

namespace talkcheck::xmpp {

// Same contract as ParseElement (element.h).
absl::StatusOr<Element> ParseElementWithTinyxml2(
    absl::string_view xml,
    const NamespaceScope& scope = NamespaceScope::ClientStream());

}  // namespace talkcheck::xmpp

#endif  // TALKCHECK_XMPP_ELEMENT_PARSER_TINYXML2_H_

// The pre-scan ParseElement runs over raw text ahead of tinyxml2, for what
// tinyxml2 accepts or loses: restricted constructs (reported as such rather
// than as parse errors), attributes run together, stray end tags, several
// roots, and whitespace-only text. Internal to //xmpp.
#ifndef TALKCHECK_XMPP_MARKUP_SCAN_H_
#define TALKCHECK_XMPP_MARKUP_SCAN_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace talkcheck::xmpp::internal {

// Character data made only of whitespace. tinyxml2 drops such runs even with
// PRESERVE_WHITESPACE; the model keeps them, so the pre-scan records where they
// go: before the tinyxml2 child node numbered `slot` of the element numbered
// `element` (both counted in document order).
struct WhitespaceRun {
  int element;
  int slot;
  absl::string_view text;
};

// Checks `xml` and records its whitespace-only runs in `runs`. Tag names,
// nesting and the content of attribute values are left to tinyxml2 and the
// decoders.
absl::Status ScanMarkup(absl::string_view xml,
                        std::vector<WhitespaceRun>& runs);

}  // namespace talkcheck::xmpp::internal

#endif  // TALKCHECK_XMPP_MARKUP_SCAN_H_

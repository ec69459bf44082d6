// The namespace bindings in force while an element tree is parsed: the
// scope's, then each element's declarations, undone when the element closes.
// Shared by ParseElement and the tinyxml2-based parser the tests compare it
// with. Internal to //xmpp.
#ifndef TALKCHECK_XMPP_NAMESPACE_BINDINGS_H_
#define TALKCHECK_XMPP_NAMESPACE_BINDINGS_H_

#include <forward_list>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "xmpp/element.h"

namespace talkcheck::xmpp::internal {

class NamespaceBindings {
 public:
  // `scope` outlives this, so views into its strings stay valid.
  explicit NamespaceBindings(const NamespaceScope& scope);

  // The URI bound to `prefix` ("" for the default namespace: no namespace when
  // unbound), or nullptr when `prefix` is not bound.
  const absl::string_view* Lookup(absl::string_view prefix) const;

  // A namespace declaration, `xmlns` (is_default) or `xmlns:prefix`, with its
  // value as written (references not decoded; `raw` must outlive this).
  // `plain` says the caller saw nothing to decode in it (no '&', '<' or
  // control character). Not-well-formed for reserved or malformed bindings.
  absl::Status Declare(absl::string_view prefix, bool is_default,
                       absl::string_view raw, int line, bool plain = false);

  // For undoing an element's declarations: Truncate(mark()) taken before them.
  size_t mark() const { return bindings_.size(); }
  void Truncate(size_t mark) { bindings_.resize(mark); }

 private:
  absl::Status DecodeUri(absl::string_view raw, int line, bool plain,
                         absl::string_view& uri);

  absl::InlinedVector<std::pair<absl::string_view, absl::string_view>, 8>
      bindings_;
  // Decoded URIs (rare: most hold no references), in a list so earlier views
  // stay valid.
  std::forward_list<std::string> decoded_uris_;
};

// Whether an attribute name is a namespace declaration (`xmlns` or
// `xmlns:prefix`); sets `prefix` and `is_default`.
inline bool IsNamespaceDeclaration(absl::string_view name,
                                   absl::string_view& prefix,
                                   bool& is_default) {
  if (name.size() < 5 || name.substr(0, 5) != "xmlns" ||
      (name.size() > 5 && name[5] != ':')) {
    return false;
  }
  is_default = name.size() == 5;
  prefix = is_default ? absl::string_view() : name.substr(6);
  return true;
}

}  // namespace talkcheck::xmpp::internal

#endif  // TALKCHECK_XMPP_NAMESPACE_BINDINGS_H_

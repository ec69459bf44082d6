#include "xmpp/namespace_bindings.h"

#include "absl/strings/str_cat.h"
#include "xmpp/namespaces.h"
#include "xmpp/xml_decode.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp::internal {
namespace {

constexpr absl::string_view kXmlUri{ns::kXml, sizeof(ns::kXml) - 1};
constexpr absl::string_view kXmlnsUri{ns::kXmlns, sizeof(ns::kXmlns) - 1};

}  // namespace

NamespaceBindings::NamespaceBindings(const NamespaceScope& scope) {
  for (const auto& [prefix, uri] : scope.bindings_) {
    bindings_.emplace_back(prefix, uri);
  }
}

const absl::string_view* NamespaceBindings::Lookup(
    absl::string_view prefix) const {
  if (prefix == "xml") return &kXmlUri;
  for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it) {
    if (it->first == prefix) {
      // An empty URI only means something for the default namespace.
      if (!prefix.empty() && it->second.empty()) return nullptr;
      return &it->second;
    }
  }
  static constexpr absl::string_view kNoNamespace;
  return prefix.empty() ? &kNoNamespace : nullptr;
}

absl::Status NamespaceBindings::Declare(absl::string_view prefix,
                                        bool is_default, absl::string_view raw,
                                        int line, bool plain) {
  absl::string_view uri;
  if (absl::Status s = DecodeUri(raw, line, plain, uri); !s.ok()) return s;
  if (is_default) {
    if (uri == kXmlUri || uri == kXmlnsUri) {
      return NotWellFormed(
          absl::StrCat("default namespace '", uri, "' is reserved"), line);
    }
    bindings_.emplace_back(absl::string_view(), uri);
    return absl::OkStatus();
  }
  if (!IsNcName(prefix)) {
    return NotWellFormed(
        absl::StrCat("namespace prefix '", prefix, "' is not an NCName"), line);
  }
  if (uri.empty()) {
    return NotWellFormed(
        absl::StrCat("namespace prefix '", prefix, "' bound to the empty URI"),
        line);
  }
  // The xml and xmlns prefixes and namespaces are reserved to each other.
  if ((prefix == "xml") != (uri == kXmlUri) || prefix == "xmlns" ||
      uri == kXmlnsUri) {
    return NotWellFormed(absl::StrCat("reserved namespace binding '", prefix,
                                      "' -> '", uri, "'"),
                         line);
  }
  bindings_.emplace_back(prefix, uri);
  return absl::OkStatus();
}

absl::Status NamespaceBindings::DecodeUri(absl::string_view raw, int line,
                                          bool plain, absl::string_view& uri) {
  if (plain || FindSpecial(raw, 0, '<') == raw.size()) {
    uri = raw;
    return absl::OkStatus();
  }
  std::string& decoded = decoded_uris_.emplace_front();
  if (absl::Status s = DecodeAttribute(raw, line, decoded); !s.ok()) return s;
  uri = decoded;
  return absl::OkStatus();
}

}  // namespace talkcheck::xmpp::internal

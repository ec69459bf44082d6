#include "tests/stream_checks.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "xmpp/namespaces.h"

namespace talkcheck::integration {

using xmpp::Element;
namespace ns = xmpp::ns;

::testing::AssertionResult HasOnlyCondition(const Element& error,
                                            absl::string_view condition_ns,
                                            absl::string_view condition) {
  std::vector<const Element*> conditions;
  for (const Element* child : error.Children()) {
    if (child->ns() == condition_ns && child->name() != "text")
      conditions.push_back(child);
  }
  if (conditions.size() != 1 || conditions[0]->name() != condition) {
    return ::testing::AssertionFailure()
           << "expected exactly one condition {" << condition_ns << "}"
           << condition << " in " << error.ToString();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult StreamErrorThenClose(RawClient& client,
                                                absl::string_view condition) {
  absl::StatusOr<std::string> rest = client.ReadAllUntilClosed();
  if (!rest.ok()) {
    return ::testing::AssertionFailure()
           << "the server did not close the connection: " << rest.status();
  }
  // The server's header opens its stream before any error (RFC 6120 §4.9.1.1).
  if (!absl::StrContains(client.transcript(), "<stream:stream ") ||
      !absl::StrContains(client.transcript(), ns::kStream)) {
    return ::testing::AssertionFailure()
           << "no stream header before the error: "
           << client.transcript().substr(0, 2048);
  }
  const size_t begin = rest->find("<stream:error");
  const size_t end = rest->find("</stream:error>");
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    return ::testing::AssertionFailure()
           << "no <stream:error/> before the close; after the last read: "
           << rest->substr(0, 2048);
  }
  const size_t after = end + std::strlen("</stream:error>");
  absl::StatusOr<Element> error =
      xmpp::ParseElement(absl::string_view(*rest).substr(begin, after - begin),
                         xmpp::NamespaceScope::ClientStream());
  if (!error.ok()) {
    return ::testing::AssertionFailure()
           << "unparsable stream error (" << error.status()
           << "): " << rest->substr(begin, 2048);
  }
  if (!error->Is(ns::kStream, "error")) {
    return ::testing::AssertionFailure()
           << "not a stream error: " << rest->substr(begin, 2048);
  }
  if (::testing::AssertionResult only =
          HasOnlyCondition(*error, ns::kStreams, condition);
      !only) {
    return only;
  }
  if (absl::StripAsciiWhitespace(absl::string_view(*rest).substr(after)) !=
      "</stream:stream>") {
    return ::testing::AssertionFailure()
           << "expected only </stream:stream> after the error, got: "
           << rest->substr(after, 2048);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SaslFailure(RawClient& client,
                                       absl::string_view condition) {
  absl::StatusOr<Element> failure = client.ReadElement();
  if (!failure.ok()) {
    return ::testing::AssertionFailure()
           << "no SASL failure: " << failure.status();
  }
  if (!failure->Is(ns::kSasl, "failure")) {
    return ::testing::AssertionFailure()
           << "not a SASL failure: " << failure->ToString();
  }
  return HasOnlyCondition(*failure, ns::kSasl, condition);
}

::testing::AssertionResult IqError(RawClient& client, absl::string_view id,
                                   absl::string_view type,
                                   absl::string_view condition) {
  absl::StatusOr<Element> reply =
      client.ReadElementMatching([id](const Element& e) {
        return e.Is(ns::kClient, "iq") && e.AttrOr("id", "") == id;
      });
  if (!reply.ok()) {
    return ::testing::AssertionFailure()
           << "no iq with id '" << id << "': " << reply.status();
  }
  const Element* error = reply->FindChild(ns::kClient, "error");
  if (reply->AttrOr("type", "") != "error" || error == nullptr ||
      error->AttrOr("type", "") != type) {
    return ::testing::AssertionFailure()
           << "expected an error of type " << type << ": " << reply->ToString();
  }
  return HasOnlyCondition(*error, ns::kStanzas, condition);
}

}  // namespace talkcheck::integration

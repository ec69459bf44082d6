// Helpers the router's tests (and the integration tests' server fixture)
// share: JIDs and stanzas from text, attributes that read "<absent>" when
// missing, routed stanzas kept past their observer. A parse failure fails the
// calling test.
#ifndef TALKCHECK_FAKE_SERVER_ROUTER_TESTING_H_
#define TALKCHECK_FAKE_SERVER_ROUTER_TESTING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fake_server/router.h"
#include "gtest/gtest.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

namespace talkcheck::fake_server::router_testing {

inline xmpp::Jid J(absl::string_view text) {
  absl::StatusOr<xmpp::Jid> jid = xmpp::Jid::Parse(text);
  EXPECT_TRUE(jid.ok()) << text << ": " << jid.status();
  return jid.ok() ? *jid : xmpp::Jid();
}

inline xmpp::Element X(absl::string_view xml) {
  absl::StatusOr<xmpp::Element> element = xmpp::ParseElement(xml);
  EXPECT_TRUE(element.ok()) << xml << ": " << element.status();
  return element.ok() ? *element : xmpp::Element(xmpp::ns::kClient, "invalid");
}

inline std::string AttrOf(const xmpp::Element& element,
                          absl::string_view name) {
  return element.AttrOr(name, "<absent>");
}

// A stanza the router routed, kept (RoutedStanza only lives while its
// observer runs).
struct RecordedStanza {
  explicit RecordedStanza(const RoutedStanza& routed)
      : time(routed.time),
        direction(routed.direction),
        endpoint(routed.endpoint),
        stanza(routed.stanza) {}

  absl::Duration time;
  RoutedStanza::Direction direction;
  xmpp::Jid endpoint;
  xmpp::Element stanza;
};

}  // namespace talkcheck::fake_server::router_testing

#endif  // TALKCHECK_FAKE_SERVER_ROUTER_TESTING_H_

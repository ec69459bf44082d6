#include "fake_server/roster.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::fake_server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using xmpp::Element;
using xmpp::Jid;

Jid J(absl::string_view text) { return *Jid::Parse(text); }
Element X(absl::string_view xml) { return *xmpp::ParseElement(xml); }

// Verifies that Link() makes mutual contacts once and reports what changed.
TEST(RosterStoreTest, LinkIsMutualAndIdempotent) {
  RosterStore rosters;
  EXPECT_THAT(rosters.Link(J("a@x"), J("b@x")), SizeIs(2));
  EXPECT_THAT(rosters.Link(J("b@x"), J("a@x")), IsEmpty());
  EXPECT_THAT(rosters.Subscribers(J("a@x")), ElementsAre(J("b@x")));
  EXPECT_THAT(rosters.Subscriptions(J("b@x")), ElementsAre(J("a@x")));
  EXPECT_THAT(rosters.Subscribers(J("c@x")), IsEmpty());
  EXPECT_EQ(rosters.Find(J("a@x"), J("b@x"))->ToElement().ToString(),
            "<item xmlns=\"jabber:iq:roster\" jid=\"b@x\" "
            "subscription=\"both\"/>");
}

// Verifies that a subscribe to a contact that already approved is answered by
// the server, not delivered (RFC 6121 §3.1.3).
TEST(RosterStoreTest, SubscribeAlreadyApprovedIsAutoAnswered) {
  RosterStore rosters;
  rosters.Link(J("a@x"), J("b@x"));
  SubscriptionOutcome outcome = rosters.ApplySubscription(
      J("a@x"), J("b@x"), "subscribe", X("<presence type='subscribe'/>"));
  EXPECT_FALSE(outcome.deliver);
  EXPECT_TRUE(outcome.auto_subscribed);
  EXPECT_THAT(rosters.PendingRequests(J("b@x")), IsEmpty());
}

// Verifies that `subscribed` with nothing asked changes nothing and is not
// routed, and that `unsubscribe` cancels a pending request.
TEST(RosterStoreTest, AnswersWithoutRequestsAreDropped) {
  RosterStore rosters;
  EXPECT_FALSE(rosters
                   .ApplySubscription(J("b@x"), J("a@x"), "subscribed",
                                      X("<presence type='subscribed'/>"))
                   .deliver);
  EXPECT_EQ(rosters.Find(J("b@x"), J("a@x")), nullptr);
  rosters.ApplySubscription(J("a@x"), J("b@x"), "subscribe",
                            X("<presence type='subscribe'/>"));
  EXPECT_THAT(rosters.PendingRequests(J("b@x")), SizeIs(1));
  EXPECT_TRUE(rosters
                  .ApplySubscription(J("a@x"), J("b@x"), "unsubscribe",
                                     X("<presence type='unsubscribe'/>"))
                  .deliver);
  EXPECT_THAT(rosters.PendingRequests(J("b@x")), IsEmpty());
  EXPECT_FALSE(rosters.Find(J("a@x"), J("b@x"))->ask);
}

// Verifies that a roster set keeps the server's subscription state and
// replaces name and groups.
TEST(RosterStoreTest, RosterSetKeepsSubscription) {
  RosterStore rosters;
  rosters.Link(J("a@x"), J("b@x"));
  RosterSetOutcome outcome = rosters.ApplyRosterSet(
      J("a@x"), X("<query xmlns='jabber:iq:roster'><item jid='b@x' name='B' "
                  "subscription='none'><group>G</group></item></query>"));
  EXPECT_EQ(outcome.error_condition, "");
  EXPECT_EQ(outcome.pushed.subscription, Subscription::kBoth);
  EXPECT_EQ(rosters.Find(J("a@x"), J("b@x"))->name, "B");
  EXPECT_THAT(rosters.Find(J("a@x"), J("b@x"))->groups, ElementsAre("G"));
  EXPECT_EQ(rosters
                .ApplyRosterSet(J("a@x"), X("<query xmlns='jabber:iq:roster'>"
                                            "<item jid='a@x'/></query>"))
                .error_condition,
            "bad-request");
}

}  // namespace
}  // namespace talkcheck::fake_server

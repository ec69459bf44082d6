// The router's rosters and presence subscriptions (RFC 6121 §2, §3): who gets
// presence, roster sets and pushes, subscription stanzas (issue 13).
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/virtual_clock.h"
#include "fake_server/router.h"
#include "fake_server/router_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

namespace talkcheck::fake_server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using xmpp::Element;
using xmpp::Jid;
namespace ns = xmpp::ns;

constexpr char kCut[] = "cut@localhost/desktop";
constexpr char kCutPhone[] = "cut@localhost/phone";
constexpr char kPeer[] = "peer@localhost/Talk.v104";
constexpr char kThird[] = "third@localhost/res";
constexpr char kGetRoster[] =
    "<iq type='get' id='get'><query xmlns='jabber:iq:roster'/></iq>";

using router_testing::AttrOf;
using router_testing::J;
using router_testing::X;

// "jid subscription[ ask]" for each item of a roster `<query/>` (or of the
// query inside an iq).
std::vector<std::string> ItemsOf(const Element& stanza) {
  const Element* query = stanza.Is(ns::kRoster, "query")
                             ? &stanza
                             : stanza.FindChild(ns::kRoster, "query");
  std::vector<std::string> items;
  if (query == nullptr) return items;
  for (const Element* item : query->FindChildren(ns::kRoster, "item")) {
    std::string line =
        absl::StrCat(AttrOf(*item, "jid"), " ", AttrOf(*item, "subscription"));
    if (item->Attr("ask") != nullptr) absl::StrAppend(&line, " ask");
    items.push_back(line);
  }
  return items;
}

class RecordingEndpoint : public Endpoint {
 public:
  explicit RecordingEndpoint(Jid jid) : jid_(std::move(jid)) {}
  // Endpoint implementation.
  void Deliver(Element stanza) override { received.push_back(stanza); }
  void Kick(absl::string_view) override {}

  const Jid& jid() const { return jid_; }
  std::vector<Element> Take() { return std::exchange(received, {}); }
  std::vector<Element> received;

 private:
  Jid jid_;
};

class RouterRosterTest : public ::testing::Test {
 protected:
  RouterRosterTest() {
    config_.set_domain("localhost");
    for (const char* name : {"cut", "peer", "third"}) {
      Account* account = config_.add_accounts();
      account->set_username(name);
      account->set_password("pass");
    }
  }

  Router& router() {
    if (router_ == nullptr) router_ = std::make_unique<Router>(config_, clock_);
    return *router_;
  }

  RecordingEndpoint& Connect(absl::string_view full_jid) {
    endpoints_.push_back(std::make_unique<RecordingEndpoint>(J(full_jid)));
    RecordingEndpoint& endpoint = *endpoints_.back();
    EXPECT_TRUE(router().Bind(endpoint.jid(), &endpoint).ok());
    return endpoint;
  }

  // Connects, sends initial presence and returns what that brought.
  RecordingEndpoint& ConnectAvailable(absl::string_view full_jid) {
    RecordingEndpoint& endpoint = Connect(full_jid);
    Send(endpoint, "<presence/>");
    return endpoint;
  }

  void Send(RecordingEndpoint& from, absl::string_view xml) {
    router().RouteFromClient(from.jid(), X(xml));
  }

  VirtualClock clock_;
  ServerConfig config_;
  std::vector<std::unique_ptr<RecordingEndpoint>> endpoints_;
  std::unique_ptr<Router> router_;
};

// Verifies that presence goes to contacts only: N available accounts, each
// with one contact, cost N deliveries, not N × (N - 1) (issue 13).
TEST_F(RouterRosterTest, PresenceFanOutIsRosterSized) {
  constexpr int kAccounts = 200;
  for (int i = 0; i < kAccounts; ++i) {
    Account* account = config_.add_accounts();
    account->set_username(absl::StrCat("u", i));
    account->set_password("pass");
  }
  for (int i = 0; i < kAccounts; i += 2) {
    ASSERT_TRUE(router()
                    .AddContacts(J(absl::StrCat("u", i, "@localhost")),
                                 J(absl::StrCat("u", i + 1, "@localhost")))
                    .ok());
  }
  int presence_deliveries = 0;
  router().AddObserver([&](const RoutedStanza& routed) {
    if (routed.direction == RoutedStanza::Direction::kToEndpoint &&
        routed.stanza.name() == "presence") {
      ++presence_deliveries;
    }
  });
  for (int i = 0; i < kAccounts; ++i) {
    ConnectAvailable(absl::StrCat("u", i, "@localhost/r"));
  }
  // The second of each pair tells the first and hears from it.
  EXPECT_EQ(presence_deliveries, kAccounts);
  ASSERT_THAT(endpoints_[1]->received, SizeIs(1));
  EXPECT_EQ(AttrOf(endpoints_[1]->received[0], "from"), "u0@localhost/r");
}

// Verifies that AddContacts() makes mutual contacts at once: roster pushes to
// interested resources and the presence of those already available.
TEST_F(RouterRosterTest, AddContactsExchangesPresenceAndPushes) {
  RecordingEndpoint& peer = ConnectAvailable(kPeer);
  RecordingEndpoint& third = ConnectAvailable(kThird);
  Send(third, kGetRoster);
  EXPECT_THAT(ItemsOf(third.Take()[0]), IsEmpty());
  EXPECT_THAT(peer.Take(), IsEmpty());  // strangers: no presence

  ASSERT_TRUE(router().AddContacts(J(kPeer), J("third@localhost")).ok());
  std::vector<Element> got = third.Take();
  ASSERT_THAT(got, SizeIs(2));
  EXPECT_EQ(AttrOf(got[0], "type"), "set");  // the push
  EXPECT_THAT(ItemsOf(got[0]), ElementsAre("peer@localhost both"));
  EXPECT_EQ(AttrOf(got[1], "from"), kPeer);  // the presence
  got = peer.Take();                         // not interested: no push
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(AttrOf(got[0], "from"), kThird);

  // Again: nothing changes, nothing is sent.
  ASSERT_TRUE(
      router().AddContacts(J("third@localhost"), J("peer@localhost")).ok());
  EXPECT_THAT(third.received, IsEmpty());
  EXPECT_EQ(router().AddContacts(J(kPeer), J("peer@localhost")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(router().AddContacts(J(kPeer), J("x@elsewhere")).code(),
            absl::StatusCode::kInvalidArgument);
}

// Verifies that subscription presences go out from the sender's bare JID to
// the contact's bare JID (RFC 6121 §3.1.2, §3.1.5), and that an approval
// updates both rosters and starts presence.
TEST_F(RouterRosterTest, SubscriptionPresenceCarriesBareJids) {
  RecordingEndpoint& peer = ConnectAvailable(kPeer);
  RecordingEndpoint& third = ConnectAvailable(kThird);
  Send(peer, kGetRoster);
  peer.Take();

  Send(peer, "<presence type='subscribe' to='third@localhost/res'/>");
  std::vector<Element> got = third.Take();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(AttrOf(got[0], "type"), "subscribe");
  EXPECT_EQ(AttrOf(got[0], "from"), "peer@localhost");
  EXPECT_EQ(AttrOf(got[0], "to"), "third@localhost");
  got = peer.Take();  // the push of the pending-out item
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_THAT(ItemsOf(got[0]), ElementsAre("third@localhost none ask"));

  Send(third, "<presence type='subscribed' to='peer@localhost'/>");
  got = peer.Take();
  ASSERT_THAT(got, SizeIs(3));
  EXPECT_THAT(ItemsOf(got[0]), ElementsAre("third@localhost to"));
  EXPECT_EQ(AttrOf(got[1], "type"), "subscribed");
  EXPECT_EQ(AttrOf(got[1], "from"), "third@localhost");
  EXPECT_EQ(AttrOf(got[1], "to"), "peer@localhost");
  EXPECT_EQ(AttrOf(got[2], "from"), kThird);  // third's presence now flows
  EXPECT_EQ(AttrOf(got[2], "type"), "<absent>");
  EXPECT_THAT(router().RosterOf(J("third@localhost")),
              SizeIs(1));  // peer, from

  // One-way: third hears nothing of peer's presence, peer hears third's.
  Send(peer, "<presence><show>away</show></presence>");
  EXPECT_THAT(third.Take(), IsEmpty());
  Send(third, "<presence><show>dnd</show></presence>");
  EXPECT_THAT(peer.Take(), SizeIs(1));

  // Cancelling: unsubscribed from third, unavailable follows.
  Send(third, "<presence type='unsubscribed' to='peer@localhost'/>");
  got = peer.Take();
  ASSERT_THAT(got, SizeIs(3));
  EXPECT_THAT(ItemsOf(got[0]), ElementsAre("third@localhost none"));
  EXPECT_EQ(AttrOf(got[1], "type"), "unsubscribed");
  EXPECT_EQ(AttrOf(got[1], "from"), "third@localhost");
  EXPECT_EQ(AttrOf(got[2], "type"), "unavailable");
}

// Verifies that a subscription request to an offline contact reaches it at
// its next login, and at each login until it is answered (RFC 6121 §3.1.3).
TEST_F(RouterRosterTest, SubscriptionRequestToOfflineContactWaitsForLogin) {
  RecordingEndpoint& peer = ConnectAvailable(kPeer);
  Send(peer, "<presence type='subscribe' to='third@localhost'/>");

  RecordingEndpoint& third = ConnectAvailable(kThird);
  std::vector<Element> got = third.Take();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(AttrOf(got[0], "type"), "subscribe");
  EXPECT_EQ(AttrOf(got[0], "from"), "peer@localhost");

  // Unanswered: delivered again at the next login.
  router().Unbind(third.jid());
  RecordingEndpoint& again = ConnectAvailable("third@localhost/other");
  got = again.Take();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(AttrOf(got[0], "type"), "subscribe");

  // Answered: never again.
  Send(again, "<presence type='subscribed' to='peer@localhost'/>");
  router().Unbind(again.jid());
  RecordingEndpoint& last = ConnectAvailable("third@localhost/last");
  EXPECT_THAT(last.Take(), IsEmpty());
}

// Verifies that a roster set is stored and pushed to every interested resource
// (RFC 6121 §2.3), removal included, and that bad sets are refused.
TEST_F(RouterRosterTest, RosterSetIsStoredAndPushed) {
  RecordingEndpoint& cut = Connect(kCut);
  RecordingEndpoint& phone = Connect(kCutPhone);
  RecordingEndpoint& quiet = Connect("cut@localhost/quiet");  // never asks
  Send(cut, kGetRoster);
  Send(phone, kGetRoster);
  cut.Take();
  phone.Take();

  Send(cut,
       "<iq type='set' id='s1'><query xmlns='jabber:iq:roster'>"
       "<item jid='friend@example.net' name='Friend' subscription='both'>"
       "<group>Work</group></item></query></iq>");
  std::vector<Element> got = cut.Take();
  ASSERT_THAT(got, SizeIs(2));
  EXPECT_EQ(AttrOf(got[0], "type"), "result");
  EXPECT_EQ(AttrOf(got[0], "id"), "s1");
  EXPECT_EQ(AttrOf(got[1], "type"), "set");
  // The client's `subscription` is not the client's to set (§2.1.2.5).
  EXPECT_THAT(ItemsOf(got[1]), ElementsAre("friend@example.net none"));
  const Element* item =
      got[1].FindChild(ns::kRoster, "query")->FindChild(ns::kRoster, "item");
  EXPECT_EQ(AttrOf(*item, "name"), "Friend");
  ASSERT_NE(item->FindChild(ns::kRoster, "group"), nullptr);
  EXPECT_EQ(item->FindChild(ns::kRoster, "group")->Text(), "Work");
  got = phone.Take();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_THAT(ItemsOf(got[0]), ElementsAre("friend@example.net none"));
  EXPECT_THAT(quiet.received, IsEmpty());
  Send(quiet, kGetRoster);
  EXPECT_THAT(ItemsOf(quiet.Take()[0]), ElementsAre("friend@example.net none"));

  Send(phone,
       "<iq type='set' id='s2'><query xmlns='jabber:iq:roster'>"
       "<item jid='friend@example.net' subscription='remove'/></query></iq>");
  got = cut.Take();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_THAT(ItemsOf(got[0]), ElementsAre("friend@example.net remove"));
  EXPECT_THAT(phone.Take(), SizeIs(2));  // the result and the push
  EXPECT_THAT(router().RosterOf(J(kCut)), IsEmpty());

  // Refused, never a false success; nothing is pushed.
  for (const char* bad : {
           "<item jid='a@localhost'/><item jid='b@localhost'/>",
           "<item jid='a@localhost'><group>g</group><group>g</group></item>",
           "<item jid='a@localhost'><group/></item>",
           "<item jid='a@localhost/res'/>",
           "<item jid='nobody@localhost' subscription='remove'/>",
       }) {
    Send(phone, absl::StrCat("<iq type='set' id='bad'><query "
                             "xmlns='jabber:iq:roster'>",
                             bad, "</query></iq>"));
    got = phone.Take();
    ASSERT_THAT(got, SizeIs(1)) << bad;
    EXPECT_EQ(AttrOf(got[0], "type"), "error") << bad;
    EXPECT_THAT(cut.received, IsEmpty()) << bad;
  }
  EXPECT_THAT(router().RosterOf(J(kCut)), IsEmpty());
}

// Verifies that removing a contact cancels the subscriptions both ways
// (RFC 6121 §2.5.2).
TEST_F(RouterRosterTest, RemovingAContactUnsubscribes) {
  ASSERT_TRUE(router().AddContacts(J(kCut), J(kPeer)).ok());
  RecordingEndpoint& peer = ConnectAvailable(kPeer);
  RecordingEndpoint& cut = ConnectAvailable(kCut);
  peer.Take();
  Send(cut,
       "<iq type='set' id='rm'><query xmlns='jabber:iq:roster'>"
       "<item jid='peer@localhost' subscription='remove'/></query></iq>");
  std::vector<std::string> types;
  for (const Element& stanza : peer.Take()) {
    types.push_back(AttrOf(stanza, "type") + " " + AttrOf(stanza, "from"));
  }
  EXPECT_THAT(types, ElementsAre("unsubscribe cut@localhost",
                                 "unsubscribed cut@localhost",
                                 "unavailable cut@localhost/desktop"));
  EXPECT_THAT(router().RosterOf(J(kCut)), IsEmpty());
  EXPECT_THAT(router().RosterOf(J(kPeer)),
              ElementsAre(::testing::Field(&RosterItem::subscription,
                                           Subscription::kNone)));
  Send(cut, "<presence><show>away</show></presence>");
  EXPECT_THAT(peer.Take(), IsEmpty());
}

// Verifies that a probe reveals presence to subscribers only (RFC 6121
// §4.3.2).
TEST_F(RouterRosterTest, ProbeFromStrangerIsRefused) {
  ConnectAvailable(kThird);
  RecordingEndpoint& peer = ConnectAvailable(kPeer);
  Send(peer, "<presence type='probe' to='third@localhost'/>");
  std::vector<Element> got = peer.Take();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(AttrOf(got[0], "type"), "unsubscribed");
  EXPECT_EQ(AttrOf(got[0], "from"), "third@localhost");
}

}  // namespace
}  // namespace talkcheck::fake_server

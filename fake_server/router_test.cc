#include "fake_server/router.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/virtual_clock.h"
#include "fake_server/config.h"
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
constexpr char kPeer[] = "peer@localhost/Talk.v64EC3F606D";
constexpr char kPeerOther[] = "peer@localhost/other";
constexpr char kThird[] = "third@localhost/res";
constexpr char kCaps[] =
    "<c xmlns='http://jabber.org/protocol/caps' "
    "node='http://www.google.com/xmpp/client/caps' ver='1.0.0.104' "
    "ext='share-v1 voice-v1'/>";

using router_testing::AttrOf;
using router_testing::J;
using router_testing::RecordedStanza;
using router_testing::X;

// The defined condition of an error stanza, "" when there is none.
std::string ErrorCondition(const Element& stanza) {
  const Element* error = stanza.FindChild(ns::kClient, "error");
  if (error == nullptr) return "";
  for (const Element* child : error->Children()) {
    if (child->ns() == ns::kStanzas) return child->name();
  }
  return "";
}

// Records what the router hands over; may react inside Deliver() or Kick().
class FakeEndpoint : public Endpoint {
 public:
  FakeEndpoint(Router& router, Jid jid)
      : router_(router), jid_(std::move(jid)) {}

  // Endpoint implementation.
  void Deliver(Element stanza) override {
    received.push_back(stanza);
    if (on_deliver) on_deliver(stanza);
  }
  void Kick(absl::string_view reason) override {
    kick_reasons.emplace_back(reason);
    if (unbind_on_kick) router_.Unbind(jid_);
  }

  const Jid& jid() const { return jid_; }
  std::vector<Element> Take() { return std::exchange(received, {}); }

  std::vector<Element> received;
  std::vector<std::string> kick_reasons;
  bool unbind_on_kick = true;
  std::function<void(const Element&)> on_deliver;

 private:
  Router& router_;
  Jid jid_;
};

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    config_.set_domain("localhost");
    for (const char* name : {"cut", "peer", "third"}) {
      Account* account = config_.add_accounts();
      account->set_username(name);
      account->set_password(std::string(name) + "pass");
    }
    // cut has peer and third as contacts (they get the mirror items); peer
    // and third are strangers to each other.
    config_.mutable_accounts(0)->add_roster()->set_jid("peer");
    config_.mutable_accounts(0)->add_roster()->set_jid("third@localhost");
    JingleInfo* info = config_.mutable_jingle_info();
    info->add_stun()->set_host("127.0.0.1");
    info->mutable_stun(0)->set_udp(3478);
    info->set_relay_token("token-1");
    RelayServer* relay = info->add_relay();
    relay->set_host("127.0.0.2");
    relay->set_udp(19295);
    relay->set_tcpssl(443);
  }

  Router& router() {
    if (router_ == nullptr) router_ = std::make_unique<Router>(config_, clock_);
    return *router_;
  }

  FakeEndpoint& Connect(absl::string_view full_jid) {
    endpoints_.push_back(std::make_unique<FakeEndpoint>(router(), J(full_jid)));
    FakeEndpoint& endpoint = *endpoints_.back();
    absl::Status bound = router().Bind(endpoint.jid(), &endpoint);
    EXPECT_TRUE(bound.ok()) << bound;
    return endpoint;
  }

  // Connects and sends initial presence, then forgets what that delivered.
  FakeEndpoint& ConnectAvailable(absl::string_view full_jid,
                                 absl::string_view presence = "<presence/>") {
    FakeEndpoint& endpoint = Connect(full_jid);
    router().RouteFromClient(endpoint.jid(), X(presence));
    for (auto& other : endpoints_) other->received.clear();
    return endpoint;
  }

  void Send(FakeEndpoint& from, absl::string_view xml) {
    router().RouteFromClient(from.jid(), X(xml));
  }

  // Sends `xml` from `from` and returns the one stanza it gets back.
  Element Ask(FakeEndpoint& from, absl::string_view xml) {
    Send(from, xml);
    std::vector<Element> replies = from.Take();
    EXPECT_THAT(replies, SizeIs(1)) << xml;
    return replies.empty() ? Element(ns::kClient, "none") : replies.front();
  }

  VirtualClock clock_;
  ServerConfig config_;
  // Endpoints outlive the router, which keeps pointers to them.
  std::vector<std::unique_ptr<FakeEndpoint>> endpoints_;
  std::unique_ptr<Router> router_;
};

// Verifies that rosters come from the configuration (with mirror items), not
// from the list of accounts.
TEST_F(RouterTest, RosterComesFromConfiguration) {
  FakeEndpoint& cut = Connect(kCut);
  router().AddAccount("added", "addedpass");
  Element reply =
      Ask(cut, "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
  EXPECT_EQ(AttrOf(reply, "type"), "result");
  EXPECT_EQ(AttrOf(reply, "id"), "r1");
  EXPECT_EQ(AttrOf(reply, "to"), kCut);
  const Element* query = reply.FindChild(ns::kRoster, "query");
  ASSERT_NE(query, nullptr);
  std::vector<std::string> items;
  for (const Element* item : query->Children()) {
    items.push_back(AttrOf(*item, "jid") + " " + AttrOf(*item, "subscription"));
  }
  EXPECT_THAT(items,
              ElementsAre("peer@localhost both", "third@localhost both"));
  EXPECT_THAT(router().RosterOf(J("peer@localhost")), SizeIs(1));
  EXPECT_THAT(router().RosterOf(J("added@localhost")), IsEmpty());
  EXPECT_EQ(router().PasswordOf("added"), "addedpass");
  EXPECT_EQ(router().PasswordOf("nobody"), std::nullopt);
}

// Verifies that initial presence reaches contacts and own resources, with caps
// untouched.
TEST_F(RouterTest, InitialPresenceBroadcastKeepsCaps) {
  FakeEndpoint& peer = ConnectAvailable(kPeer);
  FakeEndpoint& phone = ConnectAvailable(kCutPhone);
  FakeEndpoint& third = Connect(kThird);  // bound but never available
  FakeEndpoint& cut = Connect(kCut);
  Send(cut,
       std::string("<presence from='spoof@evil/x'><priority>3</priority>") +
           kCaps + "<x xmlns='vcard-temp:x:update'><photo/></x></presence>");

  for (FakeEndpoint* recipient : {&peer, &phone}) {
    ASSERT_THAT(recipient->received, SizeIs(1));
    const Element& copy = recipient->received[0];
    EXPECT_TRUE(copy.Is(ns::kClient, "presence"));
    EXPECT_EQ(AttrOf(copy, "from"), kCut);
    EXPECT_EQ(AttrOf(copy, "to"), recipient->jid().ToString());
    const Element* caps = copy.FindChild(ns::kCaps, "c");
    ASSERT_NE(caps, nullptr);
    EXPECT_EQ(caps->ToString(), X(kCaps).ToString());
    EXPECT_NE(copy.FindChild("vcard-temp:x:update", "x"), nullptr);
  }
  EXPECT_THAT(third.received, IsEmpty());
  ASSERT_TRUE(router().PresenceOf(J(kCut)).has_value());
  EXPECT_EQ(AttrOf(*router().PresenceOf(J(kCut)), "from"), kCut);
  EXPECT_EQ(router().PresenceOf(J(kThird)), std::nullopt);
}

// Verifies that a newly available resource is told who is online, once.
TEST_F(RouterTest, NewlyAvailableResourceGetsContactsPresence) {
  ConnectAvailable(kPeer, std::string("<presence>") + kCaps + "</presence>");
  FakeEndpoint& cut = Connect(kCut);
  Send(cut, "<presence/>");
  std::vector<Element> got = cut.Take();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(AttrOf(got[0], "from"), kPeer);
  EXPECT_EQ(AttrOf(got[0], "to"), kCut);
  ASSERT_NE(got[0].FindChild(ns::kCaps, "c"), nullptr);
  EXPECT_EQ(got[0].FindChild(ns::kCaps, "c")->ToString(), X(kCaps).ToString());

  // An update is not initial presence: contacts' presence is not resent.
  Send(cut, "<presence><show>away</show></presence>");
  EXPECT_THAT(cut.Take(), IsEmpty());
}

// Verifies that a probe is answered with current presence or with unavailable.
TEST_F(RouterTest, ProbeIsAnswered) {
  ConnectAvailable(kPeer, "<presence><status>here</status></presence>");
  FakeEndpoint& cut = Connect(kCut);
  Element answer = Ask(cut, "<presence type='probe' to='peer@localhost'/>");
  EXPECT_EQ(AttrOf(answer, "from"), kPeer);
  EXPECT_EQ(AttrOf(answer, "to"), kCut);
  EXPECT_EQ(AttrOf(answer, "type"), "<absent>");
  ASSERT_NE(answer.FindChild(ns::kClient, "status"), nullptr);

  Element none = Ask(cut, "<presence type='probe' to='third@localhost'/>");
  EXPECT_EQ(AttrOf(none, "type"), "unavailable");
  EXPECT_EQ(AttrOf(none, "from"), "third@localhost");
}

// Verifies that directed presence goes only where addressed and is not stored.
TEST_F(RouterTest, DirectedPresence) {
  FakeEndpoint& peer = ConnectAvailable(kPeer);
  FakeEndpoint& other = ConnectAvailable(kPeerOther);
  FakeEndpoint& third = ConnectAvailable(kThird);
  FakeEndpoint& cut = Connect(kCut);

  Send(cut,
       std::string("<presence to='") + kPeer + "'>" + kCaps + "</presence>");
  ASSERT_THAT(peer.received, SizeIs(1));
  EXPECT_EQ(AttrOf(peer.received[0], "from"), kCut);
  EXPECT_EQ(AttrOf(peer.received[0], "to"), kPeer);
  EXPECT_THAT(other.received, IsEmpty());
  EXPECT_THAT(third.received, IsEmpty());
  EXPECT_EQ(router().PresenceOf(J(kCut)), std::nullopt);

  // To a bare JID: every available resource.
  Send(cut, "<presence to='peer@localhost'><show>dnd</show></presence>");
  EXPECT_THAT(peer.Take(), SizeIs(2));
  ASSERT_THAT(other.received, SizeIs(1));
  EXPECT_EQ(AttrOf(other.received[0], "to"), "peer@localhost");
  EXPECT_THAT(third.received, IsEmpty());
  EXPECT_THAT(cut.received, IsEmpty());
}

// Verifies that losing an available resource tells contacts and own resources.
TEST_F(RouterTest, UnbindBroadcastsUnavailable) {
  FakeEndpoint& peer = ConnectAvailable(kPeer);
  FakeEndpoint& phone = ConnectAvailable(kCutPhone);
  FakeEndpoint& idle = Connect(kPeerOther);  // bound, not available
  ConnectAvailable(kCut);
  router().Unbind(J(kCut));
  EXPECT_FALSE(router().IsBound(J(kCut)));
  for (FakeEndpoint* recipient : {&peer, &phone}) {
    ASSERT_THAT(recipient->received, SizeIs(1));
    EXPECT_EQ(AttrOf(recipient->received[0], "type"), "unavailable");
    EXPECT_EQ(AttrOf(recipient->received[0], "from"), kCut);
    EXPECT_EQ(AttrOf(recipient->received[0], "to"),
              recipient->jid().ToString());
  }
  EXPECT_THAT(idle.received, IsEmpty());
  EXPECT_THAT(router().BoundResources(),
              ElementsAre(J(kCutPhone), J(kPeer), J(kPeerOther)));

  // Unbinding twice, or a resource that never sent presence, is quiet.
  router().Unbind(J(kCut));
  router().Unbind(J(kPeerOther));
  EXPECT_THAT(peer.received, SizeIs(1));
}

// Verifies that explicit unavailable presence is broadcast and forgotten.
TEST_F(RouterTest, UnavailablePresenceIsBroadcastAndForgotten) {
  FakeEndpoint& peer = ConnectAvailable(kPeer);
  FakeEndpoint& cut = ConnectAvailable(kCut);
  Send(cut, "<presence type='unavailable'><status>bye</status></presence>");
  ASSERT_THAT(peer.received, SizeIs(1));
  EXPECT_EQ(AttrOf(peer.received[0], "type"), "unavailable");
  EXPECT_EQ(router().PresenceOf(J(kCut)), std::nullopt);
  // Available again: an initial presence, so the contacts' presence comes back.
  Send(cut, "<presence/>");
  EXPECT_THAT(cut.Take(), SizeIs(1));
}

// Verifies that a message to a bare JID goes to the highest priority >= 0.
TEST_F(RouterTest, MessageToBareJidPrefersHighestPriority) {
  FakeEndpoint& low = ConnectAvailable(
      "peer@localhost/low", "<presence><priority>1</priority></presence>");
  FakeEndpoint& high_a = ConnectAvailable(
      "peer@localhost/high-a", "<presence><priority> 5 </priority></presence>");
  FakeEndpoint& high_b = ConnectAvailable(
      "peer@localhost/high-b", "<presence><priority>5</priority></presence>");
  FakeEndpoint& negative = ConnectAvailable(
      "third@localhost/neg", "<presence><priority>-1</priority></presence>");
  FakeEndpoint& cut = ConnectAvailable(kCut);

  Send(cut,
       "<message to='peer@localhost' type='chat'><body>hi</body></message>");
  EXPECT_THAT(low.received, IsEmpty());
  for (FakeEndpoint* winner : {&high_a, &high_b}) {
    ASSERT_THAT(winner->received, SizeIs(1));
    EXPECT_EQ(AttrOf(winner->received[0], "from"), kCut);
    EXPECT_EQ(AttrOf(winner->received[0], "to"), "peer@localhost");
  }

  // Only negative priority available: nobody takes it.
  Element error = Ask(
      cut, "<message to='third@localhost' id='m2'><body>x</body></message>");
  EXPECT_EQ(AttrOf(error, "type"), "error");
  EXPECT_EQ(AttrOf(error, "from"), "third@localhost");
  EXPECT_EQ(ErrorCondition(error), "service-unavailable");
  EXPECT_EQ(AttrOf(*error.FindChild(ns::kClient, "error"), "type"), "cancel");
  EXPECT_THAT(negative.received, IsEmpty());

  // Errors are never answered with errors.
  Send(cut, "<message to='third@localhost' type='error'/>");
  EXPECT_THAT(cut.Take(), IsEmpty());
}

// Verifies messages to full JIDs: bound -> there, unbound -> the bare rule.
TEST_F(RouterTest, MessageToFullJid) {
  FakeEndpoint& peer = ConnectAvailable(kPeer);
  FakeEndpoint& other = Connect(kPeerOther);  // bound but unavailable
  FakeEndpoint& cut = Connect(kCut);
  Send(cut, std::string("<message to='") + kPeerOther + "'/>");
  EXPECT_THAT(other.Take(), SizeIs(1));
  EXPECT_THAT(peer.received, IsEmpty());
  Send(cut, "<message to='peer@localhost/gone'/>");
  ASSERT_THAT(peer.received, SizeIs(1));
  EXPECT_EQ(AttrOf(peer.received[0], "to"), "peer@localhost/gone");

  Element remote = Ask(cut, "<message to='someone@example.com'/>");
  EXPECT_EQ(ErrorCondition(remote), "remote-server-not-found");
  Element unknown = Ask(cut, "<message to='nobody@localhost'/>");
  EXPECT_EQ(ErrorCondition(unknown), "service-unavailable");
}

// Verifies that an iq to a bound full JID is delivered with the real sender.
TEST_F(RouterTest, IqToBoundFullJidIsDeliveredWithFromStamped) {
  FakeEndpoint& peer = Connect(kPeer);
  FakeEndpoint& cut = Connect(kCut);
  const std::string iq =
      std::string("<iq type='set' id='s1' from='peer@localhost/fake' to='") +
      kPeer +
      "'><session xmlns='http://www.google.com/session' type='initiate' "
      "id='3688330360' initiator='cut@localhost/desktop'/></iq>";
  Send(cut, iq);
  ASSERT_THAT(peer.received, SizeIs(1));
  const Element& got = peer.received[0];
  EXPECT_EQ(AttrOf(got, "from"), kCut);
  EXPECT_EQ(AttrOf(got, "to"), kPeer);
  EXPECT_EQ(AttrOf(got, "id"), "s1");
  EXPECT_EQ(got.FirstChild()->ToString(), X(iq).FirstChild()->ToString());
  EXPECT_THAT(cut.received, IsEmpty());

  // Results and errors to a bound resource are delivered too.
  Send(peer, std::string("<iq type='result' id='s1' to='") + kCut + "'/>");
  ASSERT_THAT(cut.received, SizeIs(1));
  EXPECT_EQ(AttrOf(cut.received[0], "from"), kPeer);
}

// Verifies the RFC 6120 §8.3 error for an iq to an unbound full JID.
TEST_F(RouterTest, IqToUnboundFullJidIsServiceUnavailable) {
  FakeEndpoint& cut = Connect(kCut);
  const char kPayload[] =
      "<query xmlns='http://jabber.org/protocol/disco#info' "
      "node='http://www.google.com/xmpp/client/caps#voice-v1'/>";
  Element error = Ask(cut, std::string("<iq type='get' id='d1' to='") + kPeer +
                               "'>" + kPayload + "</iq>");
  EXPECT_TRUE(error.Is(ns::kClient, "iq"));
  EXPECT_EQ(AttrOf(error, "type"), "error");
  EXPECT_EQ(AttrOf(error, "id"), "d1");
  EXPECT_EQ(AttrOf(error, "from"), kPeer);
  EXPECT_EQ(AttrOf(error, "to"), kCut);
  ASSERT_NE(error.FirstChild(), nullptr);
  EXPECT_EQ(error.FirstChild()->ToString(), X(kPayload).ToString());
  EXPECT_EQ(ErrorCondition(error), "service-unavailable");
  EXPECT_EQ(AttrOf(*error.FindChild(ns::kClient, "error"), "type"), "cancel");
}

TEST_F(RouterTest, IqToUnknownAccountIsServiceUnavailable) {
  FakeEndpoint& cut = Connect(kCut);
  for (const char* to : {"nobody@localhost", "nobody@localhost/res"}) {
    Element error = Ask(cut, std::string("<iq type='set' id='u' to='") + to +
                                 "'><x xmlns='urn:x'/></iq>");
    EXPECT_EQ(AttrOf(error, "from"), to);
    EXPECT_EQ(ErrorCondition(error), "service-unavailable");
  }
}

TEST_F(RouterTest, IqToUnknownDomainIsRemoteServerNotFound) {
  FakeEndpoint& cut = Connect(kCut);
  Element error = Ask(cut,
                      "<iq type='get' id='x' to='peer@gmail.com/r'><ping "
                      "xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(AttrOf(error, "from"), "peer@gmail.com/r");
  EXPECT_EQ(ErrorCondition(error), "remote-server-not-found");
}

// Verifies that results and errors nobody can take are dropped, not answered.
TEST_F(RouterTest, ResultOrErrorToUnavailableJidIsDropped) {
  FakeEndpoint& cut = Connect(kCut);
  for (const char* iq : {
           "<iq type='result' id='1' to='peer@localhost/gone'/>",
           "<iq type='error' id='2' to='peer@localhost/gone'/>",
           "<iq type='result' id='3' to='nobody@localhost'/>",
           "<iq type='result' id='4' to='peer@example.com'/>",
           "<iq type='result' id='5' to='peer@localhost'/>",
           "<iq type='result' id='6'/>",
           "<iq type='error' id='7' to='localhost'/>",
           "<iq type='error'/>",
       }) {
    Send(cut, iq);
    EXPECT_THAT(cut.Take(), IsEmpty()) << iq;
  }
}

// Verifies the server's disco#info and disco#items.
TEST_F(RouterTest, ServerDisco) {
  FakeEndpoint& cut = Connect(kCut);
  for (const char* to : {"", " to='localhost'"}) {
    Element reply =
        Ask(cut,
            std::string("<iq type='get' id='i'") + to +
                "><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    EXPECT_EQ(AttrOf(reply, "type"), "result");
    EXPECT_EQ(AttrOf(reply, "from"), *to ? "localhost" : "<absent>");
    const Element* query = reply.FindChild(ns::kDiscoInfo, "query");
    ASSERT_NE(query, nullptr);
    const Element* identity = query->FindChild(ns::kDiscoInfo, "identity");
    ASSERT_NE(identity, nullptr);
    EXPECT_EQ(AttrOf(*identity, "category"), "server");
    EXPECT_EQ(AttrOf(*identity, "type"), "im");
    EXPECT_EQ(AttrOf(*identity, "name"), "talkcheck");
    std::vector<std::string> features;
    for (const Element* feature :
         query->FindChildren(ns::kDiscoInfo, "feature")) {
      features.push_back(AttrOf(*feature, "var"));
    }
    EXPECT_THAT(features,
                ElementsAre(ns::kDiscoInfo, ns::kDiscoItems, ns::kPing,
                            ns::kJingleInfo, ns::kSession, ns::kRoster));
  }

  Element items = Ask(cut,
                      "<iq type='get' id='j' to='localhost'><query "
                      "xmlns='http://jabber.org/protocol/disco#items'/></iq>");
  EXPECT_EQ(AttrOf(items, "type"), "result");
  const Element* query = items.FindChild(ns::kDiscoItems, "query");
  ASSERT_NE(query, nullptr);
  EXPECT_TRUE(query->Children().empty());
}

// Verifies disco#info on bare account JIDs, own and another's: an account.
TEST_F(RouterTest, AccountDisco) {
  FakeEndpoint& cut = Connect(kCut);
  for (const char* to : {"cut@localhost", "peer@localhost"}) {
    Element reply = Ask(
        cut,
        std::string("<iq type='get' id='a' to='") + to +
            "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    EXPECT_EQ(AttrOf(reply, "type"), "result");
    EXPECT_EQ(AttrOf(reply, "from"), to);
    const Element* query = reply.FindChild(ns::kDiscoInfo, "query");
    ASSERT_NE(query, nullptr);
    const Element* identity = query->FindChild(ns::kDiscoInfo, "identity");
    ASSERT_NE(identity, nullptr);
    EXPECT_EQ(AttrOf(*identity, "category"), "account");
    EXPECT_EQ(AttrOf(*identity, "type"), "registered");
  }
  // On another's behalf the server only does disco#info and ping.
  Element roster = Ask(cut,
                       "<iq type='get' id='b' to='peer@localhost'><query "
                       "xmlns='jabber:iq:roster'/></iq>");
  EXPECT_EQ(ErrorCondition(roster), "service-unavailable");
  EXPECT_EQ(AttrOf(roster, "from"), "peer@localhost");
}

// Verifies XEP-0199 ping to the server and to a bare account JID.
TEST_F(RouterTest, PingIsAnswered) {
  FakeEndpoint& cut = Connect(kCut);
  for (const char* to : {"", " to='localhost'", " to='peer@localhost'"}) {
    Element reply = Ask(cut, std::string("<iq type='get' id='p'") + to +
                                 "><ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT_EQ(AttrOf(reply, "type"), "result") << to;
    EXPECT_EQ(AttrOf(reply, "id"), "p");
    EXPECT_EQ(AttrOf(reply, "to"), kCut);
    EXPECT_TRUE(reply.Children().empty());
  }
}

TEST_F(RouterTest, LegacySessionIsAcknowledged) {
  FakeEndpoint& cut = Connect(kCut);
  Element reply = Ask(cut,
                      "<iq type='set' id='sess'><session "
                      "xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
  EXPECT_EQ(AttrOf(reply, "type"), "result");
  EXPECT_EQ(AttrOf(reply, "id"), "sess");
  EXPECT_TRUE(reply.Children().empty());
}

// Verifies google:jingleinfo asked as LJ04 (no `to`) and GAB (own bare JID).
TEST_F(RouterTest, JingleInfoFromConfig) {
  FakeEndpoint& cut = Connect(kCut);
  const std::string expected =
      X("<query xmlns='google:jingleinfo'>"
        "<stun><server host='127.0.0.1' udp='3478'/></stun>"
        "<relay><token>token-1</token>"
        "<server host='127.0.0.2' udp='19295' tcpssl='443'/></relay>"
        "</query>")
          .ToString();
  for (const char* to : {"", " to='cut@localhost'"}) {
    Element reply = Ask(cut, std::string("<iq type='get' id='ji'") + to +
                                 "><query xmlns='google:jingleinfo'/></iq>");
    EXPECT_EQ(AttrOf(reply, "type"), "result");
    ASSERT_NE(reply.FirstChild(), nullptr);
    EXPECT_EQ(reply.FirstChild()->ToString(), expected) << to;
  }
}

TEST_F(RouterTest, JingleInfoOmitsEmptySections) {
  config_.clear_jingle_info();
  FakeEndpoint& cut = Connect(kCut);
  Element reply = Ask(
      cut, "<iq type='get' id='ji'><query xmlns='google:jingleinfo'/></iq>");
  ASSERT_NE(reply.FirstChild(), nullptr);
  EXPECT_EQ(reply.FirstChild()->ToString(),
            X("<query xmlns='google:jingleinfo'/>").ToString());
}

// Verifies that what the server does not implement is service-unavailable.
TEST_F(RouterTest, UnknownServerIqIsServiceUnavailable) {
  FakeEndpoint& cut = Connect(kCut);
  for (const char* iq : {
           "<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>",
           "<iq type='set' id='v' to='localhost'><query "
           "xmlns='http://jabber.org/protocol/disco#info'/></iq>",
           "<iq type='get' id='v'><session "
           "xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
       }) {
    Element reply = Ask(cut, iq);
    EXPECT_EQ(AttrOf(reply, "type"), "error") << iq;
    EXPECT_EQ(ErrorCondition(reply), "service-unavailable") << iq;
    EXPECT_EQ(reply.FirstChild()->ToString(), X(iq).FirstChild()->ToString());
  }
}

// Verifies the RFC 6120 §8.2.3 shape checks.
TEST_F(RouterTest, MalformedIqIsBadRequest) {
  FakeEndpoint& peer = Connect(kPeer);
  FakeEndpoint& cut = Connect(kCut);
  for (const char* iq : {
           "<iq type='get' id='e1'/>",
           "<iq type='set' id='e2' to='localhost'/>",
           "<iq type='get' id='e3'><ping xmlns='urn:xmpp:ping'/>"
           "<ping xmlns='urn:xmpp:ping'/></iq>",
           "<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>",
           "<iq type='fetch' id='e5'><ping xmlns='urn:xmpp:ping'/></iq>",
           "<iq id='e6'><ping xmlns='urn:xmpp:ping'/></iq>",
       }) {
    Element reply = Ask(cut, iq);
    EXPECT_EQ(AttrOf(reply, "type"), "error") << iq;
    EXPECT_EQ(ErrorCondition(reply), "bad-request") << iq;
    EXPECT_EQ(AttrOf(reply, "id"), X(iq).AttrOr("id", "<absent>")) << iq;
    EXPECT_EQ(AttrOf(*reply.FindChild(ns::kClient, "error"), "type"), "modify");
  }
  EXPECT_THAT(peer.received, IsEmpty());
}

// Verifies that an iq with two payloads still reaches a client: libjingle >=
// 0.5 sends hybrid <jingle> + <session> initiates (PROTOCOL.md §8.16).
TEST_F(RouterTest, RoutesHybridIqToClient) {
  FakeEndpoint& peer = Connect(kPeer);
  FakeEndpoint& cut = Connect(kCut);
  Send(cut,
       "<iq type='set' id='h1' to='peer@localhost/Talk.v64EC3F606D'>"
       "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='1'/>"
       "<session xmlns='http://www.google.com/session' type='initiate' id='1'/>"
       "</iq>");
  ASSERT_EQ(peer.received.size(), 1u);
  EXPECT_EQ(peer.received[0].Children().size(), 2u);
}

// Verifies that non-stanzas and stanzas from unbound senders are left alone.
TEST_F(RouterTest, IgnoresWhatIsNotItsBusiness) {
  FakeEndpoint& cut = Connect(kCut);
  int seen = 0;
  router().AddObserver([&seen](const RoutedStanza&) { ++seen; });
  Send(cut, "<r xmlns='urn:xmpp:sm:3'/>");
  Send(cut,
       "<iq xmlns='jabber:server' type='get' id='1'><ping "
       "xmlns='urn:xmpp:ping'/></iq>");
  router().RouteFromClient(
      J("peer@localhost/unbound"),
      X("<iq type='get' id='2'><ping xmlns='urn:xmpp:ping'/></iq>"));
  EXPECT_THAT(cut.received, IsEmpty());
  EXPECT_EQ(seen, 0);
}

TEST_F(RouterTest, BindRefusesUnknownAccountsAndTakenResources) {
  FakeEndpoint& cut = Connect(kCut);
  FakeEndpoint second(router(), J(kCut));
  EXPECT_EQ(router().Bind(J(kCut), &second).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(cut.kick_reasons, IsEmpty());
  EXPECT_EQ(router().Bind(J("nobody@localhost/r"), &second).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(router().Bind(J("cut@example.com/r"), &second).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(router().Bind(J("cut@localhost"), &second).ok());
}

// Verifies the google-talk identity profile: the name libpurple checks
// before asking google:jingleinfo.
TEST_F(RouterTest, ServerDiscoGoogleTalkIdentity) {
  ASSERT_TRUE(ApplyServerIdentityProfile("google-talk", config_).ok());
  EXPECT_FALSE(ApplyServerIdentityProfile("gmail", config_).ok());
  FakeEndpoint& cut = Connect(kCut);
  Element reply = Ask(cut,
                      "<iq type='get' id='i'><query "
                      "xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  const Element* query = reply.FindChild(ns::kDiscoInfo, "query");
  ASSERT_NE(query, nullptr);
  const Element* identity = query->FindChild(ns::kDiscoInfo, "identity");
  ASSERT_NE(identity, nullptr);
  EXPECT_EQ(AttrOf(*identity, "category"), "server");
  EXPECT_EQ(AttrOf(*identity, "type"), "im");
  EXPECT_EQ(AttrOf(*identity, "name"), "Google Talk");
}

// Verifies REPLACE_EXISTING: the old session is kicked (and unbinds), the new
// one wins.
TEST_F(RouterTest, BindReplacesExistingSession) {
  config_.set_bind_conflict(ServerConfig::REPLACE_EXISTING);
  FakeEndpoint& peer = ConnectAvailable(kPeer);
  FakeEndpoint& old_cut = ConnectAvailable(kCut);
  FakeEndpoint& new_cut = Connect(kCut);
  EXPECT_THAT(old_cut.kick_reasons, SizeIs(1));
  ASSERT_THAT(peer.received, SizeIs(1));
  EXPECT_EQ(AttrOf(peer.received[0], "type"), "unavailable");

  Send(peer, std::string("<message to='") + kCut + "'/>");
  EXPECT_THAT(new_cut.received, SizeIs(1));
  EXPECT_THAT(old_cut.received, IsEmpty());

  // An endpoint that does not unbind inside Kick() is unbound by the router.
  new_cut.unbind_on_kick = false;
  FakeEndpoint& newest = Connect(kCut);
  EXPECT_THAT(new_cut.kick_reasons, SizeIs(1));
  Send(peer, std::string("<message to='") + kCut + "'/>");
  EXPECT_THAT(newest.received, SizeIs(1));
  EXPECT_THAT(new_cut.received, SizeIs(1));
}

// Verifies that an endpoint may answer inside Deliver(), as a peer does.
TEST_F(RouterTest, ReentrantDelivery) {
  FakeEndpoint& peer = ConnectAvailable(kPeer);
  FakeEndpoint& cut = ConnectAvailable(kCut);
  FakeEndpoint& third = ConnectAvailable(kThird);
  peer.on_deliver = [this, &peer](const Element& stanza) {
    if (stanza.name() == "iq" && stanza.AttrOr("type", "") == "get") {
      Element result(ns::kClient, "iq");
      result.SetAttr("type", "result")
          .SetAttr("id", stanza.AttrOr("id", ""))
          .SetAttr("to", stanza.AttrOr("from", ""));
      router().RouteFromClient(peer.jid(), result);
    }
    if (stanza.name() == "presence") {
      // Going offline while the router is broadcasting.
      router().Unbind(peer.jid());
    }
  };
  Send(cut,
       std::string("<iq type='get' id='q1' to='") + kPeer +
           "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  ASSERT_THAT(cut.received, SizeIs(1));
  EXPECT_EQ(AttrOf(cut.received[0], "type"), "result");
  EXPECT_EQ(AttrOf(cut.received[0], "from"), kPeer);
  cut.received.clear();

  Send(cut, "<presence><show>dnd</show></presence>");
  EXPECT_FALSE(router().IsBound(J(kPeer)));
  // cut's update; peer (not third's contact) went away quietly for third.
  EXPECT_THAT(third.received, SizeIs(1));
  ASSERT_THAT(cut.received, SizeIs(1));
  EXPECT_EQ(AttrOf(cut.received[0], "type"), "unavailable");
}

// Verifies that observers see both directions with the clock's time.
TEST_F(RouterTest, ObserversSeeBothDirections) {
  FakeEndpoint& peer = Connect(kPeer);
  FakeEndpoint& cut = Connect(kCut);
  std::vector<RecordedStanza> seen;
  const int id = router().AddObserver(
      [&seen](const RoutedStanza& routed) { seen.emplace_back(routed); });
  clock_.AdvanceBy(absl::Seconds(7));
  Send(cut, std::string("<iq type='get' id='o' from='x@y' to='") + kPeer +
                "'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_THAT(seen, SizeIs(2));
  EXPECT_EQ(seen[0].direction, RoutedStanza::Direction::kFromEndpoint);
  EXPECT_EQ(seen[0].endpoint, J(kCut));
  EXPECT_EQ(seen[0].time, absl::Seconds(7));
  EXPECT_EQ(AttrOf(seen[0].stanza, "from"), kCut);
  EXPECT_EQ(seen[1].direction, RoutedStanza::Direction::kToEndpoint);
  EXPECT_EQ(seen[1].endpoint, J(kPeer));
  EXPECT_EQ(seen[1].stanza.ToString(), peer.received.at(0).ToString());

  // Server replies are deliveries too.
  clock_.AdvanceBy(absl::Seconds(1));
  Send(cut, "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_THAT(seen, SizeIs(4));
  EXPECT_EQ(seen[3].direction, RoutedStanza::Direction::kToEndpoint);
  EXPECT_EQ(seen[3].endpoint, J(kCut));
  EXPECT_EQ(seen[3].time, absl::Seconds(8));

  router().RemoveObserver(id);
  Send(cut, "<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_THAT(seen, SizeIs(4));
}

// Verifies that an observer may remove itself while being notified.
TEST_F(RouterTest, ObserverMayRemoveItself) {
  FakeEndpoint& cut = Connect(kCut);
  int first_calls = 0;
  int second_calls = 0;
  int first_id = 0;
  first_id = router().AddObserver([&](const RoutedStanza&) {
    ++first_calls;
    router().RemoveObserver(first_id);
  });
  router().AddObserver([&](const RoutedStanza&) { ++second_calls; });
  Send(cut, "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(first_calls, 1);
  EXPECT_EQ(second_calls, 2);
}

// Verifies server-originated stanzas: `from` defaults to the domain.
TEST_F(RouterTest, SendFromServer) {
  FakeEndpoint& cut = Connect(kCut);
  FakeEndpoint& phone = Connect(kCutPhone);
  router().SendFromServer(
      X("<iq type='set' id='push' to='cut@localhost'><query "
        "xmlns='google:jingleinfo'/></iq>"));
  for (FakeEndpoint* recipient : {&cut, &phone}) {
    ASSERT_THAT(recipient->received, SizeIs(1));
    EXPECT_EQ(AttrOf(recipient->received[0], "from"), "localhost");
    EXPECT_EQ(AttrOf(recipient->received[0], "to"), "cut@localhost");
  }
  router().SendFromServer(
      X(std::string("<message from='cut@localhost' to='") + kCutPhone + "'/>"));
  ASSERT_THAT(phone.received, SizeIs(2));
  EXPECT_EQ(AttrOf(phone.received[1], "from"), "cut@localhost");
}

}  // namespace
}  // namespace talkcheck::fake_server

#include "harness/peer/negotiation.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

xmpp::Element Iq(const std::string& type, const std::string& payload_types) {
  absl::StatusOr<xmpp::Element> iq = xmpp::ParseElement(
      "<iq xmlns='jabber:client' type='set'><session "
      "xmlns='http://www.google.com/session' type='" +
      type +
      "' id='s1'><description "
      "xmlns='http://www.google.com/session/phone'>" +
      payload_types + "</description></session></iq>");
  EXPECT_TRUE(iq.ok()) << iq.status();
  return *iq;
}

constexpr char kOffer2005[] =
    "<payload-type id='103' name='ISAC'/><payload-type id='102' name='iLBC'/>"
    "<payload-type id='0' name='PCMU'/><payload-type id='8' name='PCMA'/>"
    "<payload-type id='13' name='CN'/>";

TEST(NegotiationTest, PeerCallerSendsTheFirstCodecOfTheAccept) {
  Negotiation negotiation;
  negotiation.Observe(Iq("initiate", kOffer2005), /*from_peer=*/true);
  negotiation.Observe(
      Iq("accept",
         "<payload-type id='0' name='PCMU'/><payload-type id='8' "
         "name='PCMA'/>"),
      /*from_peer=*/false);
  absl::StatusOr<NegotiatedMedia> media = negotiation.Result();
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ(media->send.name, "PCMU");
  EXPECT_EQ(media->send.payload_type, 0);
  EXPECT_EQ(media->Describe(), "PCMU/0/8000, PCMA/8/8000");
  EXPECT_TRUE(media->peer_is_caller);
}

TEST(NegotiationTest, PeerCalleeSendsTheFirstCodecOfTheInitiateItAccepted) {
  Negotiation negotiation;
  negotiation.Observe(Iq("initiate", kOffer2005), /*from_peer=*/false);
  negotiation.Observe(
      Iq("accept",
         "<payload-type id='0' name='PCMU'/><payload-type id='102' "
         "name='iLBC'/>"),
      /*from_peer=*/true);
  absl::StatusOr<NegotiatedMedia> media = negotiation.Result();
  ASSERT_TRUE(media.ok()) << media.status();
  // The client's list decides: iLBC comes before PCMU in its initiate.
  EXPECT_EQ(media->send.name, "iLBC");
  EXPECT_FALSE(media->peer_is_caller);
}

// LJ04's rule seen from the client: the first codec of its remote list that
// its own list holds, whatever order its own list is in.
TEST(NegotiationTest, ClientRemoteFirstFollowsTheClientsRemoteList) {
  Negotiation called;  // the client is the callee: its remote list is the offer
  EXPECT_FALSE(called.ClientRemoteFirst().has_value());
  called.Observe(Iq("initiate", kOffer2005), /*from_peer=*/true);
  called.Observe(Iq("accept",
                    "<payload-type id='8' name='PCMA'/><payload-type id='0' "
                    "name='PCMU'/>"),
                 /*from_peer=*/false);
  std::optional<media_sim::RtpCodec> first = called.ClientRemoteFirst();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->name, "PCMU");
  EXPECT_EQ(first->payload_type, 0);

  Negotiation calling;  // the client called: its remote list is the accept
  calling.Observe(Iq("initiate", kOffer2005), /*from_peer=*/false);
  calling.Observe(Iq("accept",
                     "<payload-type id='8' name='PCMA'/><payload-type "
                     "id='102' name='iLBC'/>"),
                  /*from_peer=*/true);
  first = calling.ClientRemoteFirst();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->name, "PCMA");
  EXPECT_EQ(first->payload_type, 8);
}

// The peer's accept of a client's call: what it can send of the offer, in
// the offer's order, with the offer's ids.
TEST(NegotiationTest, AnswerToClientKeepsTheOffersOrderAndIds) {
  Negotiation negotiation;
  EXPECT_FALSE(negotiation.AnswerToClient().ok());
  negotiation.Observe(Iq("initiate",
                         "<payload-type id='99' name='x-unknown'/>"
                         "<payload-type id='8' name='PCMA'/>"
                         "<payload-type id='102' name='iLBC'/>"),
                      /*from_peer=*/false);
  absl::StatusOr<std::vector<OfferedPayloadType>> answer =
      negotiation.AnswerToClient();
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_EQ(answer->size(), 2u);
  EXPECT_EQ((*answer)[0].name, "PCMA");
  EXPECT_EQ((*answer)[0].id, 8);
  EXPECT_EQ((*answer)[1].name, "iLBC");
  EXPECT_EQ((*answer)[1].id, 102);

  Negotiation nothing_sendable;
  nothing_sendable.Observe(Iq("initiate", "<payload-type id='99' name='x'/>"),
                           /*from_peer=*/false);
  EXPECT_EQ(nothing_sendable.AnswerToClient().status().message(),
            "the client's initiate offers no codec the simulated peer can "
            "send (x/99)");

  Negotiation peer_called;  // the initiate is the peer's own
  peer_called.Observe(Iq("initiate", kOffer2005), /*from_peer=*/true);
  EXPECT_FALSE(peer_called.AnswerToClient().ok());
}

TEST(NegotiationTest, ClockRatesComeFromTheAcceptTheOfferOrTheTable) {
  Negotiation negotiation;
  negotiation.Observe(Iq("initiate",
                         "<payload-type id='104' name='ISAC' "
                         "clockrate='32000'/><payload-type id='120' "
                         "name='X-NEW' clockrate='24000'/>"),
                      true);
  negotiation.Observe(Iq("accept",
                         "<payload-type id='104' name='ISAC'/><payload-type "
                         "id='120' name='X-NEW'/>"),
                      false);
  absl::StatusOr<NegotiatedMedia> media = negotiation.Result();
  ASSERT_TRUE(media.ok()) << media.status();
  ASSERT_EQ(media->receive.size(), 2u);
  EXPECT_EQ(media->receive[0].clock_rate, 32000);
  EXPECT_EQ(media->receive[1].clock_rate, 24000);  // unknown to the table
  EXPECT_EQ(media->send.name, "ISAC");
}

TEST(NegotiationTest, EmptyDescriptionsFollowLibjingle) {
  Negotiation negotiation;
  negotiation.Observe(Iq("initiate", ""), true);
  negotiation.Observe(Iq("accept", "<payload-type id='0' name='PCMU'/>"),
                      false);
  absl::StatusOr<NegotiatedMedia> media = negotiation.Result();
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ(media->send.name, "PCMU");
}

TEST(NegotiationTest, NothingNegotiatedBeforeTheAccept) {
  Negotiation negotiation;
  EXPECT_FALSE(negotiation.Result().ok());
  negotiation.Observe(Iq("initiate", kOffer2005), true);
  absl::StatusOr<NegotiatedMedia> media = negotiation.Result();
  ASSERT_FALSE(media.ok());
  EXPECT_NE(media.status().message().find("no accept"), std::string::npos);
}

TEST(NegotiationTest, ReadsJingleRtpDescriptions) {
  absl::StatusOr<xmpp::Element> initiate = xmpp::ParseElement(
      "<iq xmlns='jabber:client' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='session-initiate'><content name='audio'><description "
      "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='8' "
      "name='PCMA' clockrate='8000'/></description></content></jingle></iq>");
  ASSERT_TRUE(initiate.ok());
  Negotiation negotiation;
  negotiation.Observe(*initiate, true);
  negotiation.Observe(Iq("accept", "<payload-type id='8' name='PCMA'/>"),
                      false);
  absl::StatusOr<NegotiatedMedia> media = negotiation.Result();
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ(media->send.payload_type, 8);
}

}  // namespace
}  // namespace talkcheck::harness

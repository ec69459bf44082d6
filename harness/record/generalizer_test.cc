#include "harness/record/generalizer.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCut[] = "bob@localhost/callee";
constexpr char kPeer[] = "alice@localhost/caller";

xmpp::Jid J(const char* text) { return *xmpp::Jid::Parse(text); }

xmpp::Element E(const std::string& xml) {
  absl::StatusOr<xmpp::Element> e = xmpp::ParseElement(xml);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *e : xmpp::Element("jabber:client", "error");
}

class GeneralizerTest : public ::testing::Test {
 protected:
  std::string Run(Side side, const std::string& xml) {
    xmpp::Element e = E(xml);
    generalizer_.Generalize(side, e);
    return e.ToString();
  }
  Generalizer generalizer_{J(kCut), J(kPeer), "localhost"};
};

// Test that the peer's session id becomes the scenario's ${sid}, its iq id a
// fresh ${iq}, and JIDs the built-in variables.
TEST_F(GeneralizerTest, PeerInitiateUsesScenarioVariables) {
  EXPECT_EQ(
      Run(Side::kPeer,
          "<iq to='bob@localhost/callee' type='set' id='p1'>"
          "<session xmlns='http://www.google.com/session' type='initiate' "
          "id='3688330360' initiator='alice@localhost/caller'/></iq>"),
      "<iq to=\"${cut}\" type=\"set\" id=\"${iq}\"><session "
      "xmlns=\"http://www.google.com/session\" type=\"initiate\" "
      "id=\"${sid}\" initiator=\"${peer}\"/></iq>");
}

// Test that the CUT's answer to the peer's newest iq names it ${last_id}, and
// that the session id it echoes is the scenario's.
TEST_F(GeneralizerTest, CutResultNamesLastId) {
  Run(Side::kPeer,
      "<iq type='set' id='p1'><session xmlns='http://www.google.com/session' "
      "type='initiate' id='s1' initiator='alice@localhost/caller'/></iq>");
  EXPECT_EQ(Run(Side::kCut, "<iq type='result' id='p1'/>"),
            "<iq type=\"result\" id=\"${last_id}\"/>");
  EXPECT_THAT(Run(Side::kCut,
                  "<iq type='set' id='c1'><session "
                  "xmlns='http://www.google.com/session' type='candidates' "
                  "id='s1' initiator='alice@localhost/caller'/></iq>"),
              HasSubstr("id=\"${sid}\" initiator=\"${peer}\""));
}

// Test that the CUT's values become captures at first sight and references
// afterwards, one name per distinct value, and that the peer's answer to the
// CUT's iq uses the capture.
TEST_F(GeneralizerTest, CutValuesCaptureOnceThenReference) {
  const std::string first = Run(
      Side::kCut,
      "<iq type='set' id='c1'><session xmlns='http://www.google.com/session' "
      "type='candidates' id='s9' initiator='bob@localhost/callee'>"
      "<candidate name='rtp' address='127.0.0.1' port='40001' "
      "username='uF1' password='pW1' preference='1' generation='0'/>"
      "<candidate name='rtp' address='127.0.0.1' port='40002' "
      "username='uF1' password='pW1' preference='1' generation='0'/>"
      "</session></iq>");
  EXPECT_THAT(first, HasSubstr("id=\"${cut_iq}\""));
  EXPECT_THAT(first, HasSubstr("id=\"${cut_sid}\" initiator=\"${cut}\""));
  EXPECT_THAT(first,
              HasSubstr("address=\"${cut_address}\" port=\"${cut_port}\" "
                        "username=\"${cut_username}\" "
                        "password=\"${cut_password}\" preference=\"1\" "
                        "generation=\"0\""));
  EXPECT_THAT(first, HasSubstr("address=\"${cut_address}\" "
                               "port=\"${cut_port_second}\" "
                               "username=\"${cut_username}\""));
  EXPECT_EQ(Run(Side::kPeer,
                "<iq to='bob@localhost/callee' type='result' "
                "id='c1'/>"),
            "<iq to=\"${cut}\" type=\"result\" id=\"${cut_iq}\"/>");
  EXPECT_THAT(Run(Side::kCut, "<iq type='set' id='c2'/>"),
              HasSubstr("id=\"${cut_iq_second}\""));
}

// Test that the peer's candidates become the simulated peer's placeholder,
// one per channel, and a later generation a new round.
TEST_F(GeneralizerTest, PeerCandidatesBecomePlaceholders) {
  const std::string first = Run(
      Side::kPeer,
      "<iq type='set' id='p2'><session xmlns='http://www.google.com/session' "
      "type='candidates' id='s1' initiator='alice@localhost/caller'>"
      "<candidate name='rtp' address='10.0.0.1' port='1' generation='0'/>"
      "<candidate name='rtp' address='10.0.0.2' port='2' generation='0'/>"
      "<candidate name='rtcp' address='10.0.0.1' port='3' generation='0'/>"
      "</session></iq>");
  EXPECT_THAT(first, HasSubstr(">${candidates:rtp}${candidates:rtcp}<"));
  EXPECT_THAT(first, Not(HasSubstr("10.0.0.1")));
  EXPECT_THAT(Run(Side::kPeer,
                  "<iq type='set' id='p3'><session "
                  "xmlns='http://www.google.com/session' type='candidates' "
                  "id='s1'><candidate name='rtp' address='10.0.0.1' port='9' "
                  "generation='1'/></session></iq>"),
              HasSubstr(">${candidates:rtp:next}<"));
}

// Test that a peer iq the CUT answers after another peer iq went out gets a
// variable of its own, declared for the scenario, since ${last_id} then
// names the other one.
TEST_F(GeneralizerTest, LateAnsweredPeerIdGetsDeclaredVariable) {
  const std::vector<xmpp::Element> recorded = {
      E("<iq type='set' id='p1'/>"), E("<iq type='set' id='p2'/>"),
      E("<iq type='result' id='p1'/>"), E("<iq type='result' id='p2'/>")};
  const std::vector<std::pair<Side, const xmpp::Element*>> sides = {
      {Side::kPeer, &recorded[0]},
      {Side::kPeer, &recorded[1]},
      {Side::kCut, &recorded[2]},
      {Side::kCut, &recorded[3]}};
  EXPECT_EQ(PeerIdsAnsweredLate(sides), std::set<std::string>{"p1"});
  generalizer_.set_stable_peer_ids(PeerIdsAnsweredLate(sides));
  EXPECT_EQ(Run(Side::kPeer, "<iq type='set' id='p1'/>"),
            "<iq type=\"set\" id=\"${peer_iq}\"/>");
  EXPECT_EQ(Run(Side::kPeer, "<iq type='set' id='p2'/>"),
            "<iq type=\"set\" id=\"${iq}\"/>");
  EXPECT_EQ(Run(Side::kCut, "<iq type='result' id='p1'/>"),
            "<iq type=\"result\" id=\"${peer_iq}\"/>");
  EXPECT_EQ(Run(Side::kCut, "<iq type='result' id='p2'/>"),
            "<iq type=\"result\" id=\"${last_id}\"/>");
  ASSERT_EQ(generalizer_.declared().size(), 1u);
  EXPECT_EQ(generalizer_.declared()[0].name, "peer_iq");
  EXPECT_EQ(generalizer_.declared()[0].value, "peer1-${sid}");
}

// Test that JIDs inside longer values and text, the bare JIDs and the domain
// become variables, and that structural values stay literal.
TEST_F(GeneralizerTest, JidsInsideValuesAndLiteralStructure) {
  const std::string out = Run(
      Side::kPeer,
      "<iq type='set' id='p1'><session xmlns='http://www.google.com/session' "
      "type='redirect' id='s1' initiator='alice@localhost'>"
      "<target name='xmpp:bob@localhost/callee'/>"
      "<description xmlns='http://www.google.com/session/phone'>"
      "<payload-type id='0' name='PCMU'/></description>"
      "<text>call localhost or alice@localhost/caller</text></session></iq>");
  EXPECT_THAT(out, HasSubstr("initiator=\"${peer_bare}\""));
  EXPECT_THAT(out, HasSubstr("name=\"xmpp:${cut}\""));
  EXPECT_THAT(out, HasSubstr("<payload-type id=\"0\" name=\"PCMU\"/>"));
  EXPECT_THAT(out, HasSubstr("call localhost or ${peer}"));
}

// Test that a recorded session id the CUT echoes elsewhere (a cookie) is the
// same capture, and ssrc values are per-run.
TEST_F(GeneralizerTest, DistinctiveValuesAnywhereAndSsrc) {
  EXPECT_THAT(Run(Side::kCut,
                  "<iq type='set' id='c1'><session "
                  "xmlns='http://www.google.com/session' type='initiate' "
                  "id='7771234' initiator='bob@localhost/callee'>"
                  "<source ssrc='123456'/></session></iq>"),
              HasSubstr("<source ssrc=\"${cut_ssrc}\"/>"));
  EXPECT_THAT(
      Run(Side::kCut, "<message id='m1'><cookie v='7771234'/></message>"),
      HasSubstr("<cookie v=\"${cut_sid}\"/>"));
}

// Test that a short id (a client numbering its iqs 1, 2, ...) is a capture
// where it is an id, and stays literal where the same text is a preference or
// a generation.
TEST_F(GeneralizerTest, ShortIdsAreNotReplacedElsewhere) {
  EXPECT_EQ(Run(Side::kCut, "<iq type='set' id='1'/>"),
            "<iq type=\"set\" id=\"${cut_iq}\"/>");
  EXPECT_THAT(Run(Side::kCut,
                  "<iq type='set' id='2'><session "
                  "xmlns='http://www.google.com/session' type='candidates' "
                  "id='s1'><candidate name='rtp' preference='1' "
                  "generation='1'/></session></iq>"),
              HasSubstr("preference=\"1\" generation=\"1\""));
}

TEST(OrdinalNameTest, NamesAreNotOneTypoApart) {
  EXPECT_EQ(OrdinalName("cut_port", 1), "cut_port");
  EXPECT_EQ(OrdinalName("cut_port", 2), "cut_port_second");
  EXPECT_EQ(OrdinalName("cut_port", 3), "cut_port_third");
  EXPECT_EQ(OrdinalName("cut_port", 11), "cut_port_n11n11");
}

}  // namespace
}  // namespace talkcheck::harness

#include "harness/fuzz/oracles.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kSecond = 1'000'000;

std::string SessionIq(const std::string& id, const std::string& type,
                      const std::string& sid) {
  return absl::StrCat("<iq xmlns='jabber:client' type='set' id='", id,
                      "'><session xmlns='http://www.google.com/session' type='",
                      type, "' id='", sid,
                      "' initiator='peer@localhost/Talk'/></iq>");
}

std::string Result(const std::string& id) {
  return absl::StrCat("<iq xmlns='jabber:client' type='result' id='", id,
                      "'/>");
}

class OraclesTest : public ::testing::Test {
 protected:
  void Add(int64_t us, const std::string& direction, const std::string& xml) {
    StanzaRecord& r = *result_.add_transcript();
    r.set_time_us(us);
    r.set_direction(direction);
    r.set_xml(xml);
  }
  std::vector<std::string> Names(bool keeps = false) {
    std::vector<std::string> out;
    for (const Violation& v : CheckOracles(result_, keeps))
      out.push_back(v.oracle());
    return out;
  }

  ScenarioResult result_;
};

TEST_F(OraclesTest, ACallThatReachesMediaAndEndsIsClean) {
  Add(0, "peer->cut", SessionIq("1", "initiate", "s"));
  Add(10, "cut->peer", Result("1"));
  Add(20, "cut->peer", SessionIq("c1", "accept", "s"));
  Add(30, "peer->cut", SessionIq("2", "terminate", "s"));
  Add(40, "cut->peer", Result("2"));
  result_.set_verdict(PASS);
  result_.set_media_from_client(100);
  result_.set_end_us(300 * kSecond);
  EXPECT_THAT(Names(true), IsEmpty());
  EXPECT_TRUE(Settled(result_));
}

TEST_F(OraclesTest, AnUnansweredSessionIqIsNamedOnlyAfterFifteenSeconds) {
  Add(0, "peer->cut", SessionIq("1", "initiate", "s"));
  Add(1 * kSecond, "peer->cut", SessionIq("2", "terminate", "s"));
  Add(1 * kSecond + 5, "cut->peer", Result("2"));
  result_.set_end_us(10 * kSecond);
  EXPECT_THAT(Names(), IsEmpty());
  EXPECT_FALSE(Settled(result_));  // the ack may still come

  result_.set_end_us(16 * kSecond);
  std::vector<Violation> v = CheckOracles(result_, false);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].oracle(), kOracleUnacknowledged);
  EXPECT_THAT(v[0].detail(), HasSubstr("the initiate iq id=1 of session s"));
  EXPECT_TRUE(Settled(result_));
}

// Observed stanzas are not parsed again: the oracles judge the stanza they
// were shown, whatever the record's XML says (here nothing parseable).
TEST_F(OraclesTest, ObservedStanzasAreNotParsedAgain) {
  Add(0, "peer->cut", "not xml");
  absl::StatusOr<xmpp::Element> initiate =
      xmpp::ParseElement(SessionIq("1", "initiate", "s"));
  ASSERT_TRUE(initiate.ok());
  TranscriptIqs iqs;
  iqs.Observe(result_.transcript(0), *initiate);
  result_.set_end_us(16 * kSecond);
  std::vector<Violation> v = CheckOracles(result_, false, {}, iqs);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].oracle(), kOracleUnacknowledged);
  EXPECT_THAT(Names(), IsEmpty());  // the XML alone shows nothing
  EXPECT_FALSE(Settled(result_, iqs));

  // Records it was not shown are parsed when it is next asked.
  Add(1 * kSecond, "cut->peer", Result("1"));
  EXPECT_THAT(CheckOracles(result_, false, {}, iqs), IsEmpty());
}

TEST_F(OraclesTest, ALateAnswerIsStillUnacknowledged) {
  Add(0, "peer->cut", SessionIq("1", "initiate", "s"));
  Add(16 * kSecond, "cut->peer", Result("1"));
  Add(17 * kSecond, "cut->peer", SessionIq("t", "terminate", "s"));
  result_.set_end_us(40 * kSecond);
  EXPECT_THAT(Names(), ElementsAre(kOracleUnacknowledged));
}

TEST_F(OraclesTest, RingingPastOneHundredEightySecondsIsPastTheDeadline) {
  result_.set_peer_pings_answered(10);  // writable while it rings
  Add(0, "cut->peer", SessionIq("c1", "initiate", "s"));
  Add(5, "peer->cut", Result("c1"));
  Add(190 * kSecond, "cut->peer", SessionIq("c2", "terminate", "s"));
  Add(190 * kSecond + 5, "peer->cut", Result("c2"));
  result_.set_end_us(200 * kSecond);
  EXPECT_THAT(Names(), ElementsAre(kOraclePastDeadline));
}

TEST_F(OraclesTest, EndingOnTimeIsFine) {
  result_.set_peer_pings_answered(10);
  Add(0, "cut->peer", SessionIq("c1", "initiate", "s"));
  Add(5, "peer->cut", Result("c1"));
  Add(180 * kSecond, "cut->peer", SessionIq("c2", "terminate", "s"));
  result_.set_end_us(200 * kSecond);
  EXPECT_THAT(Names(), IsEmpty());
}

// The 50 s writability timer runs from the initiate: a call that rings with
// none of its checks answered must end by then (LJ04 OnTransportConnecting).
TEST_F(OraclesTest, RingingNeverWritablePastFiftySecondsIsPastTheDeadline) {
  Add(0, "cut->peer", SessionIq("c1", "initiate", "s"));
  Add(5, "peer->cut", Result("c1"));
  Add(60 * kSecond, "cut->peer", SessionIq("c2", "terminate", "s"));
  result_.set_end_us(70 * kSecond);
  EXPECT_THAT(Names(), ElementsAre(kOraclePastDeadline));
}

// A redirect does not end the session: the caller initiates again.
TEST_F(OraclesTest, ARedirectDoesNotEndTheSession) {
  result_.set_peer_pings_answered(10);
  Add(0, "cut->peer", SessionIq("c1", "initiate", "s"));
  Add(5, "peer->cut", Result("c1"));
  Add(10, "peer->cut", SessionIq("r", "redirect", "s"));
  Add(15, "cut->peer", Result("r"));
  result_.set_end_us(200 * kSecond);
  EXPECT_THAT(Names(), ElementsAre(kOraclePastDeadline, kOracleNoOutcome));
}

// The peer accepted just after the client gave up ringing: the session was
// never accepted, and 180 s is its deadline.
TEST_F(OraclesTest, AnAcceptAfterTheTerminateAcceptsNothing) {
  result_.set_peer_pings_answered(10);
  Add(0, "cut->peer", SessionIq("c1", "initiate", "s"));
  Add(5, "peer->cut", Result("c1"));
  Add(180 * kSecond, "cut->peer", SessionIq("c2", "terminate", "s"));
  Add(180 * kSecond + 5, "peer->cut", Result("c2"));
  Add(180 * kSecond + 165000, "peer->cut", SessionIq("2", "accept", "s"));
  Add(180 * kSecond + 165005, "cut->peer", Result("2"));
  result_.set_end_us(200 * kSecond);
  EXPECT_THAT(Names(), IsEmpty());
}

TEST_F(OraclesTest, AcceptedWithoutMediaMustEndByFiftySeconds) {
  Add(0, "peer->cut", SessionIq("1", "initiate", "s"));
  Add(5, "cut->peer", Result("1"));
  Add(10, "cut->peer", SessionIq("c1", "accept", "s"));
  Add(15, "peer->cut", Result("c1"));
  result_.set_end_us(60 * kSecond);
  EXPECT_THAT(Names(), ElementsAre(kOraclePastDeadline));
  EXPECT_FALSE(Settled(result_));
  result_.set_end_us(300 * kSecond);
  EXPECT_THAT(Names(), ElementsAre(kOraclePastDeadline, kOracleNoOutcome));
}

// Verifies that a run with a session left open settles as soon as every
// oracle can tell (the ring deadline plus grace), not at the settle limit.
TEST_F(OraclesTest, AnOpenSessionSettlesOnceEveryOracleCanTell) {
  Add(0, "cut->peer", SessionIq("c1", "initiate", "s"));
  Add(15, "peer->cut", Result("c1"));
  // Connected (the peer answered its checks), so only the ring deadline runs:
  // the 50 s writability one would have ended it sooner.
  result_.set_peer_pings_answered(1);
  result_.set_end_us(182 * kSecond);
  EXPECT_FALSE(Settled(result_));
  result_.set_end_us(183 * kSecond);
  EXPECT_THAT(Names(), ElementsAre(kOracleNoOutcome));
  EXPECT_TRUE(Settled(result_));
}

TEST_F(OraclesTest, AnErrorAnswerEndsTheSession) {
  Add(0, "peer->cut", SessionIq("1", "initiate", "s"));
  Add(5, "cut->peer",
      "<iq xmlns='jabber:client' type='error' id='1'><error "
      "type='cancel'/></iq>");
  result_.set_end_us(300 * kSecond);
  EXPECT_THAT(Names(), IsEmpty());
  EXPECT_TRUE(Settled(result_));
}

TEST_F(OraclesTest, FindingsAndFailuresAreNamed) {
  result_.set_client_failure("connection closed");
  (*result_.mutable_peer_findings())["media_to_stale_generation"] = 3;
  (*result_.mutable_peer_findings())["media_before_writable"] = 1;
  (*result_.mutable_peer_findings())["truncated_stun"] = 9;  // not an oracle
  result_.set_verdict(FAIL);
  result_.set_failure("media at x.xml:3: only 0 of 100 packets");
  EXPECT_THAT(Names(/*keeps=*/false),
              ElementsAre(kOracleClientFailed, kOracleStaleGeneration,
                          kOracleBeforeWritable));
  EXPECT_THAT(Names(/*keeps=*/true),
              ElementsAre(kOracleClientFailed, kOracleStaleGeneration,
                          kOracleBeforeWritable, kOracleExpectation));
}

TEST_F(OraclesTest, AHarnessErrorIsNeverTheClients) {
  result_.set_verdict(ERROR);
  result_.set_failure("send at x.xml:4: undefined variable");
  result_.set_client_failure("crashed");
  EXPECT_THAT(Names(true), ElementsAre(kOracleHarnessError));
}

// Verifies that libjingle's habits are demanded only by libjingle's profiles,
// and every other oracle by every profile.
TEST(OracleProfilesTest, HabitsOnlyUnderTheProfilesThatDemandThem) {
  EXPECT_FALSE(OracleDemanded(kOraclePastDeadline, "interop"));
  EXPECT_TRUE(OracleDemanded(kOraclePastDeadline, "libjingle-0.4"));
  EXPECT_TRUE(OracleDemanded(kOracleNoOutcome, "libjingle-0.7"));
  EXPECT_FALSE(OracleDemanded(kOracleStaleGeneration, "libjingle-0.4"));
  EXPECT_TRUE(OracleDemanded(kOracleStaleGeneration, "libjingle-0.7"));
  for (const char* profile : {"interop", "libjingle-0.4", "libjingle-0.7"}) {
    for (const char* oracle :
         {kOracleClientFailed, kOracleUnacknowledged, kOracleBeforeWritable,
          kOracleExpectation, kOracleHarnessError}) {
      EXPECT_TRUE(OracleDemanded(oracle, profile)) << oracle << " " << profile;
    }
  }
  EXPECT_EQ(OraclesNotDemanded("libjingle-0.7"), "");
  EXPECT_THAT(OraclesNotDemanded("libjingle-0.4"),
              HasSubstr("media-to-stale-generation"));

  std::vector<Violation> violations(3);
  violations[0].set_oracle(kOraclePastDeadline);
  violations[1].set_oracle(kOracleUnacknowledged);
  violations[2].set_oracle(kOracleStaleGeneration);
  std::vector<std::string> kept;
  for (const Violation& v : DemandedViolations(violations, "interop"))
    kept.push_back(v.oracle());
  EXPECT_THAT(kept, ElementsAre(kOracleUnacknowledged));
  EXPECT_EQ(DemandedViolations(violations, "libjingle-0.7").size(), 3u);
}

}  // namespace
}  // namespace talkcheck::harness

// Several simulated peers and to="any" expects (scenarios/README.md, "Several
// peers" and "Everything the client sends"), against the in-process reference
// client on the virtual clock.
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/run/client_under_test.h"
#include "harness/run/runner.h"
#include "harness/run/world.h"
#include "harness/scenario/scenario_loader.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;

Scenario LoadText(const std::string& text) {
  LoadResult loaded = LoadScenarioText(text, "inline.xml");
  for (const LoadError& e : loaded.errors) ADD_FAILURE() << e.ToString();
  return loaded.scenario;
}

ScenarioResult RunText(const std::string& text) {
  absl::StatusOr<ScenarioResult> result =
      RunInVirtualWorld(LoadText(text), "inline.xml", ClientSpec(), {});
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : ScenarioResult();
}

std::vector<std::string> LintErrors(const std::string& text) {
  std::vector<std::string> out;
  for (const LoadError& e : LoadScenarioText(text, "inline.xml").errors)
    out.push_back(e.ToString());
  return out;
}

// The client answers an iq the server sent it: the reply goes to the server.
constexpr char kServerIq[] = R"(<scenario name="server-iq" timeout="30s">
  <send from="server"><iq from="${server}" to="${cut}" type="get" id="s1"><query xmlns="http://jabber.org/protocol/disco#info"/></iq></send>
  <expect within="5s"%s><iq type="result" to="${server}" id="s1"/></expect>
</scenario>)";

std::string Format(const char* pattern, const std::string& arg) {
  std::string text = pattern;
  text.replace(text.find("%s"), 2, arg);
  return text;
}

// Verifies that to="any" matches a stanza the client sent to the server,
// and that without it the same expect fails: the peer never sees it.
TEST(RunnerAnyAddressTest, MatchesStanzasToTheServerOnlyWithToAny) {
  ScenarioResult any = RunText(Format(kServerIq, R"( to="any")"));
  EXPECT_EQ(any.verdict(), PASS) << any.failure();
  ScenarioResult peer = RunText(Format(kServerIq, ""));
  EXPECT_EQ(peer.verdict(), FAIL);
  EXPECT_THAT(peer.failure(), HasSubstr("no matching stanza within 5s"));
}

// Verifies that expect-none with to="any" sees what goes to the server.
TEST(RunnerAnyAddressTest, ExpectNoneWithToAnySeesServerTraffic) {
  ScenarioResult result = RunText(R"(<scenario name="none" timeout="30s">
  <send from="server"><iq from="${server}" to="${cut}" type="get" id="s2"><query xmlns="http://jabber.org/protocol/disco#info"/></iq></send>
  <expect-none for="2s" to="any"><iq id="s2"/></expect-none>
</scenario>)");
  EXPECT_EQ(result.verdict(), FAIL);
  EXPECT_THAT(result.failure(), HasSubstr("a forbidden stanza arrived"));
}

constexpr char kTwoPeers[] = R"(<scenario name="two" timeout="30s">
  <peer name="alice" user="alice"/>
  <peer name="bob" user="bob"/>
  <send peer="bob"><iq to="${cut}" type="get" id="q1"><query xmlns="http://jabber.org/protocol/disco#info" node="http://www.google.com/xmpp/client/caps#voice-v1"/></iq></send>
  <expect within="5s" peer="%s"><iq type="result" id="q1" to="${peer:bob}"/></expect>
</scenario>)";

// Verifies that each peer has its own JID and inbox: bob's query is answered
// to bob, and an expect listening on alice does not see it.
TEST(RunnerPeersTest, EachPeerHasItsOwnInbox) {
  ScenarioResult bob = RunText(Format(kTwoPeers, "bob"));
  EXPECT_EQ(bob.verdict(), PASS) << bob.failure();
  // Both peers' presences are in the transcript, as the peer's own.
  int presences = 0;
  for (const StanzaRecord& r : bob.transcript())
    if (r.direction() == "peer->all") ++presences;
  EXPECT_EQ(presences, 2);
  ScenarioResult alice = RunText(Format(kTwoPeers, "alice"));
  EXPECT_EQ(alice.verdict(), FAIL);
  EXPECT_THAT(alice.failure(), HasSubstr("no matching stanza within 5s"));
  bool said = false;
  for (const StepResult& step : alice.steps()) {
    if (step.verdict() != FAIL) continue;
    EXPECT_THAT(step.diff(), HasSubstr("looked at: what reached peer 'alice' "
                                       "(alice@localhost/Talk.v104)"));
    said = true;
  }
  EXPECT_TRUE(said);
}

// Verifies the loader's checks of peer= and to=.
TEST(RunnerPeersTest, LintRefusesUnknownPeersAndBadTo) {
  EXPECT_THAT(LintErrors(R"(<scenario name="x">
  <peer name="alice" user="alice"/>
  <expect within="1s" peer="carol"><iq/></expect>
</scenario>)"),
              ::testing::ElementsAre(HasSubstr(
                  "peer=\"carol\" names no <peer> declared before this step; "
                  "declared: alice")));
  EXPECT_THAT(LintErrors(R"(<scenario name="x">
  <expect within="1s" to="server"><iq/></expect>
</scenario>)"),
              ::testing::ElementsAre(HasSubstr("to must be \"any\"")));
  EXPECT_THAT(
      LintErrors(R"(<scenario name="x">
  <peer name="alice" user="alice"/>
  <peer name="bob" user="alice"/>
</scenario>)"),
      ::testing::ElementsAre(HasSubstr("a second <peer> with the JID")));
  EXPECT_THAT(
      LintErrors(R"(<scenario name="x">
  <peer name="alice" user="alice"/>
  <send><message to="${peer:bob}"/></send>
</scenario>)"),
      ::testing::ElementsAre(HasSubstr("undefined variable ${peer:bob}")));
  // peer= on answer, reject and hangup picks that peer's call.
  const LoadResult control = LoadScenarioText(R"(<scenario name="x">
  <peer name="alice" user="alice" role="callee"/>
  <control action="call" peer="alice"/>
  <control action="hangup" peer="alice"/>
</scenario>)",
                                              "inline.xml");
  EXPECT_THAT(control.errors, ::testing::IsEmpty());
  ASSERT_EQ(control.scenario.steps_size(), 2);
  EXPECT_EQ(control.scenario.steps(1).control().target(), "${peer:alice}");
  EXPECT_THAT(LintErrors(R"(<scenario name="x">
  <peer name="alice" user="alice"/>
  <one-of within="1s" to="any" peer="alice">
    <branch><expect><iq/></expect></branch>
    <branch><expect><message/></expect></branch>
  </one-of>
</scenario>)"),
              ::testing::ElementsAre(HasSubstr("peer= cannot narrow it")));
}

// A one-of whose first branch waits on the peer and whose second, with
// to="any", matches the client's answer to the server.
constexpr char kOneOfToAny[] = R"(<scenario name="one-of-any" timeout="30s">
  <send from="server"><iq from="${server}" to="${cut}" type="get" id="s3"><query xmlns="http://jabber.org/protocol/disco#info"/></iq></send>
  <one-of within="5s">
    <branch><expect><message><body>never</body></message></expect></branch>
    <branch><expect%s><iq type="result" to="${server}" id="s3"/></expect></branch>
  </one-of>
</scenario>)";

// Verifies that to="any" on a one-of branch (and on the one-of) makes that
// branch look at everything the client sent, and that without it the branch
// sees only the peer's inbox.
TEST(RunnerAnyAddressTest, OneOfBranchWithToAny) {
  ScenarioResult any = RunText(Format(kOneOfToAny, R"( to="any")"));
  EXPECT_EQ(any.verdict(), PASS) << any.failure();
  ASSERT_GT(any.steps_size(), 1);
  EXPECT_THAT(any.steps(1).message(), HasSubstr("branch 2 (step 2.b.1"));
  std::string whole = kOneOfToAny;
  whole.replace(whole.find("<one-of within=\"5s\">"), 20,
                "<one-of within=\"5s\" to=\"any\">");
  ScenarioResult group = RunText(Format(whole.c_str(), ""));
  EXPECT_EQ(group.verdict(), PASS) << group.failure();
  ScenarioResult peer = RunText(Format(kOneOfToAny, ""));
  EXPECT_EQ(peer.verdict(), FAIL);
  EXPECT_THAT(peer.failure(), HasSubstr("none of the 2 alternatives arrived"));
  EXPECT_THAT(peer.failure(), HasSubstr("step 2 (one-of) at inline.xml:3"));
}

}  // namespace
}  // namespace talkcheck::harness

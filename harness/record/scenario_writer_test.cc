#include "harness/record/scenario_writer.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario/scenario_loader.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

xmpp::Jid J(const char* text) { return *xmpp::Jid::Parse(text); }

constexpr char kCaller[] = "alice@localhost/caller";
constexpr char kCallee[] = "bob@localhost/callee";

std::string Session(const char* type, const std::string& body = "") {
  return absl::StrCat("<session xmlns='http://www.google.com/session' type='",
                      type, "' id='4242' initiator='alice@localhost/caller'>",
                      body, "</session>");
}

std::string Candidate(const char* address, const char* port,
                      const char* ufrag) {
  return absl::StrCat("<candidate name='rtp' address='", address, "' port='",
                      port, "' username='", ufrag, "' password='pw", ufrag,
                      "' preference='1' protocol='udp' generation='0'/>");
}

// A G1 call as two reference clients hold it: alice calls bob, bob answers
// after two seconds, alice hangs up three seconds later.
RecordedCall G1Call() {
  RecordedCall call;
  call.sid = "4242";
  call.caller = J(kCaller);
  call.callee = J(kCallee);
  call.ended = true;
  const auto add = [&call](double seconds, const char* from,
                           const std::string& xml) {
    absl::StatusOr<xmpp::Element> stanza = xmpp::ParseElement(xml);
    ASSERT_TRUE(stanza.ok()) << stanza.status() << " " << xml;
    call.stanzas.push_back({absl::Seconds(seconds), J(from), *stanza});
  };
  const std::string codecs =
      "<description xmlns='http://www.google.com/session/phone'>"
      "<payload-type id='0' name='PCMU'/></description>";
  add(0, kCaller,
      absl::StrCat("<iq to='bob@localhost/callee' type='set' id='a1'>",
                   Session("initiate", codecs), "</iq>"));
  add(0.01, kCaller,
      absl::StrCat("<iq to='bob@localhost/callee' type='set' id='a2'>",
                   Session("candidates", Candidate("10.1.1.1", "5000", "aa")),
                   "</iq>"));
  add(0.02, kCallee, "<iq to='alice@localhost/caller' type='result' id='a1'/>");
  add(0.03, kCallee, "<iq to='alice@localhost/caller' type='result' id='a2'/>");
  add(0.04, kCallee,
      absl::StrCat("<iq to='alice@localhost/caller' type='set' id='b1'>",
                   Session("candidates", Candidate("127.0.0.1", "6000", "bb")),
                   "</iq>"));
  add(0.05, kCaller, "<iq to='bob@localhost/callee' type='result' id='b1'/>");
  add(2.05, kCallee,
      absl::StrCat("<iq to='alice@localhost/caller' type='set' id='b2'>",
                   Session("accept", codecs), "</iq>"));
  add(2.06, kCaller, "<iq to='bob@localhost/callee' type='result' id='b2'/>");
  add(5.06, kCaller,
      absl::StrCat("<iq to='bob@localhost/callee' type='set' id='a3'>",
                   Session("terminate"), "</iq>"));
  add(5.07, kCallee, "<iq to='alice@localhost/caller' type='result' id='a3'/>");
  return call;
}

// Loads `text` as lint does; every error and warning fails the test.
void ExpectLintsClean(const std::string& text) {
  LoadResult loaded = LoadScenarioText(text, "recorded.xml");
  for (const LoadError& e : loaded.errors) ADD_FAILURE() << e.ToString();
  for (const LoadError& w : loaded.warnings)
    ADD_FAILURE() << w.ToWarningString();
}

// Test that the callee's side of a recorded call is a scenario that lints
// without a warning: the peer's stanzas sent, the client's expected with
// captures, the user's answer as a control step, media before the end.
TEST(ScenarioWriterTest, CalleeSideLintsAndKeepsTheStructure) {
  ScenarioWriterOptions options;
  options.name = "recorded";
  absl::StatusOr<std::string> text = WriteScenario(G1Call(), options);
  ASSERT_TRUE(text.ok()) << text.status();
  ExpectLintsClean(*text);
  EXPECT_THAT(*text, HasSubstr("<peer user=\"alice\" resource=\"caller\" "
                               "role=\"caller\" dialect=\"g1\" "
                               "ack-session-iqs=\"false\"/>"));
  EXPECT_THAT(*text, Not(HasSubstr("10.1.1.1")));  // the peer's own sockets
  EXPECT_THAT(*text, HasSubstr(">${candidates:rtp}</session>"));
  EXPECT_THAT(*text, HasSubstr("address=\"*\" port=\"*\""));
  // The initiate's ack comes after the candidates went out: a <var> names it.
  EXPECT_THAT(*text, HasSubstr("<var name=\"peer_iq\" value=\"peer1-${sid}\""));
  EXPECT_THAT(*text, HasSubstr("<iq type=\"result\" id=\"${peer_iq}\"/>"));
  // The answer 2 s after the client's last stanza: 3 x 2 s + 5 s.
  const size_t answer = text->find("<control action=\"answer\"/>");
  const size_t accept = text->find("type=\"accept\"");
  ASSERT_NE(answer, std::string::npos);
  EXPECT_LT(answer, accept);
  EXPECT_THAT(text->substr(answer, accept - answer),
              HasSubstr("<expect within=\"11s\">"));
  // The peer hangs up 3 s after its ack: media first, no delay after it.
  const size_t media = text->find("<media within=\"10s\" min-packets=\"100\"");
  const size_t terminate = text->find("type=\"terminate\"");
  ASSERT_NE(media, std::string::npos);
  EXPECT_LT(media, terminate);
  EXPECT_THAT(text->substr(media, terminate - media), Not(HasSubstr("delay")));
  EXPECT_THAT(*text, HasSubstr("<scenario name=\"recorded\" timeout=\""));
}

// Test that the caller's side has the user's call and hang-up as control
// steps, captures the client's session id, and sends the peer's pause before
// its accept as a delay.
TEST(ScenarioWriterTest, CallerSideHasCallAndHangup) {
  ScenarioWriterOptions options;
  options.name = "recorded";
  options.cut_is_caller = true;
  absl::StatusOr<std::string> text = WriteScenario(G1Call(), options);
  ASSERT_TRUE(text.ok()) << text.status();
  ExpectLintsClean(*text);
  EXPECT_THAT(*text, HasSubstr("<control action=\"call\" target=\"${peer}\"/>"
                               "\n  <expect within=\"10s\">"));
  EXPECT_THAT(*text, HasSubstr("id=\"${cut_sid}\" initiator=\"${cut}\""));
  EXPECT_THAT(*text, HasSubstr("role=\"callee\""));
  EXPECT_THAT(*text, HasSubstr("<delay for=\"2s\"/>"));
  const size_t hangup = text->find("<control action=\"hangup\"/>");
  ASSERT_NE(hangup, std::string::npos);
  EXPECT_LT(text->find("<media"), hangup);
  EXPECT_LT(hangup, text->find("type=\"terminate\""));
}

// Test that a G2 call (the initiate offers the p2p transport) makes the peer
// G2 with the recorded transport-accept sent rather than its own, and the
// scenario a G2 caller's when the client under test placed the call.
TEST(ScenarioWriterTest, G2CallerIsTaggedAndPeerSendsRecordedTransportAccept) {
  RecordedCall call = G1Call();
  xmpp::Element* session = call.stanzas[0].stanza.FindChild(
      "http://www.google.com/session", "session");
  ASSERT_NE(session, nullptr);
  session->AddChild("http://www.google.com/transport/p2p", "transport");
  ScenarioWriterOptions options;
  options.name = "recorded";
  options.cut_is_caller = true;
  absl::StatusOr<std::string> text = WriteScenario(call, options);
  ASSERT_TRUE(text.ok()) << text.status();
  ExpectLintsClean(*text);
  EXPECT_THAT(*text, HasSubstr("tags=\"g2-caller\""));
  EXPECT_THAT(*text, HasSubstr("role=\"callee\" dialect=\"g2\" "
                               "ack-session-iqs=\"false\" "
                               "transport-accept=\"false\"/>"));
  options.cut_is_caller = false;
  text = WriteScenario(call, options);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, Not(HasSubstr("g2-caller")));
  EXPECT_THAT(*text, Not(HasSubstr("transport-accept")));
}

// Test that a recording with nothing from the client under test is refused.
TEST(ScenarioWriterTest, NothingFromTheClientIsAnError) {
  RecordedCall call = G1Call();
  // The caller's initiate and candidates only.
  call.stanzas.erase(call.stanzas.begin() + 2, call.stanzas.end());
  ScenarioWriterOptions options;
  options.name = "recorded";
  absl::StatusOr<std::string> text = WriteScenario(call, options);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DurationTextTest, WholeSecondsOrMilliseconds) {
  EXPECT_EQ(DurationText(absl::Seconds(11)), "11s");
  EXPECT_EQ(DurationText(absl::Milliseconds(900)), "900ms");
}

}  // namespace
}  // namespace talkcheck::harness

#include "harness/record/call_recorder.h"

#include <string>

#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using Direction = fake_server::RoutedStanza::Direction;

xmpp::Jid J(const char* text) { return *xmpp::Jid::Parse(text); }

class CallRecorderTest : public ::testing::Test {
 protected:
  // `from` sends `xml` at `seconds`; the router also shows its delivery.
  void Route(const char* from, const std::string& xml, int seconds = 0) {
    absl::StatusOr<xmpp::Element> stanza = xmpp::ParseElement(xml);
    ASSERT_TRUE(stanza.ok()) << stanza.status();
    recorder_.OnRouted(
        {absl::Seconds(seconds), Direction::kFromEndpoint, J(from), *stanza});
    recorder_.OnRouted({absl::Seconds(seconds), Direction::kToEndpoint,
                        J(stanza->AttrOr("to", "x@localhost").c_str()),
                        *stanza});
  }
  static std::string Session(const char* to, const char* id, const char* type,
                             const char* sid) {
    return absl::StrCat("<iq to='", to, "' type='set' id='", id,
                        "'><session xmlns='http://www.google.com/session' "
                        "type='",
                        type, "' id='", sid,
                        "' initiator='alice@localhost/a'/></iq>");
  }
  CallRecorder recorder_{{J("alice@localhost"), J("bob@localhost")}};
};

// Test that the call's iqs are kept from its initiate to the answer to its
// terminate, and nothing before, after or to anyone else.
TEST_F(CallRecorderTest, KeepsOneCallFromInitiateToAnsweredTerminate) {
  Route("alice@localhost/a", "<iq to='bob@localhost/b' type='get' id='d'/>");
  EXPECT_FALSE(recorder_.started());
  Route("alice@localhost/a", Session("bob@localhost/b", "1", "initiate", "s"));
  Route("bob@localhost/b", "<iq to='alice@localhost/a' type='result' id='1'/>",
        1);
  Route("bob@localhost/b", "<iq to='localhost' type='get' id='j'/>", 1);
  Route("carol@localhost/c", "<iq to='bob@localhost/b' type='set' id='x'/>");
  Route("alice@localhost/a", Session("bob@localhost/b", "2", "terminate", "s"),
        3);
  EXPECT_TRUE(recorder_.ending());
  EXPECT_FALSE(recorder_.done());
  Route("bob@localhost/b", "<iq to='alice@localhost/a' type='result' id='2'/>",
        3);
  EXPECT_TRUE(recorder_.done());
  Route("bob@localhost/b", Session("alice@localhost/a", "9", "terminate", "s"));
  absl::StatusOr<RecordedCall> call = recorder_.Result();
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->sid, "s");
  EXPECT_EQ(call->caller, J("alice@localhost/a"));
  EXPECT_EQ(call->callee, J("bob@localhost/b"));
  ASSERT_EQ(call->stanzas.size(), 4u);
  EXPECT_EQ(call->stanzas[1].time, absl::Seconds(1));
  EXPECT_EQ(call->stanzas[1].from, J("bob@localhost/b"));
  EXPECT_TRUE(call->ended);
}

// Test that a call to a bare JID records the resource that answers as the
// callee, and its stanzas.
TEST_F(CallRecorderTest, InitiateToBareJidTakesTheAnsweringResource) {
  Route("alice@localhost/a", Session("bob@localhost", "1", "initiate", "s"));
  Route("bob@localhost/b", "<iq to='alice@localhost/a' type='result' id='1'/>");
  Route("alice@localhost/a", Session("bob@localhost/b", "2", "terminate", "s"));
  absl::StatusOr<RecordedCall> call = recorder_.Result();
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->callee, J("bob@localhost/b"));
  EXPECT_EQ(call->stanzas.size(), 3u);
}

// Test that no call is an error that says so.
TEST_F(CallRecorderTest, NoCall) {
  Route("alice@localhost/a", "<iq to='bob@localhost/b' type='get' id='d'/>");
  EXPECT_EQ(recorder_.Result().status().code(), absl::StatusCode::kNotFound);
}

// Test that a second call while recording ends the recording with an error
// naming both.
TEST_F(CallRecorderTest, SecondCallIsAnError) {
  Route("alice@localhost/a", Session("bob@localhost/b", "1", "initiate", "s"));
  Route("bob@localhost/b", Session("alice@localhost/a", "2", "initiate", "t"));
  EXPECT_TRUE(recorder_.done());
  absl::Status status = recorder_.Result().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("session t from bob@localhost/b"),
            std::string::npos)
      << status;
}

}  // namespace
}  // namespace talkcheck::harness

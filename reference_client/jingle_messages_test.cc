#include "reference_client/jingle_messages.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {
namespace {

namespace ns = xmpp::ns;
using xmpp::Element;

constexpr char kInitiator[] = "peer@localhost/Talk.v104";

Element Candidate(absl::string_view in_ns) {
  Element c(in_ns, "candidate");
  c.SetAttr("name", "rtp").SetAttr("address", "127.0.0.1").SetAttr("port", "9");
  return c;
}

// Verifies that Gingle candidates go out as a Jingle transport-info with the
// p2p transport inside the initiator's "audio" content, and read back.
TEST(JingleMessagesTest, CandidatesRoundTripThroughTransportInfo) {
  std::optional<Element> jingle =
      JingleOfGingle("candidates", "42", {Candidate(ns::kGoogleSession)});
  ASSERT_TRUE(jingle.has_value());
  EXPECT_EQ(jingle->ns(), ns::kJingle);
  EXPECT_EQ(jingle->AttrOr("action", ""), "transport-info");
  EXPECT_EQ(jingle->AttrOr("sid", ""), "42");
  const Element* content = jingle->FindChild(ns::kJingle, "content");
  ASSERT_NE(content, nullptr);
  EXPECT_EQ(content->AttrOr("name", ""), "audio");
  EXPECT_EQ(content->AttrOr("creator", ""), "initiator");
  const Element* transport = content->FindChild(ns::kGoogleP2p, "transport");
  ASSERT_NE(transport, nullptr);
  ASSERT_NE(transport->FindChild(ns::kGoogleP2p, "candidate"), nullptr);

  const Element session = GingleOfJingle(*jingle, kInitiator);
  EXPECT_EQ(session.AttrOr("type", ""), "candidates");
  EXPECT_EQ(session.AttrOr("id", ""), "42");
  EXPECT_EQ(session.AttrOr("initiator", ""), kInitiator);
  const Element* candidate = session.FindChild(ns::kGoogleSession, "candidate");
  ASSERT_NE(candidate, nullptr);
  EXPECT_EQ(candidate->AttrOr("port", ""), "9");
}

// Verifies that an accept becomes a session-accept whose RTP description
// holds the payload types, and that the reverse gives a phone description.
TEST(JingleMessagesTest, AcceptBecomesSessionAcceptWithRtpDescription) {
  Element phone(ns::kGooglePhone, "description");
  phone.AddChild(ns::kGooglePhone, "payload-type")
      .SetAttr("id", "0")
      .SetAttr("name", "PCMU");
  std::optional<Element> jingle = JingleOfGingle("accept", "7", {phone});
  ASSERT_TRUE(jingle.has_value());
  EXPECT_EQ(jingle->AttrOr("action", ""), "session-accept");
  const Element* content = jingle->FindChild(ns::kJingle, "content");
  ASSERT_NE(content, nullptr);
  const Element* rtp = content->FindChild(ns::kJingleRtp, "description");
  ASSERT_NE(rtp, nullptr);
  EXPECT_EQ(rtp->AttrOr("media", ""), "audio");
  ASSERT_NE(rtp->FindChild(ns::kJingleRtp, "payload-type"), nullptr);
  EXPECT_NE(content->FindChild(ns::kGoogleP2p, "transport"), nullptr);

  const Element session = GingleOfJingle(*jingle, kInitiator);
  EXPECT_EQ(session.AttrOr("type", ""), "accept");
  const Element* back = session.FindChild(ns::kGooglePhone, "description");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->Attr("media"), nullptr);
  ASSERT_NE(back->FindChild(ns::kGooglePhone, "payload-type"), nullptr);
}

// Verifies the session-terminate reasons and that types without a Jingle
// twin stay Gingle.
TEST(JingleMessagesTest, TerminateAndRejectCarryReasons) {
  std::optional<Element> terminate = JingleOfGingle("terminate", "1", {});
  ASSERT_TRUE(terminate.has_value());
  EXPECT_EQ(terminate->AttrOr("action", ""), "session-terminate");
  const Element* reason = terminate->FindChild(ns::kJingle, "reason");
  ASSERT_NE(reason, nullptr);
  EXPECT_NE(reason->FindChild(ns::kJingle, "success"), nullptr);
  std::optional<Element> reject = JingleOfGingle("reject", "1", {});
  ASSERT_TRUE(reject.has_value());
  EXPECT_NE(reject->FindChild(ns::kJingle, "reason")
                ->FindChild(ns::kJingle, "decline"),
            nullptr);
  const Element session = GingleOfJingle(*reject, kInitiator);
  EXPECT_EQ(session.AttrOr("type", ""), "terminate");
  EXPECT_NE(session.FindChild(ns::kGoogleSession, "decline"), nullptr);
  EXPECT_FALSE(JingleOfGingle("transport-accept", "1", {}).has_value());
  EXPECT_FALSE(JingleOfGingle("redirect", "1", {}).has_value());
}

}  // namespace
}  // namespace talkcheck::reference_client

#include "reference_client/contact_caps.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {
namespace {

namespace ns = xmpp::ns;
using xmpp::Element;

constexpr char kPeer[] = "peer@localhost/Talk.v104";

Element Presence(const std::string& ext, const std::string& type = "") {
  Element presence(ns::kClient, "presence");
  presence.SetAttr("from", kPeer);
  if (!type.empty()) presence.SetAttr("type", type);
  presence.AddChild(ns::kCaps, "c")
      .SetAttr("node", ns::kGoogleCapsNode)
      .SetAttr("ver", "1.0.0.104")
      .SetAttr("ext", ext);
  return presence;
}

Element DiscoResult(const std::string& feature) {
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "result").SetAttr("from", kPeer);
  iq.AddChild(ns::kDiscoInfo, "query")
      .AddChild(ns::kDiscoInfo, "feature")
      .SetAttr("var", feature);
  return iq;
}

// Verifies that a voice-v1 presence draws one disco get for node#voice-v1,
// and that only an answer with Google's voice feature makes the contact
// callable.
TEST(ContactCapsTest, AsksOnceAndLearnsVoiceFromTheAnswer) {
  ContactCaps caps;
  std::optional<Element> get = caps.OnPresence(Presence("share-v1 voice-v1"));
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->AttrOr("to", ""), kPeer);
  const Element* query = get->FindChild(ns::kDiscoInfo, "query");
  ASSERT_NE(query, nullptr);
  EXPECT_EQ(query->AttrOr("node", ""),
            std::string(ns::kGoogleCapsNode) + "#voice-v1");
  EXPECT_FALSE(caps.OnPresence(Presence("voice-v1")).has_value());
  EXPECT_FALSE(caps.HasVoice(kPeer));
  caps.OnDiscoReply(kPeer, DiscoResult("http://example.com/other"));
  EXPECT_FALSE(caps.HasVoice(kPeer));
  caps.OnDiscoReply(kPeer, DiscoResult(ns::kGoogleVoiceV1));
  EXPECT_TRUE(caps.HasVoice(kPeer));
}

// Verifies that caps without voice-v1 draw no get, and that an unavailable
// presence forgets what was learnt.
TEST(ContactCapsTest, NoVoiceExtNoGetAndUnavailableForgets) {
  ContactCaps caps;
  EXPECT_FALSE(caps.OnPresence(Presence("share-v1")).has_value());
  ASSERT_TRUE(caps.OnPresence(Presence("voice-v1")).has_value());
  caps.OnDiscoReply(kPeer, DiscoResult(ns::kGoogleVoiceV1));
  EXPECT_FALSE(caps.OnPresence(Presence("", "unavailable")).has_value());
  EXPECT_FALSE(caps.HasVoice(kPeer));
  EXPECT_TRUE(caps.OnPresence(Presence("voice-v1")).has_value());
}

}  // namespace
}  // namespace talkcheck::reference_client

#include "reference_client/codecs.h"

#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media_sim/rtp.h"

namespace talkcheck::reference_client {
namespace {

// Google Talk's 2005 offer (PROTOCOL.md §2.1): ids and names only.
std::vector<PayloadType> Offer2005() {
  return {{103, "ISAC"}, {97, "IPCMWB"},  {102, "iLBC"},
          {4, "G723"},   {100, "EG711U"}, {101, "EG711A"},
          {0, "PCMU"},   {8, "PCMA"},     {13, "CN"}};
}

// Test that the send codec is the first of the remote list we support, timed
// by media_sim at the clockrate we know when the remote states none.
TEST(ChooseSendCodec, FirstSupportedOfRemoteList) {
  media_sim::RtpCodec codec = ChooseSendCodec(Offer2005(), DefaultCodecs());
  EXPECT_EQ(codec.name, "ISAC");
  EXPECT_EQ(codec.payload_type, 103);
  EXPECT_EQ(codec.clock_rate, 16000);
  EXPECT_EQ(codec.frame, absl::Milliseconds(30));

  codec =
      ChooseSendCodec({{4, "G723"}, {8, "PCMA"}, {0, "PCMU"}}, DefaultCodecs());
  EXPECT_EQ(codec.name, "PCMA");
  EXPECT_EQ(codec.payload_type, 8);
  EXPECT_EQ(codec.timestamp_step(), 160u);
}

// Test that the remote's id is used, and that a static id with a spelling
// media_sim does not know is still timed (by our name).
TEST(ChooseSendCodec, RemoteIdAndOddSpelling) {
  media_sim::RtpCodec codec =
      ChooseSendCodec({{0, "G711-ulaw", 8000}}, DefaultCodecs());
  EXPECT_EQ(codec.name, "PCMU");
  EXPECT_EQ(codec.payload_type, 0);

  // A dynamic id matches by name and keeps the remote's number.
  codec = ChooseSendCodec({{110, "iLBC", 8000}}, DefaultCodecs());
  EXPECT_EQ(codec.name, "iLBC");
  EXPECT_EQ(codec.payload_type, 110);
  EXPECT_EQ(codec.frame, absl::Milliseconds(30));
}

// Test LJ04's fallback to PCMU/8000 when nothing is supported.
TEST(ChooseSendCodec, FallsBackToPcmu) {
  for (const std::vector<PayloadType>& remote :
       {std::vector<PayloadType>{}, std::vector<PayloadType>{{4, "G723"}}}) {
    media_sim::RtpCodec codec = ChooseSendCodec(remote, DefaultCodecs());
    EXPECT_EQ(codec.name, "PCMU");
    EXPECT_EQ(codec.payload_type, 0);
  }
}

// Test that the two sides of a call can send with different codecs: the
// caller from the accept, the callee (supporting what it accepted) from the
// initiate.
TEST(ChooseSendCodec, CallerAndCalleeDiffer) {
  const std::vector<PayloadType> initiate = ToPayloadTypes(DefaultCodecs());
  const std::vector<PayloadType> accept = {{0, "PCMU", 8000},
                                           {103, "ISAC", 16000}};
  EXPECT_EQ(ChooseSendCodec(accept, DefaultCodecs()).name, "PCMU");
  EXPECT_EQ(ChooseSendCodec(initiate, ToCodecs(accept)).name, "ISAC");
}

// Test that the wrong-payload-type fault's id is in no list.
TEST(UnnegotiatedPayloadType, HighestFreeDynamicId) {
  EXPECT_EQ(UnnegotiatedPayloadType({}), 127);
  EXPECT_EQ(UnnegotiatedPayloadType({Offer2005()}), 127);
  EXPECT_EQ(UnnegotiatedPayloadType({{{127, "x"}}, {{126, "CN"}}}), 125);
}

}  // namespace
}  // namespace talkcheck::reference_client

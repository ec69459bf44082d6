#include "harness/capture/trace_file.h"

#include <string>

#include "gtest/gtest.h"
#include "media_sim/rtp.h"
#include "media_sim/stun_message.h"

namespace talkcheck::harness {
namespace {

TEST(DescribeDatagramTest, NamesStunRtpAndTheRest) {
  media_sim::StunMessage request;
  request.type = media_sim::kStunBindingRequest;
  request.transaction_id = std::string(16, 'x');
  request.username = "remoteufraglocalufrag";
  EXPECT_EQ(DescribeDatagram(request.Serialize()),
            "STUN binding-request user=remoteufraglocalufrag");

  media_sim::RtpPacket rtp;
  rtp.payload_type = 0;
  rtp.sequence = 17;
  rtp.timestamp = 2720;
  rtp.ssrc = 0x1a2b3c4d;
  rtp.payload = std::string(160, '\xff');
  EXPECT_EQ(DescribeDatagram(rtp.Serialize()),
            "RTP pt=0 seq=17 ts=2720 ssrc=0x1a2b3c4d");

  EXPECT_EQ(DescribeDatagram("hello"), "data");
  EXPECT_EQ(DescribeDatagram(""), "data");
}

}  // namespace
}  // namespace talkcheck::harness

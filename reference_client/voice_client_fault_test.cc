#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media_sim/gice_channel.h"
#include "reference_client/voice_client.h"
#include "reference_client/voice_client_test_fixture.h"

namespace talkcheck::reference_client::voice_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Test that ack-before-reject and no-reject-on-no-codec change that exchange.
TEST_F(VoiceClientTest, RejectFaults) {
  Element g723(ns::kGooglePhone, "description");
  g723.AddChild(ns::kGooglePhone, "payload-type")
      .SetAttr("id", "4")
      .SetAttr("name", "G723");
  StartClient(Options({Fault::kAckBeforeReject}));
  const std::string initiate = PeerSends("initiate", {g723});
  const int reject = WaitForSession("reject");
  ASSERT_GE(reject, 0);
  EXPECT_LT(WaitForResult(initiate), reject);

  inbox_.clear();
  voice_.reset();
  stream_.reset();
  RunFor(absl::Milliseconds(100));
  StartClient(Options({Fault::kNoRejectOnNoCodec}));
  PeerSends("initiate", {g723}, "42");
  const int accept = WaitForSession("accept");
  ASSERT_GE(accept, 0);
  const Element* description =
      SessionOf(inbox_[accept])->FindChild(ns::kGooglePhone, "description");
  ASSERT_NE(description, nullptr);
  EXPECT_TRUE(description->Children().empty());
  EXPECT_EQ(CountSession("reject"), 0);
}

// Test that stale-generation-reuse keeps generation 0 and the first ufrag.
TEST_F(VoiceClientTest, StaleGenerationReuseFault) {
  VoiceClientOptions options = Options({Fault::kStaleGenerationReuse});
  options.auto_answer_after = absl::InfiniteDuration();
  options.generation_period = absl::Milliseconds(100);
  StartClient(options);
  PeerSends("initiate", {Offer2005()});
  ASSERT_TRUE(RunUntil([&] { return CountSession("candidates") >= 3; }));
  std::set<std::string> ufrags;
  for (const Element& s : inbox_) {
    for (const Element* c : CandidatesIn(s)) {
      EXPECT_EQ(c->AttrOr("generation", ""), "0");
      ufrags.insert(c->AttrOr("username", ""));
    }
  }
  EXPECT_EQ(ufrags.size(), 1u);
}

// Test that the ack faults change what the peer sees.
TEST_F(VoiceClientTest, AckFaults) {
  StartClient(Options({Fault::kNoAck}));
  const std::string initiate = PeerSends("initiate", {Offer2005()});
  ASSERT_GE(WaitForSession("accept"), 0);
  Sync();
  EXPECT_LT(WaitForResult(initiate, absl::ZeroDuration()), 0);

  inbox_.clear();
  voice_.reset();
  stream_.reset();
  RunFor(absl::Milliseconds(100));
  StartClient(Options({Fault::kCandidatesBeforeAck}));
  const std::string second = PeerSends("initiate", {Offer2005()}, "46");
  ASSERT_GE(WaitForSession("accept"), 0);
  const int ack = WaitForResult(second);
  ASSERT_GE(ack, 0);
  EXPECT_LT(WaitForSession("candidates"), ack);

  inbox_.clear();
  voice_.reset();
  stream_.reset();
  RunFor(absl::Milliseconds(100));
  StartClient(Options({Fault::kNoTerminateAck}));
  PeerSends("initiate", {Offer2005()}, "47");
  ASSERT_GE(WaitForSession("accept"), 0);
  const std::string terminate = PeerSends("terminate", {}, "47");
  ASSERT_TRUE(RunUntil([&] { return !voice_->in_call(); }));
  Sync();
  EXPECT_LT(WaitForResult(terminate, absl::ZeroDuration()), 0);
}

// Test that the late-ack fault holds the ack back past the peer's patience.
TEST_F(VoiceClientTest, LateAckFault) {
  StartClient(Options({Fault::kLateAck}));
  const std::string initiate = PeerSends("initiate", {Offer2005()});
  ASSERT_GE(WaitForSession("accept"), 0);
  RunFor(absl::Milliseconds(300));
  EXPECT_LT(WaitForResult(initiate, absl::ZeroDuration()), 0);
}

// Test that the late-ack fault's delay follows ScaleTimers (--time_scale):
// at 0.1 the ack comes after 2 s, still past the scaled 1.5 s iq timeout.
TEST_F(VoiceClientTest, LateAckFaultScalesWithTheTimers) {
  reference_client::VoiceClientOptions options = Options({Fault::kLateAck});
  options.ScaleTimers(0.1);
  EXPECT_EQ(options.late_ack_delay, absl::Seconds(2));
  EXPECT_EQ(options.drop_early_ack_delay, absl::Milliseconds(100));
  StartClient(options);
  const std::string initiate = PeerSends("initiate", {Offer2005()});
  ASSERT_GE(WaitForSession("accept"), 0);
  EXPECT_GE(WaitForResult(initiate, absl::Seconds(3)), 0);
}

// Test that the wire faults of the accept and the candidates show.
TEST_F(VoiceClientTest, WireFaults) {
  StartClient(Options({Fault::kWrongInitiator, Fault::kRenumberedCodecIds,
                       Fault::kMissingPasswordAttr}));
  PeerSends("initiate", {Offer2005()});
  const int accept = WaitForSession("accept");
  ASSERT_GE(accept, 0);
  const int candidates = WaitForSession("candidates");
  ASSERT_GE(candidates, 0);
  EXPECT_EQ(SessionOf(inbox_[accept])->AttrOr("initiator", ""),
            "peer@localhost");
  EXPECT_EQ(SessionOf(inbox_[candidates])->AttrOr("initiator", ""),
            "peer@localhost");
  const Element* description =
      SessionOf(inbox_[accept])->FindChild(ns::kGooglePhone, "description");
  ASSERT_NE(description, nullptr);
  EXPECT_THAT(PayloadTypes(*description),
              ElementsAre("104 ISAC", "103 iLBC", "1 PCMU", "9 PCMA", "14 CN"));
  std::vector<const Element*> cands = CandidatesIn(inbox_[candidates]);
  ASSERT_EQ(cands.size(), 1u);
  EXPECT_EQ(cands[0]->Attr("password"), nullptr);
  EXPECT_NE(cands[0]->Attr("username"), nullptr);
}

// Test the accept and candidate faults that remove whole parts.
TEST_F(VoiceClientTest, OmissionFaults) {
  StartClient(
      Options({Fault::kAcceptWithoutDescription, Fault::kNoCandidates}));
  PeerSends("initiate", {Offer2005()});
  const int accept = WaitForSession("accept");
  ASSERT_GE(accept, 0);
  EXPECT_TRUE(SessionOf(inbox_[accept])->Children().empty());
  Sync();
  EXPECT_EQ(CountSession("candidates"), 0);
}

// Test that the rtp channel becomes writable against a GICE peer, and that
// drop-early-candidates loses the candidates a fast peer sends with its
// initiate.
TEST_F(VoiceClientTest, BecomesWritableAgainstGicePeer) {
  for (bool drop_early : {false, true}) {
    SCOPED_TRACE(drop_early ? "drop-early-candidates" : "correct");
    inbox_.clear();
    events_.clear();
    voice_.reset();
    stream_.reset();
    VoiceClientOptions options =
        drop_early ? Options({Fault::kDropEarlyCandidates}) : Options();
    options.auto_answer_after = absl::InfiniteDuration();
    StartClient(options);
    media_sim::GiceChannel peer_channel(io_, clock_, bitgen_, {});
    absl::StatusOr<media_sim::Candidate> local =
        peer_channel.AllocateGeneration();
    ASSERT_TRUE(local.ok()) << local.status();
    peer_channel.Start();
    const std::string sid = drop_early ? "48" : "49";
    // A libjingle 0.4 caller: candidates right behind the initiate.
    PeerSends("initiate", {Offer2005()}, sid);
    PeerSends("candidates", {WriteCandidate(*local, ns::kGoogleSession)}, sid);
    const int theirs = WaitForSession("candidates");
    ASSERT_GE(theirs, 0);
    CandidateError error;
    absl::StatusOr<media_sim::Candidate> remote =
        ReadCandidate(*CandidatesIn(inbox_[theirs])[0], error);
    ASSERT_TRUE(remote.ok());
    peer_channel.AddRemoteCandidate(*remote);
    const bool writable = RunUntil(
        [&] {
          for (const CallEvent& e : events_) {
            if (e.type == Type::kWritable) return true;
          }
          return false;
        },
        absl::Seconds(drop_early ? 2 : 5));
    EXPECT_EQ(writable, !drop_early);
    if (drop_early) {
      // The peer never hears from the client's lost pairing.
      EXPECT_EQ(peer_channel.stats().requests_received, 0u);
    } else {
      EXPECT_GT(peer_channel.stats().requests_received, 0u);
    }
    peer_channel.Stop();
    voice_.reset();
  }
}

}  // namespace
}  // namespace talkcheck::reference_client::voice_test

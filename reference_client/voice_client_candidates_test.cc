// The reference client's stun and relay candidates (VoiceClientOptions::
// candidates): found through google:jingleinfo, gathered from a real STUN
// server and relay on 127.0.0.1, and usable: a peer that knows only the
// client's relay candidate gets RTP from the client through the relay.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "media_sim/candidate.h"
#include "media_sim/gice_channel.h"
#include "media_sim/relay_server.h"
#include "media_sim/stun_server.h"
#include "reference_client/session_messages.h"
#include "reference_client/voice_client.h"
#include "reference_client/voice_client_test_fixture.h"

namespace talkcheck::reference_client::voice_test {
namespace {

class VoiceClientCandidatesTest : public VoiceClientTest {
 protected:
  void ConfigureServer(fake_server::ServerConfig& config) override {
    absl::StatusOr<std::unique_ptr<media_sim::StunServer>> stun =
        media_sim::StunServer::Create(io_, media_sim::StunServerOptions{});
    ASSERT_TRUE(stun.ok()) << stun.status();
    stun_ = *std::move(stun);
    absl::StatusOr<std::unique_ptr<media_sim::RelayServer>> relay =
        media_sim::RelayServer::Create(io_, clock_, bitgen_,
                                       media_sim::RelayServerOptions{});
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = *std::move(relay);
    fake_server::JingleInfo& info = *config.mutable_jingle_info();
    fake_server::StunServer& stun_entry = *info.add_stun();
    stun_entry.set_host("127.0.0.1");
    stun_entry.set_udp(stun_->local_endpoint().port());
    info.set_relay_token(media_sim::RelayServerOptions{}.token);
    fake_server::RelayServer& relay_entry = *info.add_relay();
    relay_entry.set_host("127.0.0.1");
    relay_entry.set_udp(relay_->udp_endpoint().port());
  }

  VoiceClientOptions GatheringOptions() {
    VoiceClientOptions options;
    options.candidates.stun = true;
    options.candidates.relay = true;
    options.relay_http_port = relay_->http_endpoint().port();
    return options;
  }

  // The candidates of the client's first candidates message, by type.
  std::vector<media_sim::Candidate> ClientCandidates() {
    const int theirs = WaitForSession("candidates");
    EXPECT_GE(theirs, 0);
    std::vector<media_sim::Candidate> out;
    if (theirs < 0) return out;
    for (const Element* element : CandidatesIn(inbox_[theirs])) {
      CandidateError error;
      absl::StatusOr<media_sim::Candidate> c = ReadCandidate(*element, error);
      EXPECT_TRUE(c.ok()) << error.text;
      if (c.ok()) out.push_back(*c);
    }
    return out;
  }

  // Declared after the fixture's members: destroyed before the io_context.
  std::unique_ptr<media_sim::StunServer> stun_;
  std::unique_ptr<media_sim::RelayServer> relay_;
};

const media_sim::Candidate* OfType(
    const std::vector<media_sim::Candidate>& candidates, const char* type) {
  for (const media_sim::Candidate& c : candidates) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

// Test that with --candidates=host,stun,relay an incoming call announces a
// host, a stun (preference 0.9) and a relay (preference 0.5, the relay
// session's username) candidate in one round.
TEST_F(VoiceClientCandidatesTest, AnnouncesHostStunAndRelay) {
  StartClient(GatheringOptions());
  RunFor(absl::Milliseconds(200));  // the jingleinfo answer
  PeerSends("initiate", {Offer2005()});
  const std::vector<media_sim::Candidate> candidates = ClientCandidates();
  ASSERT_EQ(candidates.size(), 3u);
  const media_sim::Candidate* host = OfType(candidates, "local");
  const media_sim::Candidate* stun = OfType(candidates, "stun");
  const media_sim::Candidate* relay = OfType(candidates, "relay");
  ASSERT_NE(host, nullptr);
  ASSERT_NE(stun, nullptr);
  ASSERT_NE(relay, nullptr);
  EXPECT_EQ(stun->port, host->port);  // loopback: the host address itself
  EXPECT_EQ(stun->preference, 0.9);
  EXPECT_EQ(relay->preference, 0.5);
  EXPECT_TRUE(relay_->ExternalEndpoint(relay->username).has_value());
  EXPECT_EQ(relay_->stats().sessions_created, 1u);
  EXPECT_GE(stun_->stats().binding_requests, 1u);
}

// Test that a peer knowing only the client's relay candidate gets writable
// and receives the client's RTP through the relay.
TEST_F(VoiceClientCandidatesTest, RelayCandidateCarriesTheCall) {
  VoiceClientOptions options = GatheringOptions();
  options.candidates.host = false;
  options.candidates.stun = false;
  options.media_mode = VoiceClientOptions::MediaMode::kGenerate;
  StartClient(std::move(options));
  RunFor(absl::Milliseconds(200));
  media_sim::GiceChannel peer(io_, clock_, bitgen_, media_sim::GiceOptions{});
  absl::StatusOr<media_sim::Candidate> local = peer.AllocateGeneration();
  ASSERT_TRUE(local.ok());
  int received = 0;
  peer.set_packet_handler(
      [&](absl::string_view, const boost::asio::ip::udp::endpoint&) {
        ++received;
      });
  PeerSends("initiate", {Offer2005()});
  PeerSends("candidates", {WriteCandidate(*local, ns::kGoogleSession)});
  const std::vector<media_sim::Candidate> candidates = ClientCandidates();
  ASSERT_EQ(candidates.size(), 1u);
  ASSERT_EQ(candidates[0].type, "relay");
  ASSERT_TRUE(peer.AddRemoteCandidate(candidates[0]));
  peer.Start();
  ASSERT_TRUE(RunUntil([&] { return received >= 20; }));
  EXPECT_TRUE(peer.writable());
  EXPECT_GE(relay_->stats().sent_to_peers, 20u);
  EXPECT_GE(relay_->stats().data_indications, 1u);  // the peer's checks
}

}  // namespace
}  // namespace talkcheck::reference_client::voice_test

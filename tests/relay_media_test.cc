// scenarios/relay-media.xml against the in-process reference client, with the
// relay's own counters as the proof that the call's checks and RTP crossed
// the relay (the scenario's media figures alone cannot tell a relayed packet
// from a direct one).
#include <boost/asio/io_context.hpp>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "base/asio_clock.h"
#include "fake_server/server.h"
#include "gtest/gtest.h"
#include "harness/run/client_under_test.h"
#include "harness/run/runner.h"
#include "harness/run/world.h"
#include "harness/scenario/scenario_loader.h"
#include "media_sim/relay_server.h"
#include "media_sim/stun_server.h"

namespace talkcheck {
namespace {

constexpr char kScenario[] = "scenarios/relay-media.xml";

TEST(RelayMediaTest, PeerRelayCandidateCarriesTheCallsMedia) {
  boost::asio::io_context io;
  AsioClock clock(io);
  absl::StatusOr<std::unique_ptr<media_sim::StunServer>> stun =
      media_sim::StunServer::Create(io, media_sim::StunServerOptions{});
  ASSERT_TRUE(stun.ok()) << stun.status();
  std::mt19937_64 relay_bitgen(7);
  absl::StatusOr<std::unique_ptr<media_sim::RelayServer>> relay =
      media_sim::RelayServer::Create(io, clock, relay_bitgen,
                                     media_sim::RelayServerOptions{});
  ASSERT_TRUE(relay.ok()) << relay.status();
  fake_server::ServerConfig config;
  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(config, io, clock, /*seed=*/1);
  ASSERT_TRUE(server.ok()) << server.status();

  harness::LoadResult loaded = harness::LoadScenarioFile(kScenario);
  ASSERT_TRUE(loaded.ok());
  harness::RunnerOptions options;
  options.candidate_servers.stun = (*stun)->local_endpoint();
  options.candidate_servers.relay = media_sim::RelayServerAddress{
      (*relay)->http_endpoint(), media_sim::RelayServerOptions{}.token};
  absl::StatusOr<reference_client::VoiceClientOptions> reference =
      harness::ReferenceClientOptions("", "g1");
  ASSERT_TRUE(reference.ok());
  std::mt19937_64 client_bitgen(2);
  harness::ScenarioRunner runner(
      io, clock, **server, std::move(loaded.scenario), kScenario,
      harness::MakeReferenceClient(io, clock, client_bitgen, *reference),
      options);
  std::optional<harness::ScenarioResult> result;
  runner.Run([&](harness::ScenarioResult r) { result = std::move(r); });
  while (!result.has_value() && io.run_one() > 0) {
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->verdict(), harness::PASS) << result->failure();

  const harness::MediaReport* media = nullptr;
  for (const harness::StepResult& step : result->steps()) {
    if (step.has_media()) media = &step.media();
  }
  ASSERT_NE(media, nullptr);
  EXPECT_GE(media->packets_sent(), 100u);
  EXPECT_GE(media->packets_received(), 100u);
  // One relay session; every RTP packet the peer sent left the relay as a
  // SEND, and every one the client sent came back as a DATA-INDICATION (plus
  // the checks both ways).
  const media_sim::RelayServerStats& stats = (*relay)->stats();
  EXPECT_EQ(stats.sessions_created, 1u);
  EXPECT_GE(stats.sent_to_peers, media->packets_sent());
  EXPECT_GE(stats.data_indications, media->packets_received());
  EXPECT_EQ((*stun)->stats().binding_requests, 0u);  // relay only, no stun
  std::cout << "relay: " << stats.sent_to_peers << " SENDs forwarded, "
            << stats.data_indications
            << " DATA-INDICATIONs; media: " << media->packets_sent()
            << " sent, " << media->packets_received() << " received, loss "
            << media->loss_percent() << "%\n";
  (*server)->Stop();
  io.poll();
}

}  // namespace
}  // namespace talkcheck

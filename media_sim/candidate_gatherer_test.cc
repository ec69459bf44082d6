#include "media_sim/candidate_gatherer.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/asio_clock.h"
#include "gtest/gtest.h"
#include "media_sim/gice_channel.h"
#include "media_sim/relay_client.h"
#include "media_sim/relay_server.h"
#include "media_sim/stun_server.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

constexpr char kToken[] = "jingle all the way";

std::string Rtp(uint16_t seq) {
  std::string packet("\x80\x00\x00\x00\x00\x00\x00\xa0\x12\x34\x56\x78", 12);
  packet[2] = static_cast<char>(seq >> 8);
  packet[3] = static_cast<char>(seq);
  return packet + std::string(20, 'x');
}

// Real sockets, real time (the relay's HTTP runs over TCP), bounded waits.
class CandidateGathererTest : public ::testing::Test {
 protected:
  bool RunUntil(const std::function<bool()>& done, absl::Duration limit) {
    const auto end =
        std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(limit);
    while (!done() && std::chrono::steady_clock::now() < end) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  // Gathers with `options`; the result, or nullopt if `done` never ran.
  std::optional<GatherResult> Gather(GatherOptions options) {
    std::optional<GatherResult> result;
    auto gatherer = CandidateGatherer::Start(
        io_, clock_, bitgen_, std::move(options),
        [&](GatherResult r) { result = std::move(r); });
    RunUntil([&] { return result.has_value(); }, absl::Seconds(10));
    return result;
  }

  std::unique_ptr<RelayServer> MakeRelay() {
    RelayServerOptions options;
    options.token = kToken;
    absl::StatusOr<std::unique_ptr<RelayServer>> relay =
        RelayServer::Create(io_, clock_, bitgen_, std::move(options));
    EXPECT_TRUE(relay.ok()) << relay.status();
    return relay.ok() ? *std::move(relay) : nullptr;
  }

  asio::io_context io_;
  AsioClock clock_{io_};
  std::mt19937 bitgen_{7};
};

// Verifies a stun candidate from the host socket: type stun, preference 0.9,
// the STUN server's MAPPED-ADDRESS (on loopback, the host address itself).
TEST_F(CandidateGathererTest, StunCandidateFromTheHostSocket) {
  absl::StatusOr<std::unique_ptr<StunServer>> stun =
      StunServer::Create(io_, StunServerOptions{});
  ASSERT_TRUE(stun.ok());
  GatherOptions options;
  options.stun_server = (*stun)->local_endpoint();
  std::optional<GatherResult> result = Gather(options);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->stun.ok()) << result->stun;
  ASSERT_EQ(result->ports.size(), 1u);
  const std::vector<Candidate>& candidates = result->ports[0].candidates;
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[0].type, "local");
  EXPECT_EQ(candidates[1].type, "stun");
  EXPECT_DOUBLE_EQ(candidates[1].preference, 0.9);
  EXPECT_EQ(candidates[1].address, candidates[0].address);
  EXPECT_EQ(candidates[1].port, candidates[0].port);
  EXPECT_EQ((*stun)->stats().binding_requests, 1u);

  // In a channel the two share a ufrag and the generation.
  GiceChannel channel(io_, clock_, bitgen_, GiceOptions{});
  absl::StatusOr<std::vector<Candidate>> added =
      channel.AddGeneration(std::move(result->ports));
  ASSERT_TRUE(added.ok());
  ASSERT_EQ(added->size(), 2u);
  EXPECT_EQ((*added)[0].username, (*added)[1].username);
  EXPECT_EQ((*added)[1].generation, 0);
  EXPECT_EQ(channel.generation(), 0);
}

// Verifies that a STUN server that never answers costs the stun candidate
// only, after the round's timeout, with retransmissions meanwhile.
TEST_F(CandidateGathererTest, SilentStunServerGivesNoStunCandidate) {
  udp::socket silent(io_,
                     udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  GatherOptions options;
  options.stun_server = silent.local_endpoint();
  // Retransmissions come 100, 200, 400 ms after the one before: at 0, 100,
  // 300 and 700 ms. A second of round leaves room for a loaded machine's
  // late timers (with 400 ms, the third sometimes fell past the deadline).
  options.timeout = absl::Milliseconds(1000);
  const absl::Duration start = clock_.Now();
  std::optional<GatherResult> result = Gather(options);
  ASSERT_TRUE(result.has_value());
  EXPECT_GE(clock_.Now() - start, absl::Milliseconds(1000));
  EXPECT_EQ(result->stun.code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_EQ(result->ports.size(), 1u);
  ASSERT_EQ(result->ports[0].candidates.size(), 1u);
  EXPECT_EQ(result->ports[0].candidates[0].type, "local");
  // Retransmitted meanwhile: at 0, 100 and 300 ms at least.
  silent.non_blocking(true);
  std::array<char, 64> buffer;
  int requests = 0;
  boost::system::error_code ec;
  while (silent.receive(asio::buffer(buffer), 0, ec) > 0 && !ec) ++requests;
  EXPECT_GE(requests, 3);
}

// Verifies that a wrong token (403) means no relay candidate, at once.
TEST_F(CandidateGathererTest, HttpErrorGivesNoRelayCandidate) {
  std::unique_ptr<RelayServer> relay = MakeRelay();
  ASSERT_NE(relay, nullptr);
  GatherOptions options;
  options.relay = RelayServerAddress{relay->http_endpoint(), "wrong token"};
  std::optional<GatherResult> result = Gather(options);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->relay.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(result->relay.message().find("403"), std::string::npos);
  ASSERT_EQ(result->ports.size(), 1u);
  EXPECT_EQ(result->ports[0].candidates[0].type, "local");
  EXPECT_EQ(relay->stats().http_forbidden, 1u);
}

// Verifies that a relay host with nothing listening means no relay
// candidate, and that a host-less round then has no port at all.
TEST_F(CandidateGathererTest, NoHttpListenerGivesNoRelayCandidate) {
  tcp::acceptor acceptor(io_,
                         tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint closed = acceptor.local_endpoint();
  acceptor.close();
  GatherOptions options;
  options.host = false;
  options.relay = RelayServerAddress{closed, kToken};
  std::optional<GatherResult> result = Gather(options);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->relay.ok());
  EXPECT_TRUE(result->ports.empty());
}

// Verifies that an HTTP server that accepts and never answers costs the
// relay candidate after the timeout, not a hang.
TEST_F(CandidateGathererTest, SilentHttpServerTimesOut) {
  tcp::acceptor acceptor(io_,
                         tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket accepted(io_);
  acceptor.async_accept(accepted, [](const boost::system::error_code&) {});
  GatherOptions options;
  options.relay = RelayServerAddress{acceptor.local_endpoint(), kToken};
  options.timeout = absl::Milliseconds(300);
  std::optional<GatherResult> result = Gather(options);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->relay.code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_EQ(result->ports.size(), 1u);
}

// Verifies that a relay-only channel gets writable with a host-only one and
// that checks and RTP really traverse the relay, both ways.
TEST_F(CandidateGathererTest, RelayCandidateCarriesChecksAndMedia) {
  std::unique_ptr<RelayServer> relay = MakeRelay();
  ASSERT_NE(relay, nullptr);
  GatherOptions options;
  options.host = false;
  options.relay = RelayServerAddress{relay->http_endpoint(), kToken};
  std::optional<GatherResult> result = Gather(options);
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->relay.ok()) << result->relay;
  ASSERT_EQ(result->ports.size(), 1u);

  GiceChannel a(io_, clock_, bitgen_, GiceOptions{});
  absl::StatusOr<std::vector<Candidate>> relayed =
      a.AddGeneration(std::move(result->ports));
  ASSERT_TRUE(relayed.ok());
  ASSERT_EQ(relayed->size(), 1u);
  const Candidate relay_candidate = relayed->front();
  EXPECT_EQ(relay_candidate.type, "relay");
  EXPECT_DOUBLE_EQ(relay_candidate.preference, 0.5);
  const std::optional<udp::endpoint> external =
      relay->ExternalEndpoint(relay_candidate.username);
  ASSERT_TRUE(external.has_value());
  EXPECT_EQ(relay_candidate.port, external->port());

  GiceChannel b(io_, clock_, bitgen_, GiceOptions{});
  ASSERT_TRUE(b.AllocateGeneration().ok());
  ASSERT_TRUE(a.AddRemoteCandidate(b.local_candidates().back()));
  ASSERT_TRUE(b.AddRemoteCandidate(relay_candidate));
  int a_got = 0, b_got = 0;
  a.set_packet_handler(
      [&](absl::string_view, const udp::endpoint&) { ++a_got; });
  b.set_packet_handler(
      [&](absl::string_view, const udp::endpoint&) { ++b_got; });
  a.Start();
  b.Start();
  ASSERT_TRUE(
      RunUntil([&] { return a.writable() && b.writable(); }, absl::Seconds(3)));
  EXPECT_EQ(*b.best_remote(), *external);
  for (uint16_t seq = 0; seq < 50; ++seq) {
    EXPECT_TRUE(a.SendPacket(Rtp(seq)));
    EXPECT_TRUE(b.SendPacket(Rtp(seq)));
  }
  ASSERT_TRUE(
      RunUntil([&] { return a_got == 50 && b_got == 50; }, absl::Seconds(3)));
  // The relay's own counters: every check and packet of a went out as SEND,
  // every one to a came back as DATA-INDICATION.
  const RelayServerStats& stats = relay->stats();
  EXPECT_GE(stats.sent_to_peers, 50u + a.stats().requests_sent);
  EXPECT_GE(stats.data_indications, 50u);
  EXPECT_EQ(stats.dropped_unlocked, 0u);
  EXPECT_EQ(a.stats().media_from_unreadable, 0u);
  EXPECT_EQ(b.stats().media_from_unreadable, 0u);
}

}  // namespace
}  // namespace talkcheck::media_sim

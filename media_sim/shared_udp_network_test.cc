#include "media_sim/shared_udp_network.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/virtual_clock.h"
#include "gtest/gtest.h"
#include "media_sim/gice_channel.h"
#include "media_sim/recording_udp_socket.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

constexpr char kUfragA[] = "AAAAAAAAAAAAAAAA";  // 16 characters, as GICE's
constexpr char kUfragB[] = "BBBBBBBBBBBBBBBB";
constexpr char kUfragC[] = "CCCCCCCCCCCCCCCC";

std::string Rtp(char fill) {
  return std::string("\x80\x00\x00\x01\x00\x00\x00\xa0\x12\x34\x56\x78", 12) +
         std::string(20, fill);
}

std::string Stun(uint16_t type, const std::string& username) {
  StunMessage message;
  message.type = type;
  message.transaction_id = "SharedTransactId";
  message.username = username;
  return message.Serialize();
}

struct Received {
  std::string bytes;
  UdpEndpoint from;
};

class SharedUdpNetworkTest : public ::testing::Test {
 protected:
  // A view of the network's one kernel socket that records what it gets.
  std::unique_ptr<DatagramSocket> View(std::vector<Received>& into) {
    absl::StatusOr<std::unique_ptr<DatagramSocket>> socket =
        network_.Bind("127.0.0.1");
    EXPECT_TRUE(socket.ok()) << socket.status();
    (*socket)->SetReceiveHandler(
        [&into](absl::string_view data, const UdpEndpoint& from) {
          into.push_back({std::string(data), from});
        });
    return *std::move(socket);
  }

  // Runs the io_context until nothing is ready; datagrams on loopback are in
  // the receiver's queue when send_to returns.
  void Poll() {
    for (int i = 0; i < 3; ++i) {
      io_.restart();
      while (io_.poll() > 0) {
      }
    }
  }

  asio::io_context io_;
  SharedUdpNetwork network_{io_, 1};
};

TEST_F(SharedUdpNetworkTest, ViewsShareOneKernelSocket) {
  std::vector<Received> a_got, b_got;
  auto a = View(a_got);
  auto b = View(b_got);
  EXPECT_EQ(a->local_endpoint(), b->local_endpoint());
  EXPECT_EQ(network_.kernel_sockets(), 1u);
}

TEST_F(SharedUdpNetworkTest, TwoCallsOnOneSocketNeverSeeEachOthersPackets) {
  std::vector<Received> a_got, b_got;
  auto a = View(a_got);
  auto b = View(b_got);
  RecordingUdpSocket client_a(io_), client_b(io_);
  // Each view talks to its own client: the sends route the clients back.
  a->SendTo(Rtp('a'), client_a.endpoint());
  b->SendTo(Rtp('b'), client_b.endpoint());
  Poll();
  ASSERT_EQ(client_a.received.size(), 1u);
  ASSERT_EQ(client_b.received.size(), 1u);
  EXPECT_EQ(client_a.received[0].bytes, Rtp('a'));
  EXPECT_EQ(client_b.received[0].bytes, Rtp('b'));

  for (int i = 0; i < 10; ++i) {
    client_a.SendTo(Rtp('1'), a->local_endpoint());
    client_b.SendTo(Rtp('2'), b->local_endpoint());
  }
  Poll();
  ASSERT_EQ(a_got.size(), 10u);
  ASSERT_EQ(b_got.size(), 10u);
  for (const Received& r : a_got) {
    EXPECT_EQ(r.bytes, Rtp('1'));
    EXPECT_EQ(r.from, client_a.endpoint());
  }
  for (const Received& r : b_got) {
    EXPECT_EQ(r.bytes, Rtp('2'));
    EXPECT_EQ(r.from, client_b.endpoint());
  }
  EXPECT_EQ(network_.stats().unrouted, 0u);
}

TEST_F(SharedUdpNetworkTest, ChecksRouteByUfragAndTeachTheirSource) {
  std::vector<Received> a_got, b_got;
  auto a = View(a_got);
  auto b = View(b_got);
  a->AnswerUfrag(kUfragA);
  b->AnswerUfrag(kUfragB);
  RecordingUdpSocket stranger(io_);
  // A request: our ufrag first. A response: our ufrag last.
  stranger.SendTo(Stun(kStunBindingRequest, std::string(kUfragB) + kUfragC),
                  b->local_endpoint());
  stranger.SendTo(Stun(kStunBindingResponse, std::string(kUfragC) + kUfragA),
                  a->local_endpoint());
  Poll();
  ASSERT_EQ(b_got.size(), 1u);
  ASSERT_EQ(a_got.size(), 1u);
  EXPECT_EQ(ParseStunMessage(b_got[0].bytes)->type, kStunBindingRequest);
  EXPECT_EQ(ParseStunMessage(a_got[0].bytes)->type, kStunBindingResponse);
  // The response came last: the stranger's media now goes to `a`.
  stranger.SendTo(Rtp('s'), a->local_endpoint());
  Poll();
  ASSERT_EQ(a_got.size(), 2u);
  EXPECT_EQ(a_got[1].bytes, Rtp('s'));
  EXPECT_EQ(b_got.size(), 1u);
}

TEST_F(SharedUdpNetworkTest, ExpectFromRoutesBeforeAnySend) {
  std::vector<Received> a_got, b_got;
  auto a = View(a_got);
  auto b = View(b_got);
  RecordingUdpSocket client(io_);
  b->ExpectFrom(client.endpoint());
  client.SendTo(Rtp('x'), a->local_endpoint());
  Poll();
  EXPECT_TRUE(a_got.empty());
  ASSERT_EQ(b_got.size(), 1u);
}

TEST_F(SharedUdpNetworkTest, UnknownSourcesAreUnroutedAndSeenByNoView) {
  std::vector<Received> a_got, b_got;
  auto a = View(a_got);
  auto b = View(b_got);
  a->AnswerUfrag(kUfragA);
  RecordingUdpSocket known(io_), stranger(io_);
  b->SendTo(Rtp('b'), known.endpoint());
  Poll();
  stranger.SendTo(Rtp('s'), a->local_endpoint());
  // A check for nobody's ufrag, and one with ours in the wrong place.
  stranger.SendTo(Stun(kStunBindingRequest, std::string(kUfragC) + kUfragA),
                  a->local_endpoint());
  stranger.SendTo(Stun(kStunBindingRequest, kUfragC), a->local_endpoint());
  Poll();
  EXPECT_TRUE(a_got.empty());
  EXPECT_TRUE(b_got.empty());
  EXPECT_EQ(network_.stats().unrouted, 3u);
  EXPECT_EQ(network_.stats().datagrams_received, 3u);
}

TEST_F(SharedUdpNetworkTest, AClosedViewGetsNothingMore) {
  std::vector<Received> a_got, b_got;
  auto a = View(a_got);
  auto b = View(b_got);
  a->AnswerUfrag(kUfragA);
  RecordingUdpSocket client(io_);
  a->SendTo(Rtp('a'), client.endpoint());
  Poll();
  a.reset();
  client.SendTo(Rtp('1'), b->local_endpoint());
  client.SendTo(Stun(kStunBindingRequest, std::string(kUfragA) + kUfragC),
                b->local_endpoint());
  Poll();
  EXPECT_TRUE(a_got.empty());
  EXPECT_TRUE(b_got.empty());
  EXPECT_EQ(network_.stats().unrouted, 2u);
}

TEST_F(SharedUdpNetworkTest, BatchesBothWays) {
  std::vector<Received> a_got;
  auto a = View(a_got);
  RecordingUdpSocket client(io_);
  constexpr int kCount = 100;
  // One turn's sends go out together, in order.
  for (int i = 0; i < kCount; ++i) {
    a->SendTo(std::string(1, static_cast<char>(i)), client.endpoint());
  }
  Poll();
  ASSERT_EQ(client.received.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(client.received[i].bytes, std::string(1, static_cast<char>(i)));
  }
  EXPECT_EQ(network_.stats().datagrams_sent, static_cast<uint64_t>(kCount));
  EXPECT_EQ(network_.stats().send_calls, 2u);  // 64 + 36
  // What waits in the kernel is read a batch at a time.
  for (int i = 0; i < kCount; ++i) {
    client.SendTo(Rtp('c'), a->local_endpoint());
  }
  Poll();
  EXPECT_EQ(a_got.size(), static_cast<size_t>(kCount));
  EXPECT_LE(network_.stats().receive_calls, 2u);
}

TEST_F(SharedUdpNetworkTest, HandsOutKernelSocketsInTurn) {
  SharedUdpNetwork network(io_, 2);
  auto one = network.Bind("127.0.0.1");
  auto two = network.Bind("127.0.0.1");
  auto three = network.Bind("127.0.0.1");
  ASSERT_TRUE(one.ok() && two.ok() && three.ok());
  EXPECT_NE((*one)->local_endpoint(), (*two)->local_endpoint());
  EXPECT_EQ((*one)->local_endpoint(), (*three)->local_endpoint());
  EXPECT_EQ(network.kernel_sockets(), 2u);
  EXPECT_FALSE(network.Bind("not an address").ok());
}

// Two calls whose peer channels share one kernel socket, each client on
// sockets of its own: every check and every packet stays in its call.
TEST_F(SharedUdpNetworkTest, TwoGiceCallsOnOneSocketKeepTheirOwnFindings) {
  VirtualClock clock;
  std::mt19937 bitgen(7);
  UdpNetwork client_network(io_);
  GiceOptions shared;
  shared.network = &network_;
  GiceOptions own;
  own.network = &client_network;
  GiceChannel peer1(io_, clock, bitgen, shared),
      peer2(io_, clock, bitgen, shared);
  GiceChannel client1(io_, clock, bitgen, own),
      client2(io_, clock, bitgen, own);
  for (GiceChannel* channel : {&peer1, &peer2, &client1, &client2}) {
    ASSERT_TRUE(channel->AllocateGeneration().ok());
  }
  ASSERT_EQ(peer1.local_candidates()[0].port, peer2.local_candidates()[0].port);
  for (auto [peer, client] :
       {std::pair{&peer1, &client1}, {&peer2, &client2}}) {
    ASSERT_TRUE(peer->AddRemoteCandidate(client->local_candidates()[0]));
    ASSERT_TRUE(client->AddRemoteCandidate(peer->local_candidates()[0]));
    peer->Start();
    client->Start();
  }
  std::vector<std::string> got1, got2;
  peer1.set_packet_handler(
      [&](absl::string_view p, const UdpEndpoint&) { got1.emplace_back(p); });
  peer2.set_packet_handler(
      [&](absl::string_view p, const UdpEndpoint&) { got2.emplace_back(p); });
  auto run_until = [&](const std::function<bool()>& done) {
    for (int step = 0; step < 2000 && !done(); ++step) {
      Poll();
      if (!done()) clock.AdvanceBy(absl::Milliseconds(10));
    }
    Poll();
    return done();
  };
  ASSERT_TRUE(run_until([&] {
    return peer1.writable() && peer2.writable() && client1.writable() &&
           client2.writable();
  }));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client1.SendPacket(Rtp('1')));
    ASSERT_TRUE(client2.SendPacket(Rtp('2')));
  }
  ASSERT_TRUE(run_until([&] { return got1.size() + got2.size() >= 40; }));
  EXPECT_EQ(got1, std::vector<std::string>(20, Rtp('1')));
  EXPECT_EQ(got2, std::vector<std::string>(20, Rtp('2')));
  for (const GiceChannel* peer : {&peer1, &peer2}) {
    EXPECT_GT(peer->stats().requests_received, 0u);
    EXPECT_GT(peer->stats().responses_received, 0u);
    EXPECT_EQ(peer->stats().bad_username_requests, 0u);
    EXPECT_EQ(peer->stats().responses_with_wrong_username, 0u);
    EXPECT_EQ(peer->stats().media_from_unreadable, 0u);
    EXPECT_EQ(peer->environment_stats().datagrams_received, 0u);
  }
  EXPECT_EQ(network_.stats().unrouted, 0u);
}

}  // namespace
}  // namespace talkcheck::media_sim

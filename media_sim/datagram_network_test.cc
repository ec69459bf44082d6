#include "media_sim/datagram_network.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/virtual_clock.h"
#include "gtest/gtest.h"

namespace talkcheck::media_sim {
namespace {

struct Received {
  std::string datagram;
  UdpEndpoint from;
};

// Binds a socket that records what it receives into `into`.
std::unique_ptr<DatagramSocket> Recording(
    DatagramNetwork& network, std::vector<Received>& into,
    const std::string& address = "127.0.0.1") {
  absl::StatusOr<std::unique_ptr<DatagramSocket>> socket =
      network.Bind(address);
  EXPECT_TRUE(socket.ok()) << socket.status();
  if (!socket.ok()) return nullptr;
  (*socket)->SetReceiveHandler(
      [&into](absl::string_view datagram, const UdpEndpoint& from) {
        into.push_back(Received{std::string(datagram), from});
      });
  return *std::move(socket);
}

class InMemoryNetworkTest : public ::testing::Test {
 protected:
  void RunAll() {
    while (clock_.RunNext()) {
    }
  }

  VirtualClock clock_;
  InMemoryNetwork network_{clock_};
};

// Verifies that ports are handed out in order from 20000 on the asked address.
TEST_F(InMemoryNetworkTest, HandsOutPortsInOrder) {
  std::vector<Received> ignored;
  auto a = Recording(network_, ignored);
  auto b = Recording(network_, ignored, "::1");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->local_endpoint().address().to_string(), "127.0.0.1");
  EXPECT_EQ(a->local_endpoint().port(), 20000);
  EXPECT_EQ(b->local_endpoint().address().to_string(), "::1");
  EXPECT_EQ(b->local_endpoint().port(), 20001);
  EXPECT_FALSE(network_.Bind("not an address").ok());
}

// Verifies that delivery waits for the clock and keeps sending order.
TEST_F(InMemoryNetworkTest, DeliversThroughTheClockInOrder) {
  std::vector<Received> at_a, at_b;
  auto a = Recording(network_, at_a);
  auto b = Recording(network_, at_b);
  a->SendTo("one", b->local_endpoint());
  a->SendTo("two", b->local_endpoint());
  EXPECT_TRUE(at_b.empty());  // never synchronous
  EXPECT_EQ(network_.in_flight(), 2u);
  RunAll();
  ASSERT_EQ(at_b.size(), 2u);
  EXPECT_EQ(at_b[0].datagram, "one");
  EXPECT_EQ(at_b[1].datagram, "two");
  EXPECT_EQ(at_b[0].from, a->local_endpoint());
  EXPECT_EQ(network_.delivered(), 2u);
  EXPECT_EQ(network_.in_flight(), 0u);
  EXPECT_TRUE(at_a.empty());
}

// Verifies that datagrams of every length arrive intact when the network
// reuses delivered datagrams' buffers for later sends (long after short,
// short after long, over several laps of its queue).
TEST_F(InMemoryNetworkTest, ReusedBuffersCarryEachDatagramIntact) {
  std::vector<Received> at_b;
  std::vector<Received> ignored;
  auto a = Recording(network_, ignored);
  auto b = Recording(network_, at_b);
  std::vector<std::string> sent;
  for (int lap = 0; lap < 4; ++lap) {
    for (size_t size : {200, 3, 0, 64, 17, 1500, 1}) {
      std::string datagram(size + lap,
                           static_cast<char>('a' + sent.size() % 26));
      sent.push_back(datagram);
      a->SendTo(datagram, b->local_endpoint());
    }
    RunAll();
  }
  ASSERT_EQ(at_b.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(at_b[i].datagram, sent[i]) << "datagram " << i;
  }
}

// Verifies that the fate function drops and delays datagrams.
TEST_F(InMemoryNetworkTest, FateDropsAndDelays) {
  std::vector<Received> at_b;
  auto a = Recording(network_, at_b);
  auto b = Recording(network_, at_b);
  network_.set_fate(
      [](const UdpEndpoint&, const UdpEndpoint&, absl::string_view datagram) {
        InMemoryNetwork::Fate fate;
        fate.drop = datagram == "lost";
        fate.delay = datagram == "slow" ? absl::Milliseconds(30)
                                        : absl::Milliseconds(10);
        return fate;
      });
  a->SendTo("slow", b->local_endpoint());
  a->SendTo("lost", b->local_endpoint());
  a->SendTo("fast", b->local_endpoint());
  EXPECT_EQ(network_.dropped(), 1u);
  ASSERT_TRUE(clock_.RunNext());
  EXPECT_EQ(clock_.Now(), absl::Milliseconds(10));
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0].datagram, "fast");
  RunAll();
  EXPECT_EQ(clock_.Now(), absl::Milliseconds(30));
  ASSERT_EQ(at_b.size(), 2u);
  EXPECT_EQ(at_b[1].datagram, "slow");
  EXPECT_EQ(network_.delivered(), 2u);
}

// Verifies that datagrams overtaking one another (delays from 0 to 9 ms,
// some sent by a handler while others are in flight) arrive in deadline
// order, then sending order, each exactly once, with in_flight() counting
// only those not yet delivered.
TEST_F(InMemoryNetworkTest, OvertakingDatagramsArriveOnceInDeadlineOrder) {
  std::vector<Received> at_b;
  auto a = Recording(network_, at_b);
  std::vector<Received> at_c;
  std::unique_ptr<DatagramSocket> c = *network_.Bind("127.0.0.1");
  auto b = Recording(network_, at_b);
  network_.set_fate(
      [](const UdpEndpoint&, const UdpEndpoint&, absl::string_view datagram) {
        InMemoryNetwork::Fate fate;
        // "k": a delay of (7 * k) mod 10 ms.
        fate.delay =
            absl::Milliseconds((7 * std::stoi(std::string(datagram))) % 10);
        return fate;
      });
  // c answers each datagram it gets with one to b, numbered 100 on.
  int answers = 0;
  c->SetReceiveHandler([&](absl::string_view, const UdpEndpoint&) {
    c->SendTo(std::to_string(100 + answers++), b->local_endpoint());
  });
  for (int k = 0; k < 20; ++k) {
    a->SendTo(std::to_string(k),
              k % 4 == 0 ? c->local_endpoint() : b->local_endpoint());
  }
  EXPECT_EQ(network_.in_flight(), 20u);
  size_t last_count = at_b.size();
  absl::Duration last_time = clock_.Now();
  while (clock_.RunNext()) {
    EXPECT_GE(clock_.Now(), last_time);
    last_time = clock_.Now();
    EXPECT_GE(at_b.size(), last_count);
    last_count = at_b.size();
  }
  EXPECT_EQ(network_.in_flight(), 0u);
  EXPECT_EQ(answers, 5);
  ASSERT_EQ(at_b.size(), 20u);  // 15 from a, 5 answers from c
  std::vector<std::string> got;
  for (const Received& r : at_b) got.push_back(r.datagram);
  // Deadlines (ms): k sent at 0 arrives at 7k mod 10 (ties in sending
  // order). c gets k = 0, 16, 12, 8, 4 at 0, 2, 4, 6, 8 ms and answers with
  // 100..104, which take 7(100 + n) mod 10 ms: 100 at 0 (after 10, sent
  // before it), 101 at 9, 102 at 8, 103 at 7, 104 at 16.
  const std::vector<std::string> expected = {
      "10", "100", "3",  "13",  "6",  "9",   "19", "2",  "5",   "15",
      "18", "1",   "11", "103", "14", "102", "7",  "17", "101", "104"};
  EXPECT_EQ(got, expected);
  EXPECT_EQ(network_.delivered(), 25u);
}

// Verifies that the datagrams in flight keep their order when their queue
// grows while it wraps around: a steady trickle first moves its start, then a
// burst of overtaking datagrams outgrows it.
TEST_F(InMemoryNetworkTest, BurstAfterTrickleArrivesOnceInDeadlineOrder) {
  std::vector<Received> at_b;
  auto a = Recording(network_, at_b);
  auto b = Recording(network_, at_b);
  network_.set_fate(
      [](const UdpEndpoint&, const UdpEndpoint&, absl::string_view datagram) {
        InMemoryNetwork::Fate fate;
        // The burst's "k" waits 30 - k ms: the later sent, the sooner there.
        const int k = std::stoi(std::string(datagram));
        fate.delay = absl::Milliseconds(k < 100 ? 30 - k : 1);
        return fate;
      });
  std::vector<std::string> expected;
  for (int t = 100; t < 113; ++t) {
    a->SendTo(std::to_string(t), b->local_endpoint());
    ASSERT_TRUE(clock_.RunNext());
    expected.push_back(std::to_string(t));
  }
  for (int k = 0; k < 30; ++k) {
    a->SendTo(std::to_string(k), b->local_endpoint());
  }
  EXPECT_EQ(network_.in_flight(), 30u);
  RunAll();
  for (int k = 29; k >= 0; --k) expected.push_back(std::to_string(k));
  std::vector<std::string> got;
  for (const Received& r : at_b) got.push_back(r.datagram);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(network_.in_flight(), 0u);
  EXPECT_EQ(network_.delivered(), 43u);
}

// Verifies that datagrams to unbound ports, to sockets closed in flight and
// across address families are counted and dropped.
TEST_F(InMemoryNetworkTest, CountsUndeliverable) {
  std::vector<Received> received;
  auto a = Recording(network_, received);
  auto b = Recording(network_, received);
  auto v6 = Recording(network_, received, "::1");
  a->SendTo("nobody", UdpEndpoint(a->local_endpoint().address(), 9));
  a->SendTo("closing", b->local_endpoint());
  a->SendTo("family", v6->local_endpoint());
  b.reset();
  RunAll();
  EXPECT_TRUE(received.empty());
  EXPECT_EQ(network_.undeliverable(), 3u);
  EXPECT_EQ(network_.delivered(), 0u);
}

// Verifies that a handler may destroy its own socket and the network, and
// that sockets outliving the network are inert.
TEST_F(InMemoryNetworkTest, HandlerMayDestroySocketAndNetwork) {
  auto network = std::make_unique<InMemoryNetwork>(clock_);
  std::vector<Received> ignored;
  auto a = Recording(*network, ignored);
  std::unique_ptr<DatagramSocket> b = *network->Bind("127.0.0.1");
  int calls = 0;
  b->SetReceiveHandler([&](absl::string_view, const UdpEndpoint&) {
    ++calls;
    b.reset();
    network.reset();
  });
  a->SendTo("x", b->local_endpoint());
  a->SendTo("y", b->local_endpoint());
  RunAll();
  EXPECT_EQ(calls, 1);  // the second datagram died with the network
  EXPECT_EQ(clock_.pending_count(), 0u);
  a->SendTo("z", UdpEndpoint(a->local_endpoint().address(), 20001));
  EXPECT_EQ(clock_.pending_count(), 0u);
}

// Verifies that endpoints compare and hash by family, address, scope and
// port, read from the socket address, as asio's operator== compares them.
TEST(UdpEndpointTest, SameEndpointAgreesWithAsio) {
  namespace ip = boost::asio::ip;
  ip::address_v6 scoped = ip::make_address_v6("fe80::1");
  scoped.scope_id(2);
  const std::vector<UdpEndpoint> endpoints = {
      UdpEndpoint(ip::make_address("127.0.0.1"), 20000),
      UdpEndpoint(ip::make_address("127.0.0.1"), 20001),
      UdpEndpoint(ip::make_address("127.0.0.2"), 20000),
      UdpEndpoint(ip::make_address("::1"), 20000),
      UdpEndpoint(ip::make_address("::ffff:127.0.0.1"), 20000),
      UdpEndpoint(ip::make_address("fe80::1"), 20000),
      UdpEndpoint(scoped, 20000),
  };
  for (const UdpEndpoint& a : endpoints) {
    for (const UdpEndpoint& b : endpoints) {
      EXPECT_EQ(SameEndpoint(a, b), a == b) << a << " vs " << b;
    }
    const UdpEndpoint copy(a.address(), a.port());
    EXPECT_TRUE(SameEndpoint(a, copy)) << a;
    EXPECT_EQ(UdpEndpointHash()(a), UdpEndpointHash()(copy)) << a;
  }
}

// Verifies that the UDP network exchanges datagrams over loopback.
TEST(UdpNetworkTest, ExchangesDatagrams) {
  boost::asio::io_context io;
  UdpNetwork network(io);
  std::vector<Received> at_b;
  std::vector<Received> ignored;
  auto a = Recording(network, ignored);
  auto b = Recording(network, at_b);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(b->local_endpoint().port(), 0);
  a->SendTo("hello", b->local_endpoint());
  for (int i = 0; i < 1000 && at_b.empty(); ++i) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0].datagram, "hello");
  EXPECT_EQ(at_b[0].from, a->local_endpoint());
  b.reset();  // closes with a read pending
  io.restart();
  io.poll();
}

// Verifies that a datagram's handler learns how long it waited in the kernel
// (the IPv6 path and the sender's address kept): a reader that came late
// does not make the datagram late.
TEST(UdpNetworkTest, TellsTheHandlerHowLongTheDatagramWaited) {
  boost::asio::io_context io;
  UdpNetwork network(io);
  std::vector<absl::Duration> delays;
  std::vector<UdpEndpoint> senders;
  std::vector<Received> ignored;
  auto a = Recording(network, ignored, "::1");
  absl::StatusOr<std::unique_ptr<DatagramSocket>> b = network.Bind("::1");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(b.ok()) << b.status();
  (*b)->SetReceiveHandler([&](absl::string_view, const UdpEndpoint& from) {
    delays.push_back(CurrentDatagramQueueDelay());
    senders.push_back(from);
  });
  a->SendTo("first", (*b)->local_endpoint());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // read late
  a->SendTo("second", (*b)->local_endpoint());
  for (int i = 0; i < 1000 && delays.size() < 2; ++i) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(delays.size(), 2u);
  EXPECT_GE(delays[0], absl::Milliseconds(140));
  EXPECT_LT(delays[1], delays[0] - absl::Milliseconds(100));
  EXPECT_EQ(senders[0], a->local_endpoint());
  // Outside a handler there is no current datagram.
  EXPECT_EQ(CurrentDatagramQueueDelay(), absl::ZeroDuration());
}

}  // namespace
}  // namespace talkcheck::media_sim

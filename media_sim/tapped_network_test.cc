#include "media_sim/tapped_network.h"

#include <memory>
#include <string>
#include <vector>

#include "base/virtual_clock.h"
#include "gtest/gtest.h"

namespace talkcheck::media_sim {
namespace {

struct Seen {
  UdpEndpoint from;
  UdpEndpoint to;
  std::string datagram;
};

TEST(TappedNetworkTest, ShowsEachDatagramSentAndReceivedWithItsEndpoints) {
  VirtualClock clock;
  InMemoryNetwork inner(clock);
  std::vector<Seen> seen;
  TappedNetwork network(inner,
                        [&seen](const UdpEndpoint& from, const UdpEndpoint& to,
                                absl::string_view datagram) {
                          seen.push_back(Seen{from, to, std::string(datagram)});
                        });
  // Only `a` is tapped; `b` is a socket of the inner network, as the client
  // under test's would be.
  std::unique_ptr<DatagramSocket> a = *network.Bind("127.0.0.1");
  std::unique_ptr<DatagramSocket> b = *inner.Bind("127.0.0.1");
  std::vector<std::string> received;
  a->SetReceiveHandler([&received](absl::string_view d, const UdpEndpoint&) {
    received.emplace_back(d);
  });
  b->SetReceiveHandler([&b](absl::string_view d, const UdpEndpoint& from) {
    b->SendTo(std::string("echo:") + std::string(d), from);
  });
  a->SendTo("ping", b->local_endpoint());
  while (clock.RunNext()) {
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].from, a->local_endpoint());
  EXPECT_EQ(seen[0].to, b->local_endpoint());
  EXPECT_EQ(seen[0].datagram, "ping");
  EXPECT_EQ(seen[1].from, b->local_endpoint());
  EXPECT_EQ(seen[1].to, a->local_endpoint());
  EXPECT_EQ(seen[1].datagram, "echo:ping");
  EXPECT_EQ(received, std::vector<std::string>{"echo:ping"});
}

TEST(TappedNetworkTest, BindErrorsPassThrough) {
  VirtualClock clock;
  InMemoryNetwork inner(clock);
  TappedNetwork network(
      inner, [](const UdpEndpoint&, const UdpEndpoint&, absl::string_view) {});
  EXPECT_FALSE(network.Bind("not an address").ok());
}

}  // namespace
}  // namespace talkcheck::media_sim

// Datagram sockets for GICE and RTP, real or in memory.
//
// A `GiceChannel` (and so the simulated peer and the reference client) opens
// its candidates' sockets through a `DatagramNetwork`. `UdpNetwork` gives real
// UDP sockets on an io_context, what production runs use. `InMemoryNetwork`
// gives sockets that exist only in the process: every datagram is delivered
// through a timer of the network's `Clock`, so with a `VirtualClock` a whole
// call, media included, runs with no socket, repeatably, and a fuzzer can
// decide each datagram's loss and delay (modelled on libwebrtc's
// rtc_base/virtual_socket_server.h).
//
// Example (a driver loop on a virtual clock):
//   VirtualClock clock;
//   InMemoryNetwork network(clock);
//   GiceOptions options;
//   options.network = &network;
//   ...
//   for (;;) {
//     io.restart();
//     io.poll();
//     if (!clock.RunNext()) break;
//   }
#ifndef TALKCHECK_MEDIA_SIM_DATAGRAM_NETWORK_H_
#define TALKCHECK_MEDIA_SIM_DATAGRAM_NETWORK_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"

namespace talkcheck::media_sim {

using UdpEndpoint = boost::asio::ip::udp::endpoint;

// Whether two endpoints are the same address, scope and port, read from the
// socket addresses: asio's operator== builds two ip::address objects, which
// costs more than the rest of a datagram's lookup. Inline, as the hash below:
// each datagram makes several of these calls.
inline bool SameEndpoint(const UdpEndpoint& a, const UdpEndpoint& b) {
  const sockaddr* sa = a.data();
  const sockaddr* sb = b.data();
  if (sa->sa_family != sb->sa_family) return false;
  if (sa->sa_family == AF_INET) {
    const auto* a4 = reinterpret_cast<const sockaddr_in*>(sa);
    const auto* b4 = reinterpret_cast<const sockaddr_in*>(sb);
    return a4->sin_port == b4->sin_port &&
           a4->sin_addr.s_addr == b4->sin_addr.s_addr;
  }
  const auto* a6 = reinterpret_cast<const sockaddr_in6*>(sa);
  const auto* b6 = reinterpret_cast<const sockaddr_in6*>(sb);
  return a6->sin6_port == b6->sin6_port &&
         a6->sin6_scope_id == b6->sin6_scope_id &&
         std::memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(in6_addr)) == 0;
}

// For absl's hash containers: asio orders endpoints but does not hash them,
// and a lookup per datagram is cheaper hashed than ordered.
struct UdpEndpointHash {
  size_t operator()(const UdpEndpoint& endpoint) const {
    const sockaddr* address = endpoint.data();
    if (address->sa_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
      return absl::HashOf(v4->sin_addr.s_addr, v4->sin_port);
    }
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    return absl::HashOf(
        absl::string_view(reinterpret_cast<const char*>(&v6->sin6_addr),
                          sizeof(in6_addr)),
        v6->sin6_scope_id, v6->sin6_port);
  }
};
struct UdpEndpointEq {
  bool operator()(const UdpEndpoint& a, const UdpEndpoint& b) const {
    return SameEndpoint(a, b);
  }
};

// How long before now the kernel received the datagram whose receive handler
// runs on this thread (SO_TIMESTAMPNS, on UdpNetwork's sockets), zero on any
// other thread or network. Arrival times are now minus this: a harness thread
// that read the datagram late (the machine loaded) is not the sender's jitter.
absl::Duration CurrentDatagramQueueDelay();

// One bound datagram socket. Single-threaded, like its network.
class DatagramSocket {
 public:
  // Destroying the socket closes it: its handler is never called again, and
  // datagrams still on their way to it are lost.
  virtual ~DatagramSocket() = default;

  virtual UdpEndpoint local_endpoint() const = 0;

  // Best effort, as UDP is: a datagram that cannot be sent is lost silently.
  // Returns false when the datagram is known lost before it left: the kernel
  // refused it, the socket cannot send, or a simulated network dropped it
  // (InMemoryNetwork's fate). True says nothing about its arrival. A sender
  // that judges its peer by what the peer must have received (GiceChannel)
  // must not count a datagram its own harness dropped. The bytes are copied
  // (or sent) before it returns: senders reuse one buffer for every packet.
  virtual bool SendTo(absl::string_view datagram, const UdpEndpoint& to) = 0;

  // Each datagram received, with its source. Set once before traffic. Never
  // called from inside SendTo. The handler may destroy the socket.
  virtual void SetReceiveHandler(
      std::function<void(absl::string_view, const UdpEndpoint&)> handler) = 0;

  // Hints for a socket that shares one kernel socket with others
  // (SharedUdpNetwork): the GICE ufrag it answers Binding requests for, and a
  // remote address it expects datagrams from. A socket of its own ignores
  // them.
  virtual void AnswerUfrag(absl::string_view /*ufrag*/) {}
  virtual void ExpectFrom(const UdpEndpoint& /*remote*/) {}
};

// Where sockets come from.
class DatagramNetwork {
 public:
  virtual ~DatagramNetwork() = default;

  // A socket bound to `address` ("127.0.0.1" or "::1"), port chosen by the
  // network. kInvalidArgument for an address that does not parse.
  virtual absl::StatusOr<std::unique_ptr<DatagramSocket>> Bind(
      const std::string& address) = 0;

  // Whether its sockets are the kernel's, able to reach servers outside it
  // (a STUN server, a relay).
  virtual bool reaches_real_sockets() const = 0;
};

// Real UDP sockets on `io` (port 0, chosen by the kernel). Does not own `io`,
// which must outlive every socket; the network itself may go first.
class UdpNetwork : public DatagramNetwork {
 public:
  explicit UdpNetwork(boost::asio::io_context& io);

  // DatagramNetwork implementation.
  absl::StatusOr<std::unique_ptr<DatagramSocket>> Bind(
      const std::string& address) override;
  bool reaches_real_sockets() const override { return true; }

 private:
  boost::asio::io_context& io_;
};

// The network a component was given or, when it was given none, real UDP
// sockets on `io` that it owns: the default of GiceChannel and
// CandidateGatherer.
class NetworkOrUdp {
 public:
  NetworkOrUdp(DatagramNetwork* given, boost::asio::io_context& io)
      : owned_(given == nullptr ? std::make_unique<UdpNetwork>(io) : nullptr),
        network_(given != nullptr ? *given : *owned_) {}

  DatagramNetwork& get() const { return network_; }

 private:
  const std::unique_ptr<UdpNetwork> owned_;
  DatagramNetwork& network_;
};

// Sockets with no kernel behind them. Ports are handed out in order from
// 20000 (never reused), so runs are repeatable. Each datagram sent is given a
// `Fate`: dropped, or delivered through `clock.CallAfter(delay)`, so delivery
// is never synchronous and is ordered by the clock (equal delays keep sending
// order on a VirtualClock). Whether the destination exists is decided at
// delivery: datagrams to unbound ports, to a socket closed while they were in
// flight, to a socket with no handler or across address families are counted
// as undeliverable and dropped.
//
// Does not own `clock`, which must outlive the network. Sockets may outlive
// the network (they then send nothing and receive nothing); destroying the
// network cancels every datagram in flight.
class InMemoryNetwork : public DatagramNetwork {
 public:
  struct Fate {
    bool drop = false;
    absl::Duration delay = absl::ZeroDuration();
  };
  using FateFunction = std::function<Fate(
      const UdpEndpoint& from, const UdpEndpoint& to, absl::string_view)>;

  explicit InMemoryNetwork(Clock& clock);
  ~InMemoryNetwork() override;

  // Decides each datagram's fate (the fuzzer's loss and delay), called once
  // per SendTo. Default (or null): deliver now, i.e. after a zero delay.
  void set_fate(FateFunction fate);

  // DatagramNetwork implementation. kResourceExhausted once port 65535 has
  // been handed out.
  absl::StatusOr<std::unique_ptr<DatagramSocket>> Bind(
      const std::string& address) override;
  bool reaches_real_sockets() const override { return false; }

  // Datagrams handed to a receive handler, dropped by their fate, and lost
  // for want of a receiver.
  uint64_t delivered() const;
  uint64_t dropped() const;
  uint64_t undeliverable() const;
  // Datagrams sent and not yet delivered, dropped or found undeliverable.
  size_t in_flight() const;

 private:
  class Socket;
  struct State;  // known to its sockets until it goes, and to its datagrams

  std::unique_ptr<State> state_;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_DATAGRAM_NETWORK_H_

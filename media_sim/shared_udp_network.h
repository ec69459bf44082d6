// A DatagramNetwork whose sockets share a few kernel UDP sockets, as a media
// server's single port does: each socket it hands out is a view of one of
// `ports_per_address` kernel sockets bound to the same address, and every
// datagram that kernel socket receives goes to exactly one of its views, or
// to none.
//
// Routing (pion/ice's UDPMuxDefault in GICE's USERNAME form, PROTOCOL.md §4;
// docs/protocol-notes.md, "One port for many calls"):
// a Binding request goes to the view whose ufrag starts its USERNAME (remote
// side: our ufrag ‖ theirs), a Binding response or error response to the view
// whose ufrag ends it (the echo of our request's USERNAME), and its source
// address is then that view's. Anything else (RTP, STUN without a USERNAME we
// know) goes to the view that last sent to its source, was told to expect it
// (ExpectFrom) or last received a check from it. A datagram no view answers
// for is counted as `unrouted`, an environment finding of the network: no
// call sees it.
//
// Both directions are batched: each kernel socket drains everything readable
// with recvmmsg, and what its views send during one turn of the io_context
// (or within `send_delay` of the first, when given) goes out with sendmmsg
// after it, in order.
//
// Limits: two views of one kernel socket cannot tell RTP from one remote
// address apart (the newest route wins), so a channel's generations or two
// calls to one client address need sockets of their own (UdpNetwork), as do
// runs that judge media_to_stale_generation. Single-threaded on `io`.
#ifndef TALKCHECK_MEDIA_SIM_SHARED_UDP_NETWORK_H_
#define TALKCHECK_MEDIA_SIM_SHARED_UDP_NETWORK_H_

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "media_sim/datagram_network.h"

namespace talkcheck::media_sim {

class SharedUdpNetwork : public DatagramNetwork {
 public:
  // Summed over the kernel sockets.
  struct Stats {
    uint64_t datagrams_received = 0;
    uint64_t datagrams_sent = 0;
    uint64_t receive_calls = 0;  // recvmmsg calls that returned datagrams
    uint64_t send_calls = 0;     // sendmmsg calls that sent datagrams
    // Received, and no view answers for the USERNAME or the source.
    uint64_t unrouted = 0;
    // Refused by the kernel (other than a full buffer, which waits) or past
    // the send queue's bound.
    uint64_t send_dropped = 0;
  };

  // Does not own `io`, which must outlive every socket; the network itself
  // may go first. `ports_per_address` >= 1 kernel sockets per bind address,
  // opened on the first Bind of that address, hand out views in turn.
  // `send_delay`: how long a datagram may wait for others to share its
  // sendmmsg (zero: until the end of the io_context's turn).
  SharedUdpNetwork(boost::asio::io_context& io, int ports_per_address,
                   absl::Duration send_delay = absl::ZeroDuration());
  ~SharedUdpNetwork() override;

  // DatagramNetwork implementation: a view of the next kernel socket bound to
  // `address` (its local_endpoint() is that socket's).
  absl::StatusOr<std::unique_ptr<DatagramSocket>> Bind(
      const std::string& address) override;
  bool reaches_real_sockets() const override { return true; }

  // Sends what its sockets queued in this turn now rather than after it.
  void Flush();

  Stats stats() const;
  // The kernel sockets opened so far.
  size_t kernel_sockets() const;

  class Port;  // one kernel socket and its routes

 private:
  struct Address {
    std::vector<std::shared_ptr<Port>> ports;
    size_t next = 0;
  };

  boost::asio::io_context& io_;
  const int ports_per_address_;
  const absl::Duration send_delay_;
  std::map<std::string, Address> addresses_;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_SHARED_UDP_NETWORK_H_

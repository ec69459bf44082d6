// The baseline of concurrent_calls_benchmark: the calls' packets without the
// stack. N UDP socket pairs on 127.0.0.1, no GICE, RTP or XMPP: each `a`
// socket (peer thread) sends an RTP-sized datagram per 20 ms frame on the same
// fixed schedule as CallMedia; its `b` socket (client thread) sends each one
// straight back. The same packet count both ways as the calls, on the same
// threads, so the largest N of the two ramps shows the cost of the stack.
//
// The `a` sockets come from the same kind of network as the calls' peers:
// with `a_sockets` > 0 views of that many shared kernel sockets
// (media_sim::SharedUdpNetwork, the same demultiplexing by source address and
// the same recvmmsg / sendmmsg batches), else a UDP socket each
// (media_sim::UdpNetwork). The `b` sockets are always one per pair, as the
// clients' are.
#ifndef TALKCHECK_HARNESS_BENCH_RAW_UDP_ECHO_H_
#define TALKCHECK_HARNESS_BENCH_RAW_UDP_ECHO_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "harness/bench/two_thread_rig.h"
#include "media_sim/datagram_network.h"
#include "media_sim/shared_udp_network.h"

namespace talkcheck::harness::bench {

// N echo pairs: the `a` sockets on the peer thread, the `b` sockets on the
// client thread. Does not own the threads, which must outlive it; closes its
// sockets on their threads when destroyed.
class RawUdpEcho : public Workload {
 public:
  RawUdpEcho(IoThreads& threads, int n, PeerMedia a_media);
  ~RawUdpEcho() override;
  RawUdpEcho(const RawUdpEcho&) = delete;
  RawUdpEcho& operator=(const RawUdpEcho&) = delete;

  // Opens the pairs and starts sending, spread over a frame, then waits
  // kSettle.
  absl::Status SetUp();

  // Workload implementation. Counts to_client as a -> b, to_peer as b -> a.
  Counts counts() const override;
  void FlushPeer() override;

  static int FdsPerCall(int a_sockets) { return a_sockets > 0 ? 1 : 2; }

 private:
  struct Sender;
  struct Echoer;
  using SenderPtr = std::shared_ptr<Sender>;
  using EchoerPtr = std::shared_ptr<Echoer>;

  static void Echo(EchoerPtr b);
  static void Tick(SenderPtr a, int64_t frame);

  IoThreads& threads_;
  const int n_;
  const PeerMedia a_media_;
  std::unique_ptr<media_sim::DatagramNetwork> a_network_;    // peer thread
  media_sim::SharedUdpNetwork* shared_a_network_ = nullptr;  // a_network_ if so
  std::vector<SenderPtr> a_;                                 // peer thread
  std::vector<EchoerPtr> b_;                                 // client thread
};

}  // namespace talkcheck::harness::bench

#endif  // TALKCHECK_HARNESS_BENCH_RAW_UDP_ECHO_H_

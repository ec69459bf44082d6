// The baseline of concurrent_calls_benchmark: the calls' packets without the
// stack. N UDP socket pairs on 127.0.0.1, no GICE, RTP or XMPP: each `a`
// socket (peer thread) sends an RTP-sized datagram per 20 ms frame on the same
// fixed schedule as CallMedia; its `b` socket (client thread) sends each one
// straight back. The same packet count both ways as the calls, on the same
// threads, so the largest N of the two ramps shows the cost of the stack.
#ifndef TALKCHECK_HARNESS_RAW_UDP_ECHO_H_
#define TALKCHECK_HARNESS_RAW_UDP_ECHO_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "harness/two_thread_rig.h"

namespace talkcheck::harness::bench {

// N echo pairs: the `a` sockets on the peer thread, the `b` sockets on the
// client thread. Does not own the threads, which must outlive it; closes its
// sockets on their threads when destroyed.
class RawUdpEcho : public Workload {
 public:
  RawUdpEcho(IoThreads& threads, int n);
  ~RawUdpEcho() override;
  RawUdpEcho(const RawUdpEcho&) = delete;
  RawUdpEcho& operator=(const RawUdpEcho&) = delete;

  // Opens the pairs and starts sending, spread over a frame, then waits
  // kSettle.
  absl::Status SetUp();

  // Workload implementation. Counts to_client as a -> b, to_peer as b -> a.
  Counts counts() const override;

 private:
  struct Socket;
  using SocketPtr = std::shared_ptr<Socket>;

  static void CloseAll(std::vector<SocketPtr>& sockets);
  static void Echo(SocketPtr b);
  static void Count(SocketPtr a);
  static void Tick(SocketPtr a, int64_t frame);

  IoThreads& threads_;
  const int n_;
  std::vector<SocketPtr> a_;  // peer thread
  std::vector<SocketPtr> b_;  // client thread
};

}  // namespace talkcheck::harness::bench

#endif  // TALKCHECK_HARNESS_RAW_UDP_ECHO_H_

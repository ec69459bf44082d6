// The workload of concurrent_calls_benchmark: N real calls between simulated
// peers and in-process reference clients, PCMU (8 kHz, 20 ms: 50 pps) both
// ways over GICE-chosen pairs on 127.0.0.1.
//
// Everything is real: the FakeServer on TCP 127.0.0.1 (TLS off, SASL PLAIN:
// login is setup, not what is measured, and SCRAM's PBKDF2 rounds would only
// lengthen it), N ClientStream + VoiceClient pairs (auto-answer, the default
// echo media), N SimulatedPeers (the harness's own peer: session acks, GICE on
// its candidates), UDP sockets and AsioClocks. Each peer places its call
// offering PCMU only. Both sides send one RTP packet per 20 ms frame while
// their channel is writable: the client with its CallMedia, the peer with a
// CallMedia too (own pattern, no echo), whose fixed frame schedule keeps 50
// pps, where the harness's MediaLoopback re-arms 20 ms after each send and so
// runs slow under load.
//
// The peers send their media as PeerMedia says (two_thread_rig.h): on a few
// shared UDP sockets (media_sim::SharedUdpNetwork: demultiplexed by GICE ufrag
// and address, recvmmsg / sendmmsg batches), as a media server's ports are,
// or a socket each; every call's frames on one 20 ms grid, or each from its
// own start.
//
// Setup: logins, calls at about 200/s (a connecting call pings every 50 ms on
// both sides, so placing them faster only storms the threads with checks),
// and once every call has RTP both ways, kSettle more.
#ifndef TALKCHECK_HARNESS_BENCH_CONCURRENT_CALLS_H_
#define TALKCHECK_HARNESS_BENCH_CONCURRENT_CALLS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "base/asio_clock.h"
#include "fake_server/server.h"
#include "harness/bench/two_thread_rig.h"
#include "media_sim/shared_udp_network.h"

namespace talkcheck::harness::bench {

class PeerCall;
class ClientCall;

// N calls: the server and the peers on the peer thread, the clients on the
// client thread. Does not own the threads, which must outlive it; torn down
// on its threads when destroyed.
class ConcurrentCalls : public Workload {
 public:
  ConcurrentCalls(IoThreads& threads, int n, PeerMedia peer_media);
  ~ConcurrentCalls() override;
  ConcurrentCalls(const ConcurrentCalls&) = delete;
  ConcurrentCalls& operator=(const ConcurrentCalls&) = delete;

  // The server, N logins, N calls, until every call has RTP both ways. Fails
  // when a call ends, or when no call starts flowing for 30 s.
  absl::Status SetUp();

  // Workload implementation.
  Counts counts() const override;
  void FlushPeer() override;

  // Per call: client TCP, its server side, the client's UDP socket, and the
  // peer's unless shared.
  static int FdsPerCall(int peer_sockets) { return peer_sockets > 0 ? 3 : 4; }

 private:
  absl::Status StartServer();
  absl::Status LogIn();
  absl::Status PlaceCalls();
  absl::Status WaitUntilFlowing();

  IoThreads& threads_;
  const int n_;
  const PeerMedia peer_media_;
  AsioClock peer_clock_;
  AsioClock client_clock_;
  // Each used on its own thread only.
  absl::BitGen peer_bitgen_;
  absl::BitGen client_bitgen_;
  std::unique_ptr<fake_server::FakeServer> server_;  // peer thread
  // The peers' sockets when shared; peer thread.
  std::unique_ptr<media_sim::SharedUdpNetwork> peer_network_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<PeerCall>> peers_;      // peer thread
  std::vector<std::unique_ptr<ClientCall>> clients_;  // client thread
};

}  // namespace talkcheck::harness::bench

#endif  // TALKCHECK_HARNESS_BENCH_CONCURRENT_CALLS_H_

// The rig of concurrent_calls_benchmark: two io threads, one per core, and an
// exact count of what a workload on them sent and received in a window.
//
// The peer thread runs the FakeServer and every simulated peer (a FakeServer
// and its VirtualSessions share a thread), the client thread every reference
// client (they reach the server over TCP only); the raw UDP baseline puts its
// two socket halves on the same threads. The main thread parks the threads at
// the edges of the window to read the counters, draining what is in flight so
// that each packet is counted sent and received (or lost) in the same window.
//
// Per direction, a window counts the packets sent (the sender's count),
// received (the receiver's), the receiver's sequence gaps as a cross-check,
// and the frames not sent for want of a writable pair; and the CPU of each
// thread, of the process and of every other process on the machine.
#ifndef TALKCHECK_HARNESS_BENCH_TWO_THREAD_RIG_H_
#define TALKCHECK_HARNESS_BENCH_TWO_THREAD_RIG_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <future>
#include <thread>
#include <utility>

#include "absl/time/time.h"
#include "media_sim/shared_udp_network.h"

namespace talkcheck::harness::bench {

// Both workloads send one packet per 20 ms frame each way (PCMU: 50 pps).
constexpr absl::Duration kFrame = absl::Milliseconds(20);
// How long a workload runs once set up before its first window.
constexpr absl::Duration kSettle = absl::Seconds(1);

// The peer thread and the client thread: one io_context each, run until
// destroyed. Whatever lives on a thread must be created and destroyed there
// (RunOn) before the IoThreads go.
//
// The client thread stands for N client processes, which would have cores of
// their own: with a `client_timer_quantum` its workload's clock coalesces
// their timers (AsioClock), so that N paced senders cost the thread one
// wakeup per quantum rather than one per frame each. The peer thread, what is
// measured, keeps the exact clock.
class IoThreads {
 public:
  explicit IoThreads(
      absl::Duration client_timer_quantum = absl::ZeroDuration());
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  boost::asio::io_context& peer() { return peer_.io; }
  boost::asio::io_context& client() { return client_.io; }
  absl::Duration client_timer_quantum() const { return client_timer_quantum_; }

  // Runs `fn` on `io`'s thread and returns its result. Not from an io thread.
  template <typename F>
  static auto RunOn(boost::asio::io_context& io, F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(io, [&task] { task(); });
    return result.get();
  }

 private:
  struct Loop {
    boost::asio::io_context io{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
        guard = boost::asio::make_work_guard(io);
    std::thread thread;
  };
  Loop peer_;
  Loop client_;
  const absl::Duration client_timer_quantum_;
};

// One direction's packets in a window.
struct Direction {
  uint64_t sent = 0;      // the sender's count
  uint64_t received = 0;  // the receiver's, duplicates not counted
  uint64_t gaps = 0;      // sequence numbers the receiver has not seen
  // Frames the sender did not send because its channel was not writable.
  uint64_t refused = 0;
  double loss_percent() const {
    return sent == 0 ? 0
                     : 100.0 * (static_cast<double>(sent) - received) / sent;
  }
};

// How the peer side's kernel sockets were used: datagrams per recvmmsg and
// sendmmsg call when its sockets are shared (media_sim::SharedUdpNetwork),
// all zero when each call has its own.
struct Batching {
  uint64_t datagrams_received = 0;
  uint64_t receive_calls = 0;
  uint64_t datagrams_sent = 0;
  uint64_t send_calls = 0;
  uint64_t unrouted = 0;  // received, and no call's: an environment finding
};

// How the peer side sends its media. Its UDP sockets: `sockets` > 0 shared
// kernel sockets (media_sim::SharedUdpNetwork, sends batched for up to
// `send_delay`), or 0 for one socket per call. Its frames: with
// `common_frame_clock` every call's 20 ms frames fall on one grid, as a media
// server's mixer sends them (one wakeup serves every call), else each call's
// start their own.
struct PeerMedia {
  int sockets = 0;
  absl::Duration send_delay;
  bool common_frame_clock = false;
};

// The running totals of `network`'s kernel sockets (null: none shared).
Batching BatchingOf(const media_sim::SharedUdpNetwork* network);

struct Counts {
  Direction to_client;  // peer -> client (raw echo: a -> b)
  Direction to_peer;    // client -> peer (raw echo: b -> a)
  Batching peer_batching;
};

// What a window measures: the workload's running totals, read by Measure with
// both threads parked.
class Workload {
 public:
  virtual ~Workload() = default;
  virtual Counts counts() const = 0;
  // Called on the peer thread as it parks at an edge: what the peers counted
  // as sent but still hold in a batch goes to the kernel first, so that it is
  // counted received in the same window.
  virtual void FlushPeer() {}
};

// What Measure found over one window.
struct Window {
  absl::Duration length;
  // Per direction: the time its sender was running between the edges' counts
  // (the window less the time it spent parked at the closing edge).
  absl::Duration to_client_active;
  absl::Duration to_peer_active;
  absl::Duration peer_cpu;
  absl::Duration client_cpu;
  absl::Duration process_cpu;
  // Every other process on the machine, and steal: the machine's busy time
  // (elapsed x CPUs - idle) less the process's.
  absl::Duration others_cpu;
  Counts counts;

  uint64_t packets() const {
    return counts.to_client.received + counts.to_peer.received;
  }
  double pps() const { return packets() / absl::ToDoubleSeconds(length); }
  double cpu_percent(absl::Duration cpu) const {
    return 100 * absl::FDivDuration(cpu, length);
  }
  // Process CPU per packet received, in microseconds.
  double us_per_packet() const {
    return packets() == 0 ? 0
                          : absl::ToDoubleMicroseconds(process_cpu) / packets();
  }
};

// Counts `workload`, running on `threads`, over about `length` of wall time.
// Blocks; call from the main thread only.
Window Measure(IoThreads& threads, Workload& workload, absl::Duration length);

}  // namespace talkcheck::harness::bench

#endif  // TALKCHECK_HARNESS_BENCH_TWO_THREAD_RIG_H_

#include "harness/bench/two_thread_rig.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>

#include "absl/time/clock.h"

namespace talkcheck::harness::bench {

namespace asio = boost::asio;

IoThreads::IoThreads(absl::Duration client_timer_quantum)
    : client_timer_quantum_(client_timer_quantum) {
  for (Loop* loop : {&peer_, &client_}) {
    loop->thread = std::thread([loop] { loop->io.run(); });
  }
}

IoThreads::~IoThreads() {
  for (Loop* loop : {&peer_, &client_}) {
    loop->guard.reset();
    loop->io.stop();
    loop->thread.join();
  }
}

namespace {

absl::Duration ThreadCpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return absl::DurationFromTimespec(ts);
}

absl::Duration ProcessCpu() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

// Idle time of all CPUs (/proc/stat: idle and iowait). The kernel keeps it
// exactly (NO_HZ idle accounting), where its busy fields (user, system, ...)
// are samples at each tick: a workload that wakes every 20 ms can meet the
// tick seldom, and those samples less this process's exact CPU time went
// negative. So the machine's busy time is elapsed x CPUs - idle.
absl::Duration MachineIdle() {
  std::FILE* stat = std::fopen("/proc/stat", "r");
  if (stat == nullptr) return absl::ZeroDuration();
  uint64_t ticks[5] = {};
  const int read = std::fscanf(stat, "cpu %lu %lu %lu %lu %lu", &ticks[0],
                               &ticks[1], &ticks[2], &ticks[3], &ticks[4]);
  std::fclose(stat);
  if (read != 5) return absl::ZeroDuration();
  return absl::Seconds(1) * static_cast<double>(ticks[3] + ticks[4]) /
         sysconf(_SC_CLK_TCK);
}

// While it lives, one io thread is parked inside a handler, so the main
// thread may read what that thread owns.
class Parked {
 public:
  // `first`, if any, runs on the thread before it parks.
  explicit Parked(asio::io_context& io, std::function<void()> first = nullptr)
      : state_(std::make_shared<State>()) {
    asio::post(io, [state = state_, first = std::move(first)] {
      if (first) first();
      std::unique_lock<std::mutex> lock(state->mu);
      state->cpu = ThreadCpu();
      state->parked = true;
      state->cv.notify_all();
      state->cv.wait(lock, [&] { return state->released; });
    });
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->parked; });
  }
  ~Parked() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->released = true;
    state_->cv.notify_all();
  }
  // The thread's CPU time when it parked.
  absl::Duration cpu() const { return state_->cpu; }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool parked = false;
    bool released = false;
    absl::Duration cpu;
  };
  std::shared_ptr<State> state_;
};

using SteadyTime = std::chrono::steady_clock::time_point;

// While one thread is parked at an edge, the other runs until what was on its
// way to it has arrived: until its received count stays the same for
// kDrainStep (at least kDrainMin, at most kDrainMax).
constexpr absl::Duration kDrainStep = absl::Milliseconds(50);
constexpr absl::Duration kDrainMin = absl::Milliseconds(100);
constexpr absl::Duration kDrainMax = absl::Seconds(5);

// Runs until `received` (called on `io`'s thread) stops growing.
template <typename F>
void Drain(asio::io_context& io, F received) {
  absl::SleepFor(kDrainMin);
  uint64_t last = IoThreads::RunOn(io, received);
  for (absl::Duration waited; waited < kDrainMax; waited += kDrainStep) {
    absl::SleepFor(kDrainStep);
    const uint64_t now = IoThreads::RunOn(io, received);
    if (now == last) return;
    last = now;
  }
}

// One edge of a window, taken so that nothing is in flight in the direction
// being counted: the peer thread parks, the client thread drains what the
// peer sent, parks too, and peer -> client is counted; then the peer thread
// alone runs to drain what the client sent, parks, and client -> peer is
// counted. So a packet is counted sent and received (or lost) on the same
// side of an edge, whatever the threads' lag.
struct Edge {
  SteadyTime peer_parked;        // t0
  SteadyTime to_client_counted;  // t1: the client parks too
  SteadyTime to_peer_counted;    // t2: the peer parks again
  absl::Duration peer_cpu;
  absl::Duration client_cpu;
  absl::Duration process_cpu;
  SteadyTime machine_sampled;
  absl::Duration machine_idle;
  Counts counts;
};

Edge TakeEdge(IoThreads& threads, Workload& workload) {
  Edge edge;
  edge.process_cpu = ProcessCpu();
  edge.machine_sampled = std::chrono::steady_clock::now();
  edge.machine_idle = MachineIdle();
  auto flush = [&workload] { workload.FlushPeer(); };
  auto peer = std::make_unique<Parked>(threads.peer(), flush);
  edge.peer_parked = std::chrono::steady_clock::now();
  edge.peer_cpu = peer->cpu();
  // The peer's side of the counts is frozen meanwhile, so reading it from the
  // client thread is safe.
  Drain(threads.client(),
        [&workload] { return workload.counts().to_client.received; });
  {
    Parked client(threads.client());
    edge.to_client_counted = std::chrono::steady_clock::now();
    edge.client_cpu = client.cpu();
    edge.counts.to_client = workload.counts().to_client;
    peer.reset();
    Drain(threads.peer(),
          [&workload] { return workload.counts().to_peer.received; });
    peer = std::make_unique<Parked>(threads.peer(), flush);
    edge.to_peer_counted = std::chrono::steady_clock::now();
    const Counts counts = workload.counts();
    edge.counts.to_peer = counts.to_peer;
    edge.counts.peer_batching = counts.peer_batching;
  }
  return edge;
}

absl::Duration Between(SteadyTime from, SteadyTime to) {
  return absl::FromChrono(to - from);
}

Direction Delta(const Direction& end, const Direction& start) {
  return {end.sent - start.sent, end.received - start.received,
          end.gaps - start.gaps, end.refused - start.refused};
}

}  // namespace

Batching BatchingOf(const media_sim::SharedUdpNetwork* network) {
  if (network == nullptr) return Batching();
  const media_sim::SharedUdpNetwork::Stats stats = network->stats();
  return {stats.datagrams_received, stats.receive_calls, stats.datagrams_sent,
          stats.send_calls, stats.unrouted};
}

Window Measure(IoThreads& threads, Workload& workload, absl::Duration length) {
  const Edge start = TakeEdge(threads, workload);
  absl::SleepFor(length);
  const Edge end = TakeEdge(threads, workload);
  Window window;
  window.length = Between(start.peer_parked, end.peer_parked);
  // The peer sends peer -> client and was parked from t0 to t1 of the end;
  // the client sends client -> peer and was parked from t1 to t2.
  window.to_client_active =
      Between(start.to_client_counted, end.to_client_counted) -
      Between(end.peer_parked, end.to_client_counted);
  window.to_peer_active = Between(start.to_peer_counted, end.to_peer_counted) -
                          Between(end.to_client_counted, end.to_peer_counted);
  window.peer_cpu = end.peer_cpu - start.peer_cpu;
  window.client_cpu = end.client_cpu - start.client_cpu;
  window.process_cpu = end.process_cpu - start.process_cpu;
  const absl::Duration machine_busy =
      Between(start.machine_sampled, end.machine_sampled) *
          static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) -
      (end.machine_idle - start.machine_idle);
  window.others_cpu = machine_busy - window.process_cpu;
  window.counts.to_client = Delta(end.counts.to_client, start.counts.to_client);
  window.counts.to_peer = Delta(end.counts.to_peer, start.counts.to_peer);
  const Batching& b = end.counts.peer_batching;
  const Batching& a = start.counts.peer_batching;
  window.counts.peer_batching = {
      b.datagrams_received - a.datagrams_received,
      b.receive_calls - a.receive_calls, b.datagrams_sent - a.datagrams_sent,
      b.send_calls - a.send_calls, b.unrouted - a.unrouted};
  return window;
}

}  // namespace talkcheck::harness::bench

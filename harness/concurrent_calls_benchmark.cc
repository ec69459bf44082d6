// Concurrent calls (issue 4 §5): N simultaneous calls between the simulated
// peer and in-process reference clients, PCMU (8 kHz, 20 ms: 50 pps) both ways
// over GICE-chosen pairs on 127.0.0.1, and the largest N whose calls all come
// up and lose < 0.1 % of their RTP each way on this machine.
//
//   bazel run -c opt //harness:concurrent_calls_benchmark --
//       [--start=100] [--max=4000] [--seconds=10] [--resolution=50]
//       [--min_rate=99]
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
// Two threads, one per core, each running one io_context, as the components
// require: the peer thread runs the server and every peer (a FakeServer and
// its VirtualSessions share a thread), the client thread every client (they
// reach the server over TCP only). The main thread parks them (TakeEdge) to
// read the counters at the edges of the window.
//
// Per N: logins, calls at about 200/s (a connecting call pings every 50 ms on
// both sides, so placing them faster only storms the threads with checks),
// and once every call has RTP both ways plus 1 s, a window of --seconds. Per
// direction: packets sent in it (the sender's count), received (the
// receiver's), loss = 1 - received / sent, the receiver's sequence gaps as a
// cross-check, and the frames not sent for want of a writable pair; achieved
// pps, and CPU per thread and of every other process on the machine. A round
// passes when every call came up, loss < 0.1 % both ways, and both sides sent
// >= 99 % of 50 pps (--min_rate; CallMedia skips the frames a late timer
// missed, so an overloaded thread shows as a rate shortfall, not as loss). The
// ramp doubles N from --start until a round fails or --max, then bisects to
// --resolution. The baseline is the same ramp, judged the same way, of raw UDP
// echo: N socket pairs on the same two threads, the same packets, no GICE, RTP
// or XMPP; the ratio of the two largest N is the cost of the stack.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/asio_clock.h"
#include "fake_server/config.pb.h"
#include "fake_server/server.h"
#include "harness/peer.h"
#include "harness/scenario.pb.h"
#include "media_sim/gice_channel.h"
#include "media_sim/rtp.h"
#include "reference_client/call_media.h"
#include "reference_client/client_stream.h"
#include "reference_client/voice_client.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

ABSL_FLAG(int, start, 100, "First N (simultaneous calls) of the ramp");
ABSL_FLAG(int, max, 4000, "Largest N tried");
ABSL_FLAG(int, seconds, 10, "Measurement window per N, in seconds");
ABSL_FLAG(int, resolution, 50, "Bisection stops when pass and fail are closer");
ABSL_FLAG(double, min_rate, 99,
          "A round also needs each side to send at least this percentage of 50 "
          "pps per call (0: judge loss only)");

namespace talkcheck::harness {
namespace {

namespace asio = boost::asio;
namespace ns = xmpp::ns;
using reference_client::CallMedia;
using reference_client::CallMediaStats;

constexpr double kMaxLossPercent = 0.1;
constexpr double kPacketsPerSecond = 50;  // PCMU, 20 ms frames
constexpr absl::Duration kFrame = absl::Milliseconds(20);
// Client TCP, its server side, the client's and the peer's UDP socket.
constexpr int kFdsPerCall = 4;
constexpr int kFdsSpare = 64;
constexpr int kLoginBatch = 100;
constexpr int kCallBatch = 4;  // every 20 ms: about 200 calls/s
constexpr absl::Duration kSettle = absl::Seconds(1);
constexpr absl::Duration kSetupStall = absl::Seconds(30);
constexpr char kDomain[] = "localhost";
constexpr char kPassword[] = "benchpass";
// The baseline's datagram: as large as a PCMU packet (RTP header + 160 bytes).
constexpr std::array<char, 12 + 160> kRawDatagram{};

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

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit now in
// force.
uint64_t RaiseFdLimit() {
  rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur != limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

// ---------------------------------------------------------------------------
// Threads

// The peer thread and the client thread: one io_context each, run until
// destroyed. Whatever lives on a thread must be created and destroyed there
// (RunOn) before the IoThreads go.
class IoThreads {
 public:
  IoThreads() {
    for (Loop* loop : {&peer_, &client_}) {
      loop->thread = std::thread([loop] { loop->io.run(); });
    }
  }
  ~IoThreads() {
    for (Loop* loop : {&peer_, &client_}) {
      loop->guard.reset();
      loop->io.stop();
      loop->thread.join();
    }
  }

  asio::io_context& peer() { return peer_.io; }
  asio::io_context& client() { return client_.io; }

  // Runs `fn` on `io`'s thread and returns its result. Not from an io thread.
  template <typename F>
  static auto RunOn(asio::io_context& io, F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }

 private:
  struct Loop {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard =
        asio::make_work_guard(io);
    std::thread thread;
  };
  Loop peer_;
  Loop client_;
};

// While it lives, one io thread is parked inside a handler, so the main
// thread may read what that thread owns.
class Parked {
 public:
  explicit Parked(asio::io_context& io) : state_(std::make_shared<State>()) {
    asio::post(io, [state = state_] {
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

// CPU time of every process on the machine (/proc/stat: all but idle and
// iowait), so that what others ran during a window shows next to our figures.
absl::Duration MachineCpu() {
  std::FILE* stat = std::fopen("/proc/stat", "r");
  if (stat == nullptr) return absl::ZeroDuration();
  uint64_t ticks[8] = {};
  const int read = std::fscanf(stat, "cpu %lu %lu %lu %lu %lu %lu %lu %lu",
                               &ticks[0], &ticks[1], &ticks[2], &ticks[3],
                               &ticks[4], &ticks[5], &ticks[6], &ticks[7]);
  std::fclose(stat);
  if (read != 8) return absl::ZeroDuration();
  const uint64_t busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] +
                        ticks[7];  // user nice system irq softirq steal
  return absl::Seconds(1) * static_cast<double>(busy) / sysconf(_SC_CLK_TCK);
}

// ---------------------------------------------------------------------------
// Measurement

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

struct Counts {
  Direction to_client;  // peer -> client (raw echo: a -> b)
  Direction to_peer;    // client -> peer (raw echo: b -> a)
};

// What a window measures; counts() is read with both threads parked.
class Workload {
 public:
  virtual ~Workload() = default;
  virtual Counts counts() const = 0;
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
  absl::Duration machine_cpu;
  Counts counts;
};

Edge TakeEdge(IoThreads& threads, const Workload& workload) {
  Edge edge;
  edge.process_cpu = ProcessCpu();
  edge.machine_cpu = MachineCpu();
  auto peer = std::make_unique<Parked>(threads.peer());
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
    peer = std::make_unique<Parked>(threads.peer());
    edge.to_peer_counted = std::chrono::steady_clock::now();
    edge.counts.to_peer = workload.counts().to_peer;
  }
  return edge;
}

absl::Duration Between(SteadyTime from, SteadyTime to) {
  return absl::FromChrono(to - from);
}

struct Window {
  absl::Duration length;
  // Per direction: the time its sender was running between the edges' counts
  // (the window less the time it spent parked at the closing edge).
  absl::Duration to_client_active;
  absl::Duration to_peer_active;
  absl::Duration peer_cpu;
  absl::Duration client_cpu;
  absl::Duration process_cpu;
  absl::Duration others_cpu;  // every other process on the machine
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

Direction Delta(const Direction& end, const Direction& start) {
  return {end.sent - start.sent, end.received - start.received,
          end.gaps - start.gaps, end.refused - start.refused};
}

void Add(Direction& sum, const Direction& one) {
  sum.sent += one.sent;
  sum.received += one.received;
  sum.gaps += one.gaps;
  sum.refused += one.refused;
}

Window Measure(IoThreads& threads, const Workload& workload,
               absl::Duration length) {
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
  window.others_cpu = end.machine_cpu - start.machine_cpu - window.process_cpu;
  window.counts.to_client = Delta(end.counts.to_client, start.counts.to_client);
  window.counts.to_peer = Delta(end.counts.to_peer, start.counts.to_peer);
  return window;
}

Direction FromStats(const CallMediaStats& sender,
                    const CallMediaStats& receiver) {
  return {sender.packets_sent,
          receiver.received.packets - receiver.received.duplicates,
          receiver.received.lost, sender.send_refused};
}

// ---------------------------------------------------------------------------
// The calls

std::string Sid(int index) { return absl::StrCat("bench", index); }

// One call's peer side, on the peer thread: a SimulatedPeer of its own that
// places the call, and the peer's RTP on the peer's GICE channel.
class PeerCall {
 public:
  PeerCall(asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
           fake_server::FakeServer& server, int index)
      : clock_(clock),
        bitgen_(bitgen),
        index_(index),
        peer_(io, clock, bitgen, server, Spec(index), nullptr) {}

  // Logs the peer in and sends the initiate (PCMU only) and its candidates.
  absl::Status Place(const xmpp::Jid& callee) {
    if (absl::Status attached = peer_.Attach(); !attached.ok()) return attached;
    absl::StatusOr<std::string> candidates = peer_.CandidatesXml("rtp", false);
    if (!candidates.ok()) return candidates.status();
    media_sim::GiceChannel& channel = *peer_.channel("rtp");
    const media_sim::RtpCodec pcmu = *media_sim::CodecByName("PCMU", 0);
    reference_client::CallMediaOptions options;
    options.echo = false;
    media_ = std::make_unique<CallMedia>(clock_, bitgen_, pcmu, pcmu, options,
                                         [&channel](absl::string_view packet) {
                                           return channel.SendPacket(packet);
                                         });
    channel.set_packet_handler(
        [this](absl::string_view packet, const asio::ip::udp::endpoint&) {
          media_->OnPacket(packet);
        });
    channel.set_writable_handler(
        [this](bool writable) { media_->SetSending(writable); });

    const std::string session = absl::StrCat(
        "<session xmlns='", ns::kGoogleSession, "' id='", Sid(index_),
        "' initiator='", peer_.jid().ToString(), "' type='");
    for (const std::string& body :
         {absl::StrCat(session, "initiate'><description xmlns='",
                       ns::kGooglePhone,
                       "'><payload-type id='0' name='PCMU'/></description>"),
          absl::StrCat(session, "candidates'>", *candidates)}) {
      absl::StatusOr<xmpp::Element> iq = xmpp::ParseElement(
          absl::StrCat("<iq type='set' to='", callee.ToString(), "'>", body,
                       "</session></iq>"));
      if (!iq.ok()) return iq.status();
      iq->SetAttr("id", absl::StrCat(Sid(index_), "-", ++iq_ids_));
      peer_.Send(*std::move(iq));
    }
    return absl::OkStatus();
  }

  // Writable, sending, and RTP has come from the client.
  bool flowing() const {
    return media_ != nullptr && media_->sending() &&
           media_->stats().received.packets > 0;
  }
  CallMediaStats stats() const {
    return media_ != nullptr ? media_->stats() : CallMediaStats();
  }

 private:
  static PeerSpec Spec(int index) {
    PeerSpec spec;
    spec.set_user(absl::StrCat("peer", index));
    return spec;
  }

  Clock& clock_;
  absl::BitGenRef bitgen_;
  int index_;
  int iq_ids_ = 0;
  SimulatedPeer peer_;
  // Sends on peer_'s channel, so declared after it: destroyed first.
  std::unique_ptr<CallMedia> media_;
};

// One reference client, on the client thread: its stream and voice client,
// answering the call automatically and echoing its media.
class ClientCall {
 public:
  ClientCall(asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
             uint16_t port, int index)
      : io_(io),
        clock_(clock),
        bitgen_(bitgen),
        jid_(*xmpp::Jid::Create(absl::StrCat("cut", index), kDomain, "bench")),
        sid_(Sid(index)),
        stream_(io, clock, bitgen, Options(port, jid_)) {}

  const xmpp::Jid& jid() const { return jid_; }

  // Logs in, then starts the voice client; `done` gets the login's status.
  void Connect(std::function<void(absl::Status)> done) {
    stream_.Connect([this, done = std::move(done)](absl::Status ready) {
      if (ready.ok()) {
        voice_ = std::make_unique<reference_client::VoiceClient>(
            io_, clock_, bitgen_, stream_,
            reference_client::VoiceClientOptions());
        voice_->set_event_handler(
            [this](const reference_client::CallEvent& event) {
              using Type = reference_client::CallEvent::Type;
              if (event.type == Type::kTerminated ||
                  event.type == Type::kRejected) {
                ended_ = event.reason;
              }
            });
        voice_->Start();
      }
      done(ready);
    });
  }

  // Why the call ended, if it did.
  const std::optional<std::string>& ended() const { return ended_; }
  bool flowing() const {
    std::optional<CallMediaStats> stats = this->stats();
    return stats.has_value() && stats->sending && stats->received.packets > 0;
  }
  std::optional<CallMediaStats> stats() const {
    return voice_ != nullptr ? voice_->media_stats(sid_) : std::nullopt;
  }

 private:
  static reference_client::ClientStreamOptions Options(uint16_t port,
                                                       const xmpp::Jid& jid) {
    reference_client::ClientStreamOptions options;
    options.port = port;
    options.jid = jid;
    options.password = kPassword;
    options.require_tls = false;
    options.sasl_mechanism = "PLAIN";
    options.login_timeout = absl::Seconds(60);
    return options;
  }

  asio::io_context& io_;
  Clock& clock_;
  absl::BitGenRef bitgen_;
  xmpp::Jid jid_;
  std::string sid_;
  reference_client::ClientStream stream_;
  // Uses stream_, so declared after it: destroyed first.
  std::unique_ptr<reference_client::VoiceClient> voice_;
  std::optional<std::string> ended_;
};

// N calls set up and running; torn down on their threads when destroyed.
class Calls : public Workload {
 public:
  Calls(IoThreads& threads, int n)
      : threads_(threads),
        n_(n),
        peer_clock_(threads.peer()),
        client_clock_(threads.client()) {}
  ~Calls() override {
    IoThreads::RunOn(threads_.client(), [this] { clients_.clear(); });
    IoThreads::RunOn(threads_.peer(), [this] {
      peers_.clear();
      if (server_ != nullptr) server_->Stop();
      server_.reset();
    });
  }

  // The server, N logins, N calls, until every call has RTP both ways.
  absl::Status SetUp() {
    if (absl::Status s = StartServer(); !s.ok()) return s;
    if (absl::Status s = LogIn(); !s.ok()) return s;
    if (absl::Status s = PlaceCalls(); !s.ok()) return s;
    return WaitUntilFlowing();
  }

  Counts counts() const override {
    Counts total;
    for (int i = 0; i < n_; ++i) {
      const CallMediaStats peer = peers_[i]->stats();
      const CallMediaStats client =
          clients_[i]->stats().value_or(CallMediaStats());
      Add(total.to_client, FromStats(peer, client));
      Add(total.to_peer, FromStats(client, peer));
    }
    return total;
  }

 private:
  absl::Status StartServer() {
    fake_server::ServerConfig config;
    config.set_domain(kDomain);
    config.set_tls(fake_server::ServerConfig::TLS_OFF);
    config.mutable_limits()->set_max_connections(n_ + 16);
    config.mutable_limits()->set_auth_timeout_ms(120000);
    for (int i = 0; i < n_; ++i) {
      fake_server::Account* account = config.add_accounts();
      account->set_username(absl::StrCat("cut", i));
      account->set_password(kPassword);
    }
    return IoThreads::RunOn(threads_.peer(), [&]() -> absl::Status {
      auto server = fake_server::FakeServer::Create(config, threads_.peer(),
                                                    peer_clock_, 7);
      if (!server.ok()) return server.status();
      server_ = *std::move(server);
      port_ = server_->port();
      return absl::OkStatus();
    });
  }

  // In batches of kLoginBatch outstanding logins.
  absl::Status LogIn() {
    const uint16_t port = port_;
    auto done = std::make_shared<std::atomic<int>>(0);
    auto failure = std::make_shared<std::optional<absl::Status>>();
    for (int first = 0; first < n_; first += kLoginBatch) {
      const int last = std::min(n_, first + kLoginBatch);
      IoThreads::RunOn(threads_.client(), [&] {
        for (int i = first; i < last; ++i) {
          clients_.push_back(std::make_unique<ClientCall>(
              threads_.client(), client_clock_, client_bitgen_, port, i));
          clients_.back()->Connect([done, failure](absl::Status status) {
            if (!status.ok() && !failure->has_value()) *failure = status;
            ++*done;
          });
        }
      });
      while (*done < last) absl::SleepFor(absl::Milliseconds(2));
      std::optional<absl::Status> failed =
          IoThreads::RunOn(threads_.client(), [&] { return *failure; });
      if (failed.has_value()) {
        return absl::Status(failed->code(),
                            absl::StrCat("login: ", failed->message()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status PlaceCalls() {
    for (int first = 0; first < n_; first += kCallBatch) {
      const int last = std::min(n_, first + kCallBatch);
      absl::Status placed = IoThreads::RunOn(threads_.peer(), [&] {
        for (int i = first; i < last; ++i) {
          peers_.push_back(std::make_unique<PeerCall>(
              threads_.peer(), peer_clock_, peer_bitgen_, *server_, i));
          absl::Status s = peers_.back()->Place(clients_[i]->jid());
          if (!s.ok()) return s;
        }
        return absl::OkStatus();
      });
      if (!placed.ok()) {
        return absl::Status(placed.code(),
                            absl::StrCat("placing calls: ", placed.message()));
      }
      absl::SleepFor(kFrame);
    }
    return absl::OkStatus();
  }

  // Fails when a call ends, or when no call starts flowing for kSetupStall.
  absl::Status WaitUntilFlowing() {
    int best = 0;
    absl::Time progress = absl::Now();
    while (true) {
      const int peers = IoThreads::RunOn(threads_.peer(), [this] {
        return static_cast<int>(
            std::count_if(peers_.begin(), peers_.end(),
                          [](const auto& p) { return p->flowing(); }));
      });
      auto [clients, ended] = IoThreads::RunOn(threads_.client(), [this] {
        std::pair<int, std::optional<std::string>> out{0, std::nullopt};
        for (const auto& c : clients_) {
          out.first += c->flowing() ? 1 : 0;
          if (c->ended().has_value()) out.second = c->ended();
        }
        return out;
      });
      if (ended.has_value()) {
        return absl::UnavailableError(absl::StrCat("a call ended: ", *ended));
      }
      const int both = std::min(peers, clients);
      if (both == n_) break;
      if (both > best) {
        best = both;
        progress = absl::Now();
      } else if (absl::Now() - progress > kSetupStall) {
        return absl::DeadlineExceededError(absl::StrFormat(
            "RTP both ways in %d of %d calls (peers %d, clients %d) after %s "
            "without progress",
            both, n_, peers, clients, absl::FormatDuration(kSetupStall)));
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    absl::SleepFor(kSettle);
    return absl::OkStatus();
  }

  IoThreads& threads_;
  const int n_;
  AsioClock peer_clock_;
  AsioClock client_clock_;
  // Each used on its own thread only.
  absl::BitGen peer_bitgen_;
  absl::BitGen client_bitgen_;
  std::unique_ptr<fake_server::FakeServer> server_;  // peer thread
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<PeerCall>> peers_;      // peer thread
  std::vector<std::unique_ptr<ClientCall>> clients_;  // client thread
};

// ---------------------------------------------------------------------------
// The baseline

// N UDP socket pairs on 127.0.0.1, no GICE, RTP or XMPP: each `a` socket (peer
// thread) sends an RTP-sized datagram per 20 ms frame on the same fixed
// schedule as CallMedia; its `b` socket (client thread) sends each one straight
// back. The same packet count both ways as the calls, on the same threads.
class RawEcho : public Workload {
 public:
  RawEcho(IoThreads& threads, int n) : threads_(threads), n_(n) {}
  ~RawEcho() override {
    IoThreads::RunOn(threads_.client(), [this] { CloseAll(b_); });
    IoThreads::RunOn(threads_.peer(), [this] { CloseAll(a_); });
  }

  absl::Status SetUp() {
    const asio::ip::udp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
    absl::Status status = IoThreads::RunOn(threads_.client(), [&] {
      for (int i = 0; i < n_; ++i) {
        b_.push_back(std::make_shared<Socket>(threads_.client()));
        if (absl::Status s = b_.back()->Open(any); !s.ok()) return s;
        Echo(b_.back());
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    status = IoThreads::RunOn(threads_.peer(), [&] {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < n_; ++i) {
        a_.push_back(std::make_shared<Socket>(threads_.peer()));
        Socket& a = *a_.back();
        if (absl::Status s = a.Open(any); !s.ok()) return s;
        a.remote = b_[i]->socket.local_endpoint();
        // Spread over the frame, as calls that start at different times are.
        a.first_tick = start + absl::ToChronoNanoseconds(kFrame) * i / n_;
        Count(a_.back());
        Tick(a_.back(), 0);
      }
      return absl::OkStatus();
    });
    if (status.ok()) absl::SleepFor(kSettle);
    return status;
  }

  Counts counts() const override {
    Counts total;
    for (int i = 0; i < n_; ++i) {
      total.to_client.sent += a_[i]->sent;
      total.to_client.received += b_[i]->received;
      total.to_peer.sent += b_[i]->sent;
      total.to_peer.received += a_[i]->received;
    }
    return total;
  }

 private:
  // Owned by the vectors and by every pending handler, so a completion that
  // is already queued when the socket closes still finds it.
  struct Socket {
    explicit Socket(asio::io_context& io) : socket(io), timer(io) {}
    absl::Status Open(const asio::ip::udp::endpoint& local) {
      boost::system::error_code ec;
      socket.open(local.protocol(), ec);
      if (!ec) socket.bind(local, ec);
      if (ec) return absl::UnavailableError("UDP bind: " + ec.message());
      return absl::OkStatus();
    }
    asio::ip::udp::socket socket;
    asio::steady_timer timer;
    asio::ip::udp::endpoint remote;  // a: its b; b: the last sender
    std::chrono::steady_clock::time_point first_tick;
    std::array<char, 1500> buffer;
    uint64_t sent = 0;
    uint64_t received = 0;
  };
  using SocketPtr = std::shared_ptr<Socket>;

  static void CloseAll(std::vector<SocketPtr>& sockets) {
    for (const SocketPtr& s : sockets) {
      boost::system::error_code ignored;
      s->socket.close(ignored);
      s->timer.cancel();
    }
    sockets.clear();
  }

  // b: every datagram goes back where it came from.
  static void Echo(SocketPtr b) {
    Socket& s = *b;
    s.socket.async_receive_from(
        asio::buffer(s.buffer), s.remote,
        [b = std::move(b)](const boost::system::error_code& ec, size_t size) {
          if (!b->socket.is_open()) return;
          if (!ec) {
            ++b->received;
            boost::system::error_code send_ec;
            b->socket.send_to(asio::buffer(b->buffer.data(), size), b->remote,
                              0, send_ec);
            if (!send_ec) ++b->sent;
          }
          Echo(std::move(b));
        });
  }

  // a: counts what comes back.
  static void Count(SocketPtr a) {
    Socket& s = *a;
    s.socket.async_receive(
        asio::buffer(s.buffer),
        [a = std::move(a)](const boost::system::error_code& ec, size_t) {
          if (!a->socket.is_open()) return;
          if (!ec) ++a->received;
          Count(std::move(a));
        });
  }

  // a: the datagram of `frame`, then the next frame that is still ahead (a
  // late timer skips frames rather than bursting, as CallMedia does).
  static void Tick(SocketPtr a, int64_t frame) {
    const auto frame_length = absl::ToChronoNanoseconds(kFrame);
    Socket& s = *a;
    s.timer.expires_at(s.first_tick + frame_length * frame);
    s.timer.async_wait([a = std::move(a), frame,
                        frame_length](const boost::system::error_code& ec) {
      if (ec || !a->socket.is_open()) return;
      boost::system::error_code send_ec;
      a->socket.send_to(asio::buffer(kRawDatagram), a->remote, 0, send_ec);
      if (!send_ec) ++a->sent;
      const int64_t due =
          (std::chrono::steady_clock::now() - a->first_tick) / frame_length + 1;
      Tick(std::move(a), std::max(frame + 1, due));
    });
  }

  IoThreads& threads_;
  const int n_;
  std::vector<SocketPtr> a_;  // peer thread
  std::vector<SocketPtr> b_;  // client thread
};

// ---------------------------------------------------------------------------
// The ramp

struct Round {
  int n = 0;
  std::string failure;  // set up failed: why (no window then)
  absl::Duration setup;
  Window window;
  std::string verdict;  // "ok", or what failed
  bool pass() const { return verdict == "ok"; }
};

// Packets sent in `direction` over `active` as a percentage of 50 pps per call.
double RatePercent(const Direction& direction, absl::Duration active, int n) {
  return 100 * direction.sent /
         (kPacketsPerSecond * n * absl::ToDoubleSeconds(active));
}

// Loss and rate against the thresholds; "ok" or the reasons.
std::string Judge(const Window& w, int n, double min_rate_percent) {
  std::vector<std::string> problems;
  const struct {
    const char* name;
    const Direction& counts;
    absl::Duration active;
  } directions[] = {{"p->c", w.counts.to_client, w.to_client_active},
                    {"c->p", w.counts.to_peer, w.to_peer_active}};
  for (const auto& d : directions) {
    if (d.counts.loss_percent() >= kMaxLossPercent) {
      problems.push_back(absl::StrCat(d.name, " loss"));
    }
    if (RatePercent(d.counts, d.active, n) < min_rate_percent) {
      problems.push_back(absl::StrCat(d.name, " rate"));
    }
  }
  return problems.empty() ? "ok" : absl::StrJoin(problems, ",");
}

// Sets up `Load` (Calls or RawEcho) with N on fresh threads, measures a window
// and judges it.
template <typename Load>
Round RunRound(int n, absl::Duration length, double min_rate_percent) {
  Round round;
  round.n = n;
  IoThreads threads;
  Load load(threads, n);
  const absl::Time begin = absl::Now();
  const absl::Status up = load.SetUp();
  round.setup = absl::Now() - begin;
  if (!up.ok()) {
    round.failure = std::string(up.message());
    round.verdict = absl::StrContains(up.message(), "Too many open files")
                        ? "fd limit"
                        : "setup";
    return round;
  }
  round.window = Measure(threads, load, length);
  round.verdict = Judge(round.window, n, min_rate_percent);
  return round;
}

void PrintHeader() {
  absl::PrintF(
      "%5s %6s | %-30s | %-30s | %-9s | %-13s | %6s | %-20s | %6s | %s\n", "N",
      "setup", "peer->client sent recv loss% rate%",
      "client->peer sent recv loss% rate%", "seq gaps", "unwritable", "pps",
      "CPU% peer client other", "us/pkt", "verdict");
}

void PrintRound(const Round& r) {
  if (!r.failure.empty()) {
    absl::PrintF("%5d %5.1fs | %s: %s\n", r.n, absl::ToDoubleSeconds(r.setup),
                 r.verdict, r.failure);
    std::fflush(stdout);
    return;
  }
  const Window& w = r.window;
  const Direction& pc = w.counts.to_client;
  const Direction& cp = w.counts.to_peer;
  absl::PrintF(
      "%5d %5.1fs | %7d %7d %6.3f %6.2f | %7d %7d %6.3f %6.2f | %4d %4d | "
      "%6d %6d | %6.0f | %6.1f %6.1f %6.1f | %6.2f | %s\n",
      r.n, absl::ToDoubleSeconds(r.setup), pc.sent, pc.received,
      pc.loss_percent(), RatePercent(pc, w.to_client_active, r.n), cp.sent,
      cp.received, cp.loss_percent(), RatePercent(cp, w.to_peer_active, r.n),
      pc.gaps, cp.gaps, pc.refused, cp.refused, w.pps(),
      w.cpu_percent(w.peer_cpu), w.cpu_percent(w.client_cpu),
      w.cpu_percent(w.others_cpu), w.us_per_packet(), r.verdict);
  std::fflush(stdout);
}

struct RampOptions {
  int start = 100;
  int max = 4000;
  int resolution = 50;
  absl::Duration length;
  double min_rate_percent = 99;
  uint64_t fd_limit = 0;
  int fds_per_n = kFdsPerCall;
};

struct RampResult {
  Round first;                // at `start`
  std::optional<Round> best;  // the largest N that passed
};

// Doubles N from `start` until a round fails or `max`, then bisects between
// the largest pass and the smallest failure down to `resolution`. Prints a
// row per round.
template <typename Load>
RampResult Ramp(const RampOptions& options) {
  PrintHeader();
  RampResult result;
  std::optional<Round>& best = result.best;
  int fail = 0;  // the smallest N that failed (0: none yet)
  auto run = [&](int n) {
    Round round;
    const uint64_t fds = static_cast<uint64_t>(options.fds_per_n) * n;
    if (fds + kFdsSpare > options.fd_limit) {
      round.n = n;
      round.verdict = "fd limit";
      round.failure = absl::StrFormat(
          "needs about %d file descriptors (%d per call), but RLIMIT_NOFILE's "
          "hard limit is %d: raise it (ulimit -Hn) to go further",
          fds + kFdsSpare, options.fds_per_n, options.fd_limit);
    } else {
      round = RunRound<Load>(n, options.length, options.min_rate_percent);
    }
    PrintRound(round);
    if (n == options.start) result.first = round;
    if (round.pass()) {
      if (!best.has_value() || n > best->n) best = round;
    } else if (fail == 0 || n < fail) {
      fail = n;
    }
    return round.pass();
  };
  for (int n = options.start; run(n) && n < options.max;) {
    n = std::min(2 * n, options.max);
  }
  const int step = std::max(1, options.resolution / 2);
  while (fail != 0) {
    const int low = best.has_value() ? best->n : 0;
    const int mid = (low + fail) / 2 / step * step;
    if (fail - low <= options.resolution || mid <= low) break;
    run(mid);
  }
  return result;
}

int Main(RampOptions options) {
  options.fd_limit = RaiseFdLimit();
  absl::PrintF(
      "concurrent calls: PCMU 50 pps both ways per call, %s window, pass = "
      "every call up, loss < %g%% and rate >= %g%% both ways; RLIMIT_NOFILE "
      "%d, %d cores\n",
      absl::FormatDuration(options.length), kMaxLossPercent,
      options.min_rate_percent, options.fd_limit,
      std::thread::hardware_concurrency());
  const std::optional<Round> calls = Ramp<Calls>(options).best;
  const int largest = calls.has_value() ? calls->n : 0;

  absl::PrintF(
      "\nbaseline: raw UDP echo, N socket pairs, 50 pps one way and echoed, "
      "no GICE/RTP/XMPP, same threads\n");
  RampOptions raw_options = options;
  raw_options.start = std::max(1, largest);
  raw_options.max = std::max(options.max, raw_options.start);
  raw_options.fds_per_n = 2;
  const RampResult raw = Ramp<RawEcho>(raw_options);
  const int raw_largest = raw.best.has_value() ? raw.best->n : 0;

  absl::PrintF("\nbaseline: raw UDP echo passes up to N=%d", raw_largest);
  if (largest > 0 && raw_largest > 0) {
    absl::PrintF(" (the calls reach %.0f%% of that)",
                 100.0 * largest / raw_largest);
  }
  if (calls.has_value() && raw.first.failure.empty()) {
    const double ours = calls->window.us_per_packet();
    const double theirs = raw.first.window.us_per_packet();
    absl::PrintF(
        "; at N=%d the calls cost %.2f us of CPU per packet against %.2f for "
        "raw UDP (x%.2f)",
        largest, ours, theirs, ours / theirs);
  }
  absl::PrintF("\nlargest N with <0.1%% loss: %d\n", largest);
  return 0;
}

}  // namespace
}  // namespace talkcheck::harness

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "N simultaneous calls (peer <-> in-process reference clients, PCMU 50 "
      "pps both ways): the largest N with < 0.1% loss.\n"
      "  concurrent_calls_benchmark [--start=100] [--max=4000] "
      "[--seconds=10] [--resolution=50] [--min_rate=99]");
  absl::ParseCommandLine(argc, argv);
  const int start = absl::GetFlag(FLAGS_start);
  const int max = absl::GetFlag(FLAGS_max);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  if (start <= 0 || max < start || seconds <= 0) {
    std::fprintf(stderr, "need 0 < --start <= --max and --seconds > 0\n");
    return 2;
  }
  talkcheck::harness::RampOptions options;
  options.start = start;
  options.max = max;
  options.resolution = absl::GetFlag(FLAGS_resolution);
  options.length = absl::Seconds(seconds);
  options.min_rate_percent = absl::GetFlag(FLAGS_min_rate);
  return talkcheck::harness::Main(options);
}

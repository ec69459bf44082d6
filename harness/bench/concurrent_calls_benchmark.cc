// Concurrent calls (issue 4 §5): N simultaneous calls between the simulated
// peer and in-process reference clients, PCMU (8 kHz, 20 ms: 50 pps) both ways
// over GICE-chosen pairs on 127.0.0.1, and the largest N whose calls all come
// up and lose < 0.1 % of their RTP each way on this machine.
//
//   bazel run -c opt //harness:concurrent_calls_benchmark --
//       [--start=100] [--max=4000] [--seconds=10] [--resolution=50]
//       [--min_rate=99] [--peer_sockets=4]
//
// The pieces: the calls (concurrent_calls.h), the two io threads they run on
// and the exact count of a window (two_thread_rig.h), and the baseline
// (raw_udp_echo.h). This file is the ramp and the table.
//
// Per N: the calls are set up, then a window of --seconds is measured. Per
// direction the table shows packets sent, received, loss = 1 - received /
// sent, the receiver's sequence gaps, the frames not sent for want of a
// writable pair; achieved pps, and CPU per thread and of every other process
// on the machine. A round passes when every call came up, loss < 0.1 % both
// ways, and both sides sent >= 99 % of 50 pps (--min_rate; CallMedia skips the
// frames a late timer missed, so an overloaded thread shows as a rate
// shortfall, not as loss). The ramp doubles N from --start until a round fails
// or --max, then bisects to --resolution. The baseline is the same ramp,
// judged the same way, of raw UDP echo; the ratio of the two largest N is the
// cost of the stack.
//
// --peer_sockets=K puts the peers' media (and the baseline's `a` sockets) on
// K shared UDP sockets with recvmmsg / sendmmsg batches; the row then shows
// the datagrams per call each way and any datagram no call claimed
// (`unrouted`, which fails the round). 0: a socket per call, one system call
// per datagram.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "harness/bench/concurrent_calls.h"
#include "harness/bench/raw_udp_echo.h"
#include "harness/bench/two_thread_rig.h"

ABSL_FLAG(int, start, 100, "First N (simultaneous calls) of the ramp");
ABSL_FLAG(int, max, 4000, "Largest N tried");
ABSL_FLAG(int, seconds, 10, "Measurement window per N, in seconds");
ABSL_FLAG(int, resolution, 50, "Bisection stops when pass and fail are closer");
ABSL_FLAG(double, min_rate, 99,
          "A round also needs each side to send at least this percentage of 50 "
          "pps per call (0: judge loss only)");
ABSL_FLAG(int, send_delay_us, 1000,
          "With --peer_sockets: how long a peer's datagram may wait for others "
          "to share its sendmmsg (0: the end of the io thread's turn)");
ABSL_FLAG(bool, common_frame_clock, false,
          "The peers (and the baseline's a sides) send every call's frames on "
          "one 20 ms grid, as a media server does; false: each call from its "
          "own start, spread over the frame");
ABSL_FLAG(int, client_timer_quantum_us, 1000,
          "The reference clients' timers (standing for N client processes) "
          "fire on this grid, so one wakeup of their thread serves every "
          "frame due in it (0: each timer on its own); the peers' are exact");
ABSL_FLAG(int, peer_sockets, 4,
          "UDP sockets the peers' media shares (demultiplexed, recvmmsg / "
          "sendmmsg batches); 0: one per call");

namespace talkcheck::harness::bench {
namespace {

constexpr double kMaxLossPercent = 0.1;
constexpr double kPacketsPerSecond = 50;  // PCMU, 20 ms frames
constexpr int kFdsSpare = 64;

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

struct Round {
  int n = 0;
  std::string failure;  // set up failed: why (no window then)
  absl::Duration setup;
  Window window;
  std::string verdict;  // "ok", or what failed
  bool pass() const { return verdict == "ok"; }
};

// Packets sent in `direction` as a percentage of the frames due: 50 per
// second per call over `active`, plus the one frame per call that a sender
// resuming from the opening edge's park still sends late (the newest frame due
// while it was parked; the older ones are skipped), which made a perfect
// sender read above 100 %.
double RatePercent(const Direction& direction, absl::Duration active, int n) {
  return 100 * direction.sent /
         (kPacketsPerSecond * n * absl::ToDoubleSeconds(active) + n);
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
  if (w.counts.peer_batching.unrouted > 0) problems.push_back("unrouted");
  return problems.empty() ? "ok" : absl::StrJoin(problems, ",");
}

// Sets up `Load` (ConcurrentCalls or RawUdpEcho) with N on fresh threads,
// measures a window and judges it.
template <typename Load>
Round RunRound(int n, const PeerMedia& peer_media,
               absl::Duration client_timer_quantum, absl::Duration length,
               double min_rate_percent) {
  Round round;
  round.n = n;
  IoThreads threads(client_timer_quantum);
  Load load(threads, n, peer_media);
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
      "%5s %6s | %-30s | %-30s | %-9s | %-13s | %6s | %-20s | %6s | %-15s | "
      "%s\n",
      "N", "setup", "peer->client sent recv loss% rate%",
      "client->peer sent recv loss% rate%", "seq gaps", "unwritable", "pps",
      "CPU% peer client other", "us/pkt", "batch in out unr", "verdict");
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
  const Batching& b = w.counts.peer_batching;
  auto per_call = [](uint64_t datagrams, uint64_t calls) {
    return calls == 0 ? 0.0 : static_cast<double>(datagrams) / calls;
  };
  absl::PrintF(
      "%5d %5.1fs | %7d %7d %6.3f %6.2f | %7d %7d %6.3f %6.2f | %4d %4d | "
      "%6d %6d | %6.0f | %6.1f %6.1f %6.1f | %6.2f | %5.1f %5.1f %3d | %s\n",
      r.n, absl::ToDoubleSeconds(r.setup), pc.sent, pc.received,
      pc.loss_percent(), RatePercent(pc, w.to_client_active, r.n), cp.sent,
      cp.received, cp.loss_percent(), RatePercent(cp, w.to_peer_active, r.n),
      pc.gaps, cp.gaps, pc.refused, cp.refused, w.pps(),
      w.cpu_percent(w.peer_cpu), w.cpu_percent(w.client_cpu),
      w.cpu_percent(w.others_cpu), w.us_per_packet(),
      per_call(b.datagrams_received, b.receive_calls),
      per_call(b.datagrams_sent, b.send_calls), b.unrouted, r.verdict);
  std::fflush(stdout);
}

struct RampOptions {
  int start = 100;
  int max = 4000;
  int resolution = 50;
  absl::Duration length;
  double min_rate_percent = 99;
  int peer_sockets = 4;
  absl::Duration send_delay;
  bool common_frame_clock = false;
  absl::Duration client_timer_quantum;
  uint64_t fd_limit = 0;
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
    const int fds_per_n = Load::FdsPerCall(options.peer_sockets);
    const uint64_t fds =
        static_cast<uint64_t>(fds_per_n) * n + options.peer_sockets;
    if (fds + kFdsSpare > options.fd_limit) {
      round.n = n;
      round.verdict = "fd limit";
      round.failure = absl::StrFormat(
          "needs about %d file descriptors (%d per call), but RLIMIT_NOFILE's "
          "hard limit is %d: raise it (ulimit -Hn) to go further",
          fds + kFdsSpare, fds_per_n, options.fd_limit);
    } else {
      round = RunRound<Load>(n,
                             {options.peer_sockets, options.send_delay,
                              options.common_frame_clock},
                             options.client_timer_quantum, options.length,
                             options.min_rate_percent);
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
      "every call up, loss < %g%% and rate >= %g%% both ways; peers' media on "
      "%s, frames %s; client timers on a %s grid; RLIMIT_NOFILE %d, %d "
      "cores\n",
      absl::FormatDuration(options.length), kMaxLossPercent,
      options.min_rate_percent,
      options.peer_sockets > 0
          ? absl::StrCat(options.peer_sockets,
                         " shared UDP sockets (recvmmsg/sendmmsg, sends wait "
                         "up to ",
                         absl::FormatDuration(options.send_delay), ")")
          : std::string("one UDP socket per call"),
      options.common_frame_clock ? "on one clock" : "spread",
      absl::FormatDuration(options.client_timer_quantum), options.fd_limit,
      std::thread::hardware_concurrency());
  const std::optional<Round> calls = Ramp<ConcurrentCalls>(options).best;
  const int largest = calls.has_value() ? calls->n : 0;

  absl::PrintF(
      "\nbaseline: raw UDP echo, N pairs, 50 pps one way and echoed, no "
      "GICE/RTP/XMPP, same threads, the a sides on sockets as the peers' "
      "(%s)\n",
      options.peer_sockets > 0 ? "shared, batched" : "one per pair");
  RampOptions raw_options = options;
  raw_options.start = std::max(1, largest);
  raw_options.max = std::max(options.max, raw_options.start);
  const RampResult raw = Ramp<RawUdpEcho>(raw_options);
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
}  // namespace talkcheck::harness::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "N simultaneous calls (peer <-> in-process reference clients, PCMU 50 "
      "pps both ways): the largest N with < 0.1% loss.\n"
      "  concurrent_calls_benchmark [--start=100] [--max=4000] "
      "[--seconds=10] [--resolution=50] [--min_rate=99] [--peer_sockets=4] "
      "[--send_delay_us=1000] [--common_frame_clock=false] "
      "[--client_timer_quantum_us=1000]");
  absl::ParseCommandLine(argc, argv);
  const int start = absl::GetFlag(FLAGS_start);
  const int max = absl::GetFlag(FLAGS_max);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  if (start <= 0 || max < start || seconds <= 0) {
    std::fprintf(stderr, "need 0 < --start <= --max and --seconds > 0\n");
    return 2;
  }
  talkcheck::harness::bench::RampOptions options;
  options.start = start;
  options.max = max;
  options.resolution = absl::GetFlag(FLAGS_resolution);
  options.length = absl::Seconds(seconds);
  options.min_rate_percent = absl::GetFlag(FLAGS_min_rate);
  options.peer_sockets = std::max(0, absl::GetFlag(FLAGS_peer_sockets));
  options.common_frame_clock = absl::GetFlag(FLAGS_common_frame_clock);
  options.client_timer_quantum = absl::Microseconds(
      std::max(0, absl::GetFlag(FLAGS_client_timer_quantum_us)));
  options.send_delay =
      absl::Microseconds(std::max(0, absl::GetFlag(FLAGS_send_delay_us)));
  return talkcheck::harness::bench::Main(options);
}

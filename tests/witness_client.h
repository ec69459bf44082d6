// A well-behaved client that stays logged in while a test attacks the server
// and measures how long each of its XEP-0199 pings takes to be answered.
//
// It pings from a thread of its own, one ping every few milliseconds, and
// judges each against a bound (100 ms in the bad-input suite). What it judges
// is the server's share of the round trip: the RTT minus the time the
// server's io thread and the witness's own thread spent waiting for a CPU
// during it (their run-queue wait, /proc/self/task/TID/schedstat). On a
// shared 2-core machine with a load of 40 a ping can take hundreds of ms
// while the server did nothing wrong; what the server spends working on
// others (the quadratic parse of issue 13 §1 cost 3 s) or blocked counts in
// full. The two waits may overlap, so the share can come out a little small,
// never large. A ping over the bound is measured again at once, up to
// kAttempts times, and counts as late only when every attempt is. Both the
// RTT and the server's share are reported.
//
// Example:
//   absl::StatusOr<std::unique_ptr<Witness>> witness = Witness::LogIn(
//       server->endpoint(), "witness", "witnesspass", absl::Milliseconds(100),
//       server_thread_id);
//   (*witness)->StartPinging();
//   ... attack ...
//   Witness::Report report = (*witness)->Stop();
//   EXPECT_TRUE(report.late.empty()) << report.Summary();
#ifndef TALKCHECK_TESTS_WITNESS_CLIENT_H_
#define TALKCHECK_TESTS_WITNESS_CLIENT_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/raw_client.h"

namespace talkcheck::integration {

// Time `thread` (of this process) has spent waiting on a run queue;
// nullopt where /proc does not say.
std::optional<absl::Duration> RunQueueWait(pid_t thread);

class Witness {
 public:
  // Measurements of one ping before it counts as late.
  static constexpr int kAttempts = 3;

  struct Measurement {
    absl::Duration rtt;
    absl::Duration server_delay;  // the RTT less the run-queue waits
  };
  struct Report {
    int pings = 0;  // measurements taken, re-measurements included
    int remeasured = 0;
    std::vector<Measurement> in_time;  // the last attempt of each ping
    // One line per late ping (every attempt over the bound) or error.
    std::vector<std::string> late;
    absl::Duration Percentile(double p,
                              absl::Duration Measurement::*field) const;
    // "pings 41 (2 re-measured), RTT p50 ..., max ...; the server's share
    // p50 ..., max ...".
    std::string Summary() const;
  };

  // Logs in as `user` (SASL PLAIN, no TLS), idle until StartPinging().
  // `server_thread` is the thread id (gettid) of the server's io thread.
  static absl::StatusOr<std::unique_ptr<Witness>> LogIn(
      absl::string_view endpoint, absl::string_view user,
      absl::string_view password, absl::Duration bound, pid_t server_thread);
  // Starts pinging on the witness's thread. Call once.
  void StartPinging();
  ~Witness();
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  // Waits until `count` more measurements have been taken since the call;
  // false after `timeout`.
  bool WaitForPings(int count, absl::Duration timeout);
  // Stops pinging (after the ping in progress) and returns the figures.
  Report Stop();

 private:
  Witness(std::unique_ptr<RawClient> client, absl::Duration bound,
          pid_t server_thread);
  void Run();

  std::unique_ptr<RawClient> client_;
  const absl::Duration bound_;
  const pid_t server_thread_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Mutex mu_;
  Report report_ ABSL_GUARDED_BY(mu_);
};

}  // namespace talkcheck::integration

#endif  // TALKCHECK_TESTS_WITNESS_CLIENT_H_

#include "tests/witness_client.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace talkcheck::integration {
namespace {

// Between two pings: often enough to see a stall of a few tens of ms, rarely
// enough to leave the server to the attack.
constexpr absl::Duration kInterval = absl::Milliseconds(5);

}  // namespace

std::optional<absl::Duration> RunQueueWait(pid_t thread) {
  // /proc/self/task/TID/schedstat: time on a CPU, time waiting on a run
  // queue (both in ns), time slices.
  std::ifstream schedstat(
      absl::StrCat("/proc/self/task/", thread, "/schedstat"));
  uint64_t on_cpu_ns = 0;
  uint64_t waiting_ns = 0;
  if (!(schedstat >> on_cpu_ns >> waiting_ns)) return std::nullopt;
  return absl::Nanoseconds(waiting_ns);
}

absl::Duration Witness::Report::Percentile(
    double p, absl::Duration Measurement::*field) const {
  if (in_time.empty()) return absl::ZeroDuration();
  std::vector<absl::Duration> sorted;
  for (const Measurement& m : in_time) sorted.push_back(m.*field);
  std::sort(sorted.begin(), sorted.end());
  const size_t index = std::min(sorted.size() - 1,
                                static_cast<size_t>(p / 100.0 * sorted.size()));
  return sorted[index];
}

std::string Witness::Report::Summary() const {
  return absl::StrCat(
      "pings ", pings, " (", remeasured, " re-measured), RTT p50 ",
      absl::FormatDuration(Percentile(50, &Measurement::rtt)), ", max ",
      absl::FormatDuration(Percentile(100, &Measurement::rtt)),
      "; the server's share p50 ",
      absl::FormatDuration(Percentile(50, &Measurement::server_delay)),
      ", max ",
      absl::FormatDuration(Percentile(100, &Measurement::server_delay)),
      late.empty() ? "" : absl::StrCat("; late: ", absl::StrJoin(late, "; ")));
}

absl::StatusOr<std::unique_ptr<Witness>> Witness::LogIn(
    absl::string_view endpoint, absl::string_view user,
    absl::string_view password, absl::Duration bound, pid_t server_thread) {
  absl::StatusOr<std::unique_ptr<RawClient>> client =
      RawClient::Connect(endpoint);
  if (!client.ok()) return client.status();
  absl::StatusOr<std::string> jid =
      (*client)->LogInPlain(user, password, "witness");
  if (!jid.ok()) return jid.status();
  return std::unique_ptr<Witness>(
      new Witness(*std::move(client), bound, server_thread));
}

void Witness::StartPinging() {
  thread_ = std::thread([this] { Run(); });
}

Witness::Witness(std::unique_ptr<RawClient> client, absl::Duration bound,
                 pid_t server_thread)
    : client_(std::move(client)),
      bound_(bound),
      server_thread_(server_thread) {}

Witness::~Witness() { Stop(); }

void Witness::Run() {
  const pid_t own_thread = static_cast<pid_t>(syscall(SYS_gettid));
  // Time the server's and the witness's threads spent waiting for a CPU so
  // far (nullopt where /proc does not say).
  auto waited = [this, own_thread]() -> std::optional<absl::Duration> {
    std::optional<absl::Duration> server = RunQueueWait(server_thread_);
    std::optional<absl::Duration> own = RunQueueWait(own_thread);
    if (!server || !own) return std::nullopt;
    return *server + *own;
  };
  int sequence = 0;
  while (!stop_.load()) {
    std::vector<Measurement> attempts;
    absl::Status failed;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      const std::optional<absl::Duration> waited_before = waited();
      const absl::Time sent = absl::Now();
      failed = client_->Ping(absl::StrCat("w", ++sequence));
      if (!failed.ok()) break;
      Measurement m;
      m.rtt = absl::Now() - sent;
      const std::optional<absl::Duration> waited_after = waited();
      m.server_delay = m.rtt;
      if (waited_before && waited_after) {
        m.server_delay = std::max(absl::ZeroDuration(),
                                  m.rtt - (*waited_after - *waited_before));
      }
      attempts.push_back(m);
      if (m.server_delay <= bound_) break;
    }
    {
      absl::MutexLock lock(&mu_);
      report_.pings += static_cast<int>(attempts.size());
      report_.remeasured += std::max(0, static_cast<int>(attempts.size()) - 1);
      if (!failed.ok()) {
        report_.late.push_back(absl::StrCat("ping failed: ", failed.message()));
        return;  // the witness is gone: nothing more to measure
      }
      if (attempts.back().server_delay <= bound_) {
        report_.in_time.push_back(attempts.back());
      } else {
        std::vector<std::string> each;
        for (const Measurement& m : attempts) {
          each.push_back(absl::StrCat("RTT ", absl::FormatDuration(m.rtt),
                                      " of which the server's ",
                                      absl::FormatDuration(m.server_delay)));
        }
        report_.late.push_back(absl::StrCat(
            "ping w", sequence, " over ", absl::FormatDuration(bound_), " ",
            kAttempts, " times in a row (", absl::StrJoin(each, "; "), ")"));
      }
    }
    absl::SleepFor(kInterval);
  }
}

bool Witness::WaitForPings(int count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const int target = report_.pings + count;
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return report_.pings >= target || !report_.late.empty();
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout) &&
         report_.pings >= target;
}

Witness::Report Witness::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  return report_;
}

}  // namespace talkcheck::integration

// xmpp_load: a small epoll load clients for any XMPP server on loopback
// (plain TCP, SASL PLAIN, bind), so the fake server and Prosody get exactly
// the same load in tools/load_vs_prosody.sh (issue 13 §7). One mode per run:
//
//   --mode=logins --in_flight=N --seconds=S   logins/s with N logins at once
//       (connect, header, PLAIN, restart, bind, close)
//   --mode=messages --in_flight=K --seconds=S  two clients of two accounts;
//       A keeps K <message/>s in flight to B, B sends each back: messages
//       routed/s (two per round trip) and the round trip's p50/p99
//   --mode=idle --connections=N --server_pid=P  N logged-in connections held
//       open; the server's VmRSS before and after, per connection
//
// Prints one line of key=value pairs for the script to read. The connections
// and their logins are LoadClients' (xmpp_load_clients.h).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/flag_help.h"
#include "harness/bench/xmpp_load_clients.h"

ABSL_FLAG(std::string, server, "127.0.0.1:5222", "server's IPv4 address:port");
ABSL_FLAG(std::string, domain, "localhost", "the server's XMPP domain");
ABSL_FLAG(std::string, mode, "logins", "logins, messages or idle");
ABSL_FLAG(std::string, user, "load1", "account for logins, idle and sender A");
ABSL_FLAG(std::string, user2, "load2", "account of receiver B (messages)");
ABSL_FLAG(std::string, password, "loadpass", "password of both accounts");
ABSL_FLAG(int, in_flight, 1, "logins or messages in flight at once");
ABSL_FLAG(double, seconds, 5, "how long logins and messages run");
ABSL_FLAG(int, connections, 1000, "idle: how many connections to hold");
ABSL_FLAG(int, server_pid, 0, "idle: the server's pid, for its VmRSS");
ABSL_FLAG(std::vector<std::string>, sources, {"127.0.0.1"},
          "comma-separated local IPv4 addresses to connect from, in turn "
          "(one address has ~28k ephemeral ports towards one server port)");

namespace talkcheck::bench {
namespace {

using Clock = LoadClock;

LoadTarget Target() {
  return {absl::GetFlag(FLAGS_server), absl::GetFlag(FLAGS_domain),
          absl::GetFlag(FLAGS_password), absl::GetFlag(FLAGS_sources)};
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1,
                         static_cast<size_t>(p * values.size()))];
}

// A rate needs a sample: a window that ends before the first login or round
// trip completes (a loaded or sanitized build) runs on until one does, at most
// kFirstSampleLimit, instead of printing a rate of 0.
constexpr std::chrono::seconds kFirstSampleLimit(30);

bool Measuring(Clock::time_point start, Clock::time_point now,
               Clock::time_point end, size_t samples, const char* what) {
  if (now < end) return true;
  if (samples > 0) return false;
  if (now - start > kFirstSampleLimit)
    Die(absl::StrCat("no ", what, " completed in ", kFirstSampleLimit.count(),
                     " s"));
  return true;
}

void RunLogins() {
  LoadClients clients(Target());
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  const std::string user = absl::GetFlag(FLAGS_user);
  std::vector<double> ms;
  for (int i = 0; i < in_flight; ++i) clients.Open(user);
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(absl::GetFlag(FLAGS_seconds)));
  Clock::time_point now = start;
  while (Measuring(start, now, end, ms.size(), "login")) {
    clients.Poll(
        10,
        [&](Conn* conn) {
          ms.push_back(Seconds(Clock::now() - conn->started) * 1e3);
          clients.Close(conn);
          clients.Open(user);
        },
        [](Conn*) {});
    now = Clock::now();
  }
  std::printf(
      "logins=%zu seconds=%.3f logins_per_s=%.1f p50_ms=%.3f "
      "p99_ms=%.3f\n",
      ms.size(), Seconds(now - start), ms.size() / Seconds(now - start),
      Percentile(ms, 0.5), Percentile(ms, 0.99));
}

// Bodies are the message's sequence number; sent_at[n] its send time.
void RunMessages() {
  LoadClients clients(Target());
  const std::string domain = absl::GetFlag(FLAGS_domain);
  Conn* a = clients.Open(absl::GetFlag(FLAGS_user));
  Conn* b = clients.Open(absl::GetFlag(FLAGS_user2));
  int ready = 0;
  while (ready < 2) {
    clients.Poll(
        100, [&](Conn*) { ++ready; }, [](Conn*) {});
  }
  const std::string a_jid =
      absl::StrCat(absl::GetFlag(FLAGS_user), "@", domain, "/", a->resource);
  const std::string b_jid =
      absl::StrCat(absl::GetFlag(FLAGS_user2), "@", domain, "/", b->resource);
  std::vector<Clock::time_point> sent_at;
  auto send_next = [&] {
    clients.Send(
        a, absl::StrCat("<message to='", b_jid, "' type='chat'>", "<body>",
                        sent_at.size(), "</body></message>"));
    sent_at.push_back(Clock::now());
  };
  // Each complete <message/> in `conn->in`: its body, consumed.
  auto for_each_body = [](Conn* conn, auto fn) {
    for (;;) {
      size_t end = conn->in.find("</message>");
      if (end == std::string::npos) return;
      size_t open = conn->in.find("<body>");
      size_t close = conn->in.find("</body>");
      if (open == std::string::npos || close == std::string::npos ||
          close > end) {
        Die("message without a body: " + conn->in.substr(0, end));
      }
      fn(conn->in.substr(open + 6, close - open - 6));
      conn->in.erase(0, end + 10);
    }
  };
  std::vector<double> ms;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(absl::GetFlag(FLAGS_seconds)));
  for (int i = 0; i < absl::GetFlag(FLAGS_in_flight); ++i) send_next();
  Clock::time_point now = start;
  while (Measuring(start, now, end, ms.size(), "round trip")) {
    clients.Poll(
        10, [](Conn*) {},
        [&](Conn* conn) {
          if (conn == b) {
            for_each_body(b, [&](const std::string& body) {
              clients.Send(b, absl::StrCat("<message to='", a_jid,
                                           "' type='chat'><body>", body,
                                           "</body></message>"));
            });
            return;
          }
          for_each_body(a, [&](const std::string& body) {
            size_t n = 0;
            if (!absl::SimpleAtoi(body, &n) || n >= sent_at.size()) {
              Die("unexpected body " + body);
            }
            ms.push_back(Seconds(Clock::now() - sent_at[n]) * 1e3);
            send_next();
          });
        });
    now = Clock::now();
  }
  const double elapsed = Seconds(now - start);
  std::printf(
      "round_trips=%zu seconds=%.3f messages_per_s=%.1f p50_ms=%.3f "
      "p99_ms=%.3f\n",
      ms.size(), elapsed, 2 * ms.size() / elapsed, Percentile(ms, 0.5),
      Percentile(ms, 0.99));
}

long RssKb(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    long kb = 0;
    if (absl::StartsWith(line, "VmRSS:") &&
        absl::SimpleAtoi(
            absl::StripAsciiWhitespace(absl::StripSuffix(line.substr(6), "kB")),
            &kb)) {
      return kb;
    }
  }
  Die(absl::StrCat("no VmRSS for pid ", pid));
}

void RunIdle() {
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int target = absl::GetFlag(FLAGS_connections);
  if (pid <= 0) Die("--mode=idle needs --server_pid");
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < static_cast<rlim_t>(target) + 16) {
    Die(absl::StrCat("RLIMIT_NOFILE ", limit.rlim_cur, " is below ", target));
  }
  const long before_kb = RssKb(pid);
  LoadClients clients(Target());
  const std::string user = absl::GetFlag(FLAGS_user);
  const int in_flight = std::max(1, absl::GetFlag(FLAGS_in_flight));
  int opened = 0;
  int ready = 0;
  const Clock::time_point start = Clock::now();
  for (; opened < std::min(in_flight, target); ++opened) clients.Open(user);
  while (ready < target) {
    clients.Poll(
        100,
        [&](Conn*) {
          ++ready;
          if (opened < target) {
            clients.Open(user);
            ++opened;
          }
        },
        [](Conn* conn) { conn->in.clear(); });
  }
  const double login_seconds = Seconds(Clock::now() - start);
  // Let the server settle (buffers freed, GC run) before reading its RSS.
  const Clock::time_point settle = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < settle) {
    clients.Poll(
        100, [](Conn*) {}, [](Conn* conn) { conn->in.clear(); });
  }
  const long after_kb = RssKb(pid);
  std::printf(
      "connections=%d rss_before_kb=%ld rss_after_kb=%ld "
      "bytes_per_conn=%.0f login_seconds=%.2f\n",
      target, before_kb, after_kb, (after_kb - before_kb) * 1024.0 / target,
      login_seconds);
}

}  // namespace
}  // namespace talkcheck::bench

int main(int argc, char** argv) {
  talkcheck::ParseCommandLine(
      argc, argv, "harness/bench/xmpp_load",
      "xmpp_load: drives an XMPP server on loopback with logins, routed "
      "messages or idle logged-in connections and prints the figures as "
      "key=value pairs (tools/load_vs_prosody.sh runs it against the fake "
      "server and Prosody).");
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "logins") {
    talkcheck::bench::RunLogins();
  } else if (mode == "messages") {
    talkcheck::bench::RunMessages();
  } else if (mode == "idle") {
    talkcheck::bench::RunIdle();
  } else {
    talkcheck::bench::Die("--mode must be logins, messages or idle");
  }
  return 0;
}

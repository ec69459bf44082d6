// The floor under tools/load_vs_prosody.sh's messages rows: the same shape of
// load (generator connection A -> relay -> generator connection B, B sends it
// back -> relay -> A, K messages in flight) through a relay that does no XMPP
// at all, only poll, read and write. A server cannot beat this on the same
// machine, so its row says how much of a figure is the kernel's.
//
//   raw_tcp_relay --role=relay --port=P           # pin to one core
//   raw_tcp_relay --role=load --port=P --in_flight=1 --seconds=5
//
// The load side prints one line in xmpp_load's format:
//   round_trips=N seconds=S messages_per_s=M p50_ms=X p99_ms=Y
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "base/flag_help.h"

ABSL_FLAG(std::string, role, "load", "relay (forwards bytes) or load");
ABSL_FLAG(int, port, 5299, "the relay's port on 127.0.0.1");
ABSL_FLAG(int, in_flight, 1, "load: messages in flight at once");
ABSL_FLAG(double, seconds, 5, "load: how long to run");
ABSL_FLAG(int, message_bytes, 100, "load: size of each message");

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Accepts the generator's two connections and forwards each one's bytes to
// the other until either closes.
int Relay(int port) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in address = Loopback(port);
  if (bind(listener, reinterpret_cast<const sockaddr*>(&address),
           sizeof address) != 0 ||
      listen(listener, 4) != 0) {
    std::perror("raw_tcp_relay: bind/listen");
    return 1;
  }
  int peers[2];
  for (int& peer : peers) {
    peer = accept(listener, nullptr, nullptr);
    NoDelay(peer);
  }
  pollfd fds[2] = {{peers[0], POLLIN, 0}, {peers[1], POLLIN, 0}};
  std::vector<char> buffer(64 * 1024);
  while (poll(fds, 2, -1) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = read(peers[i], buffer.data(), buffer.size());
      if (n <= 0 || !WriteAll(peers[1 - i], buffer.data(), n)) return 0;
    }
  }
  return 0;
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in address = Loopback(port);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address),
              sizeof address) != 0) {
    std::perror("raw_tcp_relay: connect");
    return -1;
  }
  NoDelay(fd);
  return fd;
}

// Reads whole messages from `fd` into `pending`; returns how many completed.
int ReadMessages(int fd, std::string& pending, size_t message_bytes) {
  char buffer[64 * 1024];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  if (n <= 0) return -1;
  pending.append(buffer, static_cast<size_t>(n));
  const int complete = static_cast<int>(pending.size() / message_bytes);
  pending.erase(0, complete * message_bytes);
  return complete;
}

int Load(int port, int in_flight, double seconds, size_t message_bytes) {
  const int a = Connect(port);
  if (a < 0) return 1;
  // The relay accepts in order: A is its first connection.
  usleep(20000);
  const int b = Connect(port);
  if (b < 0) return 1;
  const std::string message(message_bytes, 'x');
  std::deque<Clock::time_point> sent;  // A's messages in flight, in order
  std::vector<double> round_trips_ms;
  std::string from_a, from_b;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(seconds));
  for (int i = 0; i < in_flight; ++i) {
    sent.push_back(Clock::now());
    WriteAll(a, message.data(), message.size());
  }
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  while (Clock::now() < end) {
    if (poll(fds, 2, 1000) <= 0) continue;
    if (fds[1].revents != 0) {  // B sends each message back at once
      const int n = ReadMessages(b, from_b, message_bytes);
      if (n < 0) return 1;
      for (int i = 0; i < n; ++i) WriteAll(b, message.data(), message.size());
    }
    if (fds[0].revents != 0) {  // A: a round trip ended; start the next
      const int n = ReadMessages(a, from_a, message_bytes);
      if (n < 0) return 1;
      for (int i = 0; i < n; ++i) {
        const Clock::time_point now = Clock::now();
        round_trips_ms.push_back(
            std::chrono::duration<double, std::milli>(now - sent.front())
                .count());
        sent.pop_front();
        sent.push_back(now);
        WriteAll(a, message.data(), message.size());
      }
    }
  }
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  if (round_trips_ms.empty()) {
    std::fprintf(stderr, "raw_tcp_relay: no round trip completed\n");
    return 1;
  }
  std::sort(round_trips_ms.begin(), round_trips_ms.end());
  const size_t count = round_trips_ms.size();
  std::printf(
      "round_trips=%zu seconds=%.3f messages_per_s=%.1f p50_ms=%.3f "
      "p99_ms=%.3f\n",
      count, elapsed, 2 * count / elapsed, round_trips_ms[count / 2],
      round_trips_ms[std::min(count - 1, count * 99 / 100)]);
  close(a);
  close(b);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  talkcheck::ParseCommandLine(
      argc, argv, "harness/bench/raw_tcp_relay",
      "raw_tcp_relay: the kernel's floor under the messages rows of "
      "tools/load_vs_prosody.sh (a relay that only forwards bytes, and a "
      "load that bounces messages through it as xmpp_load does)");
  const std::string role = absl::GetFlag(FLAGS_role);
  if (role == "relay") return Relay(absl::GetFlag(FLAGS_port));
  if (role != "load") {
    std::fprintf(stderr, "raw_tcp_relay: --role must be relay or load\n");
    return 2;
  }
  return Load(absl::GetFlag(FLAGS_port),
              std::max(1, absl::GetFlag(FLAGS_in_flight)),
              absl::GetFlag(FLAGS_seconds),
              std::max(1, absl::GetFlag(FLAGS_message_bytes)));
}

// Many XMPP client connections on one epoll, for xmpp_load: each logs in over
// plain TCP (stream header, SASL PLAIN, restart, bind) as a state machine
// over the bytes it received; once bound, the caller drives its traffic.
//
// Replies are found by the end tags a login needs, read as text, which both
// Prosody and the fake server write (docs/protocol-notes.md). Any error (a
// refused connection, a SASL failure, a server closing) ends the process with
// a message: a benchmark with a broken connection has no figures to give.
//
// Example:
//   LoadClients clients({"127.0.0.1:5222", "localhost", "pass",
//   {"127.0.0.1"}}); clients.Open("alice"); clients.Poll(100, [](Conn* c) { /*
//   bound */ }, [](Conn* c) { /* data */ });
#ifndef TALKCHECK_HARNESS_BENCH_XMPP_LOAD_CLIENTS_H_
#define TALKCHECK_HARNESS_BENCH_XMPP_LOAD_CLIENTS_H_

#include <netinet/in.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace talkcheck::bench {

using LoadClock = std::chrono::steady_clock;

// Prints "xmpp_load: MESSAGE" to stderr and exits 1.
[[noreturn]] void Die(const std::string& message);

struct LoadTarget {
  std::string server;                // IPv4:PORT
  std::string domain;                // the stream header's `to`
  std::string password;              // every account's
  std::vector<std::string> sources;  // local IPv4 addresses, used in turn
};

// One client connection.
struct Conn {
  enum State { kConnecting, kFeatures1, kSuccess, kFeatures2, kBind, kReady };
  int fd = -1;
  State state = kConnecting;
  std::string user;
  std::string resource;  // unique per LoadClients
  std::string in;        // received, not yet consumed
  std::string out;       // not yet written (the socket was full)
  LoadClock::time_point started;
};

class LoadClients {
 public:
  explicit LoadClients(LoadTarget target);
  ~LoadClients();
  LoadClients(const LoadClients&) = delete;
  LoadClients& operator=(const LoadClients&) = delete;

  // Starts a login of `user` (Poll() moves it on).
  Conn* Open(const std::string& user);
  // Closes with a reset: a login benchmark closing normally would leave
  // thousands of TIME_WAIT sockets holding the generator's ephemeral ports.
  void Close(Conn* conn);
  // Writes `bytes` now, or queues what the socket does not take.
  void Send(Conn* conn, absl::string_view bytes);
  // Waits up to `timeout_ms` and advances every connection with news. Calls
  // `on_ready(conn)` for a login just bound and `on_data(conn)` when a bound
  // connection received bytes (in `conn->in`).
  void Poll(int timeout_ms, const std::function<void(Conn*)>& on_ready,
            const std::function<void(Conn*)>& on_data);

 private:
  std::string Header() const;
  void Writable(Conn* conn);
  // Moves a login on as far as the bytes received allow; true once bound.
  bool Advance(Conn* conn);

  LoadTarget target_;
  int epoll_;
  sockaddr_in server_{};
  std::vector<sockaddr_in> sources_;
  size_t next_source_ = 0;
  int resources_ = 0;
  std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace talkcheck::bench

#endif  // TALKCHECK_HARNESS_BENCH_XMPP_LOAD_CLIENTS_H_

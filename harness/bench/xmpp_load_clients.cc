// LoadClients: see xmpp_load_clients.h.
#include "harness/bench/xmpp_load_clients.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace talkcheck::bench {

void Die(const std::string& message) {
  std::fprintf(stderr, "xmpp_load: %s\n", message.c_str());
  std::exit(1);
}

namespace {

const char* StateName(Conn::State state) {
  static const char* const kNames[] = {
      "connect", "features", "SASL", "features after SASL", "bind", "ready"};
  return kNames[state];
}

// False at EOF or error.
bool ReadAll(Conn* conn) {
  char buffer[16384];
  for (;;) {
    ssize_t n = read(conn->fd, buffer, sizeof(buffer));
    if (n > 0) {
      conn->in.append(buffer, n);
      continue;
    }
    return n < 0 && errno == EAGAIN;
  }
}

// Consumes `in` through the first `needle`; false if it has not arrived.
bool Consume(Conn* conn, absl::string_view needle) {
  size_t at = conn->in.find(needle.data(), 0, needle.size());
  if (at == std::string::npos) return false;
  conn->in.erase(0, at + needle.size());
  return true;
}

// The stream features' end tag, prefixed or not.
bool ConsumeFeatures(Conn* conn) {
  return Consume(conn, "</stream:features>") || Consume(conn, "</features>");
}

}  // namespace

LoadClients::LoadClients(LoadTarget target)
    : target_(std::move(target)), epoll_(epoll_create1(0)) {
  if (epoll_ < 0) Die("epoll_create1");
  std::vector<std::string> host_port = absl::StrSplit(target_.server, ':');
  int port = 0;
  if (host_port.size() != 2 || !absl::SimpleAtoi(host_port[1], &port) ||
      inet_pton(AF_INET, host_port[0].c_str(), &server_.sin_addr) != 1) {
    Die("--server must be IPv4:PORT");
  }
  server_.sin_family = AF_INET;
  server_.sin_port = htons(port);
  for (const std::string& source : target_.sources) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (inet_pton(AF_INET, source.c_str(), &address.sin_addr) != 1) {
      Die("bad --sources address " + source);
    }
    sources_.push_back(address);
  }
  if (sources_.empty()) Die("no --sources address");
}

LoadClients::~LoadClients() {
  for (const auto& conn : conns_) close(conn->fd);
  close(epoll_);
}

Conn* LoadClients::Open(const std::string& user) {
  auto conn = std::make_unique<Conn>();
  conn->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (conn->fd < 0) Die(absl::StrCat("socket: ", std::strerror(errno)));
  int one = 1;
  setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // The port is chosen at connect(), per destination: without this, bind()
  // picks it alone and one source address gives ~28k connections in all.
  setsockopt(conn->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  const sockaddr_in& source = sources_[next_source_++ % sources_.size()];
  if (bind(conn->fd, reinterpret_cast<const sockaddr*>(&source),
           sizeof(source)) != 0) {
    Die(absl::StrCat("bind: ", std::strerror(errno)));
  }
  if (connect(conn->fd, reinterpret_cast<const sockaddr*>(&server_),
              sizeof(server_)) != 0 &&
      errno != EINPROGRESS) {
    Die(absl::StrCat("connect: ", std::strerror(errno)));
  }
  conn->user = user;
  conn->resource = absl::StrCat("r", ++resources_);
  conn->started = LoadClock::now();
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT;
  event.data.ptr = conn.get();
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, conn->fd, &event) != 0) Die("epoll");
  Conn* raw = conn.get();
  conns_.push_back(std::move(conn));
  return raw;
}

void LoadClients::Close(Conn* conn) {
  linger reset{1, 0};
  setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(conn->fd);
  conns_.erase(std::find_if(conns_.begin(), conns_.end(),
                            [conn](const auto& c) { return c.get() == conn; }));
}

void LoadClients::Send(Conn* conn, absl::string_view bytes) {
  if (conn->out.empty()) {
    ssize_t n = write(conn->fd, bytes.data(), bytes.size());
    if (n < 0 && errno != EAGAIN) {
      Die(absl::StrCat("write: ", std::strerror(errno)));
    }
    bytes.remove_prefix(n < 0 ? 0 : n);
  }
  if (bytes.empty()) return;
  conn->out.append(bytes.data(), bytes.size());
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT;
  event.data.ptr = conn;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, conn->fd, &event);
}

void LoadClients::Poll(int timeout_ms,
                       const std::function<void(Conn*)>& on_ready,
                       const std::function<void(Conn*)>& on_data) {
  epoll_event events[256];
  int n = epoll_wait(epoll_, events, 256, timeout_ms);
  for (int i = 0; i < n; ++i) {
    Conn* conn = static_cast<Conn*>(events[i].data.ptr);
    if (events[i].events & EPOLLOUT) Writable(conn);
    if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      if (!ReadAll(conn)) {
        Die(absl::StrCat(
            "server closed a connection (", StateName(conn->state),
            "), received: ", absl::CEscape(conn->in.substr(0, 400))));
      }
      if (conn->state != Conn::kReady) {
        if (Advance(conn)) on_ready(conn);
      } else {
        on_data(conn);
      }
    }
  }
}

std::string LoadClients::Header() const {
  return absl::StrCat(
      "<?xml version='1.0'?><stream:stream to='", target_.domain,
      "' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
      "streams' version='1.0'>");
}

void LoadClients::Writable(Conn* conn) {
  if (conn->state == Conn::kConnecting) {
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) Die(absl::StrCat("connect: ", std::strerror(error)));
    conn->state = Conn::kFeatures1;
    Send(conn, Header());
  } else if (!conn->out.empty()) {
    std::string rest = std::move(conn->out);
    conn->out.clear();
    Send(conn, rest);
  }
  // Level-triggered EPOLLOUT only while bytes wait.
  epoll_event event{};
  event.events =
      EPOLLIN | (conn->out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
  event.data.ptr = conn;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, conn->fd, &event);
}

bool LoadClients::Advance(Conn* conn) {
  for (;;) {
    switch (conn->state) {
      case Conn::kConnecting:
      case Conn::kReady:
        return false;
      case Conn::kFeatures1:
        if (!ConsumeFeatures(conn)) return false;
        Send(conn,
             absl::StrCat("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                          "mechanism='PLAIN'>",
                          absl::Base64Escape(absl::StrCat(
                              std::string(1, '\0'), conn->user,
                              std::string(1, '\0'), target_.password)),
                          "</auth>"));
        conn->state = Conn::kSuccess;
        break;
      case Conn::kSuccess:
        if (conn->in.find("<failure") != std::string::npos) {
          Die("SASL failure for " + conn->user + ": " + conn->in);
        }
        if (!Consume(conn, "<success")) return false;
        Send(conn, Header());
        conn->state = Conn::kFeatures2;
        break;
      case Conn::kFeatures2:
        if (!ConsumeFeatures(conn)) return false;
        Send(conn, absl::StrCat("<iq type='set' id='bind'><bind "
                                "xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                                "<resource>",
                                conn->resource, "</resource></bind></iq>"));
        conn->state = Conn::kBind;
        break;
      case Conn::kBind:
        if (conn->in.find("type='error'") != std::string::npos ||
            conn->in.find("type=\"error\"") != std::string::npos) {
          Die("bind refused: " + conn->in);
        }
        if (!Consume(conn, "</jid>")) return false;
        Consume(conn, "</iq>");
        conn->state = Conn::kReady;
        return true;
    }
  }
}
}  // namespace talkcheck::bench

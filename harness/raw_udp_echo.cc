#include "harness/raw_udp_echo.h"

#include <algorithm>
#include <array>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <utility>

#include "absl/time/clock.h"

namespace talkcheck::harness::bench {

namespace asio = boost::asio;

namespace {

// The datagram: as large as a PCMU packet (RTP header + 160 bytes).
constexpr std::array<char, 12 + 160> kRawDatagram{};

}  // namespace

// Owned by the vectors and by every pending handler, so a completion that
// is already queued when the socket closes still finds it.
struct RawUdpEcho::Socket {
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

RawUdpEcho::RawUdpEcho(IoThreads& threads, int n) : threads_(threads), n_(n) {}

RawUdpEcho::~RawUdpEcho() {
  IoThreads::RunOn(threads_.client(), [this] { CloseAll(b_); });
  IoThreads::RunOn(threads_.peer(), [this] { CloseAll(a_); });
}

absl::Status RawUdpEcho::SetUp() {
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

Counts RawUdpEcho::counts() const {
  Counts total;
  for (int i = 0; i < n_; ++i) {
    total.to_client.sent += a_[i]->sent;
    total.to_client.received += b_[i]->received;
    total.to_peer.sent += b_[i]->sent;
    total.to_peer.received += a_[i]->received;
  }
  return total;
}

void RawUdpEcho::CloseAll(std::vector<SocketPtr>& sockets) {
  for (const SocketPtr& s : sockets) {
    boost::system::error_code ignored;
    s->socket.close(ignored);
    s->timer.cancel();
  }
  sockets.clear();
}

// b: every datagram goes back where it came from.
void RawUdpEcho::Echo(SocketPtr b) {
  Socket& s = *b;
  s.socket.async_receive_from(
      asio::buffer(s.buffer), s.remote,
      [b = std::move(b)](const boost::system::error_code& ec, size_t size) {
        if (!b->socket.is_open()) return;
        if (!ec) {
          ++b->received;
          boost::system::error_code send_ec;
          b->socket.send_to(asio::buffer(b->buffer.data(), size), b->remote, 0,
                            send_ec);
          if (!send_ec) ++b->sent;
        }
        Echo(std::move(b));
      });
}

// a: counts what comes back.
void RawUdpEcho::Count(SocketPtr a) {
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
void RawUdpEcho::Tick(SocketPtr a, int64_t frame) {
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

}  // namespace talkcheck::harness::bench

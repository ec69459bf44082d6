#include "harness/bench/raw_udp_echo.h"

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

// b: a kernel socket of its own. Owned by b_ and by its pending receive, so
// a completion already queued when the socket closes still finds it.
struct RawUdpEcho::Echoer {
  explicit Echoer(asio::io_context& io) : socket(io) {}
  asio::ip::udp::socket socket;
  asio::ip::udp::endpoint remote;  // the last sender
  std::array<char, 1500> buffer;
  uint64_t sent = 0;
  uint64_t received = 0;
};

// a: a socket from a_network_ and its frame timer. Owned by a_ and by the
// pending timer.
struct RawUdpEcho::Sender {
  explicit Sender(asio::io_context& io) : timer(io) {}
  std::unique_ptr<media_sim::DatagramSocket> socket;
  asio::steady_timer timer;
  asio::ip::udp::endpoint remote;  // its b
  std::chrono::steady_clock::time_point first_tick;
  uint64_t sent = 0;
  uint64_t received = 0;
};

RawUdpEcho::RawUdpEcho(IoThreads& threads, int n, PeerMedia a_media)
    : threads_(threads), n_(n), a_media_(a_media) {}

RawUdpEcho::~RawUdpEcho() {
  IoThreads::RunOn(threads_.client(), [this] {
    for (const EchoerPtr& b : b_) {
      boost::system::error_code ignored;
      b->socket.close(ignored);
    }
    b_.clear();
  });
  IoThreads::RunOn(threads_.peer(), [this] {
    for (const SenderPtr& a : a_) {
      a->timer.cancel();
      a->socket.reset();
    }
    a_.clear();
    shared_a_network_ = nullptr;
    a_network_.reset();
  });
}

absl::Status RawUdpEcho::SetUp() {
  const asio::ip::udp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
  absl::Status status = IoThreads::RunOn(threads_.client(), [&] {
    for (int i = 0; i < n_; ++i) {
      b_.push_back(std::make_shared<Echoer>(threads_.client()));
      boost::system::error_code ec;
      b_.back()->socket.open(any.protocol(), ec);
      if (!ec) b_.back()->socket.bind(any, ec);
      if (ec) return absl::UnavailableError("UDP bind: " + ec.message());
      Echo(b_.back());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  status = IoThreads::RunOn(threads_.peer(), [&]() -> absl::Status {
    if (a_media_.sockets > 0) {
      auto shared = std::make_unique<media_sim::SharedUdpNetwork>(
          threads_.peer(), a_media_.sockets, a_media_.send_delay);
      shared_a_network_ = shared.get();
      a_network_ = std::move(shared);
    } else {
      a_network_ = std::make_unique<media_sim::UdpNetwork>(threads_.peer());
    }
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n_; ++i) {
      a_.push_back(std::make_shared<Sender>(threads_.peer()));
      Sender& a = *a_.back();
      absl::StatusOr<std::unique_ptr<media_sim::DatagramSocket>> socket =
          a_network_->Bind("127.0.0.1");
      if (!socket.ok()) return socket.status();
      a.socket = *std::move(socket);
      // Counts what comes back; the view owns the handler, `a` the view.
      a.socket->SetReceiveHandler(
          [&a](absl::string_view, const media_sim::UdpEndpoint&) {
            ++a.received;
          });
      a.remote = b_[i]->socket.local_endpoint();
      // On one grid as the peers' frames, or spread over the frame, as calls
      // that start at different times are.
      a.first_tick = start + (a_media_.common_frame_clock
                                  ? std::chrono::nanoseconds(0)
                                  : absl::ToChronoNanoseconds(kFrame) * i / n_);
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
  total.peer_batching = BatchingOf(shared_a_network_);
  return total;
}

void RawUdpEcho::FlushPeer() {
  if (shared_a_network_ != nullptr) shared_a_network_->Flush();
}

// b: every datagram goes back where it came from.
void RawUdpEcho::Echo(EchoerPtr b) {
  Echoer& s = *b;
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

// a: the datagram of `frame`, then the next frame that is still ahead (a
// late timer skips frames rather than bursting, as CallMedia does).
void RawUdpEcho::Tick(SenderPtr a, int64_t frame) {
  const auto frame_length = absl::ToChronoNanoseconds(kFrame);
  Sender& s = *a;
  s.timer.expires_at(s.first_tick + frame_length * frame);
  s.timer.async_wait([a = std::move(a), frame,
                      frame_length](const boost::system::error_code& ec) {
    if (ec || a->socket == nullptr) return;
    a->socket->SendTo(
        absl::string_view(kRawDatagram.data(), kRawDatagram.size()), a->remote);
    ++a->sent;  // best effort, as a UDP send is: the receiver counts loss
    const int64_t due =
        (std::chrono::steady_clock::now() - a->first_tick) / frame_length + 1;
    Tick(std::move(a), std::max(frame + 1, due));
  });
}

}  // namespace talkcheck::harness::bench

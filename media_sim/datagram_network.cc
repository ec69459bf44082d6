#include "media_sim/datagram_network.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

constexpr size_t kMaxDatagram = 65536;
constexpr uint32_t kFirstInMemoryPort = 20000;
constexpr uint32_t kLastPort = 65535;

// Datagrams a UdpSocket reads per readiness before it yields to the others.
constexpr int kReadsPerWakeup = 16;

// Set around a UdpSocket's receive handler (CurrentDatagramQueueDelay).
thread_local absl::Duration current_queue_delay = absl::ZeroDuration();

absl::StatusOr<asio::ip::address> ParseAddress(const std::string& address) {
  boost::system::error_code ec;
  asio::ip::address parsed = asio::ip::make_address(address, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("address \"", address, "\": ", ec.message()));
  }
  return parsed;
}

using ReceiveHandler =
    std::function<void(absl::string_view, const UdpEndpoint&)>;

// A kernel UDP socket with one receive always pending once a handler is set.
class UdpSocket : public DatagramSocket {
 public:
  explicit UdpSocket(asio::io_context& io) : socket_(io) {}
  ~UdpSocket() override {
    *alive_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  boost::system::error_code Open(const asio::ip::address& address) {
    boost::system::error_code ec;
    socket_.open(address.is_v4() ? udp::v4() : udp::v6(), ec);
    if (!ec) socket_.bind(udp::endpoint(address, 0), ec);
    if (!ec) local_ = socket_.local_endpoint(ec);
    // The kernel's receive time on each datagram: without it a measurement
    // would count the harness's own late reads as the sender's jitter.
    const int on = 1;
    if (!ec) {
      timestamps_ = setsockopt(socket_.native_handle(), SOL_SOCKET,
                               SO_TIMESTAMPNS, &on, sizeof(on)) == 0;
    }
    return ec;
  }

  // DatagramSocket implementation.
  UdpEndpoint local_endpoint() const override { return local_; }
  bool SendTo(absl::string_view datagram, const UdpEndpoint& to) override {
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(datagram.data(), datagram.size()), to, 0, ec);
    return !ec;
  }
  void SetReceiveHandler(ReceiveHandler handler) override {
    const bool armed = handler_ != nullptr;
    handler_ = handler
                   ? std::make_shared<const ReceiveHandler>(std::move(handler))
                   : nullptr;
    if (!armed && handler_ != nullptr) StartRead();
  }

 private:
  void StartRead() {
    // Readiness, then recvmsg: asio's receive gives no control messages (the
    // kernel's timestamp). Each wakeup reads what is queued, up to a bound:
    // one datagram per wait costs a reactor round trip each, and a flood
    // then starved the other sockets of the thread (media_bad_input_test).
    socket_.async_wait(
        udp::socket::wait_read,
        [this, alive = alive_](const boost::system::error_code& ec) {
          if (!*alive || ec == asio::error::operation_aborted) return;
          for (int i = 0; !ec && i < kReadsPerWakeup; ++i) {
            const bool read = ReadOne();
            if (!*alive) return;
            if (!read) break;
          }
          StartRead();
        });
  }

  // Reads one datagram if there is one and hands it to the handler (which may
  // destroy this socket); false when there was none. Errors (an ICMP port
  // unreachable reported on the socket) drop nothing that arrived.
  bool ReadOne() {
    sockaddr_storage from{};
    iovec data{buffer_->data(), buffer_->size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr message{};
    message.msg_name = &from;
    message.msg_namelen = sizeof(from);
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    const ssize_t size =
        recvmsg(socket_.native_handle(), &message, MSG_DONTWAIT);
    if (size < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    absl::Duration delay = absl::ZeroDuration();
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); timestamps_ && c != nullptr;
         c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec received;
        std::memcpy(&received, CMSG_DATA(c), sizeof(received));
        delay = std::max(absl::ZeroDuration(),
                         absl::Now() - absl::TimeFromTimespec(received));
      }
    }
    udp::endpoint sender;
    const size_t from_size =
        std::min<size_t>(message.msg_namelen, sender.capacity());
    std::memcpy(sender.data(), &from, from_size);
    sender.resize(from_size);
    // Shared, not copied per datagram: the handler may destroy this socket.
    const std::shared_ptr<const ReceiveHandler> handler = handler_;
    const std::shared_ptr<const std::vector<char>> buffer = buffer_;
    current_queue_delay = delay;
    (*handler)(absl::string_view(buffer->data(), static_cast<size_t>(size)),
               sender);
    current_queue_delay = absl::ZeroDuration();
    return true;
  }

  udp::socket socket_;
  UdpEndpoint local_;
  std::shared_ptr<const ReceiveHandler> handler_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<std::vector<char>> buffer_ =
      std::make_shared<std::vector<char>>(kMaxDatagram);
  bool timestamps_ = false;
};

}  // namespace

absl::Duration CurrentDatagramQueueDelay() { return current_queue_delay; }

UdpNetwork::UdpNetwork(asio::io_context& io) : io_(io) {}

absl::StatusOr<std::unique_ptr<DatagramSocket>> UdpNetwork::Bind(
    const std::string& address) {
  absl::StatusOr<asio::ip::address> parsed = ParseAddress(address);
  if (!parsed.ok()) return parsed.status();
  auto socket = std::make_unique<UdpSocket>(io_);
  if (const boost::system::error_code ec = socket->Open(*parsed)) {
    return absl::UnavailableError(
        absl::StrCat("UDP bind on ", address, ": ", ec.message()));
  }
  return std::unique_ptr<DatagramSocket>(std::move(socket));
}

// ---------------------------------------------------------------------------
// InMemoryNetwork

struct InMemoryNetwork::State {
  explicit State(Clock& clock) : clock(clock) {}

  void Deliver(uint64_t id, const UdpEndpoint& from, const UdpEndpoint& to,
               const std::string& datagram);

  Clock& clock;
  FateFunction fate;
  uint32_t next_port = kFirstInMemoryPort;
  // By port: Bind never gives two sockets the same port, whatever their
  // address, and a hash of the port is cheaper per datagram than ordering
  // endpoints.
  absl::flat_hash_map<uint16_t, Socket*> sockets;
  // Delivery timers by datagram; destroying the state cancels them.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Timer>> in_flight;
  uint64_t next_id = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t undeliverable = 0;
};

class InMemoryNetwork::Socket : public DatagramSocket {
 public:
  Socket(std::weak_ptr<State> state, UdpEndpoint local)
      : state_(std::move(state)), local_(std::move(local)) {}
  ~Socket() override {
    if (std::shared_ptr<State> state = state_.lock()) {
      state->sockets.erase(local_.port());
    }
  }

  // DatagramSocket implementation.
  UdpEndpoint local_endpoint() const override { return local_; }
  bool SendTo(absl::string_view datagram, const UdpEndpoint& to) override;
  void SetReceiveHandler(ReceiveHandler handler) override {
    handler_ = std::move(handler);
  }

  const ReceiveHandler& handler() const { return handler_; }

 private:
  std::weak_ptr<State> state_;
  const UdpEndpoint local_;
  ReceiveHandler handler_;
};

bool InMemoryNetwork::Socket::SendTo(absl::string_view datagram,
                                     const UdpEndpoint& to) {
  std::shared_ptr<State> state = state_.lock();
  if (state == nullptr) return false;  // the network is gone
  Fate fate;
  if (state->fate) fate = state->fate(local_, to, datagram);
  if (fate.drop) {
    ++state->dropped;
    return false;
  }
  const uint64_t id = state->next_id++;
  // The timer holds the state weakly: the state owns the timer.
  state->in_flight[id] = state->clock.CallAfter(
      fate.delay, [weak = std::weak_ptr<State>(state), id, from = local_, to,
                   data = std::string(datagram)] {
        if (std::shared_ptr<State> state = weak.lock()) {
          state->Deliver(id, from, to, data);
        }
      });
  return true;
}

void InMemoryNetwork::State::Deliver(uint64_t id, const UdpEndpoint& from,
                                     const UdpEndpoint& to,
                                     const std::string& datagram) {
  in_flight.erase(id);  // the timer has fired; its handle may go
  const auto it = sockets.find(to.port());
  if (it == sockets.end() || it->second->local_endpoint() != to ||
      !it->second->handler() ||
      from.address().is_v4() != to.address().is_v4()) {
    ++undeliverable;
    return;
  }
  ++delivered;
  // A copy: the handler may destroy the socket, or the network.
  ReceiveHandler handler = it->second->handler();
  handler(datagram, from);
}

InMemoryNetwork::InMemoryNetwork(Clock& clock)
    : state_(std::make_shared<State>(clock)) {}

InMemoryNetwork::~InMemoryNetwork() = default;

void InMemoryNetwork::set_fate(FateFunction fate) {
  state_->fate = std::move(fate);
}

absl::StatusOr<std::unique_ptr<DatagramSocket>> InMemoryNetwork::Bind(
    const std::string& address) {
  absl::StatusOr<asio::ip::address> parsed = ParseAddress(address);
  if (!parsed.ok()) return parsed.status();
  if (state_->next_port > kLastPort) {
    return absl::ResourceExhaustedError("in-memory network: out of ports");
  }
  const UdpEndpoint local(*parsed,
                          static_cast<unsigned short>(state_->next_port++));
  auto socket = std::make_unique<Socket>(state_, local);
  state_->sockets[local.port()] = socket.get();
  return std::unique_ptr<DatagramSocket>(std::move(socket));
}

uint64_t InMemoryNetwork::delivered() const { return state_->delivered; }
uint64_t InMemoryNetwork::dropped() const { return state_->dropped; }
uint64_t InMemoryNetwork::undeliverable() const {
  return state_->undeliverable;
}
size_t InMemoryNetwork::in_flight() const { return state_->in_flight.size(); }

}  // namespace talkcheck::media_sim

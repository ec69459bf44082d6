#include "media_sim/datagram_network.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/local_ref.h"

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

// The buffers of one recvmmsg. One set per thread serves all of its sockets:
// a batch is handed out before the next wakeup reads (1 MiB per thread, where a
// buffer per socket cost 64 KiB each).
struct ReceiveBatch {
  static constexpr int kSize = kReadsPerWakeup;

  static ReceiveBatch& ForThisThread() {
    thread_local ReceiveBatch batch;
    return batch;
  }

  char* Slot(int i) { return bytes.data() + i * kMaxDatagram; }

  // The headers for the next call (the kernel overwrites lengths).
  void Prepare() {
    for (int i = 0; i < kSize; ++i) {
      data[i] = iovec{Slot(i), kMaxDatagram};
      msghdr& message = headers[i].msg_hdr;
      message = msghdr{};
      message.msg_name = &from[i];
      message.msg_namelen = sizeof(from[i]);
      message.msg_iov = &data[i];
      message.msg_iovlen = 1;
      message.msg_control = control[i].bytes;
      message.msg_controllen = sizeof(control[i].bytes);
      headers[i].msg_len = 0;
    }
  }

  struct alignas(cmsghdr) Control {
    char bytes[CMSG_SPACE(sizeof(timespec))];
  };
  std::vector<char> bytes = std::vector<char>(kSize * kMaxDatagram);
  std::array<sockaddr_storage, kSize> from{};
  std::array<iovec, kSize> data{};
  std::array<Control, kSize> control{};
  std::array<mmsghdr, kSize> headers{};
  bool in_use = false;
};

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
    // Readiness, then recvmmsg: asio's receive gives no control messages (the
    // kernel's timestamp). asio re-arms the wait with EPOLL_CTL_MOD, which
    // reports a socket still readable, so one call per wakeup need not drain
    // it: a datagram costs one system call, where reading until EAGAIN cost
    // two. Up to kReadsPerWakeup per wakeup: one per wait made a flood cost a
    // reactor round trip per datagram and starve the thread's other sockets
    // (media_bad_input_test).
    socket_.async_wait(
        udp::socket::wait_read,
        [this, alive = alive_](const boost::system::error_code& ec) {
          if (!*alive || ec == asio::error::operation_aborted) return;
          if (!ec) {
            ReadQueued();
            if (!*alive) return;
          }
          StartRead();
        });
  }

  // Reads up to kReadsPerWakeup queued datagrams and hands each to the handler
  // (which may destroy this socket). An error reported on the socket (ICMP port
  // unreachable) ends that call and drops nothing that arrived: read again.
  void ReadQueued() {
    // A handler that ran the io_context itself would read into the batch
    // being handed out: it gets one of its own.
    std::unique_ptr<ReceiveBatch> nested;
    ReceiveBatch* shared = &ReceiveBatch::ForThisThread();
    if (shared->in_use) nested = std::make_unique<ReceiveBatch>();
    ReceiveBatch& batch = nested != nullptr ? *nested : *shared;
    batch.in_use = true;
    absl::Cleanup release = [&batch] { batch.in_use = false; };
    // Held here: the handler may destroy this socket, and its members with it.
    const std::shared_ptr<bool> alive = alive_;
    for (int attempt = 0; attempt < 2; ++attempt) {
      batch.Prepare();
      const int count = recvmmsg(socket_.native_handle(), batch.headers.data(),
                                 ReceiveBatch::kSize, MSG_DONTWAIT, nullptr);
      if (count < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        continue;
      }
      for (int i = 0; i < count; ++i) {
        // Shared, not copied: the handler may destroy this socket.
        const std::shared_ptr<const ReceiveHandler> handler = handler_;
        if (handler == nullptr) return;
        const mmsghdr& header = batch.headers[i];
        current_queue_delay = timestamps_
                                  ? QueueDelay(header.msg_hdr, absl::Now())
                                  : absl::ZeroDuration();
        udp::endpoint sender;
        const size_t from_size =
            std::min<size_t>(header.msg_hdr.msg_namelen, sender.capacity());
        std::memcpy(sender.data(), &batch.from[i], from_size);
        sender.resize(from_size);
        (*handler)(absl::string_view(batch.Slot(i), header.msg_len), sender);
        current_queue_delay = absl::ZeroDuration();
        if (!*alive) return;
      }
      return;
    }
  }

  // The time the datagram waited in the kernel, from its SO_TIMESTAMPNS.
  static absl::Duration QueueDelay(const msghdr& message, absl::Time now) {
    for (const cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&message),
                         const_cast<cmsghdr*>(c))) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec received;
        std::memcpy(&received, CMSG_DATA(c), sizeof(received));
        return std::max(absl::ZeroDuration(),
                        now - absl::TimeFromTimespec(received));
      }
    }
    return absl::ZeroDuration();
  }

  udp::socket socket_;
  UdpEndpoint local_;
  std::shared_ptr<const ReceiveHandler> handler_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
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
  ~State();

  void Deliver(uint64_t id);

  Clock& clock;
  FateFunction fate;
  uint32_t next_port = kFirstInMemoryPort;
  // By port: Bind never gives two sockets the same port, whatever their
  // address, and a hash of the port is cheaper per datagram than ordering
  // endpoints.
  absl::flat_hash_map<uint16_t, Socket*> sockets;
  // A datagram on its way. Its timer's callback carries only the id, small
  // enough for no allocation of its own.
  struct InFlight {
    std::unique_ptr<Timer> timer;
    UdpEndpoint from;
    UdpEndpoint to;
    // Not a std::string: trading buffers (Deliver) is three pointers here,
    // and an out-of-line call for a string.
    std::vector<char> data;
  };
  // By id, in order, in a ring: the datagram with id first_in_flight + i
  // (i < window) is at Slot(i). Delays are short, so the window from the
  // oldest undelivered datagram to the newest stays small; delivered ones (no
  // timer) wait there until those before them go. Destroying the state
  // cancels the timers.
  std::vector<InFlight> ring;  // a power of two long, or empty
  size_t head = 0;
  size_t window = 0;
  InFlight& Slot(size_t i) { return ring[(head + i) & (ring.size() - 1)]; }
  // Room for one more at the end of the window, in id order.
  InFlight& Append();
  uint64_t first_in_flight = 0;
  uint64_t next_id = 0;
  size_t in_flight_count = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t undeliverable = 0;
  // The last delivered datagram's buffer, for the next one to trade with.
  std::vector<char> delivered_bytes;
  // Set by a delivery in progress, cleared if the state is destroyed under it.
  bool* alive_while_delivering = nullptr;
};

// Single-threaded, as the network is: the socket knows its network by a plain
// pointer, which the network clears when it goes (a weak_ptr's lock per
// datagram was two atomic operations), and deliveries hold the handler by a
// LocalRef.
class InMemoryNetwork::Socket : public DatagramSocket {
 public:
  Socket(State* state, UdpEndpoint local)
      : state_(state), local_(std::move(local)) {}
  ~Socket() override {
    if (state_ != nullptr) state_->sockets.erase(local_.port());
  }

  // DatagramSocket implementation.
  UdpEndpoint local_endpoint() const override { return local_; }
  // The same without a copy, for each delivery.
  const UdpEndpoint& local() const { return local_; }
  bool SendTo(absl::string_view datagram, const UdpEndpoint& to) override;
  void SetReceiveHandler(ReceiveHandler handler) override {
    handler_ =
        handler ? LocalRef<ReceiveHandler>::Make(std::move(handler)) : nullptr;
  }

  // Shared, so that a delivery can hold it while the handler destroys the
  // socket, without copying the function per datagram.
  const LocalRef<ReceiveHandler>& handler() const { return handler_; }

  // The network is going: nothing more to send or to unregister from.
  void Detach() { state_ = nullptr; }

 private:
  State* state_;
  const UdpEndpoint local_;
  LocalRef<ReceiveHandler> handler_;
};

bool InMemoryNetwork::Socket::SendTo(absl::string_view datagram,
                                     const UdpEndpoint& to) {
  State* const state = state_;
  if (state == nullptr) return false;  // the network is gone
  Fate fate;
  if (state->fate) fate = state->fate(local_, to, datagram);
  if (fate.drop) {
    ++state->dropped;
    return false;
  }
  const uint64_t id = state->next_id++;
  State::InFlight& datagram_in_flight = state->Append();
  ++state->in_flight_count;
  datagram_in_flight.from = local_;
  datagram_in_flight.to = to;
  datagram_in_flight.data.assign(datagram.begin(), datagram.end());
  // The state owns the timer: destroying it cancels the callback, so the raw
  // pointer cannot dangle.
  datagram_in_flight.timer =
      state->clock.CallAfter(fate.delay, [state, id] { state->Deliver(id); });
  return true;
}

InMemoryNetwork::State::~State() {
  if (alive_while_delivering != nullptr) *alive_while_delivering = false;
  for (const auto& [port, socket] : sockets) socket->Detach();
}

InMemoryNetwork::State::InFlight& InMemoryNetwork::State::Append() {
  if (window == ring.size()) {
    std::vector<InFlight> grown(std::max<size_t>(8, 2 * ring.size()));
    for (size_t i = 0; i < window; ++i) grown[i] = std::move(Slot(i));
    ring = std::move(grown);
    head = 0;
  }
  return Slot(window++);
}

void InMemoryNetwork::State::Deliver(uint64_t id) {
  if (id < first_in_flight || id - first_in_flight >= window) return;
  InFlight& slot = Slot(id - first_in_flight);
  if (slot.timer == nullptr) return;  // already delivered
  // Out of the queue: the handler may send (and grow it), or destroy the
  // network. The fired timer's handle goes with it, which leaves the slot
  // without one: delivered. The bytes trade places with the last delivered
  // datagram's, so that the slot keeps a buffer for the next send into it
  // (a fuzz schedule sends hundreds): no allocation per datagram.
  const std::unique_ptr<Timer> fired = std::move(slot.timer);
  const UdpEndpoint from = slot.from;
  const UdpEndpoint to = slot.to;
  std::vector<char> data;
  data.swap(delivered_bytes);
  data.swap(slot.data);
  slot.data.clear();
  --in_flight_count;
  while (window > 0 && ring[head].timer == nullptr) {
    head = (head + 1) & (ring.size() - 1);
    --window;
    ++first_in_flight;
  }
  const auto it = sockets.find(to.port());
  if (it == sockets.end() || !SameEndpoint(it->second->local(), to) ||
      !it->second->handler() || from.protocol() != to.protocol()) {
    ++undeliverable;
    delivered_bytes.swap(data);
    return;
  }
  ++delivered;
  // Held: the handler may destroy the socket, or the network and this state
  // with it (which `alive` then tells).
  const LocalRef<ReceiveHandler> handler = it->second->handler();
  bool alive = true;
  bool* const outer = alive_while_delivering;
  alive_while_delivering = &alive;
  (*handler)(absl::string_view(data.data(), data.size()), from);
  if (!alive) {
    if (outer != nullptr) *outer = false;  // gone for an enclosing delivery too
    return;
  }
  alive_while_delivering = outer;
  delivered_bytes.swap(data);
}

InMemoryNetwork::InMemoryNetwork(Clock& clock)
    : state_(std::make_unique<State>(clock)) {}

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
  auto socket = std::make_unique<Socket>(state_.get(), local);
  state_->sockets[local.port()] = socket.get();
  return std::unique_ptr<DatagramSocket>(std::move(socket));
}

uint64_t InMemoryNetwork::delivered() const { return state_->delivered; }
uint64_t InMemoryNetwork::dropped() const { return state_->dropped; }
uint64_t InMemoryNetwork::undeliverable() const {
  return state_->undeliverable;
}
size_t InMemoryNetwork::in_flight() const { return state_->in_flight_count; }

}  // namespace talkcheck::media_sim

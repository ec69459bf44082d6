#include "media_sim/shared_udp_network.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

// Datagrams per recvmmsg / sendmmsg call.
constexpr size_t kBatch = 64;
// Receive slot size: larger than any datagram GICE or voice RTP sends, and
// than GiceOptions::max_datagram_bytes, so a longer one (cut here) is still
// judged oversized.
constexpr size_t kSlotBytes = 4096;
// recvmmsg rounds per readable event before yielding to other handlers.
constexpr int kMaxReadRounds = 16;
// Datagrams queued for one sendmmsg flush; past it they are dropped.
constexpr size_t kMaxQueued = 1 << 16;
// Kernel buffers asked for: one socket queues for every call on it while the
// thread is busy elsewhere, where a socket per call has a default buffer each.
// The kernel caps it at net.core.rmem_max / wmem_max.
constexpr int kKernelBufferBytes = 8 << 20;

using ReceiveHandler =
    std::function<void(absl::string_view, const UdpEndpoint&)>;

}  // namespace

// One view of a Port: what GiceChannel sees as its socket.
class SharedSocket;

// One kernel socket, its routes and its send queue. Owned by the network and
// by its views; pending waits hold it weakly.
class SharedUdpNetwork::Port : public std::enable_shared_from_this<Port> {
 public:
  Port(asio::io_context& io, absl::Duration send_delay)
      : io_(io),
        socket_(io),
        send_delay_(absl::ToChronoNanoseconds(send_delay)),
        flush_timer_(io) {}
  ~Port() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  boost::system::error_code Open(const asio::ip::address& address) {
    boost::system::error_code ec;
    socket_.open(address.is_v4() ? udp::v4() : udp::v6(), ec);
    if (!ec) socket_.bind(udp::endpoint(address, 0), ec);
    if (!ec) socket_.non_blocking(true, ec);
    if (!ec) {
      socket_.set_option(
          asio::socket_base::receive_buffer_size(kKernelBufferBytes), ec);
    }
    if (!ec) {
      socket_.set_option(
          asio::socket_base::send_buffer_size(kKernelBufferBytes), ec);
    }
    if (!ec) local_ = socket_.local_endpoint(ec);
    if (!ec) WaitReadable();
    return ec;
  }

  const UdpEndpoint& local() const { return local_; }
  const Stats& stats() const { return stats_; }

  // Routes.
  void AnswerUfrag(SharedSocket* view, absl::string_view ufrag);
  void Route(const UdpEndpoint& remote, SharedSocket* view);
  void Forget(SharedSocket* view);

  // Queues a datagram for the flush after this turn of the io_context.
  void Send(absl::string_view datagram, const UdpEndpoint& to);
  // Hands the queue to the kernel now, kBatch at a time; a full send buffer
  // waits for the socket to be writable again.
  void Flush();

 private:
  struct Outgoing {
    UdpEndpoint to;
    size_t offset;
    size_t size;
  };

  void WaitReadable();
  void ReadAll();
  void Deliver(absl::string_view datagram, const UdpEndpoint& from);
  SharedSocket* RouteOf(absl::string_view datagram, const UdpEndpoint& from);
  SharedSocket* ByUfrag(absl::string_view username, bool prefix) const;

  asio::io_context& io_;
  udp::socket socket_;
  const std::chrono::nanoseconds send_delay_;
  asio::steady_timer flush_timer_;
  UdpEndpoint local_;
  Stats stats_;

  absl::flat_hash_map<std::string, SharedSocket*> by_ufrag_;
  std::set<size_t> ufrag_lengths_;  // of the keys of by_ufrag_
  absl::flat_hash_map<UdpEndpoint, SharedSocket*, UdpEndpointHash,
                      UdpEndpointEq>
      by_remote_;

  // Receive slots, reused by every recvmmsg.
  std::vector<char> slots_ = std::vector<char>(kBatch * kSlotBytes);
  std::array<UdpEndpoint, kBatch> sources_;

  // What waits for the next flush: the bytes back to back, and each datagram.
  std::string out_bytes_;
  std::vector<Outgoing> out_;
  size_t out_sent_ = 0;  // of out_, already handed to the kernel
  bool flush_pending_ = false;
  bool waiting_writable_ = false;  // for room in the kernel's send buffer
};

class SharedSocket : public DatagramSocket {
 public:
  explicit SharedSocket(std::shared_ptr<SharedUdpNetwork::Port> port)
      : port_(std::move(port)) {}
  ~SharedSocket() override { port_->Forget(this); }

  // DatagramSocket implementation.
  UdpEndpoint local_endpoint() const override { return port_->local(); }
  bool SendTo(absl::string_view datagram, const UdpEndpoint& to) override {
    port_->Route(to, this);
    port_->Send(datagram, to);
    return true;  // queued for the port's next sendmmsg
  }
  void SetReceiveHandler(ReceiveHandler handler) override {
    handler_ = handler
                   ? std::make_shared<const ReceiveHandler>(std::move(handler))
                   : nullptr;
  }
  void AnswerUfrag(absl::string_view ufrag) override {
    ufrags_.emplace(ufrag);
    port_->AnswerUfrag(this, ufrag);
  }
  void ExpectFrom(const UdpEndpoint& remote) override {
    port_->Route(remote, this);
  }

  const std::shared_ptr<const ReceiveHandler>& handler() const {
    return handler_;
  }
  const absl::flat_hash_set<std::string>& ufrags() const { return ufrags_; }
  // Every remote address routed here at some time (a newer route elsewhere
  // may have taken it since).
  absl::flat_hash_set<UdpEndpoint, UdpEndpointHash, UdpEndpointEq>& remotes() {
    return remotes_;
  }

 private:
  std::shared_ptr<SharedUdpNetwork::Port> port_;
  std::shared_ptr<const ReceiveHandler> handler_;
  absl::flat_hash_set<std::string> ufrags_;
  absl::flat_hash_set<UdpEndpoint, UdpEndpointHash, UdpEndpointEq> remotes_;
};

void SharedUdpNetwork::Port::AnswerUfrag(SharedSocket* view,
                                         absl::string_view ufrag) {
  if (ufrag.empty()) return;
  by_ufrag_[std::string(ufrag)] = view;
  ufrag_lengths_.insert(ufrag.size());
}

void SharedUdpNetwork::Port::Route(const UdpEndpoint& remote,
                                   SharedSocket* view) {
  SharedSocket*& routed = by_remote_[remote];
  if (routed == view) return;
  routed = view;
  view->remotes().insert(remote);
}

void SharedUdpNetwork::Port::Forget(SharedSocket* view) {
  for (const std::string& ufrag : view->ufrags()) {
    const auto it = by_ufrag_.find(ufrag);
    if (it != by_ufrag_.end() && it->second == view) by_ufrag_.erase(it);
  }
  for (const UdpEndpoint& remote : view->remotes()) {
    const auto it = by_remote_.find(remote);
    if (it != by_remote_.end() && it->second == view) by_remote_.erase(it);
  }
}

void SharedUdpNetwork::Port::WaitReadable() {
  socket_.async_wait(udp::socket::wait_read,
                     [weak = weak_from_this()](boost::system::error_code ec) {
                       std::shared_ptr<Port> port = weak.lock();
                       if (port == nullptr || ec) return;
                       port->ReadAll();
                       port->WaitReadable();
                     });
}

void SharedUdpNetwork::Port::ReadAll() {
  std::array<mmsghdr, kBatch> messages;
  std::array<iovec, kBatch> buffers;
  for (int round = 0; round < kMaxReadRounds; ++round) {
    for (size_t i = 0; i < kBatch; ++i) {
      buffers[i] = {&slots_[i * kSlotBytes], kSlotBytes};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &buffers[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = sources_[i].data();
      messages[i].msg_hdr.msg_namelen =
          static_cast<socklen_t>(sources_[i].capacity());
    }
    const int received = recvmmsg(socket_.native_handle(), messages.data(),
                                  kBatch, MSG_DONTWAIT, nullptr);
    if (received <= 0) return;  // EAGAIN: drained
    ++stats_.receive_calls;
    for (int i = 0; i < received; ++i) {
      sources_[i].resize(messages[i].msg_hdr.msg_namelen);
      const size_t size = std::min<size_t>(messages[i].msg_len, kSlotBytes);
      Deliver(absl::string_view(&slots_[i * kSlotBytes], size), sources_[i]);
    }
    if (static_cast<size_t>(received) < kBatch) return;
  }
}

void SharedUdpNetwork::Port::Deliver(absl::string_view datagram,
                                     const UdpEndpoint& from) {
  ++stats_.datagrams_received;
  SharedSocket* view = RouteOf(datagram, from);
  if (view == nullptr || view->handler() == nullptr) {
    ++stats_.unrouted;
    return;
  }
  // Shared, not copied per datagram: the handler may destroy the view.
  const std::shared_ptr<const ReceiveHandler> handler = view->handler();
  (*handler)(datagram, from);
}

SharedSocket* SharedUdpNetwork::Port::ByUfrag(absl::string_view username,
                                              bool prefix) const {
  for (const size_t length : ufrag_lengths_) {
    if (username.size() < length) break;
    const absl::string_view ours =
        prefix ? username.substr(0, length)
               : username.substr(username.size() - length);
    const auto it = by_ufrag_.find(ours);
    if (it != by_ufrag_.end()) return it->second;
  }
  return nullptr;
}

SharedSocket* SharedUdpNetwork::Port::RouteOf(absl::string_view datagram,
                                              const UdpEndpoint& from) {
  if (IsStunPacket(datagram)) {
    absl::StatusOr<StunMessage> message = ParseStunMessage(datagram);
    if (message.ok() && message->username.has_value()) {
      SharedSocket* view = nullptr;
      if (message->type == kStunBindingRequest) {
        view = ByUfrag(*message->username, /*prefix=*/true);
      } else if (message->type == kStunBindingResponse ||
                 message->type == kStunBindingErrorResponse) {
        view = ByUfrag(*message->username, /*prefix=*/false);
      }
      if (view != nullptr) {
        Route(from, view);
        return view;
      }
    }
  }
  const auto it = by_remote_.find(from);
  return it == by_remote_.end() ? nullptr : it->second;
}

void SharedUdpNetwork::Port::Send(absl::string_view datagram,
                                  const UdpEndpoint& to) {
  if (out_.size() - out_sent_ >= kMaxQueued) {
    ++stats_.send_dropped;
    return;
  }
  out_.push_back({to, out_bytes_.size(), datagram.size()});
  out_bytes_.append(datagram.data(), datagram.size());
  if (flush_pending_) return;
  flush_pending_ = true;
  if (send_delay_.count() <= 0) {
    asio::post(io_, [weak = weak_from_this()] {
      if (std::shared_ptr<Port> port = weak.lock()) port->Flush();
    });
    return;
  }
  flush_timer_.expires_after(send_delay_);
  flush_timer_.async_wait(
      [weak = weak_from_this()](boost::system::error_code ec) {
        std::shared_ptr<Port> port = weak.lock();
        if (port != nullptr && !ec) port->Flush();
      });
}

void SharedUdpNetwork::Port::Flush() {
  std::array<mmsghdr, kBatch> messages;
  std::array<iovec, kBatch> buffers;
  while (out_sent_ < out_.size()) {
    const size_t count = std::min(kBatch, out_.size() - out_sent_);
    for (size_t i = 0; i < count; ++i) {
      Outgoing& out = out_[out_sent_ + i];
      buffers[i] = {&out_bytes_[out.offset], out.size};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &buffers[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = out.to.data();
      messages[i].msg_hdr.msg_namelen = static_cast<socklen_t>(out.to.size());
    }
    const int sent = sendmmsg(socket_.native_handle(), messages.data(),
                              static_cast<unsigned>(count), MSG_DONTWAIT);
    if (sent > 0) {
      ++stats_.send_calls;
      stats_.datagrams_sent += sent;
      out_sent_ += sent;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (waiting_writable_) return;
      waiting_writable_ = true;
      socket_.async_wait(
          udp::socket::wait_write,
          [weak = weak_from_this()](boost::system::error_code ec) {
            std::shared_ptr<Port> port = weak.lock();
            if (port == nullptr || ec) return;
            port->waiting_writable_ = false;
            port->Flush();
          });
      return;  // flush_pending_ stays set: the wait flushes
    } else {
      // This datagram cannot go (an address of the wrong family, ...): lost,
      // as UDP loses it; the rest still go.
      ++stats_.send_dropped;
      ++out_sent_;
    }
  }
  out_.clear();
  out_bytes_.clear();
  out_sent_ = 0;
  flush_pending_ = false;
}

SharedUdpNetwork::SharedUdpNetwork(asio::io_context& io, int ports_per_address,
                                   absl::Duration send_delay)
    : io_(io),
      ports_per_address_(std::max(1, ports_per_address)),
      send_delay_(send_delay) {}

SharedUdpNetwork::~SharedUdpNetwork() = default;

absl::StatusOr<std::unique_ptr<DatagramSocket>> SharedUdpNetwork::Bind(
    const std::string& address) {
  boost::system::error_code ec;
  const asio::ip::address parsed = asio::ip::make_address(address, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("address \"", address, "\": ", ec.message()));
  }
  Address& shared = addresses_[parsed.to_string()];
  if (shared.ports.size() < static_cast<size_t>(ports_per_address_)) {
    auto port = std::make_shared<Port>(io_, send_delay_);
    if (const boost::system::error_code open = port->Open(parsed)) {
      return absl::UnavailableError(
          absl::StrCat("UDP bind on ", address, ": ", open.message()));
    }
    shared.ports.push_back(std::move(port));
    shared.next = shared.ports.size() - 1;
  } else {
    shared.next = (shared.next + 1) % shared.ports.size();
  }
  return std::unique_ptr<DatagramSocket>(
      std::make_unique<SharedSocket>(shared.ports[shared.next]));
}

SharedUdpNetwork::Stats SharedUdpNetwork::stats() const {
  Stats total;
  for (const auto& [address, shared] : addresses_) {
    for (const std::shared_ptr<Port>& port : shared.ports) {
      const Stats& one = port->stats();
      total.datagrams_received += one.datagrams_received;
      total.datagrams_sent += one.datagrams_sent;
      total.receive_calls += one.receive_calls;
      total.send_calls += one.send_calls;
      total.unrouted += one.unrouted;
      total.send_dropped += one.send_dropped;
    }
  }
  return total;
}

void SharedUdpNetwork::Flush() {
  for (auto& [address, shared] : addresses_) {
    for (const std::shared_ptr<Port>& port : shared.ports) port->Flush();
  }
}

size_t SharedUdpNetwork::kernel_sockets() const {
  size_t count = 0;
  for (const auto& [address, shared] : addresses_) count += shared.ports.size();
  return count;
}

}  // namespace talkcheck::media_sim

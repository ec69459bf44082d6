#include "harness/live/live_server.h"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <iostream>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace talkcheck::harness {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// How long a client that took everything gets to answer the closing
// handshake before its socket is closed anyway.
constexpr auto kCloseTimeout = std::chrono::milliseconds(500);

}  // namespace

absl::StatusOr<tcp::endpoint> ParseServeAddress(absl::string_view text,
                                                bool any_address) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--serve=", text, ": expected HOST:PORT, e.g. 127.0.0.1:0"));
  }
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--serve=", text, ": bad port"));
  }
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--serve=", text, ": '", host,
                     "' is not an IP address (127.0.0.1, ::1 or localhost)"));
  }
  if (!address.is_loopback() && !any_address) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--serve=", text, ": ", host,
        " is not a loopback address; the live view shows every stanza of the "
        "run to whoever connects, so it serves loopback only unless "
        "--serve_any_address is given"));
  }
  return tcp::endpoint(address, static_cast<uint16_t>(port));
}

struct LiveServer::Impl {
  class Session;

  Impl(LiveReport& report, LiveServerOptions options)
      : report(report),
        options(options),
        acceptor(io),
        flush_timer(io),
        work(asio::make_work_guard(io)) {}

  void Accept();
  // From any thread: a flush within flush_interval.
  void OnChange();
  void Flush();
  // Each of `messages` to every browser connected.
  void SendToAll(std::vector<std::string> messages);
  void CloseAll();

  LiveReport& report;
  const LiveServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::steady_timer flush_timer;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  std::atomic<bool> flush_pending{false};
  // On the io thread only.
  std::set<std::shared_ptr<Session>> sessions;
  bool stopping = false;
  // Read from other threads.
  std::atomic<int> clients{0};
  std::atomic<int> dropped{0};
  std::atomic<int> sending{0};  // clients with messages not yet written
};

// One connection: an HTTP request for the page, or the WebSocket at /live.
class LiveServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Impl& server)
      : ws_(std::move(socket)), server_(server) {}

  void Start() {
    http::async_read(
        ws_.next_layer(), buffer_, request_,
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    size_t) { self->OnRequest(ec); });
  }

  // Queues a message, or drops a client that cannot keep up.
  void Send(std::shared_ptr<const std::string> message) {
    if (closed_ || !websocket_) return;
    if (queue_.size() + 1 > server_.options.max_queued_messages ||
        queued_bytes_ + message->size() > server_.options.max_queued_bytes) {
      ++server_.dropped;
      std::cerr << "talkcheck: live view: dropped a client that fell "
                << queue_.size() << " messages (" << queued_bytes_
                << " bytes) behind\n";
      return Close();
    }
    queued_bytes_ += message->size();
    queue_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      ++server_.sending;
      DoWrite();
    }
  }

  // At the end: a closing handshake for a client that took everything,
  // bounded by kCloseTimeout; a plain close otherwise.
  void Finish() {
    if (closed_) return;
    if (!websocket_ || writing_) return Close();
    close_timer_ = std::make_unique<asio::steady_timer>(server_.io);
    close_timer_->expires_after(kCloseTimeout);
    close_timer_->async_wait(
        [self = shared_from_this()](const boost::system::error_code& ec) {
          if (!ec) self->Close();
        });
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](
                        const boost::system::error_code&) { self->Close(); });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if (websocket_) --server_.clients;
    if (writing_) --server_.sending;
    writing_ = false;
    queue_.clear();
    if (close_timer_) close_timer_->cancel();
    boost::system::error_code ignored;
    ws_.next_layer().close(ignored);
    server_.sessions.erase(shared_from_this());
  }

 private:
  // Whether the request may be answered (LiveServerOptions::check_host).
  bool Allowed() const {
    if (!server_.options.check_host) return true;
    const std::string host(request_[http::field::host]);
    const size_t colon = host.rfind(':');
    std::string name = host.substr(
        0,
        colon == std::string::npos || host.back() == ']' ? host.size() : colon);
    if (name.size() >= 2 && name.front() == '[') {
      name = name.substr(1, name.size() - 2);
    }
    boost::system::error_code ec;
    asio::ip::make_address(name, ec);
    if (ec && name != "localhost") return false;
    const beast::string_view origin = request_[http::field::origin];
    return origin.empty() || origin == "http://" + host;
  }

  void OnRequest(const boost::system::error_code& ec) {
    if (ec || server_.stopping) return Close();
    if (!Allowed()) return Respond(http::status::forbidden);
    if (websocket::is_upgrade(request_)) {
      if (request_.target() != "/live") return Respond(http::status::not_found);
      ws_.text(true);
      ws_.async_accept(request_, [self = shared_from_this()](
                                     const boost::system::error_code& ec) {
        if (ec) return self->Close();
        // Those already here get what is owed to them first, so that the
        // newcomer's snapshot and its first update never overlap.
        LiveReport::Handover handover =
            self->server_.report.TakeUpdatesAndSnapshot(self->server_.clients >
                                                        0);
        self->server_.SendToAll(std::move(handover.updates));
        self->websocket_ = true;
        ++self->server_.clients;
        self->Send(
            std::make_shared<const std::string>(std::move(handover.snapshot)));
        self->DoRead();
      });
      return;
    }
    if (request_.target() == "/" || request_.target() == "/index.html")
      return Respond(http::status::ok);
    Respond(http::status::not_found);
  }

  void Respond(http::status status) {
    auto response = std::make_shared<http::response<http::string_body>>(
        status, request_.version());
    response->set(http::field::content_type, status == http::status::ok
                                                 ? "text/html; charset=utf-8"
                                                 : "text/plain");
    response->set(http::field::cache_control, "no-store");
    response->body() =
        status == http::status::ok ? server_.report.Page()
        : status == http::status::forbidden
            ? "the live report answers requests for its own address from "
              "its own page only\n"
            : "not here: the report is at / and its updates at /live\n";
    response->keep_alive(false);
    response->prepare_payload();
    http::async_write(
        ws_.next_layer(), *response,
        [self = shared_from_this(), response](const boost::system::error_code&,
                                              size_t) { self->Close(); });
  }

  void DoWrite() {
    ws_.async_write(
        asio::buffer(*queue_.front()),
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    size_t) { self->OnWritten(ec); });
  }

  void OnWritten(const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) return Close();
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
    if (!queue_.empty()) return DoWrite();
    writing_ = false;
    --server_.sending;
  }

  // Reads (and drops) what the browser sends, to see it go away.
  void DoRead() {
    ws_.async_read(read_buffer_,
                   [self = shared_from_this()](
                       const boost::system::error_code& ec, size_t) {
                     if (ec) return self->Close();
                     self->read_buffer_.clear();
                     self->DoRead();
                   });
  }

  websocket::stream<tcp::socket> ws_;
  Impl& server_;
  beast::flat_buffer buffer_;
  beast::flat_buffer read_buffer_;
  http::request<http::string_body> request_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;
  bool websocket_ = false;
  bool writing_ = false;
  bool closed_ = false;
  std::unique_ptr<asio::steady_timer> close_timer_;
};

void LiveServer::Impl::Accept() {
  acceptor.async_accept(
      [this](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec) return;  // closed: stopping
        auto session = std::make_shared<Session>(std::move(socket), *this);
        sessions.insert(session);
        session->Start();
        Accept();
      });
}

void LiveServer::Impl::OnChange() {
  if (flush_pending.exchange(true)) return;
  asio::post(io, [this] {
    flush_timer.expires_after(
        absl::ToChronoMilliseconds(options.flush_interval));
    flush_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      flush_pending = false;
      Flush();
    });
  });
}

void LiveServer::Impl::Flush() {
  // Rendering is the costly part: none for nobody.
  if (clients == 0) return report.DropUpdates();
  SendToAll(report.TakeUpdates());
}

void LiveServer::Impl::SendToAll(std::vector<std::string> messages) {
  for (std::string& text : messages) {
    auto message = std::make_shared<const std::string>(std::move(text));
    // Send may drop (and erase) a session: iterate over a copy.
    const std::vector<std::shared_ptr<Session>> all(sessions.begin(),
                                                    sessions.end());
    for (const std::shared_ptr<Session>& session : all) session->Send(message);
  }
}

void LiveServer::Impl::CloseAll() {
  stopping = true;
  boost::system::error_code ignored;
  acceptor.close(ignored);
  flush_timer.cancel();
  const std::vector<std::shared_ptr<Session>> all(sessions.begin(),
                                                  sessions.end());
  for (const std::shared_ptr<Session>& session : all) session->Finish();
}

absl::StatusOr<std::unique_ptr<LiveServer>> LiveServer::Start(
    LiveReport& report, const tcp::endpoint& where, LiveServerOptions options) {
  auto impl = std::make_unique<Impl>(report, options);
  boost::system::error_code ec;
  impl->acceptor.open(where.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(where, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("--serve: cannot listen on ", where.address().to_string(),
                     ":", where.port(), ": ", ec.message()));
  }
  const tcp::endpoint bound = impl->acceptor.local_endpoint();
  std::unique_ptr<LiveServer> server(new LiveServer(std::move(impl)));
  const std::string host =
      bound.address().is_v6()
          ? absl::StrCat("[", bound.address().to_string(), "]")
          : bound.address().to_string();
  server->url_ = absl::StrCat("http://", host, ":", bound.port(), "/");
  Impl* raw = server->impl_.get();
  report.set_on_change([raw] { raw->OnChange(); });
  raw->Accept();
  raw->thread = std::thread([raw] { raw->io.run(); });
  return server;
}

LiveServer::LiveServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LiveServer::~LiveServer() { Stop(absl::ZeroDuration()); }

void LiveServer::Stop(absl::Duration grace) {
  if (!impl_->thread.joinable()) return;
  impl_->report.set_on_change(nullptr);
  // Everything the report has, "done" included, queued for every client.
  std::promise<void> flushed;
  asio::post(impl_->io, [this, &flushed] {
    impl_->flush_timer.cancel();
    impl_->Flush();
    flushed.set_value();
  });
  flushed.get_future().wait();
  const absl::Time deadline = absl::Now() + grace;
  while (impl_->sending > 0 && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(10));
  asio::post(impl_->io, [this] { impl_->CloseAll(); });
  impl_->work.reset();
  impl_->thread.join();
}

bool LiveServer::WaitForClient(absl::Duration timeout) const {
  // Polled: a browser takes seconds to come, and the run waits for nothing
  // else meanwhile.
  const absl::Time until = absl::Now() + timeout;
  while (impl_->clients == 0) {
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

int LiveServer::clients() const { return impl_->clients; }
int LiveServer::dropped() const { return impl_->dropped; }

}  // namespace talkcheck::harness

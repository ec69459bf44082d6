#include "reference_client/client_stream.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "reference_client/client_stream_impl.h"
#include "xmpp/namespaces.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"

namespace talkcheck::reference_client {

namespace asio = boost::asio;
using asio::ip::tcp;
using xmpp::Element;
namespace ns = xmpp::ns;

namespace {

// How long a clean close waits for the server's </stream:stream>.
constexpr absl::Duration kCloseLinger = absl::Seconds(2);

// The condition and text of a <stream:error/>, as a kUnavailable status that
// also carries the condition (GetStreamCondition() works on it).
absl::Status StreamErrorStatus(const Element& error) {
  std::string condition = "undefined-condition";
  std::string text;
  for (const Element* child : error.Children()) {
    if (child->ns() != ns::kStreams) continue;
    if (child->name() == "text") {
      text = child->Text();
    } else {
      condition = child->name();
    }
  }
  absl::Status status = absl::UnavailableError(
      text.empty()
          ? absl::StrCat("stream error: ", condition)
          : absl::StrCat("stream error: ", condition, " (", text, ")"));
  if (std::optional<xmpp::StreamCondition> known =
          xmpp::StreamConditionFromName(condition)) {
    xmpp::StreamError(*known, text)
        .ForEachPayload(
            [&status](absl::string_view url, const absl::Cord& payload) {
              status.SetPayload(url, payload);
            });
  }
  return status;
}

}  // namespace

void ClientStream::Impl::Connect(std::function<void(absl::Status)> on_ready) {
  if (phase_ != Phase::kIdle) {
    if (on_ready) {
      asio::post(io_, [on_ready] {
        on_ready(absl::FailedPreconditionError("Connect() called twice"));
      });
    }
    return;
  }
  on_ready_ = std::move(on_ready);
  phase_ = Phase::kConnecting;
  login_timer_ =
      clock_.CallAfter(options_.login_timeout, [weak = weak_from_this(), this] {
        if (auto self = weak.lock()) {
          Finish(absl::DeadlineExceededError(
              absl::StrCat("not logged in within ",
                           absl::FormatDuration(options_.login_timeout))));
        }
      });
  if (options_.connect_in_memory) return ConnectInMemory();
  resolver_.emplace(io_);
  socket_.emplace(io_);
  resolver_->async_resolve(
      options_.host, std::to_string(options_.port),
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  tcp::resolver::results_type results) {
        self->OnResolved(ec, std::move(results));
      });
}

void ClientStream::Impl::OnResolved(const boost::system::error_code& ec,
                                    tcp::resolver::results_type results) {
  if (phase_ != Phase::kConnecting) return;
  if (ec) {
    return Finish(absl::UnavailableError(
        absl::StrCat("resolving ", options_.host, ": ", ec.message())));
  }
  asio::async_connect(*socket_, results,
                      [self = shared_from_this()](
                          const boost::system::error_code& ec,
                          const tcp::endpoint&) { self->OnConnected(ec); });
}

void ClientStream::Impl::OnConnected(const boost::system::error_code& ec) {
  if (phase_ != Phase::kConnecting) return;
  if (ec) {
    return Finish(absl::UnavailableError(
        absl::StrCat("connecting to ", options_.host, ":", options_.port, ": ",
                     ec.message())));
  }
  boost::system::error_code ignored;
  socket_->set_option(tcp::no_delay(true), ignored);
  OnTransportUp();
}

void ClientStream::Impl::ConnectInMemory() {
  if (options_.require_tls) {
    return FailSoon(absl::InvalidArgumentError(
        "connect_in_memory never negotiates TLS: set require_tls = false"));
  }
  pipe_ = options_.connect_in_memory();
  if (pipe_ == nullptr) {
    return FailSoon(absl::UnavailableError("connect_in_memory gave no pipe"));
  }
  // Weak: the pipe is ours and must not keep us alive; the lock does while a
  // handler runs, as a TCP read handler's shared_ptr would.
  pipe_->SetHandlers(
      [weak = weak_from_this()](absl::string_view bytes) {
        if (auto self = weak.lock()) self->OnBytes(bytes);
      },
      [weak = weak_from_this()](Element element) {
        if (auto self = weak.lock()) self->OnElement(std::move(element));
      },
      [weak = weak_from_this()] {
        if (auto self = weak.lock())
          self->OnTransportEnd("the server closed the pipe");
      });
  OnTransportUp();
}

void ClientStream::Impl::OnTransportUp() {
  SendHeader();
  DoRead();
}

void ClientStream::Impl::FailSoon(absl::Status status) {
  asio::post(io_, [weak = weak_from_this(), status = std::move(status)] {
    if (auto self = weak.lock()) self->Finish(status);
  });
}

void ClientStream::Impl::DoRead() {
  // A pipe pushes its bytes to OnBytes() by itself.
  if (pipe_ != nullptr || reading_ || phase_ == Phase::kClosed ||
      phase_ == Phase::kTlsHandshake) {
    return;
  }
  reading_ = true;
  auto handler = [self = shared_from_this()](
                     const boost::system::error_code& ec, size_t bytes) {
    self->OnRead(ec, bytes);
  };
  if (tls_active_) {
    tls_->async_read_some(asio::buffer(read_buffer_), std::move(handler));
  } else {
    socket_->async_read_some(asio::buffer(read_buffer_), std::move(handler));
  }
}

void ClientStream::Impl::OnRead(const boost::system::error_code& ec,
                                size_t bytes) {
  reading_ = false;
  if (phase_ == Phase::kClosed) return;
  if (ec) return OnTransportEnd(ec.message());
  OnBytes(absl::string_view(read_buffer_.data(), bytes));
  DoRead();
}

void ClientStream::Impl::OnTransportEnd(absl::string_view why) {
  if (phase_ == Phase::kClosed) return;
  // EOF (or a TLS stream cut without close_notify) after our own close is the
  // orderly end; anywhere else the server went away.
  if (phase_ == Phase::kClosing) return Finish(absl::OkStatus());
  Finish(absl::UnavailableError(absl::StrCat("connection lost: ", why)));
}

void ClientStream::Impl::OnBytes(absl::string_view bytes) {
  if (phase_ == Phase::kClosed) return;
  std::vector<xmpp::StreamFramer::Event> events;
  absl::Status status = framer_.Feed(bytes, events);
  for (auto& event : events) {
    const Phase before = phase_;
    HandleEvent(event);
    // A restart (TLS, SASL success) or the end makes later events stale.
    if (phase_ == Phase::kClosed || phase_ == Phase::kTlsHandshake) return;
    if (before == Phase::kSasl && phase_ == Phase::kAwaitFeatures) break;
  }
  if (!status.ok() && phase_ != Phase::kClosed) {
    // The server sent XML we cannot frame: RFC 6120 says the receiver ends the
    // stream with the error.
    Write(absl::StrCat(
        "<stream:error><",
        xmpp::StreamConditionName(xmpp::GetStreamCondition(status).value_or(
            xmpp::StreamCondition::kNotWellFormed)),
        " xmlns='", ns::kStreams, "'/></stream:error></stream:stream>"));
    close_after_write_ = true;
    return Finish(absl::UnavailableError(
        absl::StrCat("bad XML from the server: ", status.message())));
  }
}

void ClientStream::Impl::OnElement(Element element) {
  if (phase_ == Phase::kClosed) return;
  HandleElement(std::move(element));
}

void ClientStream::Impl::HandleEvent(xmpp::StreamFramer::Event& event) {
  switch (event.type) {
    case xmpp::StreamFramer::EventType::kStreamOpen:
      if (!event.header.Is(ns::kStream, "stream")) {
        Finish(
            absl::UnavailableError("the server's stream header is not "
                                   "{http://etherx.jabber.org/streams}"
                                   "stream"));
      }
      return;
    case xmpp::StreamFramer::EventType::kStreamClose:
      if (phase_ == Phase::kClosing) return Finish(absl::OkStatus());
      // The server closes: answer in kind, then end.
      Write("</stream:stream>");
      close_after_write_ = true;
      return Finish(phase_ == Phase::kReady
                        ? absl::OkStatus()
                        : absl::UnavailableError(
                              "the server closed the stream during login"));
    case xmpp::StreamFramer::EventType::kElement: {
      absl::StatusOr<Element> element =
          xmpp::ParseElement(event.xml, framer_.scope());
      if (!element.ok()) {
        return Finish(absl::UnavailableError(
            absl::StrCat("unparsable element from the server: ",
                         element.status().message())));
      }
      return HandleElement(*std::move(element));
    }
  }
}

void ClientStream::Impl::HandleElement(Element&& element) {
  if (element.Is(ns::kStream, "error")) {
    return Finish(StreamErrorStatus(element));
  }
  switch (phase_) {
    case Phase::kAwaitFeatures:
      if (element.Is(ns::kStream, "features")) return HandleFeatures(element);
      return Finish(absl::UnavailableError(absl::StrCat(
          "expected <stream:features/>, got <", element.name(), "/>")));
    case Phase::kAwaitProceed:
      if (element.Is(ns::kTls, "proceed")) return StartTls();
      return Finish(absl::UnavailableError("the server refused STARTTLS"));
    case Phase::kSasl:
      return HandleSasl(element);
    case Phase::kBinding:
    case Phase::kReady:
    case Phase::kClosing:
      return HandleStanza(std::move(element));
    default:
      return;
  }
}

bool ClientStream::Impl::ReplyMatches(const PendingIq& pending,
                                      const Element& reply) const {
  const std::string* from = reply.Attr("from");
  absl::StatusOr<xmpp::Jid> from_jid =
      from != nullptr ? xmpp::Jid::Parse(*from)
                      : absl::StatusOr<xmpp::Jid>(xmpp::Jid());
  if (pending.to.empty()) {
    // To the server on our behalf: no from, our own bare JID or the domain.
    if (from == nullptr || from->empty()) return true;
    if (!from_jid.ok()) return false;
    return *from_jid == options_.jid.Bare() ||
           (!bound_jid_.empty() && *from_jid == bound_jid_.Bare()) ||
           (from_jid->local().empty() && from_jid->resource().empty() &&
            from_jid->domain() == options_.jid.domain());
  }
  if (from == nullptr) return false;
  if (*from == pending.to) return true;
  absl::StatusOr<xmpp::Jid> to_jid = xmpp::Jid::Parse(pending.to);
  return from_jid.ok() && to_jid.ok() && *from_jid == *to_jid;
}

void ClientStream::Impl::HandleStanza(Element&& stanza) {
  if (stanza.ns() != ns::kClient) return;
  if (stanza.name() == "iq") {
    const std::string type = stanza.AttrOr("type", "");
    if (type == "result" || type == "error") {
      auto it = pending_.find(stanza.AttrOr("id", ""));
      if (it != pending_.end() && ReplyMatches(it->second, stanza)) {
        IqCallback callback = std::move(it->second.callback);
        pending_.erase(it);
        if (callback) callback(std::move(stanza));  // the reply is its own
        return;
      }
    }
  }
  if (phase_ == Phase::kReady && stanza_handler_) {
    // The handler may replace itself; keep the one being run alive.
    StanzaHandler handler = stanza_handler_;
    handler(stanza);
  }
}

void ClientStream::Impl::Send(const Element& stanza) {
  if (phase_ != Phase::kReady) return;
  if (stanza.name() == "iq" && stanza.Attr("id") == nullptr) {
    Element copy = stanza;
    copy.SetAttr("id", NextId());
    return WriteElement(std::move(copy));
  }
  WriteElement(stanza);
}

std::string ClientStream::Impl::SendIq(Element iq, absl::Duration timeout,
                                       IqCallback callback) {
  std::string id = iq.AttrOr("id", "");
  if (id.empty() || pending_.count(id) > 0) {
    id = NextId();
    iq.SetAttr("id", id);
  }
  if (phase_ != Phase::kReady && phase_ != Phase::kBinding) {
    if (callback) {
      asio::post(io_, [weak = weak_from_this(), callback] {
        if (auto self = weak.lock(); self && !self->detached_) {
          callback(absl::UnavailableError("the stream is not connected"));
        }
      });
    }
    return id;
  }
  PendingIq& pending = pending_[id];
  pending.to = iq.AttrOr("to", "");
  pending.callback = std::move(callback);
  pending.timer = clock_.CallAfter(timeout, [weak = weak_from_this(), this, id,
                                             timeout] {
    auto self = weak.lock();
    if (!self) return;
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    IqCallback callback = std::move(it->second.callback);
    pending_.erase(it);
    if (callback) {
      callback(absl::DeadlineExceededError(absl::StrCat(
          "no reply to iq ", id, " within ", absl::FormatDuration(timeout))));
    }
  });
  WriteElement(std::move(iq));
  return id;
}

void ClientStream::Impl::Write(std::string bytes) {
  if (phase_ == Phase::kClosed) return;
  write_queue_.push_back(std::move(bytes));
  DoWrite();
}

void ClientStream::Impl::WriteElement(Element element) {
  if (pipe_ == nullptr) return Write(element.ToString());
  if (phase_ == Phase::kClosed) return;
  // Nothing waits in write_queue_ on a pipe (DoWrite), so the order holds.
  pipe_->WriteElement(std::move(element));
}

void ClientStream::Impl::DoWrite() {
  if (pipe_ != nullptr) {
    // A pipe takes each write at once, in order; nothing is in flight.
    while (!write_queue_.empty()) {
      pipe_->WriteText(std::move(write_queue_.front()));
      write_queue_.pop_front();
    }
    return;
  }
  if (writing_ || write_queue_.empty() || !socket_ || !socket_->is_open())
    return;
  if (phase_ == Phase::kTlsHandshake) return;
  writing_ = true;
  // Whatever queued up behind the last write goes out as one (issue 13: one
  // write, not a train of small segments).
  while (write_queue_.size() > 1) {
    write_queue_.front() += write_queue_[1];
    write_queue_.erase(write_queue_.begin() + 1);
  }
  auto handler = [self = shared_from_this()](
                     const boost::system::error_code& ec, size_t) {
    self->OnWrite(ec);
  };
  if (tls_active_) {
    asio::async_write(*tls_, asio::buffer(write_queue_.front()),
                      std::move(handler));
  } else {
    asio::async_write(*socket_, asio::buffer(write_queue_.front()),
                      std::move(handler));
  }
}

void ClientStream::Impl::OnWrite(const boost::system::error_code& ec) {
  writing_ = false;
  if (!write_queue_.empty()) write_queue_.pop_front();
  if (ec) {
    write_queue_.clear();
    if (phase_ == Phase::kClosed) return CloseTransport();
    return Finish(
        absl::UnavailableError(absl::StrCat("write failed: ", ec.message())));
  }
  if (phase_ == Phase::kTlsHandshake && !tls_active_) {
    // <starttls/> is out: now the handshake.
    tls_->async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this()](const boost::system::error_code& ec) {
          self->OnHandshake(ec);
        });
    return;
  }
  if (write_queue_.empty() && close_after_write_) return CloseTransport();
  DoWrite();
}

void ClientStream::Impl::Close() {
  switch (phase_) {
    case Phase::kClosed:
    case Phase::kClosing:
      return;
    case Phase::kIdle:
      phase_ = Phase::kClosed;
      return;
    case Phase::kReady:
      break;
    default:
      // Still logging in: there is no session to close politely.
      return Finish(absl::CancelledError("closed before login completed"));
  }
  phase_ = Phase::kClosing;
  Write("</stream:stream>");
  for (auto& [id, pending] : pending_) pending.timer.reset();
  linger_timer_ =
      clock_.CallAfter(kCloseLinger, [weak = weak_from_this(), this] {
        if (auto self = weak.lock()) Finish(absl::OkStatus());
      });
}

void ClientStream::Impl::Finish(absl::Status status) {
  if (phase_ == Phase::kClosed) return;
  const bool was_ready = phase_ == Phase::kReady || phase_ == Phase::kClosing;
  phase_ = Phase::kClosed;
  login_timer_.reset();
  linger_timer_.reset();
  scram_.reset();
  // With a last stanza queued (our answer to the server's close, or an error),
  // the connection closes once it is written.
  if (!close_after_write_ || (!writing_ && write_queue_.empty()))
    CloseTransport();
  std::map<std::string, PendingIq> pending = std::move(pending_);
  pending_.clear();
  if (detached_) return;
  for (auto& [id, iq] : pending) {
    iq.timer.reset();
    if (iq.callback) {
      iq.callback(absl::UnavailableError("the stream closed before a reply"));
    }
    if (detached_) return;
  }
  if (!was_ready) {
    if (auto on_ready = std::exchange(on_ready_, nullptr)) on_ready(status);
    return;
  }
  if (auto closed = std::exchange(closed_handler_, nullptr)) closed(status);
}

void ClientStream::Impl::CloseTransport() {
  // The server gets what was written, then the close.
  if (pipe_ != nullptr) return pipe_->Close();
  boost::system::error_code ignored;
  if (resolver_) resolver_->cancel();
  if (socket_ && socket_->is_open()) {
    socket_->shutdown(tcp::socket::shutdown_both, ignored);
    socket_->close(ignored);
  }
}

void ClientStream::Impl::Detach() {
  detached_ = true;
  on_ready_ = nullptr;
  stanza_handler_ = nullptr;
  closed_handler_ = nullptr;
  for (auto& [id, pending] : pending_) {
    pending.callback = nullptr;
    pending.timer.reset();
  }
  pending_.clear();
  login_timer_.reset();
  // A clean close in progress may finish on its own (its handlers keep this
  // alive, bounded by the linger timer); anything else ends now.
  if (phase_ != Phase::kClosing) {
    phase_ = Phase::kClosed;
    linger_timer_.reset();
    CloseTransport();
  }
}

ClientStream::ClientStream(asio::io_context& io, Clock& clock,
                           absl::BitGenRef bitgen, ClientStreamOptions options)
    : impl_(std::make_shared<Impl>(io, clock, bitgen, std::move(options))) {}

ClientStream::~ClientStream() { impl_->Detach(); }

void ClientStream::Connect(std::function<void(absl::Status)> on_ready) {
  impl_->Connect(std::move(on_ready));
}

void ClientStream::Send(const xmpp::Element& stanza) { impl_->Send(stanza); }

std::string ClientStream::SendIq(xmpp::Element iq, absl::Duration timeout,
                                 IqCallback callback) {
  return impl_->SendIq(std::move(iq), timeout, std::move(callback));
}

void ClientStream::set_stanza_handler(StanzaHandler handler) {
  impl_->stanza_handler_ = std::move(handler);
}

void ClientStream::set_closed_handler(
    std::function<void(absl::Status)> handler) {
  impl_->closed_handler_ = std::move(handler);
}

bool ClientStream::ready() const { return impl_->ready(); }

const xmpp::Jid& ClientStream::bound_jid() const { return impl_->bound_jid_; }

std::string ClientStream::NextId() { return impl_->NextId(); }

void ClientStream::Close() { impl_->Close(); }

}  // namespace talkcheck::reference_client

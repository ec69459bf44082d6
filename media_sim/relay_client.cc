#include "media_sim/relay_client.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// libjingle's AllocateRequest::GetNextDelay: 100 ms * max(2^n, 2), so 200,
// 200, 400, 800, 1600 ms, then it gives up.
constexpr int kAllocateSends = 5;

absl::Duration AllocateDelay(int sent_before) {
  return absl::Milliseconds(100 * std::max(1 << sent_before, 2));
}

}  // namespace

absl::StatusOr<RelaySession> ParseRelaySessionBody(absl::string_view body) {
  std::map<std::string, std::string> values;
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    line = absl::StripSuffix(line, "\r");
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    values[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(values["relay.ip"], ec);
  uint32_t port = 0;
  if (ec || !absl::SimpleAtoi(values["relay.udp_port"], &port) || port == 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        "create_session answer without a usable relay.ip / relay.udp_port");
  }
  if (values["username"].empty()) {
    return absl::InvalidArgumentError("create_session answer without username");
  }
  RelaySession session;
  session.relay_udp = UdpEndpoint(ip, static_cast<uint16_t>(port));
  session.username = values["username"];
  session.password = values["password"];
  session.magic_cookie = values["magic_cookie"];
  return session;
}

// Shared with the pending handlers; `done` is cleared once called or when the
// request is destroyed, so it runs at most once.
struct RelaySessionRequest::State {
  explicit State(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  boost::beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  http::response<http::string_body> response;
  std::unique_ptr<Timer> timer;
  Done done;

  void Finish(absl::StatusOr<RelaySession> result) {
    timer.reset();
    boost::system::error_code ignored;
    socket.close(ignored);
    if (!done) return;
    Done call = std::move(done);
    done = nullptr;
    call(std::move(result));
  }
};

std::unique_ptr<RelaySessionRequest> RelaySessionRequest::Start(
    asio::io_context& io, Clock& clock, const tcp::endpoint& http,
    const std::string& token, absl::Duration timeout, Done done) {
  auto state = std::make_shared<State>(io);
  state->done = std::move(done);
  state->request = {http::verb::get, "/create_session", 11};
  state->request.set(http::field::host, http.address().to_string());
  state->request.set(http::field::user_agent, "talkcheck");
  // Both headers: "yes, the relay token is included twice" (§5.2).
  state->request.set("X-Talk-Google-Relay-Auth", token);
  state->request.set("X-Google-Relay-Auth", token);
  state->request.set("X-Session-Type", "http://www.google.com/session/phone");
  std::weak_ptr<State> weak = state;
  state->timer = clock.CallAfter(timeout, [weak] {
    if (auto s = weak.lock()) {
      s->Finish(absl::DeadlineExceededError("create_session timed out"));
    }
  });
  state->socket.async_connect(
      http, [state](const boost::system::error_code& ec) {
        if (ec) {
          return state->Finish(absl::UnavailableError(
              absl::StrCat("create_session connect: ", ec.message())));
        }
        http::async_write(
            state->socket, state->request,
            [state](const boost::system::error_code& ec, size_t) {
              if (ec) {
                return state->Finish(absl::UnavailableError(
                    absl::StrCat("create_session write: ", ec.message())));
              }
              http::async_read(
                  state->socket, state->buffer, state->response,
                  [state](const boost::system::error_code& ec, size_t) {
                    if (ec) {
                      return state->Finish(absl::UnavailableError(
                          absl::StrCat("create_session read: ", ec.message())));
                    }
                    if (state->response.result_int() != 200) {
                      return state->Finish(absl::UnavailableError(
                          absl::StrCat("create_session answered ",
                                       state->response.result_int())));
                    }
                    absl::StatusOr<RelaySession> session =
                        ParseRelaySessionBody(state->response.body());
                    if (!session.ok()) {
                      return state->Finish(
                          absl::UnavailableError(session.status().message()));
                    }
                    state->Finish(*std::move(session));
                  });
            });
      });
  return std::unique_ptr<RelaySessionRequest>(
      new RelaySessionRequest(std::move(state)));
}

RelaySessionRequest::RelaySessionRequest(std::shared_ptr<State> state)
    : state_(std::move(state)) {}

RelaySessionRequest::~RelaySessionRequest() {
  state_->done = nullptr;
  state_->Finish(absl::CancelledError());  // closes; handlers see aborts
}

RelayedSocket::RelayedSocket(Clock& clock, absl::BitGenRef bitgen,
                             std::unique_ptr<DatagramSocket> inner,
                             RelaySession session)
    : clock_(clock),
      bitgen_(bitgen),
      inner_(std::move(inner)),
      session_(std::move(session)) {
  inner_->SetReceiveHandler(
      [this, alive = alive_](absl::string_view data, const UdpEndpoint& from) {
        if (*alive) OnDatagram(data, from);
      });
}

RelayedSocket::~RelayedSocket() { *alive_ = false; }

// libjingle 0.4 copies the advertised text verbatim; without one, the four
// bytes libnice and libjingle >= 0.5 always send.
std::string RelayedSocket::Cookie() const {
  return session_.magic_cookie.empty() ? std::string(kRelayMagicCookie)
                                       : session_.magic_cookie;
}

void RelayedSocket::Allocate(absl::Duration timeout,
                             std::function<void(absl::Status)> done) {
  allocate_done_ = std::move(done);
  allocate_tid_ = MakeTransactionId(bitgen_, /*magic_cookie=*/false);
  allocate_deadline_ = clock_.Now() + timeout;
  allocate_sends_ = 0;
  SendAllocate();
}

void RelayedSocket::SendAllocate() {
  const absl::Duration now = clock_.Now();
  if (now >= allocate_deadline_ || allocate_sends_ == kAllocateSends) {
    return FinishAllocate(
        absl::DeadlineExceededError("the relay did not answer ALLOCATE"));
  }
  inner_->SendTo(
      SerializeStunAttributes(kStunAllocateRequest, allocate_tid_,
                              {{kStunAttrMagicCookie, Cookie()},
                               {kStunAttrUsername, session_.username}}),
      session_.relay_udp);
  const absl::Duration delay =
      std::min(AllocateDelay(allocate_sends_++), allocate_deadline_ - now);
  allocate_timer_ = clock_.CallAfter(delay, [this] { SendAllocate(); });
}

void RelayedSocket::FinishAllocate(absl::Status status) {
  allocate_timer_.reset();
  allocate_tid_.clear();
  if (!allocate_done_) return;
  std::function<void(absl::Status)> done = std::move(allocate_done_);
  allocate_done_ = nullptr;
  done(std::move(status));
}

UdpEndpoint RelayedSocket::local_endpoint() const {
  return allocated_ ? external_ : inner_->local_endpoint();
}

bool RelayedSocket::SendTo(absl::string_view datagram, const UdpEndpoint& to) {
  if (!allocated_) return false;  // lost, as on a socket that cannot send
  ++sends_;
  return inner_->SendTo(
      SerializeStunAttributes(
          kStunSendRequest, MakeTransactionId(bitgen_, false),
          {{kStunAttrMagicCookie, Cookie()},
           {kStunAttrUsername, session_.username},
           {kStunAttrDestinationAddress, EncodeStunAddress(to)},
           {kStunAttrData, std::string(datagram)}}),
      session_.relay_udp);
}

void RelayedSocket::SetReceiveHandler(
    std::function<void(absl::string_view, const UdpEndpoint&)> handler) {
  handler_ = std::move(handler);
}

// Only the relay talks to the inner socket; anything else is dropped, as
// libjingle's RelayEntry does with packets from unknown addresses.
void RelayedSocket::OnDatagram(absl::string_view datagram,
                               const UdpEndpoint& from) {
  if (from != session_.relay_udp) return;
  absl::StatusOr<StunMessage> message = ParseStunMessage(datagram);
  if (!message.ok()) return;
  if (message->type == kStunAllocateResponse ||
      message->type == kStunAllocateErrorResponse) {
    if (allocate_tid_.empty() || message->transaction_id != allocate_tid_) {
      return;
    }
    if (message->type == kStunAllocateErrorResponse) {
      return FinishAllocate(absl::UnavailableError(absl::StrCat(
          "ALLOCATE error ",
          message->error_code ? message->error_code->GiceCode() : 0)));
    }
    if (!message->mapped_address) {
      return FinishAllocate(
          absl::UnavailableError("ALLOCATE response without MAPPED-ADDRESS"));
    }
    allocated_ = true;
    external_ = *message->mapped_address;
    return FinishAllocate(absl::OkStatus());
  }
  if (message->type != kStunDataIndication || !handler_) return;
  const StunAttribute* source =
      message->FindUnknownAttribute(kStunAttrSourceAddress2);
  const StunAttribute* data = message->FindUnknownAttribute(kStunAttrData);
  if (source == nullptr || data == nullptr) return;
  absl::StatusOr<UdpEndpoint> peer = DecodeStunAddress(source->value);
  if (!peer.ok()) return;
  ++data_indications_;
  // A copy: the handler may destroy this socket.
  std::function<void(absl::string_view, const UdpEndpoint&)> handler = handler_;
  handler(data->value, *peer);
}

}  // namespace talkcheck::media_sim

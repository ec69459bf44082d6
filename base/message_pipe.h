// An ordered, reliable, bidirectional in-memory pipe of messages: a
// socketpair without the kernel, for running the fake server and an in-process
// client with no socket at all. A message is whatever one side hands over in
// one write (bytes, or a parsed XMPP element: xmpp/stream_pipe.h).
//
// Every delivery is posted to the `io_context`, never made inside `Write()`,
// one message per post, and nothing depends on threads or real time: a driver
// loop that alternates `io.poll()` with `VirtualClock::RunNext()` (see
// base/virtual_driver.h) replays a run message for message.
//
// Example:
//   auto [client, server] = MakeMessagePipe<std::string>(io);
//   server->SetHandlers([](std::string& message) { ... },
//                       [] { /* client closed */ });
//   client->Write("<stream:stream ...>");  // reaches `server` in io.poll()
//   client->Close();  // `server` gets the pending messages, then on_closed
#ifndef TALKCHECK_BASE_MESSAGE_PIPE_H_
#define TALKCHECK_BASE_MESSAGE_PIPE_H_

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

namespace talkcheck {

namespace message_pipe_internal {

// One end's half of the shared state.
template <typename Message>
struct Side {
  // Toward this end.
  std::deque<Message> messages;
  bool peer_closed = false;
  bool closed_delivered = false;
  bool pump_posted = false;
  // This end.
  bool alive = true;
  bool closed = false;
  bool handlers_set = false;
  std::function<void(Message&)> on_message;
  std::function<void()> on_closed;

  bool HasWork() const {
    return !messages.empty() || (peer_closed && !closed_delivered);
  }
};

// Owned by both ends; posted deliveries hold it weakly, so they are no-ops
// once both ends are gone.
template <typename Message>
struct State {
  explicit State(boost::asio::io_context& io) : io(io) {}
  boost::asio::io_context& io;
  std::array<Side<Message>, 2> sides;
};

template <typename Message>
void Pump(const std::weak_ptr<State<Message>>& weak, int index);

template <typename Message>
void Schedule(const std::shared_ptr<State<Message>>& state, int index) {
  Side<Message>& side = state->sides[index];
  if (side.pump_posted || !side.alive || !side.handlers_set || !side.HasWork())
    return;
  side.pump_posted = true;
  boost::asio::post(state->io, [weak = std::weak_ptr<State<Message>>(state),
                                index] { Pump(weak, index); });
}

// Hands one message (or the close) to one end, then posts again for the rest,
// so a busy pipe takes turns with other work on the io_context like a socket.
template <typename Message>
void Pump(const std::weak_ptr<State<Message>>& weak, int index) {
  std::shared_ptr<State<Message>> state = weak.lock();
  if (state == nullptr) return;
  Side<Message>& side = state->sides[index];
  side.pump_posted = false;
  if (!side.alive || !side.handlers_set) return;
  if (!side.messages.empty()) {
    Message message = std::move(side.messages.front());
    side.messages.pop_front();
    // Copies: the handler may replace the handlers or destroy the end.
    if (auto on_message = side.on_message) on_message(message);
  } else if (side.peer_closed && !side.closed_delivered) {
    side.closed_delivered = true;
    if (auto on_closed = side.on_closed) on_closed();
  }
  Schedule(state, index);
}

}  // namespace message_pipe_internal

// One end of a message pipe. Single-threaded: use it on the io_context's
// thread.
template <typename Message>
class MessagePipeEnd {
 public:
  // Destroying an end closes it: the other end still gets what this end wrote,
  // then on_closed. Handlers set on this end never run afterwards.
  ~MessagePipeEnd() {
    Close();
    auto& side = mine();
    side.alive = false;
    side.messages.clear();
    // Destroyed last: what the handlers captured may run arbitrary code as it
    // goes.
    auto on_message = std::move(side.on_message);
    auto on_closed = std::move(side.on_closed);
    side.on_message = nullptr;
    side.on_closed = nullptr;
  }
  MessagePipeEnd(const MessagePipeEnd&) = delete;
  MessagePipeEnd& operator=(const MessagePipeEnd&) = delete;

  // Queues a message for the other end; delivered later through io (post),
  // never synchronously. Ignored after Close().
  void Write(Message message) {
    if (mine().closed || !theirs().alive) return;
    theirs().messages.push_back(std::move(message));
    message_pipe_internal::Schedule(state_, 1 - index_);
  }

  // `on_message` gets each message in order (it may move from it);
  // `on_closed` runs once after the last message when the other end closed or
  // was destroyed. Messages that arrived before the handlers were set are held
  // and delivered (posted) once they are. Handlers may destroy the end or
  // replace the handlers; either may be empty.
  void SetHandlers(std::function<void(Message&)> on_message,
                   std::function<void()> on_closed) {
    auto& side = mine();
    side.handlers_set = true;
    // Swapped out first: the old handlers' captures die after the new ones
    // are in place.
    std::swap(side.on_message, on_message);
    std::swap(side.on_closed, on_closed);
    message_pipe_internal::Schedule(state_, index_);
  }

  // Half of a close, as TCP's shutdown(SHUT_WR): the other end receives the
  // pending messages, then on_closed; this end keeps receiving until the other
  // end closes too. Idempotent; Write after Close is ignored.
  void Close() {
    if (mine().closed) return;
    mine().closed = true;
    theirs().peer_closed = true;
    message_pipe_internal::Schedule(state_, 1 - index_);
  }

  // False once Close() was called on this end. A close by the other end shows
  // as on_closed, not here.
  bool is_open() const { return !state_->sides[index_].closed; }

 private:
  template <typename M>
  friend std::pair<std::unique_ptr<MessagePipeEnd<M>>,
                   std::unique_ptr<MessagePipeEnd<M>>>
  MakeMessagePipe(boost::asio::io_context& io);

  MessagePipeEnd(std::shared_ptr<message_pipe_internal::State<Message>> state,
                 int index)
      : state_(std::move(state)), index_(index) {}

  message_pipe_internal::Side<Message>& mine() { return state_->sides[index_]; }
  message_pipe_internal::Side<Message>& theirs() {
    return state_->sides[1 - index_];
  }

  std::shared_ptr<message_pipe_internal::State<Message>> state_;
  int index_;
};

// Makes a connected pair. Both ends run on `io`'s thread; `io` must outlive
// them. Handlers posted to `io` are safe after either end is destroyed.
template <typename Message>
std::pair<std::unique_ptr<MessagePipeEnd<Message>>,
          std::unique_ptr<MessagePipeEnd<Message>>>
MakeMessagePipe(boost::asio::io_context& io) {
  auto state = std::make_shared<message_pipe_internal::State<Message>>(io);
  return {std::unique_ptr<MessagePipeEnd<Message>>(
              new MessagePipeEnd<Message>(state, 0)),
          std::unique_ptr<MessagePipeEnd<Message>>(
              new MessagePipeEnd<Message>(state, 1))};
}

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_MESSAGE_PIPE_H_

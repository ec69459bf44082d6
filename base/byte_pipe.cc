#include "base/byte_pipe.h"

#include <array>
#include <boost/asio/post.hpp>
#include <deque>

namespace talkcheck {
namespace {

// One end's half of the shared state.
struct Side {
  // Toward this end.
  std::deque<std::string> chunks;
  bool peer_closed = false;
  bool closed_delivered = false;
  bool pump_posted = false;
  // This end.
  bool alive = true;
  bool closed = false;
  bool handlers_set = false;
  std::function<void(absl::string_view)> on_data;
  std::function<void()> on_closed;

  bool HasWork() const {
    return !chunks.empty() || (peer_closed && !closed_delivered);
  }
};

// Owned by both ends; posted deliveries hold it weakly, so they are no-ops
// once both ends are gone.
struct PipeState {
  explicit PipeState(boost::asio::io_context& io) : io(io) {}
  boost::asio::io_context& io;
  std::array<Side, 2> sides;
};

void Pump(const std::weak_ptr<PipeState>& weak, int index);

void Schedule(const std::shared_ptr<PipeState>& state, int index) {
  Side& side = state->sides[index];
  if (side.pump_posted || !side.alive || !side.handlers_set || !side.HasWork())
    return;
  side.pump_posted = true;
  boost::asio::post(state->io, [weak = std::weak_ptr<PipeState>(state), index] {
    Pump(weak, index);
  });
}

// Hands one chunk (or the close) to one end, then posts again for the rest, so
// a busy pipe takes turns with other work on the io_context like a socket.
void Pump(const std::weak_ptr<PipeState>& weak, int index) {
  std::shared_ptr<PipeState> state = weak.lock();
  if (state == nullptr) return;
  Side& side = state->sides[index];
  side.pump_posted = false;
  if (!side.alive || !side.handlers_set) return;
  if (!side.chunks.empty()) {
    std::string chunk = std::move(side.chunks.front());
    side.chunks.pop_front();
    // Copies: the handler may replace the handlers or destroy the end.
    if (auto on_data = side.on_data) on_data(chunk);
  } else if (side.peer_closed && !side.closed_delivered) {
    side.closed_delivered = true;
    if (auto on_closed = side.on_closed) on_closed();
  }
  Schedule(state, index);
}

class PipeEnd : public BytePipeEnd {
 public:
  PipeEnd(std::shared_ptr<PipeState> state, int index)
      : state_(std::move(state)), index_(index) {}

  ~PipeEnd() override {
    Close();
    Side& side = mine();
    side.alive = false;
    side.chunks.clear();
    // Destroyed last: what the handlers captured may run arbitrary code as it
    // goes.
    auto on_data = std::move(side.on_data);
    auto on_closed = std::move(side.on_closed);
    side.on_data = nullptr;
    side.on_closed = nullptr;
  }

  void Write(std::string bytes) override {
    if (mine().closed || bytes.empty() || !theirs().alive) return;
    theirs().chunks.push_back(std::move(bytes));
    Schedule(state_, 1 - index_);
  }

  void SetHandlers(std::function<void(absl::string_view)> on_data,
                   std::function<void()> on_closed) override {
    Side& side = mine();
    side.handlers_set = true;
    // Swapped out first: the old handlers' captures die after the new ones
    // are in place.
    std::swap(side.on_data, on_data);
    std::swap(side.on_closed, on_closed);
    Schedule(state_, index_);
  }

  void Close() override {
    if (mine().closed) return;
    mine().closed = true;
    theirs().peer_closed = true;
    Schedule(state_, 1 - index_);
  }

  bool is_open() const override { return !state_->sides[index_].closed; }

 private:
  Side& mine() { return state_->sides[index_]; }
  Side& theirs() { return state_->sides[1 - index_]; }

  std::shared_ptr<PipeState> state_;
  int index_;
};

}  // namespace

std::pair<std::unique_ptr<BytePipeEnd>, std::unique_ptr<BytePipeEnd>>
MakeBytePipe(boost::asio::io_context& io) {
  auto state = std::make_shared<PipeState>(io);
  return {std::make_unique<PipeEnd>(state, 0),
          std::make_unique<PipeEnd>(state, 1)};
}

}  // namespace talkcheck

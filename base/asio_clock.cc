#include "base/asio_clock.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <utility>

namespace talkcheck {
namespace {

class AsioTimer : public Timer {
 public:
  AsioTimer(boost::asio::io_context& io,
            std::chrono::steady_clock::time_point deadline,
            absl::AnyInvocable<void()> callback)
      : state_(std::make_shared<State>(io, std::move(callback))) {
    state_->timer.expires_at(deadline);
    // The handler holds the state, not the Timer, so a cancelled handle may be
    // destroyed while the wait is still queued in the io_context.
    state_->timer.async_wait(
        [state = state_](const boost::system::error_code& ec) {
          if (ec || state->cancelled) return;
          state->cancelled = true;
          state->callback();
        });
  }
  ~AsioTimer() override { Cancel(); }

  void Cancel() override {
    if (state_->cancelled) return;
    state_->cancelled = true;
    state_->timer.cancel();
    state_->callback =
        nullptr;  // release captures now, not when the wait unwinds
  }

 private:
  struct State {
    State(boost::asio::io_context& io, absl::AnyInvocable<void()> cb)
        : timer(io), callback(std::move(cb)) {}
    boost::asio::steady_timer timer;
    absl::AnyInvocable<void()> callback;
    bool cancelled = false;
  };
  std::shared_ptr<State> state_;
};

}  // namespace

AsioClock::AsioClock(boost::asio::io_context& io)
    : io_(io), epoch_(std::chrono::steady_clock::now()) {}

AsioClock::AsioClock(boost::asio::io_context& io, absl::Duration quantum)
    : AsioClock(io) {
  quantum_ =
      std::max(std::chrono::steady_clock::duration::zero(),
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   absl::ToChronoNanoseconds(quantum)));
}

absl::Duration AsioClock::Now() const {
  return absl::FromChrono(std::chrono::steady_clock::now() - epoch_);
}

std::unique_ptr<Timer> AsioClock::CallAfter(
    absl::Duration delay, absl::AnyInvocable<void()> callback) {
  using steady = std::chrono::steady_clock;
  const steady::time_point now = steady::now();
  const steady::duration wait = std::chrono::duration_cast<steady::duration>(
      absl::ToChronoNanoseconds(std::max(delay, absl::ZeroDuration())));
  // Saturates, as expires_after does: an infinite delay never fires.
  steady::time_point deadline = steady::time_point::max();
  if (wait < steady::time_point::max() - now - quantum_) {
    deadline = now + wait;
    if (quantum_.count() > 0) {
      deadline = steady::time_point(
          (deadline.time_since_epoch() + quantum_ - steady::duration(1)) /
          quantum_ * quantum_);
    }
  }
  return std::make_unique<AsioTimer>(io_, deadline, std::move(callback));
}

}  // namespace talkcheck

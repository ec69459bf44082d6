// A `Clock` whose time moves only when told to: the clock of deterministic
// tests and of timeout fuzzing.
//
// Time starts at zero and never ticks by itself. `RunNext()` jumps to the
// earliest pending deadline and runs that callback; a driver loop alternates
// "run everything that is runnable now" (e.g. `io_context::poll()`) with
// `RunNext()`. Timers with equal deadlines run in the order they were created,
// so runs are repeatable.
#ifndef TALKCHECK_BASE_VIRTUAL_CLOCK_H_
#define TALKCHECK_BASE_VIRTUAL_CLOCK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "base/clock.h"

namespace talkcheck {

// Single-threaded. Timers may outlive the clock (their Cancel() becomes a
// no-op).
class VirtualClock : public Clock {
 public:
  VirtualClock();
  ~VirtualClock() override;

  // Clock implementation.
  absl::Duration Now() const override { return now_; }
  std::unique_ptr<Timer> CallAfter(
      absl::Duration delay, absl::AnyInvocable<void()> callback) override;

  // Moves time to the earliest pending deadline (if later than now) and runs
  // that one callback. Returns false, leaving time alone, when nothing is
  // pending.
  bool RunNext();

  // Runs, in deadline order, every callback due at or before `now() + delta`
  // (including ones those callbacks schedule within the window), then sets the
  // time to that point.
  void AdvanceBy(absl::Duration delta);

  // The earliest pending deadline, or absl::InfiniteDuration() when none is
  // pending.
  absl::Duration NextDeadline() const;

  // Visible for testing: how many callbacks are scheduled and not cancelled.
  size_t pending_count() const { return queue_->size(); }

 private:
  class VirtualTimer;

  // A queued callback and the handle that can still cancel it, so that firing
  // disarms the handle and cancelling erases by position, not by key.
  struct Entry {
    absl::AnyInvocable<void()> callback;
    VirtualTimer* timer = nullptr;
  };
  // (deadline, creation sequence) orders the queue deterministically.
  using Key = std::pair<absl::Duration, uint64_t>;
  using Queue = std::map<Key, Entry>;

  absl::Duration now_ = absl::ZeroDuration();
  uint64_t next_sequence_ = 0;
  // Shared with the timers so that a handle outliving the clock can tell.
  std::shared_ptr<Queue> queue_;
};

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_VIRTUAL_CLOCK_H_

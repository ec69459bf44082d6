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
#include <memory>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace talkcheck {

// Single-threaded. Timers may outlive the clock (their Cancel() becomes a
// no-op).
class VirtualClock : public Clock {
 public:
  VirtualClock();
  ~VirtualClock() override;

  VirtualClock(const VirtualClock&) = delete;
  VirtualClock& operator=(const VirtualClock&) = delete;

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
  size_t pending_count() const { return pending_; }

 private:
  class VirtualTimer;

  // A scheduled callback, reused once it has run or been cancelled. Slots
  // (not a node per timer) because timeout fuzzing schedules a timer for
  // every datagram and media frame.
  struct Slot {
    absl::AnyInvocable<void()> callback;
    VirtualTimer* timer = nullptr;  // its handle, if still armed
    uint64_t sequence = kFree;      // of the queue entry that holds it
  };
  // A min-heap entry. (deadline, creation sequence) orders the queue
  // deterministically; an entry whose slot no longer carries its sequence
  // was cancelled and is skipped.
  struct Queued {
    int64_t deadline_ns;  // cheaper to order than an absl::Duration
    uint64_t sequence;
    uint32_t slot;
  };
  static constexpr uint64_t kFree = ~uint64_t{0};

  bool Stale(const Queued& entry) const {
    return slots_[entry.slot].sequence != entry.sequence;
  }
  bool HasDueNow() const { return due_head_ < due_now_.size(); }
  bool HasPending() const { return HasDueNow() || !heap_.empty(); }
  // The earliest entry's deadline; only when HasPending().
  int64_t NextDeadlineNs() const;
  // The heap_ is a kArity-ary min-heap in Earlier order (virtual_clock.cc).
  void PushHeap(const Queued& entry);
  void PopTop();
  void SetNow(int64_t now_ns);
  // Keeps the heap's top and the due queue's front live entries, so that
  // NextDeadline() is const.
  void DropStaleTop();
  // Sweeps cancelled entries out once they outnumber the live ones by far.
  void SweepStale();
  // Called by an armed handle.
  void Cancel(uint32_t slot);
  void FreeSlot(uint32_t slot);

  absl::Duration now_ = absl::ZeroDuration();
  int64_t now_ns_ = 0;  // now_, for the queue
  uint64_t next_sequence_ = 0;
  std::vector<Queued> heap_;
  // Entries due at the time they were scheduled (a delay of zero: most
  // datagrams of a fuzz schedule), in sequence order: a queue instead of the
  // heap, since nothing created later can come before them. Its live entries
  // are all due now, as time cannot pass them. [due_head_, end) is pending.
  std::vector<Queued> due_now_;
  size_t due_head_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  size_t pending_ = 0;
};

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_VIRTUAL_CLOCK_H_

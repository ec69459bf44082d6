#include "base/virtual_clock.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace talkcheck {
namespace {

// Whether `a` runs before `b`: by deadline, then by creation. No two entries
// tie, so any correct queue pops them in the same order.
template <typename Queued>
bool Earlier(const Queued& a, const Queued& b) {
  if (a.deadline_ns != b.deadline_ns) return a.deadline_ns < b.deadline_ns;
  return a.sequence < b.sequence;
}

// The heap's arity: a 4-ary heap has half a binary one's levels, and a
// node's children lie side by side (a schedule pushes and pops a timer for
// most of its ~700 events).
constexpr size_t kArity = 4;

// Cancelled entries left in the heap beyond this many more than the live ones
// are swept out at once, so that timers re-armed far ahead (idle timeouts)
// cannot grow the heap without bound.
constexpr size_t kStaleSlack = 1024;

}  // namespace

class VirtualClock::VirtualTimer final : public Timer {
 public:
  VirtualTimer(VirtualClock* clock, uint32_t slot)
      : clock_(clock), slot_(slot) {}
  ~VirtualTimer() override { Cancel(); }

  // A handle per scheduled callback (every datagram and media frame of a
  // fuzz schedule): recycled through a per-thread free list rather than the
  // allocator. `delete` through a Timer* finds these, the destructor being
  // virtual.
  static void* operator new(size_t size);
  static void operator delete(void* p);

  void Cancel() override {
    VirtualClock* clock = clock_;
    if (clock == nullptr) return;
    clock_ = nullptr;
    clock->Cancel(slot_);
  }

  // The callback has been taken out to run, or the clock is going away.
  void Disarm() { clock_ = nullptr; }

 private:
  VirtualClock* clock_;
  const uint32_t slot_;
};

namespace {

// Freed handles' memory, per thread, given back to the allocator at thread
// exit and beyond a bound (a burst must not pin memory for good). A handle
// freed after its thread's list is gone (by another thread-local's
// destructor) goes straight to the allocator.
thread_local bool timer_list_gone = false;  // trivially destructible

class TimerFreeList {
 public:
  static constexpr size_t kMaxKept = 4096;
  ~TimerFreeList() {
    timer_list_gone = true;
    for (void* p : free_) ::operator delete(p);
  }
  void* Take(size_t size) {
    if (free_.empty()) return ::operator new(size);
    void* p = free_.back();
    free_.pop_back();
    return p;
  }
  void Give(void* p) {
    if (free_.size() >= kMaxKept) return ::operator delete(p);
    free_.push_back(p);
  }

 private:
  std::vector<void*> free_;
};

TimerFreeList* Timers() {
  if (timer_list_gone) return nullptr;
  thread_local TimerFreeList list;
  return &list;
}

}  // namespace

void* VirtualClock::VirtualTimer::operator new(size_t size) {
  // Only VirtualTimer itself is allocated here, so every block has its size.
  TimerFreeList* list = Timers();
  return list != nullptr ? list->Take(size) : ::operator new(size);
}

void VirtualClock::VirtualTimer::operator delete(void* p) {
  TimerFreeList* list = Timers();
  if (list == nullptr) return ::operator delete(p);
  list->Give(p);
}

VirtualClock::VirtualClock() = default;

VirtualClock::~VirtualClock() {
  // Handles outliving the clock must not reach back into it; callbacks are
  // destroyed afterwards, and may destroy handles of their own.
  for (Slot& slot : slots_) {
    if (slot.timer != nullptr) slot.timer->Disarm();
    slot.timer = nullptr;
  }
}

std::unique_ptr<Timer> VirtualClock::CallAfter(
    absl::Duration delay, absl::AnyInvocable<void()> callback) {
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  uint32_t index;
  if (free_slots_.empty()) {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    index = free_slots_.back();
    free_slots_.pop_back();
  }
  auto timer = std::make_unique<VirtualTimer>(this, index);
  Slot& slot = slots_[index];
  slot.callback = std::move(callback);
  slot.timer = timer.get();
  slot.sequence = next_sequence_++;
  // A zero delay (most datagrams) needs no conversion. Saturating: a timer
  // too far ahead to count in nanoseconds (an infinite delay) waits at the
  // end of time.
  const int64_t delay_ns =
      delay == absl::ZeroDuration() ? 0 : absl::ToInt64Nanoseconds(delay);
  const int64_t deadline_ns =
      delay_ns > std::numeric_limits<int64_t>::max() - now_ns_
          ? std::numeric_limits<int64_t>::max()
          : now_ns_ + delay_ns;
  if (deadline_ns == now_ns_) {
    due_now_.push_back(Queued{deadline_ns, slot.sequence, index});
  } else {
    PushHeap(Queued{deadline_ns, slot.sequence, index});
  }
  ++pending_;
  return timer;
}

bool VirtualClock::RunNext() {
  // Both fronts are live (DropStaleTop): the earlier of the two runs.
  Queued top;
  if (HasDueNow() &&
      (heap_.empty() || Earlier(due_now_[due_head_], heap_.front()))) {
    top = due_now_[due_head_++];
  } else if (!heap_.empty()) {
    top = heap_.front();
    PopTop();
  } else {
    return false;
  }
  if (top.deadline_ns > now_ns_) SetNow(top.deadline_ns);
  // Take the callback out first: running it may schedule or cancel other
  // timers, and reuse its slot.
  Slot& slot = slots_[top.slot];
  absl::AnyInvocable<void()> callback = std::move(slot.callback);
  if (slot.timer != nullptr) slot.timer->Disarm();
  FreeSlot(top.slot);
  DropStaleTop();
  callback();
  return true;
}

void VirtualClock::AdvanceBy(absl::Duration delta) {
  const absl::Duration target = now_ + delta;
  const int64_t target_ns = absl::ToInt64Nanoseconds(target);
  while (HasPending() && NextDeadlineNs() <= target_ns) RunNext();
  now_ = target;
  now_ns_ = target_ns;
}

absl::Duration VirtualClock::NextDeadline() const {
  return HasPending() ? absl::Nanoseconds(NextDeadlineNs())
                      : absl::InfiniteDuration();
}

int64_t VirtualClock::NextDeadlineNs() const {
  return HasDueNow() ? due_now_[due_head_].deadline_ns
                     : heap_.front().deadline_ns;
}

void VirtualClock::SetNow(int64_t now_ns) {
  now_ns_ = now_ns;
  now_ = absl::Nanoseconds(now_ns);
}

void VirtualClock::PushHeap(const Queued& entry) {
  size_t i = heap_.size();
  heap_.push_back(entry);
  while (i > 0) {
    const size_t parent = (i - 1) / kArity;
    if (!Earlier(entry, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = entry;
}

void VirtualClock::PopTop() {
  const Queued last = heap_.back();
  heap_.pop_back();
  const size_t size = heap_.size();
  if (size == 0) return;
  // The hole left at the top moves down to where the last entry fits.
  size_t i = 0;
  for (;;) {
    const size_t first = kArity * i + 1;
    if (first >= size) break;
    const size_t end = std::min(first + kArity, size);
    size_t earliest = first;
    for (size_t child = first + 1; child < end; ++child) {
      if (Earlier(heap_[child], heap_[earliest])) earliest = child;
    }
    if (!Earlier(heap_[earliest], last)) break;
    heap_[i] = heap_[earliest];
    i = earliest;
  }
  heap_[i] = last;
}

void VirtualClock::DropStaleTop() {
  while (!heap_.empty() && Stale(heap_.front())) PopTop();
  while (HasDueNow() && Stale(due_now_[due_head_])) ++due_head_;
  if (!HasDueNow()) {
    due_now_.clear();
    due_head_ = 0;
  }
}

void VirtualClock::SweepStale() {
  const auto stale = [this](const Queued& e) { return Stale(e); };
  if (heap_.size() > 2 * pending_ + kStaleSlack) {
    heap_.erase(std::remove_if(heap_.begin(), heap_.end(), stale), heap_.end());
    // Sorted is a heap of any arity; sweeps are rare.
    std::sort(heap_.begin(), heap_.end(),
              [](const Queued& a, const Queued& b) { return Earlier(a, b); });
  }
  if (due_now_.size() - due_head_ > 2 * pending_ + kStaleSlack) {
    due_now_.erase(due_now_.begin(), due_now_.begin() + due_head_);
    due_head_ = 0;
    due_now_.erase(std::remove_if(due_now_.begin(), due_now_.end(), stale),
                   due_now_.end());
  }
}

void VirtualClock::Cancel(uint32_t index) {
  // Destroyed last: the callback's captures may cancel other timers.
  absl::AnyInvocable<void()> callback = std::move(slots_[index].callback);
  FreeSlot(index);
  SweepStale();
  DropStaleTop();
}

void VirtualClock::FreeSlot(uint32_t index) {
  Slot& slot = slots_[index];
  slot.callback = nullptr;
  slot.timer = nullptr;
  slot.sequence = kFree;
  free_slots_.push_back(index);
  --pending_;
}

}  // namespace talkcheck

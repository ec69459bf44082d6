#include "base/virtual_clock.h"

#include <utility>

namespace talkcheck {

class VirtualClock::VirtualTimer : public Timer {
 public:
  VirtualTimer(std::weak_ptr<Queue> queue, Queue::iterator entry)
      : queue_(std::move(queue)), entry_(entry) {}
  ~VirtualTimer() override { Cancel(); }

  void Cancel() override {
    if (!armed_) return;
    armed_ = false;
    // A clock that is gone took the entry with it.
    if (std::shared_ptr<Queue> queue = queue_.lock()) queue->erase(entry_);
  }

  // The clock took the entry out to run it: `entry_` is no longer valid.
  void Disarm() { armed_ = false; }

 private:
  std::weak_ptr<Queue> queue_;
  Queue::iterator entry_;
  bool armed_ = true;
};

VirtualClock::VirtualClock() : queue_(std::make_shared<Queue>()) {}

VirtualClock::~VirtualClock() = default;

std::unique_ptr<Timer> VirtualClock::CallAfter(
    absl::Duration delay, absl::AnyInvocable<void()> callback) {
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  const auto entry = queue_
                         ->emplace(Key(now_ + delay, next_sequence_++),
                                   Entry{std::move(callback), nullptr})
                         .first;
  auto timer = std::make_unique<VirtualTimer>(queue_, entry);
  entry->second.timer = timer.get();
  return timer;
}

bool VirtualClock::RunNext() {
  if (queue_->empty()) return false;
  auto it = queue_->begin();
  if (it->first.first > now_) now_ = it->first.first;
  // Take the callback out first: running it may schedule or cancel other
  // timers.
  absl::AnyInvocable<void()> callback = std::move(it->second.callback);
  if (it->second.timer != nullptr) it->second.timer->Disarm();
  queue_->erase(it);
  callback();
  return true;
}

void VirtualClock::AdvanceBy(absl::Duration delta) {
  const absl::Duration target = now_ + delta;
  while (!queue_->empty() && queue_->begin()->first.first <= target) RunNext();
  now_ = target;
}

absl::Duration VirtualClock::NextDeadline() const {
  return queue_->empty() ? absl::InfiniteDuration()
                         : queue_->begin()->first.first;
}

}  // namespace talkcheck

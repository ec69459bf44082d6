#include "base/virtual_clock.h"

#include <utility>

namespace talkcheck {

class VirtualClock::VirtualTimer : public Timer {
 public:
  VirtualTimer(std::weak_ptr<Queue> queue, Key key)
      : queue_(std::move(queue)), key_(key) {}
  ~VirtualTimer() override { Cancel(); }

  void Cancel() override {
    if (std::shared_ptr<Queue> queue = queue_.lock()) queue->erase(key_);
    queue_.reset();
  }

 private:
  std::weak_ptr<Queue> queue_;
  Key key_;
};

VirtualClock::VirtualClock() : queue_(std::make_shared<Queue>()) {}

VirtualClock::~VirtualClock() = default;

std::unique_ptr<Timer> VirtualClock::CallAfter(
    absl::Duration delay, absl::AnyInvocable<void()> callback) {
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  Key key(now_ + delay, next_sequence_++);
  queue_->emplace(key, std::move(callback));
  return std::make_unique<VirtualTimer>(queue_, key);
}

bool VirtualClock::RunNext() {
  if (queue_->empty()) return false;
  auto it = queue_->begin();
  if (it->first.first > now_) now_ = it->first.first;
  // Take the callback out first: running it may schedule or cancel other
  // timers.
  absl::AnyInvocable<void()> callback = std::move(it->second);
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

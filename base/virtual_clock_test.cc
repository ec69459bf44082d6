#include "base/virtual_clock.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace talkcheck {
namespace {

// Verifies that time only moves when the test moves it, and callbacks run in
// deadline order with ties broken by creation order.
TEST(VirtualClockTest, RunsCallbacksInDeadlineOrder) {
  VirtualClock clock;
  std::vector<std::string> ran;
  auto a = clock.CallAfter(absl::Seconds(15), [&] { ran.push_back("a"); });
  auto b = clock.CallAfter(absl::Seconds(5), [&] { ran.push_back("b"); });
  auto c = clock.CallAfter(absl::Seconds(5), [&] { ran.push_back("c"); });
  EXPECT_EQ(clock.Now(), absl::ZeroDuration());
  EXPECT_EQ(clock.pending_count(), 3u);
  while (clock.RunNext()) {
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(clock.Now(), absl::Seconds(15));
}

// Verifies that a cancelled or destroyed handle stops its callback.
TEST(VirtualClockTest, CancelledTimersDoNotRun) {
  VirtualClock clock;
  int runs = 0;
  auto kept = clock.CallAfter(absl::Seconds(1), [&] { ++runs; });
  auto cancelled = clock.CallAfter(absl::Seconds(1), [&] { runs += 100; });
  cancelled->Cancel();
  clock.CallAfter(absl::Seconds(1),
                  [&] { runs += 1000; });  // handle dropped at once
  clock.AdvanceBy(absl::Seconds(2));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(clock.pending_count(), 0u);
}

// Verifies that the handle of a timer that already ran cancels nothing, not
// even the timers queued after it (handles cancel by queue position), and
// that a callback may cancel and destroy its own handle.
TEST(VirtualClockTest, HandlesOfFiredTimersCancelNothing) {
  VirtualClock clock;
  std::vector<std::string> ran;
  std::unique_ptr<Timer> self;
  auto fired = clock.CallAfter(absl::Seconds(1), [&] { ran.push_back("a"); });
  self = clock.CallAfter(absl::Seconds(1), [&] {
    ran.push_back("self");
    self->Cancel();
    self.reset();
  });
  ASSERT_TRUE(clock.RunNext());
  auto later = clock.CallAfter(absl::Seconds(1), [&] { ran.push_back("b"); });
  auto same_time =
      clock.CallAfter(absl::ZeroDuration(), [&] { ran.push_back("c"); });
  fired->Cancel();
  fired.reset();
  while (clock.RunNext()) {
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "self", "c", "b"}));
  EXPECT_EQ(self, nullptr);
  EXPECT_EQ(clock.pending_count(), 0u);
}

// Verifies that callbacks scheduled inside the window of AdvanceBy still run in
// it.
TEST(VirtualClockTest, AdvanceRunsNestedTimersInsideWindow) {
  VirtualClock clock;
  std::unique_ptr<Timer> second;
  absl::Duration fired_at;
  auto first = clock.CallAfter(absl::Seconds(1), [&] {
    second = clock.CallAfter(absl::Seconds(1), [&] { fired_at = clock.Now(); });
  });
  clock.AdvanceBy(absl::Seconds(3));
  EXPECT_EQ(fired_at, absl::Seconds(2));
  EXPECT_EQ(clock.Now(), absl::Seconds(3));
}

// Verifies that a timer handle may outlive its clock.
TEST(VirtualClockTest, HandleOutlivesClock) {
  std::unique_ptr<Timer> timer;
  {
    VirtualClock clock;
    timer = clock.CallAfter(absl::Seconds(1), [] {});
  }
  timer->Cancel();
  timer.reset();
}

}  // namespace
}  // namespace talkcheck

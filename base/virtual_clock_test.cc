#include "base/virtual_clock.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
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

// Timers re-armed over and over (an idle timeout per stanza) leave cancelled
// entries behind in the queue: only the live ones run, in deadline and then
// creation order, and a slot reused by a new timer is not cancelled by the
// old handle.
TEST(VirtualClockTest, CancelChurnRunsOnlyLiveTimersInOrder) {
  VirtualClock clock;
  std::vector<std::pair<int64_t, int>> ran;
  std::vector<std::unique_ptr<Timer>> timers;
  std::vector<Timer*> cancelled;
  std::vector<std::pair<int64_t, int>> live;
  uint64_t x = 1;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    const int64_t ms = static_cast<int64_t>((x >> 33) % 500);
    timers.push_back(clock.CallAfter(
        absl::Milliseconds(ms), [&ran, ms, i] { ran.emplace_back(ms, i); }));
    if ((x >> 20) % 4 != 0) {
      timers.back()->Cancel();  // frees the slot for the next timer
      cancelled.push_back(timers.back().get());
    } else {
      live.emplace_back(ms, i);
    }
  }
  for (Timer* timer : cancelled) timer->Cancel();  // their slots are reused
  EXPECT_EQ(clock.pending_count(), live.size());
  while (clock.RunNext()) {
  }
  std::sort(live.begin(), live.end());
  EXPECT_EQ(ran, live);
  EXPECT_EQ(clock.pending_count(), 0u);
}

// Callbacks that schedule more timers as they run (what a fuzz schedule's
// media ticks and deliveries do): every timer runs in (deadline, creation)
// order, the queue growing and shrinking throughout.
TEST(VirtualClockTest, TimersScheduledWhileRunningRunInDeadlineOrder) {
  VirtualClock clock;
  struct Made {
    int64_t deadline_us;
    int index;
  };
  std::vector<Made> made;
  std::vector<int> ran;
  std::vector<std::unique_ptr<Timer>> timers;
  uint64_t x = 7;
  std::function<void()> schedule_one = [&] {
    x = x * 6364136223846793005u + 1442695040888963407u;
    const int64_t delay_us = static_cast<int64_t>((x >> 33) % 40) * 250;
    const int index = static_cast<int>(made.size());
    made.push_back({absl::ToInt64Microseconds(clock.Now()) + delay_us, index});
    timers.push_back(clock.CallAfter(absl::Microseconds(delay_us), [&, index] {
      ran.push_back(index);
      // Zero to three more, while fewer than 30,000 were made.
      x = x * 6364136223846793005u + 1442695040888963407u;
      for (uint64_t n = (x >> 40) % 4; n > 0 && made.size() < 30000; --n) {
        schedule_one();
      }
    }));
  };
  for (int i = 0; i < 50; ++i) schedule_one();
  while (clock.RunNext()) {
  }
  std::vector<Made> expected = made;
  std::sort(expected.begin(), expected.end(), [](const Made& a, const Made& b) {
    return std::make_pair(a.deadline_us, a.index) <
           std::make_pair(b.deadline_us, b.index);
  });
  ASSERT_EQ(ran.size(), made.size());
  EXPECT_GT(made.size(), 10000u);
  for (size_t i = 0; i < ran.size(); ++i) {
    ASSERT_EQ(ran[i], expected[i].index) << "the " << i << "th to run";
  }
}

// A timer made due now runs after those made earlier for the same time, and
// before those made later; cancelling one that is due now skips it.
TEST(VirtualClockTest, DueNowTimersKeepCreationOrderAtTheirTime) {
  VirtualClock clock;
  std::vector<std::string> ran;
  std::vector<std::unique_ptr<Timer>> timers;
  timers.push_back(clock.CallAfter(absl::Seconds(1), [&] {
    ran.push_back("x");
    timers.push_back(clock.CallAfter(absl::ZeroDuration(), [&] {
      ran.push_back("z");
      timers.push_back(
          clock.CallAfter(absl::ZeroDuration(), [&] { ran.push_back("v"); }));
    }));
    timers.push_back(
        clock.CallAfter(absl::ZeroDuration(), [&] { ran.push_back("gone"); }));
    timers.back()->Cancel();
  }));
  timers.push_back(clock.CallAfter(absl::Seconds(1), [&] {
    ran.push_back("y");
    timers.push_back(
        clock.CallAfter(absl::ZeroDuration(), [&] { ran.push_back("w"); }));
  }));
  timers.push_back(
      clock.CallAfter(absl::Seconds(2), [&] { ran.push_back("later"); }));
  EXPECT_EQ(clock.NextDeadline(), absl::Seconds(1));
  clock.AdvanceBy(absl::Seconds(1));
  EXPECT_EQ(ran, (std::vector<std::string>{"x", "y", "z", "w", "v"}));
  EXPECT_EQ(clock.pending_count(), 1u);
  EXPECT_EQ(clock.NextDeadline(), absl::Seconds(2));
}

// A burst of timers due now, most cancelled at once (datagrams the network
// drops), with a timer made earlier for the same time: the live ones run, in
// creation order, after it; the cancelled ones never.
TEST(VirtualClockTest, DueNowChurnRunsLiveTimersInCreationOrder) {
  VirtualClock clock;
  std::vector<int> ran;
  std::vector<int> expected = {-1, -2};
  std::vector<std::unique_ptr<Timer>> timers;
  timers.push_back(clock.CallAfter(absl::Seconds(1), [&] {
    ran.push_back(-1);
    for (int i = 0; i < 10000; ++i) {
      timers.push_back(clock.CallAfter(absl::ZeroDuration(),
                                       [&ran, i] { ran.push_back(i); }));
      if (i % 5 != 0) {
        timers.back()->Cancel();
      } else {
        expected.push_back(i);
      }
    }
  }));
  timers.push_back(
      clock.CallAfter(absl::Seconds(1), [&] { ran.push_back(-2); }));
  clock.AdvanceBy(absl::Seconds(1));
  EXPECT_EQ(ran, expected);
  EXPECT_EQ(clock.pending_count(), 0u);
  EXPECT_EQ(clock.NextDeadline(), absl::InfiniteDuration());
  EXPECT_FALSE(clock.RunNext());
}

// Deadlines are kept in nanoseconds: an infinite delay, or one past what
// nanoseconds count from now, waits behind every finite timer instead of
// wrapping around to the front.
TEST(VirtualClockTest, DelaysPastTheNanosecondRangeWaitAtTheEnd) {
  VirtualClock clock;
  std::vector<std::string> ran;
  clock.AdvanceBy(absl::Hours(1));
  auto forever =
      clock.CallAfter(absl::InfiniteDuration(), [&] { ran.push_back("inf"); });
  auto far = clock.CallAfter(absl::Hours(24 * 365 * 300),
                             [&] { ran.push_back("300y"); });
  auto soon = clock.CallAfter(absl::Seconds(1), [&] { ran.push_back("1s"); });
  EXPECT_EQ(clock.NextDeadline(), absl::Hours(1) + absl::Seconds(1));
  ASSERT_TRUE(clock.RunNext());
  EXPECT_EQ(ran, (std::vector<std::string>{"1s"}));
  EXPECT_EQ(clock.Now(), absl::Hours(1) + absl::Seconds(1));
  // Both wait at the end of time, in the order they were made.
  ASSERT_TRUE(clock.RunNext());
  ASSERT_TRUE(clock.RunNext());
  EXPECT_EQ(ran, (std::vector<std::string>{"1s", "inf", "300y"}));
  EXPECT_FALSE(clock.RunNext());
}

// A callback that cancels the next timer due, and one whose captures own a
// handle of the same clock, destroyed when the callback is.
TEST(VirtualClockTest, CallbacksMayCancelAndOwnHandles) {
  VirtualClock clock;
  std::vector<int> ran;
  std::unique_ptr<Timer> second;
  auto first = clock.CallAfter(absl::Seconds(1), [&] {
    ran.push_back(1);
    second->Cancel();
  });
  second = clock.CallAfter(absl::Seconds(2), [&] { ran.push_back(2); });
  auto owned = std::make_shared<std::unique_ptr<Timer>>(
      clock.CallAfter(absl::Seconds(3), [&] { ran.push_back(3); }));
  auto owner = clock.CallAfter(absl::Seconds(4), [owned] {});
  owned.reset();
  owner->Cancel();  // destroys the callback, and with it timer 3's handle
  EXPECT_EQ(clock.pending_count(), 2u);
  while (clock.RunNext()) {
  }
  EXPECT_EQ(ran, std::vector<int>{1});
  EXPECT_EQ(clock.NextDeadline(), absl::InfiniteDuration());
}

// Verifies that recycled handles behave as fresh ones: a handle freed by one
// thread and reused by another, and handles a thread destroys after its
// own recycling has ended (a thread-local's destructor), cancel the right
// callbacks and free cleanly (ASan/LSan in CI watch the memory).
TEST(VirtualClockTest, RecycledHandlesCancelOnlyTheirOwnCallbacks) {
  VirtualClock clock;
  std::vector<int> ran;
  std::vector<std::unique_ptr<Timer>> handles;
  for (int i = 0; i < 100; ++i) {
    handles.push_back(clock.CallAfter(absl::Milliseconds(i),
                                      [&ran, i] { ran.push_back(i); }));
  }
  // Freed on another thread, into that thread's list.
  std::thread([&] {
    for (int i = 0; i < 100; i += 2) handles[i].reset();
  }).join();
  // Reused here for new timers: only the odd ones and these run.
  for (int i = 100; i < 150; ++i) {
    handles.push_back(clock.CallAfter(absl::Milliseconds(i),
                                      [&ran, i] { ran.push_back(i); }));
  }
  while (clock.RunNext()) {
  }
  std::vector<int> expected;
  for (int i = 1; i < 100; i += 2) expected.push_back(i);
  for (int i = 100; i < 150; ++i) expected.push_back(i);
  EXPECT_EQ(ran, expected);

  // A thread whose thread-local holder outlives its recycling list.
  std::thread([] {
    VirtualClock local;
    thread_local std::unique_ptr<Timer> late;
    // Used before this thread's first handle, so destroyed after its list.
    late.reset();
    late = local.CallAfter(absl::Seconds(1), [] {});
    late->Cancel();
  }).join();
}

}  // namespace
}  // namespace talkcheck

#include "base/virtual_driver.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <memory>

namespace talkcheck {
namespace {

// Verifies that io work runs before the clock jumps, and that the loop stops
// as soon as the goal is met.
TEST(RunVirtualTest, RunsIoBeforeTimers) {
  boost::asio::io_context io;
  VirtualClock clock;
  int step = 0;
  auto timer = clock.CallAfter(absl::Seconds(5), [&] {
    EXPECT_EQ(step, 1);
    step = 2;
    boost::asio::post(io, [&] { step = 3; });
  });
  boost::asio::post(io, [&] { step = 1; });
  EXPECT_TRUE(RunVirtual(io, clock, [&] { return step == 3; }));
  EXPECT_EQ(clock.Now(), absl::Seconds(5));
}

// Verifies that the loop gives up at the limit without running later timers.
TEST(RunVirtualTest, StopsAtLimit) {
  boost::asio::io_context io;
  VirtualClock clock;
  bool fired = false;
  auto timer = clock.CallAfter(absl::Seconds(60), [&] { fired = true; });
  EXPECT_FALSE(RunVirtual(
      io, clock, [&] { return fired; }, absl::Seconds(30)));
  EXPECT_FALSE(fired);
  EXPECT_EQ(clock.pending_count(), 1u);
}

// Verifies that the loop ends when nothing at all is pending.
TEST(RunVirtualTest, EndsWhenIdle) {
  boost::asio::io_context io;
  VirtualClock clock;
  int runs = 0;
  auto timer = clock.CallAfter(absl::Seconds(1),
                               [&] { boost::asio::post(io, [&] { ++runs; }); });
  EXPECT_FALSE(RunVirtual(io, clock, [] { return false; }));
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace talkcheck

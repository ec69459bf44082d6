#include "base/asio_clock.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace talkcheck {
namespace {

// Verifies that timers fire in deadline order on the io_context and cancelled
// ones never.
TEST(AsioClockTest, FiresInOrderAndHonoursCancel) {
  boost::asio::io_context io;
  AsioClock clock(io);
  std::string ran;
  auto late = clock.CallAfter(absl::Milliseconds(20), [&] { ran += "late"; });
  auto early = clock.CallAfter(absl::Milliseconds(1), [&] { ran += "early,"; });
  auto cancelled =
      clock.CallAfter(absl::Milliseconds(5), [&] { ran += "never"; });
  cancelled.reset();
  io.run();
  EXPECT_EQ(ran, "early,late");
  EXPECT_GE(clock.Now(), absl::Milliseconds(20));
}

// Verifies that a callback may destroy its own handle.
TEST(AsioClockTest, CallbackMayDestroyItsHandle) {
  boost::asio::io_context io;
  AsioClock clock(io);
  std::unique_ptr<Timer> self;
  bool ran = false;
  self = clock.CallAfter(absl::ZeroDuration(), [&] {
    self.reset();
    ran = true;
  });
  io.run();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace talkcheck

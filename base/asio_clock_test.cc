#include "base/asio_clock.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace talkcheck {
namespace {

// Verifies that timers fire in deadline order on the io_context and cancelled
// ones never. A loaded machine may pause the test between two CallAfter calls
// for longer than their delays differ (CI once saw "late" first), so each
// deadline is bracketed by reading the clock before and after its CallAfter,
// and the order is checked where the brackets do not overlap.
TEST(AsioClockTest, FiresInOrderAndHonoursCancel) {
  boost::asio::io_context io;
  AsioClock clock(io);
  std::string ran;
  struct Bracket {
    absl::Duration earliest, latest;
  };
  auto call = [&](absl::Duration delay, std::string name, Bracket& bracket) {
    bracket.earliest = clock.Now() + delay;
    auto timer = clock.CallAfter(delay, [&ran, name] { ran += name + ","; });
    bracket.latest = clock.Now() + delay;
    return timer;
  };
  Bracket late_at, early_at, unused;
  auto late = call(absl::Milliseconds(20), "late", late_at);
  auto early = call(absl::Milliseconds(1), "early", early_at);
  auto cancelled = call(absl::Milliseconds(5), "never", unused);
  cancelled.reset();
  io.run();
  if (early_at.latest < late_at.earliest) {
    EXPECT_EQ(ran, "early,late,");
  } else if (late_at.latest < early_at.earliest) {
    EXPECT_EQ(ran, "late,early,");
  } else {
    EXPECT_TRUE(ran == "early,late," || ran == "late,early,") << ran;
  }
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

// Verifies that with a quantum every deadline moves up to the next multiple of
// it on the steady clock (never earlier than asked), and that an infinite
// delay still never fires.
TEST(AsioClockTest, QuantumRoundsDeadlinesUp) {
  using steady = std::chrono::steady_clock;
  constexpr auto kQuantum = std::chrono::milliseconds(50);
  boost::asio::io_context io;
  AsioClock clock(io, absl::FromChrono(kQuantum));
  std::vector<std::pair<steady::time_point, steady::time_point>> fired;
  std::vector<std::unique_ptr<Timer>> timers;
  for (int delay_ms : {0, 1, 7, 60}) {
    const steady::time_point asked =
        steady::now() + std::chrono::milliseconds(delay_ms);
    timers.push_back(clock.CallAfter(absl::Milliseconds(delay_ms), [&, asked] {
      fired.emplace_back(asked, steady::now());
    }));
  }
  auto never =
      clock.CallAfter(absl::InfiniteDuration(), [&] { ADD_FAILURE(); });
  io.run_for(std::chrono::milliseconds(200));
  ASSERT_EQ(fired.size(), 4u);
  for (const auto& [asked, at] : fired) {
    // The first multiple of the quantum at or after the deadline asked for.
    const steady::time_point boundary(
        (asked.time_since_epoch() + kQuantum - steady::duration(1)) / kQuantum *
        kQuantum);
    EXPECT_GE(at, boundary);
  }
}

}  // namespace
}  // namespace talkcheck

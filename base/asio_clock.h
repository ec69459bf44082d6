// `Clock` on an Asio `io_context` and its steady timer: the clock of real runs.
#ifndef TALKCHECK_BASE_ASIO_CLOCK_H_
#define TALKCHECK_BASE_ASIO_CLOCK_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "base/clock.h"

namespace talkcheck {

// Callbacks run on whichever thread runs the io_context. Does not own the
// io_context, which must outlive the clock and every timer it made.
class AsioClock : public Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io);
  // With a `quantum`, each deadline is rounded up to the next multiple of it on
  // the steady clock, so the timers due within one quantum fire in one wakeup
  // (one epoll_wait and timerfd_settime for all of them, where thousands of
  // paced senders spread over a frame cost one each), at most `quantum` late.
  // For load generators; protocol timing keeps the exact clock.
  AsioClock(boost::asio::io_context& io, absl::Duration quantum);

  // Clock implementation.
  absl::Duration Now() const override;
  std::unique_ptr<Timer> CallAfter(
      absl::Duration delay, absl::AnyInvocable<void()> callback) override;

 private:
  boost::asio::io_context& io_;
  std::chrono::steady_clock::time_point epoch_;
  std::chrono::steady_clock::duration quantum_{0};
};

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_ASIO_CLOCK_H_

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

  // Clock implementation.
  absl::Duration Now() const override;
  std::unique_ptr<Timer> CallAfter(
      absl::Duration delay, absl::AnyInvocable<void()> callback) override;

 private:
  boost::asio::io_context& io_;
  std::chrono::steady_clock::time_point epoch_;
};

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_ASIO_CLOCK_H_

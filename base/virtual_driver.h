// Drives an io_context and a VirtualClock together, the loop of deterministic
// tests and of timeout fuzzing: run everything runnable now, and only when
// nothing is, jump the clock to its next deadline.
//
// Example:
//   VirtualClock clock;
//   bool ready = false;
//   stream.Connect([&](absl::Status s) { ready = s.ok(); });
//   ASSERT_TRUE(RunVirtual(io, clock, [&] { return ready; },
//   absl::Seconds(30)));
#ifndef TALKCHECK_BASE_VIRTUAL_DRIVER_H_
#define TALKCHECK_BASE_VIRTUAL_DRIVER_H_

#include <boost/asio/io_context.hpp>
#include <functional>

#include "absl/time/time.h"
#include "base/virtual_clock.h"

namespace talkcheck {

// Runs `io` and `clock` together until `done()` is true, or the next deadline
// lies past `limit` (a virtual time, as `clock.Now()`), or nothing at all is
// pending. Returns true when done() became true. Work that only real I/O can
// wake (a socket read) does not count as pending: poll() never waits.
inline bool RunVirtual(boost::asio::io_context& io, VirtualClock& clock,
                       const std::function<bool()>& done,
                       absl::Duration limit = absl::InfiniteDuration()) {
  for (;;) {
    io.restart();
    io.poll();
    if (done()) return true;
    if (clock.NextDeadline() > limit) return false;
    if (!clock.RunNext()) {
      // No timer left: whatever the last poll() queued is all that remains.
      io.restart();
      if (io.poll() == 0) return done();
    }
  }
}

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_VIRTUAL_DRIVER_H_

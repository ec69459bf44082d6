// The one clock every timer in talkcheck runs on.
//
// Protocol code (the fake server, the simulated peer, media_sim, the reference
// client) never reads the system clock and never owns an Asio timer directly:
// it asks a `Clock` for the time and for timers. Production code gets
// `AsioClock` (steady time on an `io_context`); tests and the timeout fuzzer
// get `VirtualClock`, which jumps to the next deadline whenever nothing else is
// runnable, so a 180 s ring timeout takes microseconds.
//
// Example:
//   std::unique_ptr<Timer> idle =
//       clock.CallAfter(absl::Seconds(30), [this] { Close(); });
//   ...
//   idle.reset();  // cancels: the callback will not run
#ifndef TALKCHECK_BASE_CLOCK_H_
#define TALKCHECK_BASE_CLOCK_H_

#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace talkcheck {

// A pending one-shot callback. Destroying the handle cancels it.
class Timer {
 public:
  virtual ~Timer() = default;
  // Stops the callback from running. Safe to call more than once and after it
  // ran.
  virtual void Cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time since the clock's own epoch (not wall-clock time).
  virtual absl::Duration Now() const = 0;

  // Runs `callback` once, on the clock's thread, when `delay` has passed (a
  // negative or zero delay means "as soon as possible", never synchronously).
  // The callback does not run once the returned handle is cancelled or
  // destroyed.
  virtual std::unique_ptr<Timer> CallAfter(
      absl::Duration delay, absl::AnyInvocable<void()> callback) = 0;
};

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_CLOCK_H_

// Time for everything that times out: now() and one-shot timers, from the
// worker's event loop in production and from a ManualClock in tests, so a
// timeout test advances time instead of sleeping through it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "sesame/base/c_handle.h"

namespace sesame {

// A one-shot timer made by a Clock. Its callback runs from the clock's
// driver (the loop, or ManualClock::advance), never from inside arm() or
// cancel(); it may re-arm, cancel or destroy the timer. A timer must not
// outlive its clock.
class Timer {
 public:
  virtual ~Timer() = default;
  // Fires once, `after` from now (zero: on the next pass); re-arming moves
  // the one pending firing.
  virtual void arm(std::chrono::nanoseconds after) = 0;
  virtual void cancel() = 0;
  [[nodiscard]] virtual bool armed() const = 0;
};

class Clock {
 public:
  // A point on this clock's own scale: compare and subtract only points
  // from the same clock.
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
  [[nodiscard]] virtual std::unique_ptr<Timer> timer(std::function<void()> fire) = 0;
};

// The production clock of one event loop. now() is the loop's cached time
// (no system call per read or write; the scale libevent's timers run on),
// timers are libevent timer events on the same loop.
class LoopClock final : public Clock {
 public:
  explicit LoopClock(event_base* base) : base_(base) {}
  [[nodiscard]] TimePoint now() const override;
  [[nodiscard]] std::unique_ptr<Timer> timer(std::function<void()> fire) override;

 private:
  event_base* base_;
};

// Time that moves only when a test says so. advance() fires every timer
// that falls due on the way, in due order, each with now() at its due time;
// a timer armed by a callback for a time still inside the step fires in the
// same advance().
class ManualClock final : public Clock {
 public:
  ManualClock() = default;
  ~ManualClock() override;
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  [[nodiscard]] TimePoint now() const override { return now_; }
  [[nodiscard]] std::unique_ptr<Timer> timer(std::function<void()> fire) override;
  void advance(std::chrono::nanoseconds by);
  // Timers currently armed (what a component keeps pending).
  [[nodiscard]] size_t armedTimers() const;

 private:
  class ManualTimer;

  TimePoint now_{std::chrono::hours(1)};  // any start; not zero, so "unset" stays distinct
  std::vector<ManualTimer*> timers_;
};

}  // namespace sesame

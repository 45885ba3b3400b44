#include "sesame/base/clock.h"

#include <event2/event.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace sesame {
namespace {

class LoopTimer final : public Timer {
 public:
  LoopTimer(event_base* base, std::function<void()> fire)
      : fire_(std::move(fire)), event_(evtimer_new(base, onTimerThunk, this)) {}

  void arm(std::chrono::nanoseconds after) override {
    // Rounded up to whole microseconds: a timer never fires before its time.
    auto us = std::chrono::ceil<std::chrono::microseconds>(std::max(after, {})).count();
    const timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
    evtimer_add(event_.get(), &tv);
  }
  void cancel() override { evtimer_del(event_.get()); }
  [[nodiscard]] bool armed() const override { return evtimer_pending(event_.get(), nullptr) != 0; }

 private:
  static void onTimerThunk(int, short, void* arg) { static_cast<LoopTimer*>(arg)->fire_(); }

  std::function<void()> fire_;
  EventPtr event_;
};

}  // namespace

Clock::TimePoint LoopClock::now() const {
  timeval tv;
  event_base_gettimeofday_cached(base_, &tv);
  return TimePoint(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
}

std::unique_ptr<Timer> LoopClock::timer(std::function<void()> fire) {
  return std::make_unique<LoopTimer>(base_, std::move(fire));
}

class ManualClock::ManualTimer final : public Timer {
 public:
  ManualTimer(ManualClock& clock, std::function<void()> fire)
      : clock_(clock), fire_(std::move(fire)) {
    clock_.timers_.push_back(this);
  }
  ~ManualTimer() override { std::erase(clock_.timers_, this); }

  void arm(std::chrono::nanoseconds after) override {
    due_ = clock_.now_ + std::max(after, std::chrono::nanoseconds{0});
    armed_ = true;
  }
  void cancel() override { armed_ = false; }
  [[nodiscard]] bool armed() const override { return armed_; }

  ManualClock& clock_;
  std::function<void()> fire_;
  TimePoint due_{};
  bool armed_ = false;
};

ManualClock::~ManualClock() {
  if (!timers_.empty()) {
    // A component still holds a timer of a dead clock: a test bug that
    // would otherwise be a use after free later.
    std::fprintf(stderr, "ManualClock destroyed with %zu live timers\n", timers_.size());
    std::abort();
  }
}

std::unique_ptr<Timer> ManualClock::timer(std::function<void()> fire) {
  return std::make_unique<ManualTimer>(*this, std::move(fire));
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  const TimePoint target = now_ + by;
  for (;;) {
    ManualTimer* next = nullptr;
    for (ManualTimer* t : timers_) {
      if (t->armed_ && t->due_ <= target && (next == nullptr || t->due_ < next->due_)) next = t;
    }
    if (next == nullptr) break;
    now_ = std::max(now_, next->due_);
    next->armed_ = false;
    // The callback may destroy `next` (or other timers): nothing of it is
    // touched afterwards, and the next one is looked up afresh.
    next->fire_();
  }
  now_ = target;
}

size_t ManualClock::armedTimers() const {
  return static_cast<size_t>(std::count_if(timers_.begin(), timers_.end(),
                                           [](const ManualTimer* t) { return t->armed_; }));
}

}  // namespace sesame

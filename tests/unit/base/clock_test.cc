// The Clock seam: ManualClock's contract (what timeout tests rely on) and
// LoopClock's timers on a real loop.
#include "sesame/base/clock.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../net/loop_helpers.h"

using namespace sesame;
using namespace std::chrono_literals;

TEST_CASE("ManualClock: time moves only on advance()", "[base][clock]") {
  ManualClock clock;
  const Clock::TimePoint start = clock.now();
  CHECK(clock.now() == start);
  clock.advance(1500ms);
  CHECK(clock.now() - start == 1500ms);
}

TEST_CASE("ManualClock: due timers fire in due order, each at its own time", "[base][clock]") {
  ManualClock clock;
  const Clock::TimePoint start = clock.now();
  std::vector<std::string> fired;
  std::vector<Clock::TimePoint::duration> at;
  auto record = [&](std::string name) {
    return [&, name] {
      fired.push_back(name);
      at.push_back(clock.now() - start);
    };
  };
  auto late = clock.timer(record("late"));
  auto early = clock.timer(record("early"));
  auto never = clock.timer(record("never"));
  late->arm(300ms);
  early->arm(100ms);
  never->arm(100ms);
  never->cancel();
  CHECK(clock.armedTimers() == 2);

  clock.advance(99ms);
  CHECK(fired.empty());
  clock.advance(1s);
  CHECK(fired == std::vector<std::string>{"early", "late"});
  CHECK(at == std::vector<Clock::TimePoint::duration>{100ms, 300ms});
  CHECK(clock.now() - start == 1099ms);
  CHECK_FALSE(early->armed());
  CHECK(clock.armedTimers() == 0);
}

TEST_CASE("ManualClock: a callback may re-arm, arm others and destroy timers", "[base][clock]") {
  ManualClock clock;
  int ticks = 0;
  std::unique_ptr<Timer> victim;
  std::unique_ptr<Timer> tick;
  tick = clock.timer([&] {
    if (++ticks < 3) tick->arm(100ms);  // re-armed inside the step: fires in it
    victim.reset();
  });
  bool victim_fired = false;
  victim = clock.timer([&] { victim_fired = true; });
  victim->arm(150ms);
  tick->arm(100ms);
  clock.advance(1s);
  CHECK(ticks == 3);
  CHECK_FALSE(victim_fired);  // destroyed at 100 ms, before its time

  std::unique_ptr<Timer> self;
  self = clock.timer([&] { self.reset(); });
  self->arm(0ms);
  clock.advance(0ms);  // zero: due at once
  CHECK(self == nullptr);
}

TEST_CASE("LoopClock: timers are libevent timers on the loop", "[base][clock]") {
  net::testing::Loop loop;
  Clock& clock = loop.clock();
  int fired = 0;
  auto soon = clock.timer([&] { ++fired; });
  soon->arm(0ms);
  CHECK(soon->armed());
  CHECK(fired == 0);  // never inside arm()
  REQUIRE(loop.runUntil([&] { return fired == 1; }));
  CHECK_FALSE(soon->armed());

  auto cancelled = clock.timer([&] { fired += 10; });
  cancelled->arm(1ms);
  cancelled->cancel();
  soon->arm(20ms);
  REQUIRE(loop.runUntil([&] { return fired == 2; }));
  CHECK(fired == 2);  // the cancelled one (due first) never fired
}

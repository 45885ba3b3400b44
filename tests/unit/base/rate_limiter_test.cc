#include "sesame/base/rate_limiter.h"

#include <catch2/catch.hpp>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using sesame::RateLimiter;

namespace {
const RateLimiter::TimePoint kT0{};  // the tests' clock starts here
const char kSiteA = 0;
const char kSiteB = 0;
}  // namespace

TEST_CASE("a key writes `burst` messages per interval and counts the rest",
          "[base][rate_limiter]") {
  RateLimiter limiter(3, 10s);
  for (int i = 0; i < 3; ++i) {
    RateLimiter::Verdict v = limiter.admit(&kSiteA, kT0 + std::chrono::seconds(i));
    CHECK(v.write);
    CHECK(v.suppressed == 0);
    CHECK(v.last_in_window == (i == 2));
  }
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(limiter.admit(&kSiteA, kT0 + 9s).write);
  // The window opened at kT0: at kT0 + 10s a new one opens, and its first
  // message reports what was dropped.
  RateLimiter::Verdict next = limiter.admit(&kSiteA, kT0 + 10s);
  CHECK(next.write);
  CHECK(next.suppressed == 1000);
  CHECK_FALSE(next.last_in_window);
  // Reported once only.
  CHECK(limiter.admit(&kSiteA, kT0 + 11s).suppressed == 0);
}

TEST_CASE("keys have budgets of their own", "[base][rate_limiter]") {
  RateLimiter limiter(1, 5s);
  CHECK(limiter.admit(&kSiteA, kT0).write);
  CHECK_FALSE(limiter.admit(&kSiteA, kT0).write);
  CHECK(limiter.admit(&kSiteB, kT0).write);
  CHECK_FALSE(limiter.admit(&kSiteB, kT0 + 1s).write);
  RateLimiter::Verdict a = limiter.admit(&kSiteA, kT0 + 5s);
  CHECK(a.write);
  CHECK(a.suppressed == 1);
}

TEST_CASE("a window starts at the first message after a quiet spell", "[base][rate_limiter]") {
  RateLimiter limiter(2, 10s);
  CHECK(limiter.admit(&kSiteA, kT0).write);
  // An hour later: a fresh window from here, not one aligned to kT0.
  const RateLimiter::TimePoint later = kT0 + 3600s + 7s;
  CHECK(limiter.admit(&kSiteA, later).write);
  CHECK(limiter.admit(&kSiteA, later + 9s).write);
  CHECK_FALSE(limiter.admit(&kSiteA, later + 9s).write);
  CHECK(limiter.admit(&kSiteA, later + 10s).suppressed == 1);
}

TEST_CASE("expire reports each ended window's suppressed count once", "[base][rate_limiter]") {
  RateLimiter limiter(1, 10s);
  CHECK(limiter.admit(&kSiteA, kT0).write);
  for (int i = 0; i < 7; ++i) CHECK_FALSE(limiter.admit(&kSiteA, kT0 + 1s).write);
  CHECK(limiter.admit(&kSiteB, kT0 + 5s).write);  // nothing suppressed: never reported
  std::vector<std::pair<const void*, uint64_t>> reported;
  auto collect = [&](const void* key, uint64_t n) { reported.emplace_back(key, n); };
  limiter.expire(kT0 + 9s, collect);
  CHECK(reported.empty());  // the window is still open
  limiter.expire(kT0 + 10s, collect);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0] == std::make_pair(static_cast<const void*>(&kSiteA), uint64_t{7}));
  // Not again, and not with the next message either.
  limiter.expire(kT0 + 60s, collect);
  CHECK(reported.size() == 1);
  RateLimiter::Verdict next = limiter.admit(&kSiteA, kT0 + 61s);
  CHECK(next.write);
  CHECK(next.suppressed == 0);
}

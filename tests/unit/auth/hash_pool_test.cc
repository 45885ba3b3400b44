#include "sesame/auth/hash_pool.h"

#include <event2/event.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "../net/loop_helpers.h"
#include "test_hashes.h"

namespace sesame::auth {
namespace {

using net::testing::Loop;
using namespace std::chrono_literals;
using namespace testing;
using SteadyClock = std::chrono::steady_clock;

// A loop with its mailbox, closed before the loop goes as a worker does.
struct LoopWithMailbox {
  Loop loop;
  std::shared_ptr<LoopMailbox> mailbox = std::make_shared<LoopMailbox>(loop.base());
  ~LoopWithMailbox() { mailbox->close(); }
};

// Waits (without running any loop) until the pool's threads have taken every queued check.
void waitUntilTaken(const HashPool& pool) {
  const auto deadline = SteadyClock::now() + 5s;
  while (pool.queued() > 0 && SteadyClock::now() < deadline) std::this_thread::sleep_for(1ms);
  REQUIRE(pool.queued() == 0);
}

TEST_CASE("results arrive on the loop's thread", "[auth][hash_pool]") {
  LoopWithMailbox l;
  HashPool pool(2, 8);
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::vector<std::optional<bool>> results(4);
  std::vector<bool> on_loop(4, false);
  std::vector<std::unique_ptr<HashPool::Ticket>> tickets;
  const std::vector<std::pair<const char*, const char*>> checks{
      {kPassword, kYescrypt}, {"wrong", kYescrypt}, {kPassword, kBcrypt2y}, {kPassword, kSha256}};
  for (size_t i = 0; i < checks.size(); ++i) {
    tickets.push_back(pool.verify(checks[i].first, checks[i].second, l.mailbox, [&, i](bool match) {
      results[i] = match;
      on_loop[i] = std::this_thread::get_id() == loop_thread;
    }));
    REQUIRE(tickets.back());
  }
  REQUIRE(l.loop.runUntil(
      [&] {
        return std::all_of(results.begin(), results.end(),
                           [](const auto& r) { return r.has_value(); });
      },
      5000ms));
  CHECK(results == std::vector<std::optional<bool>>{true, false, true, true});
  CHECK(on_loop == std::vector<bool>{true, true, true, true});
}

TEST_CASE("a full queue refuses the check: null ticket, no callback", "[auth][hash_pool]") {
  LoopWithMailbox l;
  HashPool pool(1, 2);
  int done = 0;
  const auto count = [&](bool) { ++done; };
  // The one thread is busy with a slow check, two more wait: the queue is full.
  auto busy = pool.verify(kPassword, kBcryptCost12, l.mailbox, count);
  REQUIRE(busy);
  waitUntilTaken(pool);
  auto first = pool.verify(kPassword, kSha256, l.mailbox, count);
  auto second = pool.verify(kPassword, kSha256, l.mailbox, count);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(pool.queued() == 2);
  bool refused_ran = false;
  CHECK(pool.verify(kPassword, kSha256, l.mailbox, [&](bool) { refused_ran = true; }) == nullptr);
  REQUIRE(l.loop.runUntil([&] { return done == 3; }, 10000ms));
  // Room again once the queue drains.
  auto later = pool.verify(kPassword, kSha256, l.mailbox, count);
  CHECK(later);
  REQUIRE(l.loop.runUntil([&] { return done == 4; }, 5000ms));
  CHECK_FALSE(refused_ran);
}

TEST_CASE("a destroyed ticket's callback never runs", "[auth][hash_pool]") {
  LoopWithMailbox l;
  HashPool pool(1, 8);
  bool cancelled_ran = false;
  int kept = 0;
  SECTION("cancelled while queued or hashing") {
    auto busy = pool.verify(kPassword, kBcrypt2y, l.mailbox, [&](bool) { cancelled_ran = true; });
    auto queued = pool.verify(kPassword, kSha256, l.mailbox, [&](bool) { cancelled_ran = true; });
    busy.reset();
    queued.reset();
    auto witness = pool.verify(kPassword, kSha256, l.mailbox, [&](bool) { ++kept; });
    // The pool runs checks in order on its one thread: the witness comes last.
    REQUIRE(l.loop.runUntil([&] { return kept == 1; }, 5000ms));
    l.loop.settle();
  }
  SECTION("cancelled after the result was posted, before the loop ran it") {
    // A second loop tells when the first check's result is posted: the pool's one thread
    // posts in order, so once the witness has arrived there, the first result waits in `l`.
    LoopWithMailbox other;
    auto ticket = pool.verify(kPassword, kSha256, l.mailbox, [&](bool) { cancelled_ran = true; });
    auto witness = pool.verify(kPassword, kSha256, other.mailbox, [&](bool) { ++kept; });
    REQUIRE(other.loop.runUntil([&] { return kept == 1; }, 5000ms));
    ticket.reset();
    l.loop.settle();
  }
  CHECK_FALSE(cancelled_ran);
}

TEST_CASE("a callback may destroy its own ticket", "[auth][hash_pool]") {
  LoopWithMailbox l;
  HashPool pool(1, 8);
  std::unique_ptr<HashPool::Ticket> ticket;
  auto owned = std::make_shared<int>(0);
  bool ran = false;
  ticket = pool.verify(kPassword, kSha256, l.mailbox, [&, owned](bool match) {
    ticket.reset();
    ran = match && *owned == 0;
  });
  owned.reset();
  REQUIRE(l.loop.runUntil([&] { return ran; }, 5000ms));
  CHECK(ticket == nullptr);
}

TEST_CASE("a slow bcrypt cost-12 check does not block the loop", "[auth][hash_pool]") {
  LoopWithMailbox l;
  HashPool pool(1, 8);
  // A 5 ms timer on the same loop records when it fires while the check runs.
  std::vector<SteadyClock::time_point> fired;
  EventPtr timer(event_new(
      l.loop.base(), -1, EV_PERSIST,
      [](evutil_socket_t, short, void* arg) {
        static_cast<std::vector<SteadyClock::time_point>*>(arg)->push_back(SteadyClock::now());
      },
      &fired));
  const timeval every{0, 5000};
  event_add(timer.get(), &every);
  std::optional<bool> result;
  const auto start = SteadyClock::now();
  auto ticket = pool.verify(kPassword, kBcryptCost12, l.mailbox, [&](bool m) { result = m; });
  REQUIRE(l.loop.runUntil([&] { return result.has_value(); }, 30000ms));
  const auto took = SteadyClock::now() - start;
  CHECK(*result);
  INFO("bcrypt cost 12 took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms; the timer fired " << fired.size() << " times");
  // bcrypt at cost 12 takes well over 50 ms on any machine this runs on; the loop kept turning.
  CHECK(took > 50ms);
  CHECK(fired.size() >= 5);
  SteadyClock::duration longest_gap{};
  for (size_t i = 1; i < fired.size(); ++i) {
    longest_gap = std::max(longest_gap, fired[i] - fired[i - 1]);
  }
  CHECK(longest_gap < took / 2);
}

TEST_CASE("the pool's destructor drops waiting checks and finishes the running one",
          "[auth][hash_pool]") {
  LoopWithMailbox l;
  std::optional<bool> running_result;
  int dropped_ran = 0;
  // Tickets outlive the pool here, as a worker's connections may.
  std::unique_ptr<HashPool::Ticket> running;
  std::vector<std::unique_ptr<HashPool::Ticket>> waiting;
  {
    HashPool pool(1, 8);
    running = pool.verify(kPassword, kBcrypt2y, l.mailbox, [&](bool m) { running_result = m; });
    waitUntilTaken(pool);
    for (int i = 0; i < 3; ++i) {
      waiting.push_back(pool.verify(kPassword, kSha256, l.mailbox, [&](bool) { ++dropped_ran; }));
    }
    CHECK(pool.queued() == 3);
  }
  // The running check finished before the pool was gone, and its result was posted.
  l.loop.settle();
  CHECK(running_result == true);
  CHECK(dropped_ran == 0);
}

TEST_CASE("a result for a loop that has ended is dropped", "[auth][hash_pool]") {
  HashPool pool(1, 8);
  bool ran = false;
  std::unique_ptr<HashPool::Ticket> ticket;
  {
    LoopWithMailbox l;
    ticket = pool.verify(kPassword, kBcryptCost12, l.mailbox, [&](bool) { ran = true; });
  }  // closed, and the loop freed, while the check runs: the pool thread holds the mailbox
  // One more check on the same thread: once it is back, the first result was dropped.
  LoopWithMailbox other;
  bool witness = false;
  auto second = pool.verify(kPassword, kSha256, other.mailbox, [&](bool) { witness = true; });
  REQUIRE(other.loop.runUntil([&] { return witness; }, 5000ms));
  ticket.reset();
  CHECK_FALSE(ran);
}

TEST_CASE("a null or broken mailbox is refused", "[auth][hash_pool]") {
  HashPool pool(1, 8);
  CHECK(pool.verify(kPassword, kSha256, nullptr, [](bool) {}) == nullptr);
}

}  // namespace
}  // namespace sesame::auth

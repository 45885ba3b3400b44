#include "sesame/base/loop_mailbox.h"

#include <event2/event.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "../net/loop_helpers.h"

namespace sesame {
namespace {

using net::testing::Loop;
using namespace std::chrono_literals;

TEST_CASE("tasks posted from other threads run on the loop's thread, in order",
          "[base][loop_mailbox]") {
  Loop loop;
  auto mailbox = std::make_shared<LoopMailbox>(loop.base());
  REQUIRE(mailbox->ok());
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::vector<int> ran;
  bool all_on_loop = true;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) {
      CHECK(mailbox->post([&, i] {
        all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
        ran.push_back(i);
      }));
    }
  });
  poster.join();
  CHECK(ran.empty());  // nothing runs before the loop does
  REQUIRE(loop.runUntil([&] { return ran.size() == 100; }));
  CHECK(all_on_loop);
  for (int i = 0; i < 100; ++i) CHECK(ran[static_cast<size_t>(i)] == i);
  mailbox->close();
}

TEST_CASE("a post wakes a loop that waits for nothing else", "[base][loop_mailbox]") {
  EventBasePtr base(event_base_new());
  auto mailbox = std::make_shared<LoopMailbox>(base.get());
  // Fails the test instead of hanging it if the post never wakes the loop.
  bool timed_out = false;
  EventPtr guard(evtimer_new(
      base.get(), [](evutil_socket_t, short, void* arg) { *static_cast<bool*>(arg) = true; },
      &timed_out));
  const timeval five_seconds{5, 0};
  evtimer_add(guard.get(), &five_seconds);
  bool ran = false;
  std::thread poster([&] {
    std::this_thread::sleep_for(50ms);
    mailbox->post([&] { ran = true; });
  });
  const auto start = std::chrono::steady_clock::now();
  event_base_loop(base.get(), EVLOOP_ONCE);  // blocks until an event is ready
  poster.join();
  CHECK(ran);
  CHECK_FALSE(timed_out);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  mailbox->close();
}

TEST_CASE("posts from many threads all run, each once", "[base][loop_mailbox]") {
  Loop loop;
  auto mailbox = std::make_shared<LoopMailbox>(loop.base());
  constexpr int kThreads = 8;
  constexpr int kPosts = 2000;
  std::vector<int> counts(kThreads * kPosts, 0);
  size_t total = 0;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) {
        mailbox->post([&, slot = t * kPosts + i] {
          ++counts[static_cast<size_t>(slot)];
          ++total;
        });
      }
    });
  }
  // The loop runs while the posters post.
  REQUIRE(loop.runUntil([&] { return total == counts.size(); }, 10000ms));
  for (std::thread& t : posters) t.join();
  loop.settle();
  CHECK(total == counts.size());
  CHECK(std::all_of(counts.begin(), counts.end(), [](int c) { return c == 1; }));
  mailbox->close();
}

TEST_CASE("close drops queued tasks and refuses later posts", "[base][loop_mailbox]") {
  Loop loop;
  auto mailbox = std::make_shared<LoopMailbox>(loop.base());
  auto owned = std::make_shared<int>(7);  // tells when the queued task is destroyed
  bool ran = false;
  CHECK(mailbox->post([&ran, owned] { ran = true; }));
  CHECK(owned.use_count() == 2);
  mailbox->close();
  CHECK(owned.use_count() == 1);  // destroyed by close, on this thread
  CHECK_FALSE(mailbox->post([&ran, owned] { ran = true; }));
  CHECK(owned.use_count() == 1);
  loop.settle();
  CHECK_FALSE(ran);
  mailbox->close();  // again: nothing
}

TEST_CASE("a task that closes the mailbox ends its batch", "[base][loop_mailbox]") {
  Loop loop;
  auto mailbox = std::make_shared<LoopMailbox>(loop.base());
  std::vector<int> ran;
  mailbox->post([&] { ran.push_back(1); });
  mailbox->post([&] {
    ran.push_back(2);
    mailbox->close();
  });
  mailbox->post([&] { ran.push_back(3); });
  REQUIRE(loop.runUntil([&] { return !ran.empty(); }));
  loop.settle();
  CHECK(ran == std::vector<int>{1, 2});
}

TEST_CASE("a mailbox outlives its loop: posts are dropped, any thread may free it",
          "[base][loop_mailbox]") {
  std::shared_ptr<LoopMailbox> mailbox;
  {
    Loop loop;
    mailbox = std::make_shared<LoopMailbox>(loop.base());
    bool ran = false;
    mailbox->post([&] { ran = true; });
    REQUIRE(loop.runUntil([&] { return ran; }));
    mailbox->close();  // the loop's owner, before the loop goes
  }
  auto owned = std::make_shared<int>(1);
  std::thread other([mailbox = std::move(mailbox), owned]() mutable {
    CHECK_FALSE(mailbox->post([owned] {}));
    mailbox.reset();  // the last holder: freed on this thread, after the loop
  });
  other.join();
  CHECK(owned.use_count() == 1);
}

TEST_CASE("a mailbox destroyed on its loop's thread without close frees its event",
          "[base][loop_mailbox]") {
  Loop loop;
  {
    LoopMailbox mailbox(loop.base());
    mailbox.post([] {});
  }
  // The event is gone from the loop: running it touches no freed memory (ASan).
  loop.settle();
}

}  // namespace
}  // namespace sesame

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "sesame/base/loop_mailbox.h"
#include "sesame/server/worker.h"

namespace sesame::server {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a worker's mailbox runs tasks on its thread and outlives the worker",
          "[server][worker]") {
  std::shared_ptr<LoopMailbox> mailbox;
  {
    Generation first;
    first.number = 1;
    first.config = std::make_shared<config::Config>();
    Worker worker(0, std::move(first));
    worker.start();
    mailbox = worker.mailbox();
    REQUIRE(mailbox);
    std::promise<std::thread::id> ran;
    CHECK(mailbox->post([&ran] { ran.set_value(std::this_thread::get_id()); }));
    std::future<std::thread::id> ran_on = ran.get_future();
    REQUIRE(ran_on.wait_for(5s) == std::future_status::ready);
    CHECK(ran_on.get() != std::this_thread::get_id());
    worker.drain();
    CHECK(worker.join(std::chrono::steady_clock::now() + 5s) == 0);
    // The loop has ended: later posts are dropped, not left waiting.
    CHECK_FALSE(mailbox->post([] {}));
  }
  // The worker and its loop are gone; the last holder (a hashing thread, say) frees the mailbox
  // on its own thread.
  std::thread([held = std::move(mailbox)]() mutable {
    CHECK_FALSE(held->post([] {}));
    held.reset();
  }).join();
}

}  // namespace
}  // namespace sesame::server

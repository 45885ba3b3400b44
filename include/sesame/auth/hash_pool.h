// Password checks off the event loops: a few threads run verifyPassword (tens to hundreds of
// milliseconds each) and post each result back to the loop that asked.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sesame/base/loop_mailbox.h"

namespace sesame::auth {

// One per process, shared by every worker. Its threads never touch a loop: a result travels
// through the asking loop's LoopMailbox.
class HashPool {
 public:
  using Done = std::function<void(bool match)>;

  // The caller's handle on one check: destroying it cancels the check, so `done` never runs
  // (the connection that asked has gone). Lives and dies on the thread of the loop that asked.
  class Ticket {
   public:
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    friend class HashPool;
    struct State;
    explicit Ticket(std::shared_ptr<State> state) : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
  };

  // `threads` checks run at once, at most `queue_limit` more wait for a thread (each at least 1).
  HashPool(size_t threads, size_t queue_limit);
  // Drops the checks still waiting (their `done` never runs), lets the running ones finish and
  // joins the threads. Safe at any time, but the loops' pending logins then never finish:
  // destroy it after the loops it posts to have ended.
  ~HashPool();
  HashPool(const HashPool&) = delete;
  HashPool& operator=(const HashPool&) = delete;

  // Called on a loop's thread, whose `mailbox` it is: queues a check of `password` against
  // `hash` (verifyPassword), and `done(match)` later runs on that loop, unless the returned
  // ticket was destroyed first. Null when queue_limit checks already wait (the caller answers
  // 503 rather than letting logins pile up), and for a null or broken mailbox. The password is
  // wiped once checked or dropped.
  [[nodiscard]] std::unique_ptr<Ticket> verify(std::string password, std::string hash,
                                               std::shared_ptr<LoopMailbox> mailbox, Done done);

  // Checks waiting for a thread now (for tests and metrics).
  [[nodiscard]] size_t queued() const;

 private:
  struct Job;

  void run();

  const size_t queue_limit_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace sesame::auth

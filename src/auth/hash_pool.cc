#include "sesame/auth/hash_pool.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "sesame/auth/password.h"

namespace sesame::auth {

// Shared by the ticket, the queued job and the delivery task. `done` is touched on the asking
// loop's thread only (set by verify, run by the delivery, cleared by the ticket), so it is also
// destroyed there, never on a pool thread; the pool threads read `cancelled` alone.
struct HashPool::Ticket::State {
  std::atomic<bool> cancelled{false};
  Done done;
};

struct HashPool::Job {
  std::string password;
  std::string hash;
  std::shared_ptr<LoopMailbox> mailbox;
  std::shared_ptr<Ticket::State> state;
};

HashPool::Ticket::~Ticket() {
  state_->cancelled.store(true, std::memory_order_relaxed);
  state_->done = nullptr;
}

HashPool::HashPool(size_t threads, size_t queue_limit)
    : queue_limit_(std::max<size_t>(1, queue_limit)) {
  const size_t n = std::max<size_t>(1, threads);
  threads_.reserve(n);
  for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
}

HashPool::~HashPool() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  for (Job& job : dropped) wipe(job.password);
  for (std::thread& t : threads_) t.join();
}

std::unique_ptr<HashPool::Ticket> HashPool::verify(std::string password, std::string hash,
                                                   std::shared_ptr<LoopMailbox> mailbox,
                                                   Done done) {
  if (!mailbox || !mailbox->ok()) {
    wipe(password);
    return nullptr;
  }
  auto state = std::make_shared<Ticket::State>();
  state->done = std::move(done);
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= queue_limit_ || stopping_) {
      wipe(password);
      return nullptr;
    }
    queue_.push_back(Job{std::move(password), std::move(hash), std::move(mailbox), state});
  }
  wake_.notify_one();
  return std::unique_ptr<Ticket>(new Ticket(std::move(state)));
}

size_t HashPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void HashPool::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    // A connection that went away while its check waited costs no hashing.
    if (job.state->cancelled.load(std::memory_order_relaxed)) {
      wipe(job.password);
      continue;
    }
    const bool match = verifyPassword(job.password, job.hash);
    wipe(job.password);
    // The ticket may be destroyed meanwhile: the delivery checks again, on the loop's thread,
    // where the ticket lives, so a cancelled check's `done` never runs. A closed mailbox (its
    // loop has ended) drops the delivery here; `done` is not in it.
    job.mailbox->post([state = std::move(job.state), match] {
      if (state->cancelled.load(std::memory_order_relaxed)) return;
      // Moved out first: `done` may destroy the ticket, which clears state->done.
      Done done = std::move(state->done);
      state->done = nullptr;
      if (done) done(match);
    });
  }
}

}  // namespace sesame::auth

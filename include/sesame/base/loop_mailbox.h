// Runs closures on an event loop's own thread, posted from any thread: the one way other threads
// (the main thread, the password-hashing pool) hand work to a worker's loop.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "sesame/base/c_handle.h"

namespace sesame {

// Held by std::shared_ptr: whoever may post keeps the mailbox alive, possibly longer than the
// loop, so post() stays safe after the loop has ended (it drops the task then).
//
// Threads: post() from any thread. The constructor, close() and the destructor touch the loop's
// event, so they run on the loop's thread, or on any thread while the loop does not run.
// The owner of the loop calls close() before it frees the event_base; after close() the
// mailbox no longer touches the loop, and its last holder may destroy it on any thread.
class LoopMailbox {
 public:
  // Adds a persistent read event for an eventfd to `base`. Without a descriptor to spare, ok()
  // is false (logged) and every post is dropped.
  explicit LoopMailbox(event_base* base);
  ~LoopMailbox();
  LoopMailbox(const LoopMailbox&) = delete;
  LoopMailbox& operator=(const LoopMailbox&) = delete;

  // False when the mailbox could not be set up (then every post is dropped).
  [[nodiscard]] bool ok() const { return ok_; }

  // Queues `task` to run on the loop's thread, in posting order, and wakes the loop. Returns
  // false, destroying `task` here and now, when the mailbox is closed or broken: a task must
  // then not own loop objects whose destructors touch the loop (hold them by weak reference).
  bool post(std::function<void()> task);

  // Removes the loop event and drops the queued tasks (destroyed here, on the loop's side);
  // later posts are dropped. A task running when close() is called finishes, later tasks of
  // the same batch are dropped. Calling it again does nothing.
  void close();

 private:
  static void onWakeThunk(int fd, short what, void* arg);
  void onWake();

  int fd_ = -1;     // eventfd: readable while tasks wait
  EventPtr event_;  // on the loop; freed by close()
  bool ok_ = false;
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;  // guarded by mutex_
  bool closed_ = false;                       // written under mutex_, on the loop's side only
};

}  // namespace sesame

#include "sesame/base/loop_mailbox.h"

#include <event2/event.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "sesame/base/log.h"

namespace sesame {

LoopMailbox::LoopMailbox(event_base* base) {
  fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd_ < 0) {
    LOG_ERROR("cannot create an eventfd to wake an event loop: %s (raise LimitNOFILE / ulimit -n)",
              std::strerror(errno));
    closed_ = true;
    return;
  }
  event_.reset(event_new(base, fd_, EV_READ | EV_PERSIST, onWakeThunk, this));
  if (event_ == nullptr || event_add(event_.get(), nullptr) != 0) {
    LOG_ERROR("cannot add the wake-up event to an event loop (out of memory?)");
    event_.reset();
    closed_ = true;
    return;
  }
  ok_ = true;
}

LoopMailbox::~LoopMailbox() {
  event_.reset();
  if (fd_ >= 0) ::close(fd_);
}

bool LoopMailbox::post(std::function<void()> task) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    // Tasks already waiting have written their wake-up; the loop takes them all at once.
    wake = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  // EAGAIN only when the counter would overflow: the loop is woken already.
  if (wake && ::write(fd_, &one, sizeof one) < 0 && errno != EAGAIN) {
    LOG_ERROR("cannot wake an event loop: %s", std::strerror(errno));
  }
  return true;
}

void LoopMailbox::close() {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(tasks_);
  }
  event_.reset();
}

void LoopMailbox::onWakeThunk(int, short, void* arg) {
  static_cast<LoopMailbox*>(arg)->onWake();
}

void LoopMailbox::onWake() {
  uint64_t count = 0;
  // Resets the counter before the tasks are taken: a post after the swap wakes the loop again.
  if (::read(fd_, &count, sizeof count) < 0 && errno != EAGAIN) {
    LOG_ERROR("cannot read an event loop's wake-up eventfd: %s", std::strerror(errno));
  }
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(tasks_);
  }
  // closed_ changes on this thread only, so it is read here without the lock.
  for (auto& task : batch) {
    if (closed_) break;
    task();
  }
}

}  // namespace sesame

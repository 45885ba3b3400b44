// Message budgets: at most `burst` messages per key in each `interval`, the
// rest counted, so a flood of per-request failures cannot drown the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>

namespace sesame {

// Not thread-safe: one per thread (log.cc keeps one thread_local). Memory
// grows with the number of distinct keys only, which callers keep fixed
// (one per call site).
class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Verdict {
    bool write = false;
    // Messages refused for this key since the last one written: reported
    // with this one, when `write`.
    uint64_t suppressed = 0;
    // This message takes the last place in its window: later ones within
    // the window are counted, not written.
    bool last_in_window = false;
  };

  RateLimiter(unsigned burst, std::chrono::steady_clock::duration interval)
      : burst_(burst), interval_(interval) {}

  // A window opens with the first message for `key` after the previous
  // window has ended; `now` comes from the caller (tests pass their own).
  [[nodiscard]] Verdict admit(const void* key, TimePoint now);

  // Ends every window that `now` has passed, and hands each key that
  // refused messages in it to `report(key, suppressed)`: counted once, here
  // or by admit(), never both. For a periodic timer, so that a flood that
  // stops is still reported.
  template <typename Report>
  void expire(TimePoint now, Report&& report) {
    for (auto it = windows_.begin(); it != windows_.end();) {
      if (now - it->second.start < interval_) {
        ++it;
        continue;
      }
      if (it->second.suppressed > 0) report(it->first, it->second.suppressed);
      it = windows_.erase(it);
    }
  }

  [[nodiscard]] unsigned burst() const { return burst_; }
  [[nodiscard]] std::chrono::steady_clock::duration interval() const { return interval_; }

 private:
  struct Window {
    TimePoint start;
    unsigned written = 0;
    uint64_t suppressed = 0;
  };

  unsigned burst_;
  std::chrono::steady_clock::duration interval_;
  std::unordered_map<const void*, Window> windows_;
};

}  // namespace sesame

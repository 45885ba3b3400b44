#include "sesame/base/rate_limiter.h"

namespace sesame {

RateLimiter::Verdict RateLimiter::admit(const void* key, TimePoint now) {
  auto [it, fresh] = windows_.try_emplace(key);
  Window& w = it->second;
  if (fresh || now - w.start >= interval_) {
    w.start = now;
    w.written = 0;
  }
  Verdict v;
  if (w.written >= burst_) {
    ++w.suppressed;
    return v;
  }
  ++w.written;
  v.write = true;
  v.suppressed = w.suppressed;
  v.last_in_window = w.written == burst_;
  w.suppressed = 0;
  return v;
}

}  // namespace sesame

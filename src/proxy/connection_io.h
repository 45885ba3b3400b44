// Private to proxy/: the buffer limits and small helpers that both halves
// of ServerConnection (client side, upstream side) use.
#pragma once

#include <event2/buffer.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "sesame/net/stream.h"

namespace sesame::proxy::io {

// Per direction, at most this much payload waits in sesame's buffers before
// the reading side is paused; bounds memory per connection whatever the
// message size (a 1 GiB body costs the same as a 1 MiB one).
constexpr size_t kHighWater = 256 * 1024;
// The paused side resumes once the writer has drained below this.
constexpr size_t kLowWater = 64 * 1024;
// Bytes of a response head sesame will buffer from an upstream.
constexpr size_t kMaxResponseHead = 64 * 1024;

constexpr net::Stream::Duration kNoTimeout{0};

using SteadyClock = std::chrono::steady_clock;

inline int64_t micros(SteadyClock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

inline evbuffer* input(const std::unique_ptr<net::Stream>& s) {
  return s->input();
}
inline evbuffer* output(const std::unique_ptr<net::Stream>& s) {
  return s->output();
}

}  // namespace sesame::proxy::io

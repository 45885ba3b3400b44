#include "sesame/proxy/body_pump.h"

#include <event2/buffer.h>

#include <algorithm>
#include <cstdio>

namespace sesame::proxy {
namespace {

// Framing lines are bounded by BodyDecoder::kMaxLineBytes; a view this big
// always holds a whole line or proves it too long.
constexpr size_t kFramingView = 2 * http::BodyDecoder::kMaxLineBytes + 16;

std::string_view frontView(evbuffer* in) {
  evbuffer_iovec vec;
  if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) return {};
  return {static_cast<const char*>(vec.iov_base), vec.iov_len};
}

}  // namespace

PumpResult pumpBody(http::BodyDecoder& decoder, evbuffer* in, evbuffer* out, bool chunked_out,
                    size_t out_limit) {
  for (;;) {
    size_t available = evbuffer_get_length(in);
    std::string_view view = frontView(in);
    http::BodyDecoder::Result r = decoder.next(view);
    if (r.step == http::BodyDecoder::Step::kNeedMore && r.framing == 0 && view.size() < available) {
      // The framing line spans buffer segments: make the front contiguous.
      size_t want = std::min(available, kFramingView);
      auto* bytes = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ssize_t>(want)));
      r = decoder.next({bytes, want});
    }
    switch (r.step) {
      case http::BodyDecoder::Step::kError:
        return PumpResult::kError;
      case http::BodyDecoder::Step::kDone:
        evbuffer_drain(in, r.framing);
        if (chunked_out) evbuffer_add(out, "0\r\n\r\n", 5);
        return PumpResult::kDone;
      case http::BodyDecoder::Step::kNeedMore:
        evbuffer_drain(in, r.framing);
        if (r.framing == 0) return PumpResult::kBlocked;
        continue;
      case http::BodyDecoder::Step::kData:
        break;
    }
    evbuffer_drain(in, r.framing);
    size_t queued = evbuffer_get_length(out);
    if (queued >= out_limit) return PumpResult::kBlocked;
    uint64_t n = std::min<uint64_t>({r.data, evbuffer_get_length(in), out_limit - queued});
    if (n == 0) return PumpResult::kBlocked;
    if (chunked_out) {
      char size_line[24];
      int len = std::snprintf(size_line, sizeof size_line, "%llx\r\n",
                              static_cast<unsigned long long>(n));
      evbuffer_add(out, size_line, static_cast<size_t>(len));
    }
    evbuffer_remove_buffer(in, out, static_cast<size_t>(n));
    if (chunked_out) evbuffer_add(out, "\r\n", 2);
    decoder.consumed(n);
  }
}

}  // namespace sesame::proxy

// Moves message payload from one evbuffer to another through a BodyDecoder,
// without copying payload bytes and re-framing as chunked when asked.
#pragma once

#include <cstddef>

#include "sesame/http/body_decoder.h"

struct evbuffer;

namespace sesame::proxy {

enum class PumpResult {
  kDone,     // the body is complete (terminating chunk written when chunked_out)
  kBlocked,  // waiting for input, or `out` reached out_limit
  kError,    // malformed framing in `in`
};

// Chunk framing is regenerated, never copied: the receiver sees only sizes
// sesame computed, so a smuggled chunk-size trick cannot pass through.
[[nodiscard]] PumpResult pumpBody(http::BodyDecoder& decoder, evbuffer* in, evbuffer* out,
                                  bool chunked_out, size_t out_limit);

}  // namespace sesame::proxy

// Private to session/: Redis replies parsed by hiredis's reader into an
// arena that one connection keeps, instead of a calloc per element.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"

struct redisReply;

namespace sesame::session::redis {

// Bump allocation in blocks that are kept from one reply to the next. A
// reply needs one reset() when its handler is done; reset() keeps the first
// blocks up to kKeptBytes and frees the rest, so one huge reply does not pin
// its memory for the connection's life.
class ReplyArena {
 public:
  static constexpr size_t kBlockBytes = 4096;
  static constexpr size_t kKeptBytes = 16384;

  // `bytes` rounded up to 8, aligned for redisReply; null when out of memory.
  [[nodiscard]] void* allocate(size_t bytes);
  void reset();
  // Bytes held in blocks (used or not).
  [[nodiscard]] size_t held() const;

 private:
  struct Block {
    std::unique_ptr<std::byte[]> data;
    size_t size = 0;
  };
  std::vector<Block> blocks_;
  size_t current_ = 0;  // the block being filled
  size_t used_ = 0;     // bytes of it given out
};

// hiredis's RESP2 parser with object functions that build, in a ReplyArena,
// the same redisReply shapes as its default ones (types, fields,
// NUL-terminated strings, element arrays; an empty array has a null
// element), so callers keep reading `const redisReply*`. Measured on the
// bench's Redis row (an HGETALL of about 20 strings per request), the
// default functions cost two allocations per element, and freeReplyObject
// 5.1k instructions per request.
class ReplyReader {
 public:
  enum class Status { kReply, kIncomplete, kError };

  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Queues bytes to parse; false when out of memory (the reader has failed).
  [[nodiscard]] bool feed(std::string_view bytes);
  // kReply: the next complete reply, in `reply`, valid until the next call
  // of next() or the reader's end. kIncomplete: more bytes needed.
  // kError: the bytes are not RESP (or memory ran out); error() says why,
  // and the reader stays failed.
  [[nodiscard]] Status next(const redisReply*& reply);
  [[nodiscard]] const char* error() const;
  // What the arena holds between replies (tests check its bound).
  [[nodiscard]] size_t arenaBytes() const { return arena_.held(); }

 private:
  ReplyArena arena_;  // before reader_: freeing the reader frees a partial reply into it
  RedisReaderPtr reader_;
  bool handed_out_ = false;  // the arena holds a reply whose handler has run or runs
};

}  // namespace sesame::session::redis

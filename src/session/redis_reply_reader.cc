#include "redis_reply_reader.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

namespace sesame::session::redis {
namespace {

ReplyArena& arenaOf(const redisReadTask* task) {
  return *static_cast<ReplyArena*>(task->privdata);
}

// A zeroed reply with `extra` bytes after it, linked into its parent array
// as hiredis's default functions do.
redisReply* newReply(const redisReadTask* task, int type, size_t extra) {
  if (extra > SIZE_MAX - sizeof(redisReply)) return nullptr;
  void* raw = arenaOf(task).allocate(sizeof(redisReply) + extra);
  if (raw == nullptr) return nullptr;
  auto* reply = static_cast<redisReply*>(raw);
  *reply = redisReply{};
  reply->type = type;
  if (task->parent != nullptr) {
    static_cast<redisReply*>(task->parent->obj)->element[task->idx] = reply;
  }
  return reply;
}

void* createString(const redisReadTask* task, char* str, size_t len) {
  if (len == SIZE_MAX) return nullptr;
  redisReply* reply = newReply(task, task->type, len + 1);
  if (reply == nullptr) return nullptr;
  reply->str = reinterpret_cast<char*>(reply + 1);
  std::memcpy(reply->str, str, len);
  reply->str[len] = '\0';
  reply->len = len;
  return reply;
}

// No reply sesame asks for comes near this (a session hash holds well under
// a hundred fields; a user's session list is what max_per_user allows), and
// an array's pointers are allocated when its header arrives: without a
// bound a stray "*2000000000" line would ask for 16 GB at once. Beyond it
// the reader fails, and with it the connection (fail closed).
constexpr int kMaxElements = 1 << 20;

void* createArray(const redisReadTask* task, int elements) {
  // hiredis turns "*-1" into a nil and refuses other negative counts.
  if (elements < 0 || elements > kMaxElements) return nullptr;
  const auto count = static_cast<size_t>(elements);
  redisReply* reply = newReply(task, REDIS_REPLY_ARRAY, count * sizeof(redisReply*));
  if (reply == nullptr) return nullptr;
  if (count > 0) {
    reply->element = reinterpret_cast<redisReply**>(reply + 1);
    std::fill_n(reply->element, count, nullptr);
  }
  reply->elements = count;
  return reply;
}

void* createInteger(const redisReadTask* task, long long value) {
  redisReply* reply = newReply(task, REDIS_REPLY_INTEGER, 0);
  if (reply != nullptr) reply->integer = value;
  return reply;
}

void* createNil(const redisReadTask* task) {
  return newReply(task, REDIS_REPLY_NIL, 0);
}

// hiredis frees only a partial reply this way (a protocol error, or the
// reader freed mid-reply), always its root. Everything of it lives in the
// arena, which next() resets once hiredis reports the error, and which is
// freed after the reader.
void freeObject(void*) {}

redisReplyObjectFunctions kArenaFunctions{createString, createArray, createInteger, createNil,
                                          freeObject};

}  // namespace

void* ReplyArena::allocate(size_t bytes) {
  if (bytes > SIZE_MAX - 7) return nullptr;
  bytes = (bytes + 7) & ~size_t{7};
  while (current_ < blocks_.size()) {
    Block& block = blocks_[current_];
    if (block.size - used_ >= bytes) {
      std::byte* p = block.data.get() + used_;
      used_ += bytes;
      return p;
    }
    ++current_;
    used_ = 0;
  }
  const size_t size = std::max(kBlockBytes, bytes);
  Block block{std::unique_ptr<std::byte[]>(new (std::nothrow) std::byte[size]), size};
  if (block.data == nullptr) return nullptr;
  blocks_.push_back(std::move(block));
  current_ = blocks_.size() - 1;
  used_ = bytes;
  return blocks_.back().data.get();
}

void ReplyArena::reset() {
  size_t kept = 0;
  size_t i = 0;
  while (i < blocks_.size() && kept + blocks_[i].size <= kKeptBytes) kept += blocks_[i++].size;
  blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i), blocks_.end());
  current_ = 0;
  used_ = 0;
}

size_t ReplyArena::held() const {
  size_t total = 0;
  for (const Block& block : blocks_) total += block.size;
  return total;
}

ReplyReader::ReplyReader() : reader_(redisReaderCreateWithFunctions(&kArenaFunctions)) {
  // Each read task carries it to the object functions.
  if (reader_) reader_->privdata = &arena_;
}

ReplyReader::~ReplyReader() = default;

bool ReplyReader::feed(std::string_view bytes) {
  return reader_ && redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) == REDIS_OK;
}

ReplyReader::Status ReplyReader::next(const redisReply*& reply) {
  reply = nullptr;
  if (!reader_) return Status::kError;
  // Only after a reply was handed out: otherwise the arena holds the part
  // of a reply that hiredis is still building.
  if (handed_out_) {
    arena_.reset();
    handed_out_ = false;
  }
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    arena_.reset();
    return Status::kError;
  }
  if (raw == nullptr) return Status::kIncomplete;
  handed_out_ = true;
  reply = static_cast<const redisReply*>(raw);
  return Status::kReply;
}

const char* ReplyReader::error() const {
  return reader_ ? reader_->errstr : "out of memory";
}

}  // namespace sesame::session::redis

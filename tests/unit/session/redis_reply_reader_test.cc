// ReplyReader: the arena-built replies must be exactly what hiredis's
// default reader builds from the same bytes, however they arrive, and a
// reader must stay consistent after a protocol error.
#include "../../../src/session/redis_reply_reader.h"

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"

using sesame::RedisReaderPtr;
using sesame::RedisReplyPtr;
using sesame::session::redis::ReplyArena;
using sesame::session::redis::ReplyReader;
using Status = ReplyReader::Status;

namespace {

// Field by field, recursively: what a handler could observe.
bool sameReply(const redisReply* a, const redisReply* b) {
  if (a->type != b->type || a->integer != b->integer || a->len != b->len ||
      a->elements != b->elements) {
    return false;
  }
  if ((a->str == nullptr) != (b->str == nullptr)) return false;
  if (a->str != nullptr && (std::memcmp(a->str, b->str, a->len) != 0 || a->str[a->len] != '\0')) {
    return false;
  }
  if ((a->element == nullptr) != (b->element == nullptr)) return false;
  for (size_t i = 0; i < a->elements; ++i) {
    if (!sameReply(a->element[i], b->element[i])) return false;
  }
  return true;
}

struct DefaultParse {
  std::vector<RedisReplyPtr> replies;
  bool error = false;
  std::string errstr;
};

DefaultParse parseDefault(std::string_view bytes) {
  DefaultParse out;
  RedisReaderPtr reader(redisReaderCreate());
  REQUIRE(redisReaderFeed(reader.get(), bytes.data(), bytes.size()) == REDIS_OK);
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
      out.error = true;
      out.errstr = reader->errstr;
      return out;
    }
    if (raw == nullptr) return out;
    out.replies.emplace_back(static_cast<redisReply*>(raw));
  }
}

// Feeds `bytes` in pieces of `step` (0: all at once), checking each reply
// against the default reader's as it comes; returns how many matched.
size_t compareWithDefault(std::string_view bytes, size_t step = 0) {
  const DefaultParse expected = parseDefault(bytes);
  ReplyReader reader;
  size_t seen = 0;
  bool failed = false;
  std::string errstr;
  size_t at = 0;
  while (!failed && at < bytes.size()) {
    const size_t n = step == 0 ? bytes.size() : std::min(step, bytes.size() - at);
    REQUIRE(reader.feed(bytes.substr(at, n)));
    at += n;
    for (;;) {
      const redisReply* reply = nullptr;
      const Status status = reader.next(reply);
      if (status == Status::kIncomplete) break;
      if (status == Status::kError) {
        failed = true;
        errstr = reader.error();
        break;
      }
      REQUIRE(seen < expected.replies.size());
      CHECK(sameReply(reply, expected.replies[seen].get()));
      ++seen;
    }
  }
  CHECK(seen == expected.replies.size());
  CHECK(failed == expected.error);
  CHECK(errstr == expected.errstr);
  return seen;
}

// A random reply, nested at most `depth` more levels, as RESP2 bytes.
void randomReply(std::mt19937_64& rng, int depth, std::string& out) {
  auto pick = [&rng](uint64_t n) { return rng() % n; };
  auto bytes = [&](size_t len) {
    std::string s;
    for (size_t i = 0; i < len; ++i) s += static_cast<char>(pick(256));
    return s;
  };
  switch (pick(depth > 0 ? 7 : 6)) {
    case 0:
      out += "+" + std::string(pick(20), 'o') + "\r\n";
      return;
    case 1:
      out += "-ERR " + std::string(pick(20), 'e') + "\r\n";
      return;
    case 2:
      out += ":" + std::to_string(static_cast<int64_t>(rng())) + "\r\n";
      return;
    case 3: {
      const size_t len = pick(4) == 0 ? pick(3000) : pick(40);
      out += "$" + std::to_string(len) + "\r\n" + bytes(len) + "\r\n";
      return;
    }
    case 4:
      out += "$-1\r\n";
      return;
    case 5:
      out += pick(2) == 0 ? "*-1\r\n" : "*0\r\n";
      return;
    default: {
      const size_t n = pick(30);
      out += "*" + std::to_string(n) + "\r\n";
      for (size_t i = 0; i < n; ++i) randomReply(rng, depth - 1, out);
    }
  }
}

}  // namespace

TEST_CASE("ReplyReader builds every reply type as hiredis's default reader does",
          "[session][redis][reply]") {
  const char* cases[] = {
      "+OK\r\n",
      "+\r\n",
      "-ERR wrong number of arguments\r\n",
      "-NOSCRIPT No matching script\r\n",
      ":0\r\n",
      ":-9223372036854775808\r\n",
      ":9223372036854775807\r\n",
      "$5\r\nhello\r\n",
      "$0\r\n\r\n",
      "$-1\r\n",
      "*-1\r\n",
      "*0\r\n",
      "*4\r\n$4\r\nuser\r\n$5\r\nalice\r\n$0\r\n\r\n$-1\r\n",
      "*2\r\n:1\r\n*3\r\n$1\r\na\r\n*0\r\n*1\r\n*1\r\n:7\r\n",
      "*3\r\n+st\r\n-err\r\n*-1\r\n",
  };
  for (const char* bytes : cases) {
    INFO(bytes);
    CHECK(compareWithDefault(bytes) == 1);
  }
  // Binary strings: NUL, CR LF and high bytes inside the bulk.
  const std::string binary(
      "$6\r\na\0\r\n\xff"
      "b\r\n",
      13);
  CHECK(compareWithDefault(binary) == 1);
  // Eight nested arrays are hiredis's limit; nine are a protocol error.
  const std::string eight = "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n";
  CHECK(compareWithDefault(eight + ":1\r\n") == 1);
  CHECK(compareWithDefault(eight + "*1\r\n:1\r\n") == 0);
}

TEST_CASE("ReplyReader: many replies in one feed, and one reply fed byte by byte",
          "[session][redis][reply]") {
  std::string pipelined;
  for (int i = 0; i < 50; ++i) {
    pipelined += "*6\r\n$4\r\nuser\r\n$5\r\nalice\r\n$7\r\ncreated\r\n$3\r\n123\r\n$5\r\nd:k-" +
                 std::to_string(i % 10) + "\r\n$-1\r\n:" + std::to_string(i) + "\r\n";
  }
  CHECK(compareWithDefault(pipelined) == 100);
  CHECK(compareWithDefault(pipelined, 1) == 100);
  CHECK(compareWithDefault(pipelined, 7) == 100);
}

TEST_CASE("ReplyReader matches the default reader on random replies split anywhere",
          "[session][redis][reply]") {
  std::mt19937_64 rng(20240613);
  for (int round = 0; round < 300; ++round) {
    std::string bytes;
    const size_t replies = 1 + rng() % 5;
    for (size_t i = 0; i < replies; ++i) randomReply(rng, 3, bytes);
    INFO("round " << round);
    CHECK(compareWithDefault(bytes, 1 + rng() % 64) == replies);
  }
}

TEST_CASE("ReplyReader fails on a protocol error mid-reply; a fresh reader works",
          "[session][redis][reply]") {
  const char* broken[] = {
      "*3\r\n$1\r\na\r\n!bad\r\n",        // a type byte RESP2 has not
      "*2\r\n$1\r\na\r\n$x\r\n",          // a bulk length that is no number
      "*2\r\n*2\r\n:1\r\n:zz\r\n",        // a bad integer deep inside
      "*-5\r\n",                          // a negative count other than -1
      "*5\r\n*99999999999999999999\r\n",  // a count out of range
  };
  for (const char* bytes : broken) {
    INFO(bytes);
    CHECK(compareWithDefault(bytes) == 0);
    CHECK(compareWithDefault(bytes, 1) == 0);
    ReplyReader reader;
    REQUIRE(reader.feed(bytes));
    const redisReply* reply = nullptr;
    CHECK(reader.next(reply) == Status::kError);
    CHECK(reply == nullptr);
    // Failed for good, whatever comes next.
    (void)reader.feed("+OK\r\n");
    CHECK(reader.next(reply) == Status::kError);
  }
  // What a reconnect does: a fresh reader, the same bytes a server sends.
  CHECK(compareWithDefault("*2\r\n$4\r\nuser\r\n$3\r\nbob\r\n") == 1);
}

TEST_CASE("ReplyReader refuses an array count no reply of sesame's comes near",
          "[session][redis][reply]") {
  // 2^20 elements are allowed (8 MiB of pointers); one more, or a count
  // that would ask for gigabytes on one line, fails the reader.
  for (const char* bytes : {"*1048577\r\n", "*2000000000\r\n", "*1\r\n*2000000000\r\n"}) {
    INFO(bytes);
    ReplyReader reader;
    REQUIRE(reader.feed(bytes));
    const redisReply* reply = nullptr;
    CHECK(reader.next(reply) == Status::kError);
    CHECK(reader.arenaBytes() < 64 * 1024);
  }
  ReplyReader reader;
  REQUIRE(reader.feed("*1048576\r\n"));
  const redisReply* reply = nullptr;
  CHECK(reader.next(reply) == Status::kIncomplete);
}

TEST_CASE("ReplyReader keeps its reply until the next call, then reuses the memory",
          "[session][redis][reply]") {
  ReplyReader reader;
  REQUIRE(reader.feed("*2\r\n$3\r\none\r\n$3\r\ntwo\r\n*1\r\n$5\r\nthree\r\n*1\r\n$4\r\nfo"));
  const redisReply* first = nullptr;
  REQUIRE(reader.next(first) == Status::kReply);
  CHECK(std::string_view(first->element[1]->str) == "two");
  const redisReply* second = nullptr;
  REQUIRE(reader.next(second) == Status::kReply);
  CHECK(std::string_view(second->element[0]->str) == "three");
  // The arena was reset for the second reply: the first one's memory.
  CHECK(second == first);
  const size_t held = reader.arenaBytes();
  // A partial reply stays in the arena across feeds and calls.
  const redisReply* third = nullptr;
  CHECK(reader.next(third) == Status::kIncomplete);
  CHECK(reader.next(third) == Status::kIncomplete);
  REQUIRE(reader.feed("ur\r\n"));
  REQUIRE(reader.next(third) == Status::kReply);
  CHECK(std::string_view(third->element[0]->str, third->element[0]->len) == "four");
  CHECK(reader.arenaBytes() == held);
}

TEST_CASE("ReplyReader does not keep a huge reply's memory", "[session][redis][reply]") {
  ReplyReader reader;
  const std::string big(1 << 20, 'x');
  std::string bytes = "*3\r\n$" + std::to_string(big.size()) + "\r\n" + big + "\r\n";
  for (int i = 0; i < 2; ++i) bytes += "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n";
  bytes += "+OK\r\n";
  REQUIRE(reader.feed(bytes));
  const redisReply* reply = nullptr;
  REQUIRE(reader.next(reply) == Status::kReply);
  CHECK(reply->elements == 3);
  CHECK(reply->element[2]->len == big.size());
  CHECK(reader.arenaBytes() >= 3 * big.size());
  REQUIRE(reader.next(reply) == Status::kReply);
  CHECK(reply->type == REDIS_REPLY_STATUS);
  CHECK(reader.arenaBytes() <= ReplyArena::kKeptBytes);
}

TEST_CASE("ReplyArena: aligned, bounded, reused", "[session][redis][reply]") {
  ReplyArena arena;
  void* a = arena.allocate(1);
  void* b = arena.allocate(3);
  REQUIRE(a != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(b) - reinterpret_cast<uintptr_t>(a) == 8);
  CHECK(reinterpret_cast<uintptr_t>(b) % 8 == 0);
  CHECK(arena.allocate(SIZE_MAX) == nullptr);
  for (int i = 0; i < 10; ++i) REQUIRE(arena.allocate(ReplyArena::kBlockBytes - 8) != nullptr);
  CHECK(arena.held() > ReplyArena::kKeptBytes);
  arena.reset();
  CHECK(arena.held() <= ReplyArena::kKeptBytes);
  CHECK(arena.allocate(1) == a);
}

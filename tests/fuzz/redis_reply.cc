// libFuzzer target: Redis replies, as a server (or whatever answers on the
// Redis port) could send them, through ReplyReader's arena-built objects,
// checked against hiredis's default reader on the same bytes: the same
// replies field by field, the same error, however the bytes are split.
// The input also yields a command whose RESP2 bytes must equal
// redisFormatCommandArgv's.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../../src/session/redis_command.h"
#include "../../src/session/redis_reply_reader.h"
#include "fuzz_body.h"
#include "sesame/base/c_handle.h"

using sesame::RedisCommandPtr;
using sesame::RedisReaderPtr;
using sesame::RedisReplyPtr;
using sesame::fuzz::check;
using sesame::fuzz::Rng;
using sesame::session::redis::commandSize;
using sesame::session::redis::formatCommand;
using sesame::session::redis::ReplyReader;
using Status = ReplyReader::Status;

namespace {

bool same(const redisReply* a, const redisReply* b) {
  if (a->type != b->type || a->integer != b->integer || a->len != b->len ||
      a->elements != b->elements || (a->str == nullptr) != (b->str == nullptr) ||
      (a->element == nullptr) != (b->element == nullptr)) {
    return false;
  }
  if (a->str != nullptr && (std::memcmp(a->str, b->str, a->len) != 0 || a->str[a->len] != '\0')) {
    return false;
  }
  for (size_t i = 0; i < a->elements; ++i) {
    if (!same(a->element[i], b->element[i])) return false;
  }
  return true;
}

// An array header claiming millions of elements makes both readers
// allocate its element vector at once (16 GB for "*2000000000"), which
// libFuzzer reports as running out of memory: such inputs are skipped.
bool claimsHugeArray(std::string_view input) {
  for (size_t at = input.find('*'); at != std::string_view::npos; at = input.find('*', at + 1)) {
    uint64_t count = 0;
    for (size_t i = at + 1; i < input.size() && input[i] >= '0' && input[i] <= '9'; ++i) {
      count = count * 10 + static_cast<uint64_t>(input[i] - '0');
      if (count > (1u << 20)) return true;
    }
  }
  return false;
}

void checkReplies(std::string_view input) {
  if (claimsHugeArray(input)) return;
  std::vector<RedisReplyPtr> expected;
  bool expected_error = false;
  RedisReaderPtr plain(redisReaderCreate());
  check(redisReaderFeed(plain.get(), input.data(), input.size()) == REDIS_OK);
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(plain.get(), &raw) != REDIS_OK) {
      expected_error = true;
      break;
    }
    if (raw == nullptr) break;
    expected.emplace_back(static_cast<redisReply*>(raw));
  }

  Rng rng(input);
  ReplyReader reader;
  size_t seen = 0;
  bool error = false;
  for (size_t at = 0; at < input.size() && !error;) {
    const size_t n = std::min(input.size() - at, 1 + rng.below(rng.below(2) == 0 ? 4 : 512));
    check(reader.feed(input.substr(at, n)));
    at += n;
    for (;;) {
      const redisReply* reply = nullptr;
      const Status status = reader.next(reply);
      if (status == Status::kIncomplete) break;
      if (status == Status::kError) {
        error = true;
        check(std::strcmp(reader.error(), plain->errstr) == 0);
        break;
      }
      check(seen < expected.size() && same(reply, expected[seen].get()));
      ++seen;
    }
  }
  check(seen == expected.size() && error == expected_error);
}

void checkCommand(std::string_view input) {
  Rng rng(input);
  std::vector<std::string_view> args;
  while (!input.empty() && args.size() < 64) {
    const size_t n = std::min(input.size(), rng.below(40));
    args.push_back(input.substr(0, n));
    input.remove_prefix(n);
  }
  std::string ours(commandSize(args), '\0');
  check(formatCommand(args, ours.data()) == ours.data() + ours.size());
  std::vector<const char*> parts;
  std::vector<size_t> lengths;
  for (std::string_view a : args) {
    parts.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* raw = nullptr;
  const int len =
      redisFormatCommandArgv(&raw, static_cast<int>(args.size()), parts.data(), lengths.data());
  const RedisCommandPtr theirs(raw);
  check(len >= 0 && std::string_view(theirs.get(), static_cast<size_t>(len)) == ours);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  checkReplies(input);
  checkCommand(input);
  return 0;
}

// The RESP2 command formatter must write exactly what hiredis's
// redisFormatCommandArgv writes for the same arguments.
#include "../../../src/session/redis_command.h"

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/c_handle.h"

using sesame::RedisCommandPtr;
using sesame::session::redis::commandSize;
using sesame::session::redis::formatCommand;

namespace {

std::string ours(const std::vector<std::string_view>& args) {
  std::string out(commandSize(args), '\0');
  char* end = formatCommand(args, out.data());
  CHECK(end == out.data() + out.size());
  return out;
}

std::string theirs(const std::vector<std::string_view>& args) {
  std::vector<const char*> parts;
  std::vector<size_t> lengths;
  for (std::string_view a : args) {
    parts.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* raw = nullptr;
  const int len =
      redisFormatCommandArgv(&raw, static_cast<int>(args.size()), parts.data(), lengths.data());
  const RedisCommandPtr cmd(raw);
  REQUIRE(len >= 0);
  return std::string(cmd.get(), static_cast<size_t>(len));
}

}  // namespace

TEST_CASE("formatCommand writes RESP2 arrays of bulk strings", "[session][redis][command]") {
  CHECK(ours({"PING"}) == "*1\r\n$4\r\nPING\r\n");
  CHECK(ours({"HGETALL", "s:k"}) == "*2\r\n$7\r\nHGETALL\r\n$3\r\ns:k\r\n");
  CHECK(ours({"SET", "", "v"}) == "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nv\r\n");
  CHECK(ours({}) == "*0\r\n");
  CHECK(ours({}) == theirs({}));
}

TEST_CASE("formatCommand matches redisFormatCommandArgv byte for byte",
          "[session][redis][command]") {
  std::mt19937_64 rng(13);
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> storage(rng() % 25);
    for (std::string& arg : storage) {
      // Mostly short, sometimes empty, sometimes long enough for more digits.
      const size_t len = rng() % 8 == 0 ? rng() % 20000 : rng() % 4 == 0 ? 0 : rng() % 60;
      for (size_t i = 0; i < len; ++i) arg += static_cast<char>(rng() % 256);
    }
    const std::vector<std::string_view> args(storage.begin(), storage.end());
    INFO("round " << round);
    REQUIRE(ours(args) == theirs(args));
  }
  // Counts and lengths around powers of ten.
  for (size_t n : {9, 10, 11, 99, 100, 101, 999, 1000, 1001}) {
    const std::vector<std::string> storage(n, std::string(n, 'a'));
    const std::vector<std::string_view> args(storage.begin(), storage.end());
    CHECK(ours(args) == theirs(args));
  }
}

#include <catch2/catch.hpp>

#include "sesame/config/config.h"

using sesame::config::Duration;
using sesame::config::kMaxDuration;
using sesame::config::parseDuration;

TEST_CASE("parseDuration accepts a whole number and one unit", "[config][duration]") {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case cases[] = {
      {"250ms", 250},
      {"0ms", 0},
      {"0s", 0},
      {"1s", 1000},
      {"10s", 10'000},
      {"5m", 300'000},
      {"12h", 43'200'000},
      {"1d", 86'400'000},
      {"365d", 31'536'000'000},
      {"007s", 7000},
      {"36500d", kMaxDuration.count()},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto d = parseDuration(c.text);
    REQUIRE(d.has_value());
    CHECK(d->count() == c.ms);
  }
}

TEST_CASE("parseDuration rejects everything else", "[config][duration]") {
  const char* bad[] = {
      "",
      "s",
      "10",
      "-5s",
      "+5s",
      " 5s",
      "5s ",
      "5 s",
      "1.5s",
      "5S",
      "5sec",
      "5us",
      "1h30m",
      "5ss",
      "0x10s",
      "36501d",
      "99999999999999999999d",
      "9223372036854775807ms",
      "1e3ms",
      "５s",
  };
  for (const char* text : bad) {
    INFO(text);
    CHECK_FALSE(parseDuration(text).has_value());
  }
  CHECK_FALSE(parseDuration(std::string_view("5\0s", 3)).has_value());
}

TEST_CASE("parseDuration caps at kMaxDuration without overflow", "[config][duration]") {
  CHECK(parseDuration("3153600000000ms") == kMaxDuration);
  CHECK_FALSE(parseDuration("3153600000001ms").has_value());
  CHECK(parseDuration("876000h") == kMaxDuration);
  CHECK_FALSE(parseDuration("876001h").has_value());
  CHECK_FALSE(parseDuration(std::string(400, '9') + "ms").has_value());
}

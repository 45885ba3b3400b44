// json::parse and the Value view: bounds (size, depth), duplicate members,
// NUL, exact string bytes, NumericDate reading; errors never quote input.
#include "sesame/base/json_reader.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace sesame;

TEST_CASE("json: typed accessors and chained lookups", "[base][json]") {
  std::string error;
  const auto doc = json::parse(
      R"({"s":"x","i":-7,"r":1.5,"b":true,"n":null,"a":[1,"two"],"o":{"k":"v"}})", &error);
  REQUIRE(doc);
  const json::Value v = doc->root();
  CHECK(v.isObject());
  CHECK(v.size() == 7);
  CHECK(v.get("s").string() == "x");
  CHECK(v.get("i").integer() == -7);
  CHECK_FALSE(v.get("r").integer());
  CHECK(v.get("b").boolean() == true);
  CHECK(v.get("n").exists());
  CHECK(v.get("n").isNull());
  CHECK(v.get("a").size() == 2);
  CHECK(v.get("a").at(1).string() == "two");
  CHECK_FALSE(v.get("a").at(2).exists());
  CHECK(v.get("o").get("k").string() == "v");
  // Missing members chain to the empty view, which is no type at all.
  const json::Value missing = v.get("nope").get("deeper").at(3);
  CHECK_FALSE(missing.exists());
  CHECK_FALSE(missing.isNull());
  CHECK_FALSE(missing.string());
  CHECK(missing.size() == 0);
  // A string is not an integer and an integer is not a string.
  CHECK_FALSE(v.get("s").integer());
  CHECK_FALSE(v.get("i").string());
}

TEST_CASE("json: members iterate in document order", "[base][json]") {
  const auto doc = json::parse(R"({"z":1,"a":2,"m":3})", nullptr);
  REQUIRE(doc);
  std::vector<std::string> keys;
  for (auto [key, value] : doc->root().members()) {
    keys.emplace_back(key);
    CHECK(value.isInteger());
  }
  CHECK(keys == std::vector<std::string>{"z", "a", "m"});
  int n = 0;
  for (auto member : doc->root().get("z").members()) n += member.key.empty() ? 1 : 2;
  CHECK(n == 0);
}

TEST_CASE("json: strings keep their exact bytes", "[base][json]") {
  const auto doc = json::parse(R"(["a\u00e9b", "\ud83d\ude00", "q\"\\/"])", nullptr);
  REQUIRE(doc);
  CHECK(doc->root().at(0).string() ==
        "a\xc3\xa9"
        "b");
  CHECK(doc->root().at(1).string() == "\xf0\x9f\x98\x80");
  CHECK(doc->root().at(2).string() == "q\"\\/");
}

TEST_CASE("json: refusals, with reasons that never quote the input", "[base][json]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"alg":"RS256","alg":"secretvalue"})", "duplicate"},
      {R"({"k":"secret\u0000value"})", "NUL"},
      {"{\"k\":\"secret\xff"
       "value\"}",
       "UTF-8"},
      {R"({"k":"secretvalue"} trailing)", "trailing"},
      {R"({"k":99999999999999999999999})", "range"},
      {R"({"secretvalue")", "truncated"},
      {R"({secretvalue: 1})", "invalid"},
  };
  for (const auto& [text, reason] : cases) {
    INFO(text);
    std::string error;
    CHECK_FALSE(json::parse(text, &error));
    CHECK(error.find(reason) != std::string::npos);
    CHECK(error.find("secret") == std::string::npos);
  }
}

TEST_CASE("json: size bound checked before parsing", "[base][json]") {
  const std::string text = "\"" + std::string(100, 'a') + "\"";
  std::string error;
  CHECK(json::parse(text, {.max_bytes = text.size(), .max_depth = 4}, &error));
  CHECK_FALSE(json::parse(text, {.max_bytes = text.size() - 1, .max_depth = 4}, &error));
  CHECK(error.find("longer than") != std::string::npos);
  // The default is 1 MiB.
  const std::string big = "\"" + std::string(1 << 20, 'a') + "\"";
  CHECK_FALSE(json::parse(big, &error));
}

TEST_CASE("json: nesting bound, brackets inside strings do not count", "[base][json]") {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  std::string error;
  CHECK(json::parse(nested(32), &error));
  CHECK_FALSE(json::parse(nested(33), &error));
  CHECK(error.find("deeper") != std::string::npos);
  CHECK_FALSE(json::parse(std::string(100000, '['), &error));
  CHECK(json::parse(R"({"a":{"b":"[[[[{{{{\"[[["}})", {.max_bytes = 100, .max_depth = 2}, &error));
  CHECK_FALSE(json::parse(R"({"a":{"b":[]}})", {.max_bytes = 100, .max_depth = 2}, &error));
}

TEST_CASE("json: seconds() reads NumericDate as integer or floored real", "[base][json]") {
  const auto doc = json::parse(
      R"([1700000000, 1700000000.5, -1.5, 1e300, 9.2233720368547758e18, 1.0, "1", true])", nullptr);
  REQUIRE(doc);
  const json::Value a = doc->root();
  CHECK(a.at(0).seconds() == 1700000000);
  CHECK(a.at(1).seconds() == 1700000000);
  CHECK(a.at(2).seconds() == -2);
  CHECK_FALSE(a.at(3).seconds());
  CHECK_FALSE(a.at(4).seconds());
  CHECK(a.at(5).seconds() == 1);
  CHECK_FALSE(a.at(5).integer());
  CHECK_FALSE(a.at(6).seconds());
  CHECK_FALSE(a.at(7).seconds());
}

TEST_CASE("json: any top-level value; Document moves", "[base][json]") {
  auto doc = json::parse("42", nullptr);
  REQUIRE(doc);
  CHECK(doc->root().integer() == 42);
  json::Document moved = std::move(*doc);
  CHECK(moved.root().integer() == 42);
  auto other = json::parse("\"x\"", nullptr);
  REQUIRE(other);
  moved = std::move(*other);
  CHECK(moved.root().string() == "x");
  CHECK_FALSE(json::parse("", nullptr));
}

// libFuzzer target: json::parse over arbitrary bytes (provider documents,
// JWT headers and claims), with the default and with tight limits, and a
// walk of every accepted tree through the Value view.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/base/json_reader.h"

using sesame::fuzz::check;
namespace json = sesame::json;

namespace {

// Every accessor on every node, bounded by the depth the parse allowed.
void walk(json::Value v, size_t depth, size_t max_depth) {
  check(v.exists());
  if (v.isArray() || v.isObject()) check(depth <= max_depth);
  if (const auto s = v.string()) {
    // No NUL ever reaches a caller; the length is jansson's, not strlen's.
    check(std::memchr(s->data(), '\0', s->size()) == nullptr);
  }
  check(v.integer().has_value() == v.isInteger());
  if (v.isInteger()) check(v.seconds() == v.integer());
  check(v.boolean().has_value() == v.isBool());
  if (v.isArray()) {
    for (size_t i = 0; i < v.size(); ++i) walk(v.at(i), depth + 1, max_depth);
    check(!v.at(v.size()).exists());
  }
  if (v.isObject()) {
    size_t n = 0;
    for (auto [key, value] : v.members()) {
      ++n;
      check(std::memchr(key.data(), '\0', key.size()) == nullptr);
      // Duplicates are refused, so a lookup by the key finds this member.
      const json::Value found = v.get(key);
      check(found.exists());
      check(found.isObject() == value.isObject() && found.isString() == value.isString());
      walk(value, depth + 1, max_depth);
    }
    check(n == v.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (const auto doc = json::parse(input, &error)) {
    walk(doc->root(), 1, 32);
  } else {
    check(!error.empty() && error.size() < 80);
  }
  const json::Limits tight{.max_bytes = 64, .max_depth = 3};
  if (const auto doc = json::parse(input, tight, &error)) {
    check(size <= 64);
    walk(doc->root(), 1, 3);
  }
  return 0;
}

// libFuzzer target: config::parse on arbitrary bytes must never crash, throw
// or leak, and must either produce a config or at least one error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sesame/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // No name resolution: a fuzzed host name must not become a DNS query.
  sesame::config::LoadResult r =
      sesame::config::parse(text, "/tmp/fuzz.toml", {.resolve_names = false});
  if (r.config == nullptr && r.errors.empty()) std::abort();
  if (r.config != nullptr && !r.errors.empty()) std::abort();
  return 0;
}

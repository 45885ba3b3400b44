#include <cstdint>

#include "sesame/config/config.h"

namespace sesame::config {

std::optional<Duration> parseDuration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  std::string_view unit = text.substr(digits);
  int64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else {
    return std::nullopt;
  }
  // Checking the cap after every digit keeps `amount * 10` far from
  // overflow however many digits the file has.
  const int64_t max = kMaxDuration.count();
  int64_t amount = 0;
  for (char c : text.substr(0, digits)) {
    amount = amount * 10 + (c - '0');
    if (amount > max / scale) return std::nullopt;
  }
  return Duration{amount * scale};
}

}  // namespace sesame::config

#include "sesame/base/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace sesame::log {
namespace {

// Written once at start, read on every LOG_* by every worker: relaxed is
// enough, a message near the switch may use either level.
std::atomic<Level> min_level{Level::kInfo};

const char* levelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

}  // namespace

bool enabled(Level level) {
  return level >= min_level.load(std::memory_order_relaxed);
}

void setMinLevel(Level level) {
  min_level.store(level, std::memory_order_relaxed);
}

void write(Level level, const char* fmt, ...) {
  // One buffer and one fwrite per line so lines from several workers never
  // interleave mid-line (stderr is unbuffered).
  char line[2048];
  int n = std::snprintf(line, sizeof line, "sesame[%s]: ", levelName(level));
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  std::fwrite(line, 1, len, stderr);
}

}  // namespace sesame::log

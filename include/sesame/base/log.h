// Error log: leveled, one line per message, to stderr (journald adds the time).
#pragma once

#include <string_view>

namespace sesame::log {

enum class Level { kDebug, kInfo, kWarn, kError };

[[nodiscard]] bool enabled(Level level);

// Messages below `level` are dropped from here on (default kInfo). main sets
// it from [log] level once the configuration is loaded.
void setMinLevel(Level level);

// printf-style; the line gets a "sesame[level]: " prefix and a newline.
// Never pass secrets or cookie values.
void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace sesame::log

#define SESAME_LOG(level, ...)                                                   \
  do {                                                                           \
    if (::sesame::log::enabled(level)) ::sesame::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) SESAME_LOG(::sesame::log::Level::kDebug, __VA_ARGS__)
#define LOG_INFO(...) SESAME_LOG(::sesame::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN(...) SESAME_LOG(::sesame::log::Level::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) SESAME_LOG(::sesame::log::Level::kError, __VA_ARGS__)

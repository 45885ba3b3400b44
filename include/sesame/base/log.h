// Error log: leveled, one line per message, to stderr (journald adds the time).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace sesame::log {

enum class Level { kDebug, kInfo, kWarn, kError };

[[nodiscard]] bool enabled(Level level);

// Messages below `level` are dropped from here on (default kInfo). main sets
// it from [log] level once the configuration is loaded.
void setMinLevel(Level level);

// Whether stderr is the journal: systemd sets JOURNAL_STREAM to "DEV:INODE"
// of the stream it connects, and systemd.exec(5) says to compare that with
// fstat(2) of the descriptor, since a wrapper may have redirected stderr and
// kept the variable. When it is, each line starts with its sd-daemon(3)
// priority ("<3>" error, "<4>" warn, "<6>" info, "<7>" debug), which
// journald strips and stores, so `journalctl -p warning` finds warnings.
// main calls this first; tests call it again after changing fd 2.
void detectJournal();
[[nodiscard]] bool toJournal();

// printf-style; the line gets a "sesame[level]: " prefix (after the
// priority, for the journal) and a newline. Never pass secrets or cookie
// values; pass client-controlled text through printable().
void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// For messages that one request can cause (an upstream down, a store
// failing, a refused request), which a flood of requests would otherwise
// turn into a flood of lines: each `site` (a unique address per call site,
// which the LOG_*_LIMITED macros supply) writes at most kLimitedBurst lines
// per kLimitedInterval on each thread. The line that uses a window's last
// place says that more will be counted; the next line written after the
// window ends carries "(N similar messages suppressed)", unless
// flushSuppressed() reported them first. Counted per
// thread: each worker has its own budget, and no lock is taken.
inline constexpr unsigned kLimitedBurst = 5;
// Short enough that an operator fixing the cause sees fresh evidence
// within seconds; long enough that 10,000 failing requests a second make
// one line a second per site and worker, not 10,000.
inline constexpr std::chrono::seconds kLimitedInterval{10};
void writeLimited(const void* site, std::chrono::steady_clock::time_point now, Level level,
                  const char* fmt, ...) __attribute__((format(printf, 4, 5)));
// Reports, on this thread, each site whose window `now` has ended with
// messages suppressed: one line "N similar messages suppressed (like: the
// last line written)". Workers call it from a timer every
// kLimitedInterval, so a flood that stops is still counted in the log.
void flushSuppressed(std::chrono::steady_clock::time_point now);

// `text` made safe for a log line when a client controls it: bytes outside
// 0x20-0x7e, '"' and '\' become \xNN, so nothing can forge a line or a
// field; at most `max` bytes of output (the last three "..." when cut).
[[nodiscard]] std::string printable(std::string_view text, size_t max);

}  // namespace sesame::log

#define SESAME_LOG(level, ...)                                                   \
  do {                                                                           \
    if (::sesame::log::enabled(level)) ::sesame::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) SESAME_LOG(::sesame::log::Level::kDebug, __VA_ARGS__)
#define LOG_INFO(...) SESAME_LOG(::sesame::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN(...) SESAME_LOG(::sesame::log::Level::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) SESAME_LOG(::sesame::log::Level::kError, __VA_ARGS__)

// The static's address is the call site's key: unique per expansion, with
// no reliance on the format string (two sites may share one).
#define SESAME_LOG_LIMITED(level, ...)                                                       \
  do {                                                                                       \
    static const char sesame_log_site = 0;                                                   \
    if (::sesame::log::enabled(level)) {                                                     \
      ::sesame::log::writeLimited(&sesame_log_site, std::chrono::steady_clock::now(), level, \
                                  __VA_ARGS__);                                              \
    }                                                                                        \
  } while (0)
#define LOG_INFO_LIMITED(...) SESAME_LOG_LIMITED(::sesame::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN_LIMITED(...) SESAME_LOG_LIMITED(::sesame::log::Level::kWarn, __VA_ARGS__)

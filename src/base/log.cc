#include "sesame/base/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "sesame/base/rate_limiter.h"

namespace sesame::log {
namespace {

// Written once at start, read on every LOG_* by every worker: relaxed is
// enough, a message near the switch may use either level.
std::atomic<Level> min_level{Level::kInfo};
std::atomic<bool> journal{false};

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

// sd-daemon(3): SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG.
const char* journalPriority(Level level) {
  switch (level) {
    case Level::kDebug:
      return "<7>";
    case Level::kInfo:
      return "<6>";
    case Level::kWarn:
      return "<4>";
    case Level::kError:
      return "<3>";
  }
  return "<6>";
}

// What a thread's limited sites need: their budgets, and the last line each
// wrote, for flushSuppressed().
struct Limited {
  RateLimiter limiter{kLimitedBurst, kLimitedInterval};
  struct Last {
    Level level = Level::kWarn;
    std::string text;
  };
  std::unordered_map<const void*, Last> last;
};
thread_local Limited limited;

// Enough of a message to recognise it by.
constexpr size_t kLikeBytes = 200;

// One buffer and one fwrite per line so lines from several workers never
// interleave mid-line (stderr is unbuffered). `suffix` is kept whole even
// when the message is cut; `keep`, when given, gets the start of the message.
void emit(Level level, const char* fmt, va_list ap, std::string_view suffix,
          std::string* keep = nullptr) {
  char line[2048];
  const size_t cap = sizeof line - 1;  // room for the newline
  int n = std::snprintf(line, sizeof line, "%ssesame[%s]: ",
                        journal.load(std::memory_order_relaxed) ? journalPriority(level) : "",
                        levelName(level));
  size_t len = static_cast<size_t>(n);
  const size_t room = cap - len - suffix.size();
  int m = std::vsnprintf(line + len, room + 1, fmt, ap);
  const size_t body = m <= 0 ? 0 : (static_cast<size_t>(m) < room ? static_cast<size_t>(m) : room);
  if (keep != nullptr) keep->assign(line + len, body < kLikeBytes ? body : kLikeBytes);
  len += body;
  // An empty view may hold a null pointer, which memcpy must not get.
  if (!suffix.empty()) std::memcpy(line + len, suffix.data(), suffix.size());
  len += suffix.size();
  line[len++] = '\n';
  std::fwrite(line, 1, len, stderr);
}

}  // namespace

bool enabled(Level level) {
  return level >= min_level.load(std::memory_order_relaxed);
}

void setMinLevel(Level level) {
  min_level.store(level, std::memory_order_relaxed);
}

void detectJournal() {
  bool is_journal = false;
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  uintmax_t dev = 0;
  uintmax_t ino = 0;
  char end = 0;
  if (stream != nullptr && std::sscanf(stream, "%ju:%ju%c", &dev, &ino, &end) == 2 &&
      ::fstat(STDERR_FILENO, &st) == 0) {
    is_journal =
        static_cast<uintmax_t>(st.st_dev) == dev && static_cast<uintmax_t>(st.st_ino) == ino;
  }
  journal.store(is_journal, std::memory_order_relaxed);
}

bool toJournal() {
  return journal.load(std::memory_order_relaxed);
}

void write(Level level, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(level, fmt, ap, {});
  va_end(ap);
}

void writeLimited(const void* site, std::chrono::steady_clock::time_point now, Level level,
                  const char* fmt, ...) {
  const RateLimiter::Verdict verdict = limited.limiter.admit(site, now);
  if (!verdict.write) return;
  char suffix[160];
  int n = 0;
  if (verdict.suppressed > 0) {
    n = std::snprintf(suffix, sizeof suffix, " (%" PRIu64 " similar message%s suppressed)",
                      verdict.suppressed, verdict.suppressed == 1 ? "" : "s");
  } else if (verdict.last_in_window) {
    n = std::snprintf(suffix, sizeof suffix,
                      " (%u of these in %lld s: more are counted, not logged, until then)",
                      kLimitedBurst, static_cast<long long>(kLimitedInterval.count()));
  }
  Limited::Last& last = limited.last[site];
  last.level = level;
  va_list ap;
  va_start(ap, fmt);
  emit(level, fmt, ap, std::string_view(suffix, n > 0 ? static_cast<size_t>(n) : 0), &last.text);
  va_end(ap);
}

void flushSuppressed(std::chrono::steady_clock::time_point now) {
  limited.limiter.expire(now, [](const void* site, uint64_t suppressed) {
    const Limited::Last& last = limited.last[site];
    write(last.level, "%" PRIu64 " similar message%s suppressed (like: %s)", suppressed,
          suppressed == 1 ? "" : "s", last.text.c_str());
  });
}

std::string printable(std::string_view text, size_t max) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  static constexpr std::string_view kCut = "...";
  auto width = [](unsigned char u) -> size_t {
    return (u < 0x20 || u > 0x7e || u == '"' || u == '\\') ? 4 : 1;
  };
  size_t total = 0;
  for (char c : text) total += width(static_cast<unsigned char>(c));
  const bool cut = total > max;
  const size_t budget = !cut ? total : (max > kCut.size() ? max - kCut.size() : 0);
  std::string out;
  out.reserve(budget + kCut.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (out.size() + width(u) > budget) break;
    if (width(u) == 1) {
      out.push_back(c);
    } else {
      const char hex[4] = {'\\', 'x', kHex[u >> 4], kHex[u & 0xf]};
      out.append(hex, 4);
    }
  }
  if (cut && max >= kCut.size()) out.append(kCut);
  return out;
}

}  // namespace sesame::log

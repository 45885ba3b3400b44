#include "sesame/proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "sesame/base/log.h"

namespace sesame::proxy {
namespace {

// Output bytes each variable field may take, so that a line stays under
// kMaxAccessLine whatever the client sent: the fixed fields, the names and
// the other bounded values (addresses, IDs, handles) need well under 1 KiB.
constexpr size_t kMaxTarget = 1800;
constexpr size_t kMaxHeader = 400;  // Referer, User-Agent
constexpr size_t kMaxUser = 256;
constexpr size_t kMaxToken = 64;  // method
constexpr size_t kMaxOther = 300;

enum class Escape {
  kQuoted,    // inside "...": nginx's escape=default
  kUnquoted,  // a space would also split the field
  kJson,
};

// nginx's ngx_http_log_escape: '"', '\' and bytes outside 0x20-0x7e.
bool clfEscaped(unsigned char u, Escape mode) {
  return u == '"' || u == '\\' || u < 0x20 || u > 0x7e || (mode == Escape::kUnquoted && u == ' ');
}

size_t escapedSize(unsigned char u, Escape mode) {
  if (mode != Escape::kJson) return clfEscaped(u, mode) ? 4 : 1;
  if (u == '"' || u == '\\') return 2;
  return (u < 0x20 || u > 0x7e) ? 6 : 1;
}

void appendEscapedByte(std::string& out, unsigned char u, Escape mode) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  static constexpr char kLower[] = "0123456789abcdef";
  if (mode != Escape::kJson) {
    if (!clfEscaped(u, mode)) {
      out.push_back(static_cast<char>(u));
      return;
    }
    const char hex[4] = {'\\', 'x', kUpper[u >> 4], kUpper[u & 0xf]};
    out.append(hex, 4);
    return;
  }
  if (u == '"' || u == '\\') {
    out.push_back('\\');
    out.push_back(static_cast<char>(u));
  } else if (u < 0x20 || u > 0x7e) {
    const char hex[6] = {'\\', 'u', '0', '0', kLower[u >> 4], kLower[u & 0xf]};
    out.append(hex, 6);
  } else {
    out.push_back(static_cast<char>(u));
  }
}

// Appends `text` escaped, in at most `budget` bytes: a longer one is cut at
// a whole escape and ends in kTruncated.
void appendEscaped(std::string& out, std::string_view text, size_t budget, Escape mode) {
  size_t total = 0;
  for (char c : text) total += escapedSize(static_cast<unsigned char>(c), mode);
  size_t room = total <= budget ? total : budget - kTruncated.size();
  size_t used = 0;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    used += escapedSize(u, mode);
    if (used > room) break;
    appendEscapedByte(out, u, mode);
  }
  if (total > budget) out.append(kTruncated);
}

void appendNumber(std::string& out, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

// Seconds with millisecond resolution, as nginx's $request_time.
void appendSeconds(std::string& out, int64_t micros) {
  int64_t millis = micros < 0 ? 0 : micros / 1000;
  appendNumber(out, millis / 1000);
  char frac[4] = {'.', static_cast<char>('0' + millis % 1000 / 100),
                  static_cast<char>('0' + millis % 100 / 10), static_cast<char>('0' + millis % 10)};
  out.append(frac, 4);
}

// An unquoted combined field: "-" when absent.
void appendField(std::string& out, std::string_view value, size_t budget) {
  if (value.empty()) {
    out.push_back('-');
  } else {
    appendEscaped(out, value, budget, Escape::kUnquoted);
  }
}

void appendQuoted(std::string& out, std::string_view value, size_t budget) {
  out.push_back('"');
  if (value.empty()) {
    out.push_back('-');
  } else {
    appendEscaped(out, value, budget, Escape::kQuoted);
  }
  out.push_back('"');
}

void appendJsonKey(std::string& out, std::string_view key) {
  out.append(",\"").append(key).append("\":");
}

void appendJsonString(std::string& out, std::string_view key, std::string_view value,
                      size_t budget) {
  appendJsonKey(out, key);
  if (value.empty()) {
    out.append("null");
    return;
  }
  out.push_back('"');
  appendEscaped(out, value, budget, Escape::kJson);
  out.push_back('"');
}

// Never expected (the budgets keep lines shorter), but a line must stay one
// atomic write.
void enforceBound(std::string& out, size_t start) {
  if (out.size() - start <= kMaxAccessLine) return;
  out.resize(start + kMaxAccessLine - 1);
  out.push_back('\n');
}

}  // namespace

void appendCombined(std::string& out, const AccessRecord& r, const LogTime& time) {
  size_t start = out.size();
  appendField(out, r.client, kMaxOther);
  out.append(" - ");
  appendField(out, r.user, kMaxUser);
  out.append(" [").append(time.clf).append("] \"");
  if (r.method.empty()) {
    out.push_back('-');
  } else {
    appendEscaped(out, r.method, kMaxToken, Escape::kQuoted);
    out.push_back(' ');
    appendEscaped(out, r.target, kMaxTarget, Escape::kQuoted);
    out.append(r.version_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");
  }
  out.append("\" ");
  appendNumber(out, r.status);
  out.push_back(' ');
  appendNumber(out, static_cast<int64_t>(r.bytes));
  out.push_back(' ');
  appendQuoted(out, r.referer, kMaxHeader);
  out.push_back(' ');
  appendQuoted(out, r.user_agent, kMaxHeader);
  out.append(" request_time=");
  appendSeconds(out, r.duration_us);
  out.append(" upstream=");
  appendField(out, r.upstream, kMaxOther);
  out.append(" upstream_time=");
  if (r.upstream_us < 0) {
    out.push_back('-');
  } else {
    appendSeconds(out, r.upstream_us);
  }
  out.append(" request_id=");
  appendField(out, r.request_id, kMaxOther);
  out.append(" session=");
  appendField(out, r.session, kMaxOther);
  out.push_back('\n');
  enforceBound(out, start);
}

void appendJson(std::string& out, const AccessRecord& r, const LogTime& time) {
  size_t start = out.size();
  out.append("{\"time\":\"").append(time.iso);
  char millis[4] = {'.', static_cast<char>('0' + time.millis / 100 % 10),
                    static_cast<char>('0' + time.millis / 10 % 10),
                    static_cast<char>('0' + time.millis % 10)};
  out.append(millis, 4).append(time.zone).push_back('"');
  appendJsonString(out, "client", r.client, kMaxOther);
  appendJsonString(out, "user", r.user, kMaxUser);
  appendJsonString(out, "method", r.method, kMaxToken);
  appendJsonString(out, "target", r.method.empty() ? "" : r.target, kMaxTarget);
  appendJsonString(out, "protocol",
                   r.method.empty() ? "" : (r.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1"),
                   kMaxToken);
  appendJsonKey(out, "status");
  appendNumber(out, r.status);
  appendJsonKey(out, "bytes");
  appendNumber(out, static_cast<int64_t>(r.bytes));
  appendJsonString(out, "referer", r.referer, kMaxHeader);
  appendJsonString(out, "user_agent", r.user_agent, kMaxHeader);
  appendJsonKey(out, "request_time");
  appendSeconds(out, r.duration_us);
  appendJsonString(out, "upstream", r.upstream, kMaxOther);
  appendJsonKey(out, "upstream_time");
  if (r.upstream_us < 0) {
    out.append("null");
  } else {
    appendSeconds(out, r.upstream_us);
  }
  appendJsonString(out, "request_id", r.request_id, kMaxOther);
  appendJsonString(out, "session", r.session, kMaxOther);
  out.append("}\n");
  enforceBound(out, start);
}

int openAccessLogFile(const config::LogConfig& cfg, std::string* error) {
  int fd = ::open(cfg.access_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd >= 0) return fd;
  int err = errno;
  *error = (cfg.access_origin.empty() ? std::string() : cfg.access_origin + ": ") +
           "log.access: cannot open \"" + cfg.access_path +
           "\" for appending: " + std::strerror(err) +
           " (the directory must exist and be writable by the user sesame starts as; or set "
           "access = \"stderr\" or \"off\")";
  return -1;
}

AccessLog::AccessLog(const config::LogConfig& cfg) : cfg_(cfg), format_(cfg.format) {
  line_.reserve(kMaxAccessLine);
  if (cfg.access == config::LogConfig::Access::kStderr) {
    fd_ = STDERR_FILENO;
    path_ = "stderr";
  } else if (cfg.access == config::LogConfig::Access::kFile) {
    std::string error;
    fd_ = openAccessLogFile(cfg, &error);
    owned_ = fd_ >= 0;
    path_ = cfg.access_path;
    if (fd_ < 0) LOG_ERROR("%s; this worker logs no requests", error.c_str());
  }
}

AccessLog::~AccessLog() {
  if (owned_) ::close(fd_);
}

bool AccessLog::reopen() {
  if (!owned_) return true;
  std::string error;
  int fd = openAccessLogFile(cfg_, &error);
  if (fd < 0) {
    LOG_ERROR("%s; still writing to the file opened before", error.c_str());
    return false;
  }
  ::close(fd_);
  fd_ = fd;
  return true;
}

void AccessLog::refreshTime(time_t now) {
  cached_second_ = now;
  tm local{};
  ::localtime_r(&now, &local);
  // The C locale (sesame never calls setlocale): English month names, as
  // combined-format parsers expect.
  std::strftime(clf_, sizeof clf_, "%d/%b/%Y:%H:%M:%S %z", &local);
  std::strftime(iso_, sizeof iso_, "%Y-%m-%dT%H:%M:%S", &local);
  long offset = local.tm_gmtoff / 60;
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  std::snprintf(zone_, sizeof zone_, "%c%02ld:%02ld", sign, offset / 60 % 100, offset % 60);
}

void AccessLog::write(const AccessRecord& record) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  if (now.tv_sec != cached_second_) refreshTime(now.tv_sec);
  LogTime time{clf_, iso_, zone_, static_cast<int>(now.tv_nsec / 1'000'000)};
  line_.clear();
  if (format_ == config::LogConfig::Format::kJson) {
    appendJson(line_, record, time);
  } else {
    appendCombined(line_, record, time);
  }
  ssize_t n;
  do {
    n = ::write(fd_, line_.data(), line_.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0 && !failing_) {
    failing_ = true;
    LOG_ERROR(
        "access log %s: write failed: %s; request lines are lost until writing works again "
        "(check free space and permissions)",
        path_.c_str(), std::strerror(errno));
  } else if (n >= 0 && failing_) {
    failing_ = false;
    LOG_WARN("access log %s: writing again", path_.c_str());
  }
}

}  // namespace sesame::proxy

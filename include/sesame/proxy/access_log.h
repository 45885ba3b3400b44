// Access log: one line per exchange, in nginx's combined format plus
// sesame's fields or as JSON, formatted in a per-worker buffer and written
// with one write(2) to a descriptor opened with O_APPEND, so lines of
// different workers never interleave.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "sesame/config/config.h"

namespace sesame::proxy {

// What one line says about one exchange. Empty strings are absent: "-" in
// the combined format, null in JSON.
struct AccessRecord {
  std::string_view client;  // the client's IP address
  std::string_view method;  // empty when the request line never parsed
  std::string_view target;  // as the client sent it (origin-form)
  int version_minor = 1;
  int status = 0;
  uint64_t bytes = 0;  // response body bytes (payload, without chunk framing)
  std::string_view referer;
  std::string_view user_agent;
  std::string_view user;     // the session's logged-in user
  std::string_view session;  // the session handle (CookieCodec::handle), never the cookie
  std::string_view request_id;
  std::string_view upstream;  // the server's address as configured
  int64_t duration_us = 0;    // first byte of the request head to last byte of the response
  int64_t upstream_us = -1;   // connect start to the end of the exchange; -1 without upstream
};

// The time of a line, prepared once per second by AccessLog.
struct LogTime {
  std::string_view clf;   // "25/Nov/2026:23:55:40 +0100" ($time_local)
  std::string_view iso;   // "2026-11-25T23:55:40"
  std::string_view zone;  // "+01:00"
  int millis = 0;
};

// Longest line written: one write(2) of at most this much is atomic on a
// pipe (PIPE_BUF) and in practice on an O_APPEND file. Long targets,
// referers and user agents are cut to fit, ending in kTruncated.
inline constexpr size_t kMaxAccessLine = 4096;
inline constexpr std::string_view kTruncated = "[truncated]";

// Append one line, '\n' included. Combined is exactly nginx's
//   $remote_addr - $remote_user [$time_local] "$request" $status
//   $body_bytes_sent "$http_referer" "$http_user_agent"
// with the session's user as $remote_user and nginx's escaping (", \, and
// bytes outside 0x20-0x7e as \xHH; in unquoted fields spaces too), followed
// by request_time=S upstream=ADDR upstream_time=S request_id=ID session=H.
// JSON is one object; bytes outside printable ASCII are \u00XX escapes (a
// byte each, read as Latin-1), so every line parses whatever the client sent.
void appendCombined(std::string& out, const AccessRecord& record, const LogTime& time);
void appendJson(std::string& out, const AccessRecord& record, const LogTime& time);

// Opens log.access (a file) for appending: O_WRONLY|O_APPEND|O_CREAT|
// O_CLOEXEC, mode 0640. -1 with an operator message in `error` (where it
// was configured, the path, the reason, what to do).
[[nodiscard]] int openAccessLogFile(const config::LogConfig& cfg, std::string* error);

// One worker's access log.
class AccessLog {
 public:
  AccessLog() = default;  // off
  // "stderr" writes to descriptor 2; a file gets this worker's own
  // descriptor (appends from several descriptors do not interleave either).
  explicit AccessLog(const config::LogConfig& cfg);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Callers skip all access-log work (clock reads included) when false.
  [[nodiscard]] bool enabled() const { return fd_ >= 0; }
  void write(const AccessRecord& record);
  // Opens the file again by its path, for logrotate (SIGUSR1): lines go to
  // the new file from the next one on. When the open fails (logged), lines
  // keep going to the old descriptor, so nothing is lost. True without a
  // file to reopen.
  bool reopen();

 private:
  void refreshTime(time_t now);

  config::LogConfig cfg_;
  int fd_ = -1;
  bool owned_ = false;
  config::LogConfig::Format format_ = config::LogConfig::Format::kCombined;
  std::string path_;  // for messages
  std::string line_;
  time_t cached_second_ = -1;
  char clf_[40] = {};
  char iso_[24] = {};
  char zone_[8] = {};
  bool failing_ = false;  // a write failed; reported once until one succeeds
};

}  // namespace sesame::proxy

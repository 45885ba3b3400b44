#include "sesame/base/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace std::chrono_literals;
using namespace sesame;

namespace {

// Points fd 2 at a temporary file for the test's lifetime, and says what
// was written there. Catch2 reports on stdout, so nothing of its own is lost.
class CapturedStderr {
 public:
  CapturedStderr() {
    char path[] = "/tmp/sesame-log-test-XXXXXX";
    fd_ = ::mkstemp(path);
    REQUIRE(fd_ >= 0);
    ::unlink(path);
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    REQUIRE(::dup2(fd_, STDERR_FILENO) == STDERR_FILENO);
  }
  ~CapturedStderr() {
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(fd_);
    ::unsetenv("JOURNAL_STREAM");
    log::detectJournal();
  }
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;

  // "DEV:INODE" of the file, as systemd would set JOURNAL_STREAM.
  [[nodiscard]] std::string streamId() const {
    struct stat st {};
    REQUIRE(::fstat(fd_, &st) == 0);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }

  [[nodiscard]] std::string text() const {
    std::string out;
    char buf[4096];
    ssize_t n;
    off_t at = 0;
    while ((n = ::pread(fd_, buf, sizeof buf, at)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      at += n;
    }
    return out;
  }

 private:
  int fd_ = -1;
  int saved_ = -1;
};

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names fd 2 itself", "[base][log]") {
  CapturedStderr err;
  ::unsetenv("JOURNAL_STREAM");
  log::detectJournal();
  CHECK_FALSE(log::toJournal());

  ::setenv("JOURNAL_STREAM", err.streamId().c_str(), 1);
  log::detectJournal();
  CHECK(log::toJournal());

  // A wrapper that redirected stderr keeps the variable, not the stream.
  ::setenv("JOURNAL_STREAM", (err.streamId() + "1").c_str(), 1);
  log::detectJournal();
  CHECK_FALSE(log::toJournal());
  for (const char* bad : {"", "garbage", "1:", ":1", "1:2:3", "1:2x"}) {
    ::setenv("JOURNAL_STREAM", bad, 1);
    log::detectJournal();
    CHECK_FALSE(log::toJournal());
  }
}

TEST_CASE("journal lines start with their sd-daemon priority", "[base][log]") {
  CapturedStderr err;
  ::setenv("JOURNAL_STREAM", err.streamId().c_str(), 1);
  log::detectJournal();
  log::setMinLevel(log::Level::kDebug);
  LOG_ERROR("e %d", 1);
  LOG_WARN("w");
  LOG_INFO("i");
  LOG_DEBUG("d");
  log::setMinLevel(log::Level::kInfo);
  CHECK(err.text() ==
        "<3>sesame[error]: e 1\n<4>sesame[warn]: w\n<6>sesame[info]: i\n<7>sesame[debug]: d\n");
}

TEST_CASE("without the journal, lines carry no priority prefix", "[base][log]") {
  CapturedStderr err;
  ::unsetenv("JOURNAL_STREAM");
  log::detectJournal();
  LOG_WARN("plain %s", "text");
  CHECK(err.text() == "sesame[warn]: plain text\n");
}

TEST_CASE("a long message is cut and still ends the line", "[base][log]") {
  CapturedStderr err;
  log::write(log::Level::kWarn, "%s", std::string(5000, 'x').c_str());
  std::string text = err.text();
  CHECK(text.size() <= 2048);
  CHECK(text.back() == '\n');
  CHECK(count(text, "\n") == 1);
}

TEST_CASE("a limited site writes a burst, then reports what it suppressed", "[base][log]") {
  CapturedStderr err;
  static const char site = 0;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000h;
  for (int i = 0; i < 50; ++i) {
    log::writeLimited(&site, t0 + std::chrono::milliseconds(i), log::Level::kWarn,
                      "upstream app: connect failed (request %d)", i);
  }
  std::string text = err.text();
  CHECK(count(text, "\n") == log::kLimitedBurst);
  CHECK(count(text, "connect failed") == log::kLimitedBurst);
  CHECK(count(text, "more are counted, not logged") == 1);
  log::writeLimited(&site, t0 + log::kLimitedInterval, log::Level::kWarn,
                    "upstream app: connect failed (request %d)", 50);
  text = err.text();
  CHECK(text.find("(request 50) (45 similar messages suppressed)\n") != std::string::npos);
  // Another site is not affected by this one's flood.
  static const char other = 0;
  log::writeLimited(&other, t0, log::Level::kWarn, "store failed");
  CHECK(err.text().find("sesame[warn]: store failed\n") != std::string::npos);
}

TEST_CASE("a limited message keeps its suffix when cut", "[base][log]") {
  CapturedStderr err;
  static const char site = 0;
  const auto t0 = std::chrono::steady_clock::time_point{} + 2000h;
  log::writeLimited(&site, t0, log::Level::kWarn, "first");
  for (unsigned i = 1; i < log::kLimitedBurst + 3; ++i) {
    log::writeLimited(&site, t0, log::Level::kWarn, "x");
  }
  log::writeLimited(&site, t0 + log::kLimitedInterval, log::Level::kWarn, "%s",
                    std::string(5000, 'y').c_str());
  std::string text = err.text();
  CHECK(text.find("yyy (3 similar messages suppressed)\n") != std::string::npos);
}

TEST_CASE("printable escapes what a client could forge lines with, and bounds it", "[base][log]") {
  CHECK(log::printable("https://app.example", 100) == "https://app.example");
  CHECK(log::printable("a\r\nsesame[error]: forged", 100) == "a\\x0D\\x0Asesame[error]: forged");
  CHECK(log::printable("q\"b\\", 100) == "q\\x22b\\x5C");
  CHECK(log::printable("\xff", 100) == "\\xFF");
  CHECK(log::printable(std::string(1000, 'a'), 10) == "aaaaaaa...");
  CHECK(log::printable(std::string(10, 'a'), 10) == std::string(10, 'a'));
  // Cut at a whole escape, never inside one.
  CHECK(log::printable("ab\ncdefgh", 8) == "ab...");
  CHECK(log::printable("", 10).empty());
}

TEST_CASE("flushSuppressed counts a flood that stopped, once", "[base][log]") {
  CapturedStderr err;
  static const char site = 0;
  const auto t0 = std::chrono::steady_clock::time_point{} + 3000h;
  for (int i = 0; i < 20; ++i) {
    log::writeLimited(&site, t0, log::Level::kWarn, "redis 127.0.0.1:6379: timeout (%d)", i);
  }
  log::flushSuppressed(t0 + 1s);  // the window is still open
  CHECK(count(err.text(), "\n") == log::kLimitedBurst);
  log::flushSuppressed(t0 + log::kLimitedInterval);
  std::string text = err.text();
  CHECK(text.find("sesame[warn]: 15 similar messages suppressed (like: redis 127.0.0.1:6379: "
                  "timeout (4))\n") != std::string::npos);
  log::flushSuppressed(t0 + 2 * log::kLimitedInterval);
  CHECK(err.text() == text);
  // The next message starts a fresh window, with nothing left to report.
  log::writeLimited(&site, t0 + 3 * log::kLimitedInterval, log::Level::kWarn, "again");
  CHECK(err.text().find("again\n") != std::string::npos);
  CHECK(err.text().find("again (") == std::string::npos);
}

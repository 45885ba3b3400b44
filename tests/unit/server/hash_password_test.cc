#include "sesame/server/hash_password.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "../net/loop_helpers.h"
#include "sesame/auth/password.h"

namespace sesame::server {
namespace {

using net::testing::UniqueFd;
using namespace std::chrono_literals;

// A temporary file standing in for stdout or stderr.
struct Capture {
  std::FILE* file = std::tmpfile();
  ~Capture() { std::fclose(file); }
  std::string text() const {
    std::fflush(file);
    std::string out;
    std::rewind(file);
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) out.append(buf, n);
    return out;
  }
};

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs the command with `input` on a pipe as its standard input.
Result runPiped(const std::string& input) {
  int fds[2] = {-1, -1};
  REQUIRE(::pipe(fds) == 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  REQUIRE(::write(write_end.get(), input.data(), input.size()) ==
          static_cast<ssize_t>(input.size()));
  write_end.reset();
  Capture out;
  Capture err;
  Result r;
  r.status = hashPasswordCommand(read_end.get(), out.file, err.file);
  r.out = out.text();
  r.err = err.text();
  return r;
}

// The hash line of a successful run, checked to be a yescrypt hash of `password`.
void checkHashOf(const Result& r, const std::string& password) {
  CHECK(r.status == 0);
  REQUIRE(r.out.size() > 1);
  CHECK(r.out.back() == '\n');
  const std::string hash = r.out.substr(0, r.out.size() - 1);
  CHECK(auth::hashKind(hash) == auth::HashKind::kYescrypt);
  CHECK(auth::verifyPassword(password, hash));
}

TEST_CASE("hash-password hashes the first line of a pipe", "[server][hash_password]") {
  const Result r = runPiped("correct horse\nsecond line\n");
  checkHashOf(r, "correct horse");
  CHECK(r.err.empty());  // no prompts when not on a terminal
  checkHashOf(runPiped("no newline"), "no newline");
  checkHashOf(runPiped("windows\r\n"), "windows");
  checkHashOf(runPiped(" spaces kept \n"), " spaces kept ");
  checkHashOf(runPiped(std::string(511, 'p') + "\n"), std::string(511, 'p'));
}

TEST_CASE("hash-password refuses empty, missing and overlong passwords",
          "[server][hash_password]") {
  const Result empty = runPiped("\n");
  CHECK(empty.status == 1);
  CHECK(empty.out.empty());
  CHECK(empty.err == "sesame hash-password: the password is empty\n");
  const Result none = runPiped("");
  CHECK(none.status == 1);
  CHECK(none.err == "sesame hash-password: no password on standard input\n");
  for (size_t n : {512, 1024, 1025, 5000}) {
    const Result r = runPiped(std::string(n, 'p') + "\n");
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(
        r.err ==
        "sesame hash-password: the password is longer than 511 bytes, the most crypt(3) hashes\n");
  }
}

// A pseudo-terminal: the command reads the slave side, the test types on the master side.
struct Pty {
  UniqueFd master;
  UniqueFd slave;
  Pty() {
    master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    REQUIRE(master.get() >= 0);
    REQUIRE(::grantpt(master.get()) == 0);
    REQUIRE(::unlockpt(master.get()) == 0);
    slave.reset(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
    REQUIRE(slave.get() >= 0);
  }
  void type(const std::string& keys) const {
    REQUIRE(::write(master.get(), keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }
  // What the terminal showed (its echo), read without blocking.
  std::string screen() const {
    std::string out;
    char buf[4096];
    pollfd p{master.get(), POLLIN, 0};
    while (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0) {
      const ssize_t n = ::read(master.get(), buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
};

// Reads the prompts pipe until `text` has been seen, at most 5 s.
bool waitFor(int fd, std::string& seen, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  char buf[256];
  while (seen.find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    pollfd p{fd, POLLIN, 50};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    seen.append(buf, static_cast<size_t>(n));
  }
  return true;
}

struct TtyRun {
  Pty pty;
  Capture out;
  int prompt_pipe[2] = {-1, -1};
  std::FILE* prompts = nullptr;
  int status = -1;
  std::thread command;
  std::string seen;

  TtyRun() {
    REQUIRE(::pipe(prompt_pipe) == 0);
    prompts = ::fdopen(prompt_pipe[1], "w");
    command =
        std::thread([this] { status = hashPasswordCommand(pty.slave.get(), out.file, prompts); });
  }
  ~TtyRun() {
    if (command.joinable()) command.join();
    std::fclose(prompts);
    ::close(prompt_pipe[0]);
  }
  void answer(const std::string& prompt, const std::string& keys) {
    REQUIRE(waitFor(prompt_pipe[0], seen, prompt));
    pty.type(keys);
  }
  void finish() {
    command.join();
    std::fflush(prompts);
    char buf[256];
    pollfd p{prompt_pipe[0], POLLIN, 0};
    while (::poll(&p, 1, 0) > 0) {
      const ssize_t n = ::read(prompt_pipe[0], buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<size_t>(n));
    }
  }
};

TEST_CASE("on a terminal: asked twice, never echoed, echo restored", "[server][hash_password]") {
  TtyRun run;
  run.answer("Password: ", "s3cret pass\n");
  run.answer("Again: ", "s3cret pass\n");
  run.finish();
  CHECK(run.status == 0);
  CHECK(run.seen == "Password: Again: ");
  const std::string screen = run.pty.screen();
  CHECK(screen.find("s3cret") == std::string::npos);  // only the newlines were echoed
  CHECK(screen == "\r\n\r\n");
  termios now{};
  REQUIRE(::tcgetattr(run.pty.slave.get(), &now) == 0);
  CHECK((now.c_lflag & ECHO) != 0);
  CHECK((now.c_lflag & ECHONL) == 0);
  Result r;
  r.status = run.status;
  r.out = run.out.text();
  checkHashOf(r, "s3cret pass");
}

TEST_CASE("on a terminal: two different answers are refused", "[server][hash_password]") {
  TtyRun run;
  run.answer("Password: ", "one\n");
  run.answer("Again: ", "two\n");
  run.finish();
  CHECK(run.status == 1);
  CHECK(run.out.text().empty());
  CHECK(run.seen ==
        "Password: Again: sesame hash-password: the passwords differ; nothing was written\n");
  termios now{};
  REQUIRE(::tcgetattr(run.pty.slave.get(), &now) == 0);
  CHECK((now.c_lflag & ECHO) != 0);
}

}  // namespace
}  // namespace sesame::server

#include "sesame/server/hash_password.h"

#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <optional>
#include <string>

#include "sesame/auth/password.h"

namespace sesame::server {
namespace {

// A signal that ends the process while echo is off would leave the terminal silent: its
// handler puts the settings back first, then lets the signal do what it would have done.
constexpr std::array kRestoreOn{SIGINT, SIGTERM, SIGHUP, SIGQUIT};
int g_tty = -1;
termios g_saved{};

extern "C" void restoreAndRaise(int sig) {
  ::tcsetattr(g_tty, TCSANOW, &g_saved);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Echo off on the terminal `fd` for its lifetime; the newline the user types still shows.
class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    g_tty = fd;
    g_saved = saved_;
    struct sigaction restore {};
    restore.sa_handler = restoreAndRaise;
    sigemptyset(&restore.sa_mask);
    for (size_t i = 0; i < kRestoreOn.size(); ++i) {
      ::sigaction(kRestoreOn[i], &restore, &previous_[i]);
    }
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    // TCSAFLUSH: what was typed ahead, with echo still on, is not taken as the password.
    active_ = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  ~NoEcho() {
    if (g_tty != fd_) return;
    ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    for (size_t i = 0; i < kRestoreOn.size(); ++i) {
      ::sigaction(kRestoreOn[i], &previous_[i], nullptr);
    }
    g_tty = -1;
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

  [[nodiscard]] bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  std::array<struct sigaction, kRestoreOn.size()> previous_{};
  bool active_ = false;
};

// One line from `fd`, without its newline (and a CR before it); nullopt at end of input before
// any byte or on a read error. The whole line is consumed even past `max_bytes` (which are not
// kept but make the result longer than max_bytes), so the rest never reaches a shell reading
// the same terminal.
std::optional<std::string> readLine(int fd, size_t max_bytes) {
  std::string line;
  line.reserve(max_bytes + 1);
  bool any = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    any = true;
    if (c == '\n') break;
    if (line.size() <= max_bytes) line.push_back(c);
  }
  if (!any) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int fail(std::FILE* prompts, const std::string& why) {
  std::fprintf(prompts, "sesame hash-password: %s\n", why.c_str());
  return 1;
}

}  // namespace

int hashPasswordCommand(int in, std::FILE* out, std::FILE* prompts) {
  std::optional<std::string> password;
  if (::isatty(in)) {
    NoEcho quiet(in);
    if (!quiet.active()) return fail(prompts, "cannot turn the terminal's echo off");
    std::fputs("Password: ", prompts);
    std::fflush(prompts);
    password = readLine(in, auth::kMaxPasswordBytes);
    if (password) {
      std::fputs("Again: ", prompts);
      std::fflush(prompts);
      std::optional<std::string> again = readLine(in, auth::kMaxPasswordBytes);
      const bool same = again == password;
      if (again) auth::wipe(*again);
      if (!same) {
        auth::wipe(*password);
        return fail(prompts, "the passwords differ; nothing was written");
      }
    }
  } else {
    password = readLine(in, auth::kMaxPasswordBytes);
  }
  if (!password) return fail(prompts, "no password on standard input");
  std::string error;
  const std::optional<std::string> hash = auth::hashPassword(*password, &error);
  auth::wipe(*password);
  if (!hash) return fail(prompts, error);
  if (std::fprintf(out, "%s\n", hash->c_str()) < 0 || std::fflush(out) != 0) {
    return fail(prompts, "cannot write the hash");
  }
  return 0;
}

}  // namespace sesame::server

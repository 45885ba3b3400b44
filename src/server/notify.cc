#include "sesame/server/notify.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace sesame::server {
namespace {

std::optional<uint64_t> parseUnsigned(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  uint64_t value = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// sd_watchdog_enabled(3): WATCHDOG_PID, when set, names the process the
// watchdog is meant for; a child that inherited the environment must not ping.
std::chrono::microseconds watchdogFromEnvironment() {
  std::optional<uint64_t> usec = parseUnsigned(std::getenv("WATCHDOG_USEC"));
  if (!usec || *usec == 0) return std::chrono::microseconds(0);
  if (const char* pid_text = std::getenv("WATCHDOG_PID")) {
    std::optional<uint64_t> pid = parseUnsigned(pid_text);
    if (!pid || *pid != static_cast<uint64_t>(::getpid())) return std::chrono::microseconds(0);
  }
  return std::chrono::microseconds(*usec / 2);
}

}  // namespace

Notifier Notifier::fromEnvironment(std::string* error) {
  Notifier n;
  const char* name = std::getenv("NOTIFY_SOCKET");
  if (name == nullptr || *name == '\0') return n;
  n.name_ = name;
  size_t len = n.name_.size();
  // '@' names a socket in the abstract namespace: a leading NUL on the wire.
  if ((name[0] != '/' && name[0] != '@') || len >= sizeof n.addr_.sun_path) {
    *error = "NOTIFY_SOCKET \"" + n.name_ +
             "\" is not a socket path or @abstract name; "
             "systemd will not hear from sesame";
    return n;
  }
  n.addr_.sun_family = AF_UNIX;
  std::memcpy(n.addr_.sun_path, name, len);
  if (name[0] == '@') n.addr_.sun_path[0] = '\0';
  n.addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  n.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (n.fd_ < 0) {
    *error = std::string("cannot create a socket for NOTIFY_SOCKET: ") + std::strerror(errno);
    return n;
  }
  n.watchdog_interval_ = watchdogFromEnvironment();
  return n;
}

Notifier::Notifier(Notifier&& other) noexcept
    : fd_(other.fd_),
      addr_(other.addr_),
      addr_len_(other.addr_len_),
      name_(std::move(other.name_)),
      watchdog_interval_(other.watchdog_interval_) {
  other.fd_ = -1;
}

Notifier::~Notifier() {
  if (fd_ >= 0) ::close(fd_);
}

bool Notifier::send(std::string_view state, std::string* error) const {
  if (fd_ < 0) return true;
  ssize_t sent;
  do {
    sent = ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
  } while (sent < 0 && errno == EINTR);
  if (sent == static_cast<ssize_t>(state.size())) return true;
  *error = "cannot notify systemd at \"" + name_ +
           "\": " + (sent < 0 ? std::strerror(errno) : "short write");
  return false;
}

}  // namespace sesame::server

// systemd's service notification protocol (sd_notify(3)) without libsystemd:
// READY, STOPPING, STATUS and WATCHDOG datagrams to $NOTIFY_SOCKET.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <string>
#include <string_view>

namespace sesame::server {

class Notifier {
 public:
  // Reads NOTIFY_SOCKET ("/path" or "@abstract"), WATCHDOG_USEC and
  // WATCHDOG_PID. Without NOTIFY_SOCKET (not started by systemd with
  // Type=notify) every send is a no-op that succeeds. `error` gets a
  // sentence when the environment names something unusable.
  static Notifier fromEnvironment(std::string* error);
  ~Notifier();
  Notifier(Notifier&& other) noexcept;
  Notifier& operator=(Notifier&&) = delete;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  [[nodiscard]] bool enabled() const { return fd_ >= 0; }
  // How often to send WATCHDOG=1: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
  // advises; zero when no watchdog applies to this process.
  [[nodiscard]] std::chrono::microseconds watchdogInterval() const { return watchdog_interval_; }
  // One datagram of newline-separated assignments ("READY=1\nSTATUS=...").
  // False with a sentence in `error` when it could not be sent.
  [[nodiscard]] bool send(std::string_view state, std::string* error) const;

 private:
  Notifier() = default;

  int fd_ = -1;
  sockaddr_un addr_{};
  socklen_t addr_len_ = 0;
  std::string name_;  // as given, for messages
  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace sesame::server

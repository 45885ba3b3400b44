// Socket addresses from "host:port" / "[v6]:port" strings.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sesame::net {

struct HostPort {
  std::string host;  // without brackets for IPv6 literals
  uint16_t port = 0;
};

// Splits "host:port" or "[v6]:port". Rejects a missing or zero port, a port
// above 65535, empty hosts and unbalanced brackets; `error` says which.
[[nodiscard]] std::optional<HostPort> parseHostPort(std::string_view text, std::string* error);

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  [[nodiscard]] const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  [[nodiscard]] int family() const { return storage.ss_family; }
  // "127.0.0.1:80" / "[::1]:80"
  [[nodiscard]] std::string toString() const;
  // Host part only, as used in X-Forwarded-For.
  [[nodiscard]] std::string hostString() const;
};

// Resolves host (numeric or name, blocking: call only at configuration time).
[[nodiscard]] std::optional<Address> resolve(const HostPort& hp, std::string* error);
[[nodiscard]] Address fromSockaddr(const sockaddr* sa, socklen_t len);

}  // namespace sesame::net

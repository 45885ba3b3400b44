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
// above 65535, empty hosts, unbalanced brackets, an IPv6 literal without
// brackets, brackets around anything but an IPv6 literal and hosts with
// characters no host name has; `error` (may be null) says which.
[[nodiscard]] std::optional<HostPort> parseHostPort(std::string_view text, std::string* error);

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  [[nodiscard]] const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  [[nodiscard]] int family() const { return storage.ss_family; }
  // "127.0.0.1:80" / "[::1]:80"; "" for anything but IPv4 and IPv6.
  [[nodiscard]] std::string toString() const;
  // Host part only, as used in X-Forwarded-For: "127.0.0.1" / "::1".
  [[nodiscard]] std::string hostString() const;
};

// Resolves host (numeric or name, blocking: call only at configuration time).
// Numeric hosts never reach the resolver; names take getaddrinfo's first result.
[[nodiscard]] std::optional<Address> resolve(const HostPort& hp, std::string* error);
// Numeric hosts only: a name is an error, and nothing touches the network.
[[nodiscard]] std::optional<Address> resolveNumeric(const HostPort& hp, std::string* error);
// Copies at most sizeof(sockaddr_storage) bytes; a null `sa` gives an empty Address.
[[nodiscard]] Address fromSockaddr(const sockaddr* sa, socklen_t len);

}  // namespace sesame::net

#include "sesame/net/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "sesame/base/c_handle.h"

namespace sesame::net {
namespace {

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

// Digits only, 1..65535: "+80", " 80" and "0x50" are typos, not ports.
bool parsePort(std::string_view text, uint16_t* port, std::string* error) {
  if (text.empty()) return fail(error, "the port is missing");
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return fail(error, "the port must be a decimal number");
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return fail(error, "the port is above 65535");
  }
  if (value == 0) return fail(error, "port 0 is not allowed");
  *port = static_cast<uint16_t>(value);
  return true;
}

bool isIpv6Literal(const std::string& host) {
  // A zone ("fe80::1%eth0") is not part of the address inet_pton accepts.
  std::string address = host.substr(0, host.find('%'));
  in6_addr a6;
  return inet_pton(AF_INET6, address.c_str(), &a6) == 1;
}

// Letters, digits, '-', '.', '_': anything else (spaces, '/', '@', controls)
// means the operator pasted a URL or a typo, and getaddrinfo would only
// answer with a vaguer error.
bool validHostName(std::string_view host) {
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<Address> numericAddress(const HostPort& hp) {
  Address out;
  in_addr a4;
  if (inet_pton(AF_INET, hp.host.c_str(), &a4) == 1) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(hp.port);
    sin->sin_addr = a4;
    out.length = sizeof(sockaddr_in);
    return out;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, hp.host.c_str(), &a6) == 1) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(hp.port);
    sin6->sin6_addr = a6;
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

std::optional<Address> lookup(const HostPort& hp, int flags, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(hp.host.c_str(), nullptr, &hints, &raw);
  const AddrInfoPtr list(raw);
  if (rc != 0 || list == nullptr) {
    fail(error, "cannot resolve \"" + hp.host + "\": " + gai_strerror(rc));
    return std::nullopt;
  }
  Address out = fromSockaddr(list->ai_addr, list->ai_addrlen);
  if (out.family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&out.storage)->sin_port = htons(hp.port);
  } else if (out.family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&out.storage)->sin6_port = htons(hp.port);
  } else {
    fail(error, "\"" + hp.host + "\" resolved to neither an IPv4 nor an IPv6 address");
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::optional<HostPort> parseHostPort(std::string_view text, std::string* error) {
  HostPort out;
  std::string_view port;
  if (text.empty()) {
    fail(error, "the address is empty (expected host:port)");
    return std::nullopt;
  }
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      fail(error, "'[' has no matching ']' (expected [IPv6]:port)");
      return std::nullopt;
    }
    out.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      fail(error, "the port is missing (expected [IPv6]:port)");
      return std::nullopt;
    }
    port = rest.substr(1);
    if (out.host.empty()) {
      fail(error, "the host is empty");
      return std::nullopt;
    }
    // RFC 3986 §3.2.2: brackets enclose an IP literal and nothing else.
    if (!isIpv6Literal(out.host)) {
      fail(error, "\"" + out.host + "\" in brackets is not an IPv6 address");
      return std::nullopt;
    }
  } else {
    if (text.find_first_of("[]") != std::string_view::npos) {
      fail(error, "unbalanced brackets (expected host:port or [IPv6]:port)");
      return std::nullopt;
    }
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      fail(error, "the port is missing (expected host:port)");
      return std::nullopt;
    }
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      fail(error, "an IPv6 address needs brackets, as in [::1]:8080");
      return std::nullopt;
    }
    if (out.host.empty()) {
      fail(error, "the host is empty (expected host:port)");
      return std::nullopt;
    }
    if (!validHostName(out.host)) {
      fail(error, "\"" + out.host + "\" is not a valid host name or IPv4 address");
      return std::nullopt;
    }
  }
  if (!parsePort(port, &out.port, error)) return std::nullopt;
  return out;
}

std::optional<Address> resolveNumeric(const HostPort& hp, std::string* error) {
  if (auto numeric = numericAddress(hp)) return numeric;
  if (hp.host.find('%') != std::string::npos) return lookup(hp, AI_NUMERICHOST, error);
  fail(error, "\"" + hp.host + "\" is not a numeric IPv4 or IPv6 address");
  return std::nullopt;
}

std::optional<Address> resolve(const HostPort& hp, std::string* error) {
  if (auto numeric = numericAddress(hp)) return numeric;
  return lookup(hp, 0, error);
}

Address fromSockaddr(const sockaddr* sa, socklen_t len) {
  Address out;
  if (sa == nullptr) return out;
  size_t n = len < sizeof out.storage ? len : sizeof out.storage;
  std::memcpy(&out.storage, sa, n);
  out.length = static_cast<socklen_t>(n);
  return out;
}

std::string Address::hostString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
  } else if (family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
  }
  return text;
}

std::string Address::toString() const {
  if (family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage);
    return hostString() + ":" + std::to_string(ntohs(sin->sin_port));
  }
  if (family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    return "[" + hostString() + "]:" + std::to_string(ntohs(sin6->sin6_port));
  }
  return "";
}

}  // namespace sesame::net

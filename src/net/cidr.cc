#include "sesame/net/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace sesame::net {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpAddress fromV6(const uint8_t* raw) {
  IpAddress ip;
  if (std::memcmp(raw, kMappedPrefix, sizeof kMappedPrefix) == 0) {
    std::copy(raw + 12, raw + 16, ip.bytes.begin());
    return ip;
  }
  ip.v6 = true;
  std::copy(raw, raw + 16, ip.bytes.begin());
  return ip;
}

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

bool parsePrefix(std::string_view text, unsigned width, unsigned* prefix, std::string* error) {
  if (text.empty() || text.size() > 3) {
    return fail(error, "the prefix length after \"/\" must be 0 to " + std::to_string(width));
  }
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return fail(error, "the prefix length after \"/\" must be decimal digits");
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > width) {
    return fail(error, "the prefix length /" + std::string(text) + " is longer than the " +
                           std::to_string(width) + " bits of the address");
  }
  *prefix = value;
  return true;
}

}  // namespace

std::string IpAddress::toString() const {
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text) == nullptr) return "";
  return text;
}

std::optional<IpAddress> parseIp(std::string_view text) {
  // inet_pton needs a terminated string; a literal never needs more room.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress ip;
  if (inet_pton(AF_INET, buffer, ip.bytes.data()) == 1) return ip;
  uint8_t raw[16];
  if (inet_pton(AF_INET6, buffer, raw) == 1) return fromV6(raw);
  return std::nullopt;
}

std::optional<IpAddress> ipOf(const Address& addr) {
  if (addr.family() == AF_INET) {
    IpAddress ip;
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&addr.storage);
    std::memcpy(ip.bytes.data(), &sin->sin_addr, 4);
    return ip;
  }
  if (addr.family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&addr.storage);
    return fromV6(sin6->sin6_addr.s6_addr);
  }
  return std::nullopt;
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.v6 != base.v6) return false;
  unsigned whole = prefix / 8;
  if (!std::equal(base.bytes.begin(), base.bytes.begin() + whole, ip.bytes.begin())) return false;
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[whole] & mask) == base.bytes[whole];
}

std::string Cidr::toString() const {
  return base.toString() + "/" + std::to_string(prefix);
}

std::optional<Cidr> parseCidr(std::string_view text, std::string* error) {
  size_t slash = text.find('/');
  std::optional<IpAddress> ip = parseIp(text.substr(0, slash));
  if (!ip) {
    fail(error, slash == std::string_view::npos
                    ? "not a numeric IPv4 or IPv6 address"
                    : "the address before \"/\" is not a numeric IPv4 or IPv6 address");
    return std::nullopt;
  }
  // A mapped address written with a v6 prefix ("::ffff:10.0.0.0/104") would
  // need the prefix shifted; nobody writes that, so ask for the IPv4 form.
  if (!ip->v6 && text.find(':') != std::string_view::npos && slash != std::string_view::npos) {
    fail(error, "write an IPv4-mapped range in IPv4 form (e.g. \"10.0.0.0/8\")");
    return std::nullopt;
  }
  Cidr cidr;
  cidr.base = *ip;
  unsigned width = ip->v6 ? 128 : 32;
  cidr.prefix = width;
  if (slash != std::string_view::npos &&
      !parsePrefix(text.substr(slash + 1), width, &cidr.prefix, error)) {
    return std::nullopt;
  }
  Cidr masked = cidr;
  for (unsigned bit = cidr.prefix; bit < width; ++bit) {
    masked.base.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (!(masked.base == cidr.base)) {
    fail(error, "bits are set after the /" + std::to_string(cidr.prefix) +
                    " prefix (did you mean " + masked.toString() + ", or the single address " +
                    cidr.base.toString() + "?)");
    return std::nullopt;
  }
  return cidr;
}

bool containsAny(const std::vector<Cidr>& set, const IpAddress& ip) {
  return std::any_of(set.begin(), set.end(), [&ip](const Cidr& c) { return c.contains(ip); });
}

}  // namespace sesame::net

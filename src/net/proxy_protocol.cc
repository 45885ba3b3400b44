#include "sesame/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "sesame/net/cidr.h"

namespace sesame::net {
namespace {

using Status = ProxyHeader::Status;

constexpr std::string_view kV1Signature = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t kV2Fixed = 16;

ProxyHeader needMore() {
  return ProxyHeader{};
}

ProxyHeader error(std::string_view why) {
  ProxyHeader h;
  h.status = Status::kError;
  h.error = why;
  return h;
}

ProxyHeader complete(size_t length, std::optional<Address> source) {
  ProxyHeader h;
  h.status = Status::kComplete;
  h.length = length;
  h.source = source;
  return h;
}

// True when `bytes` and `signature` agree on their common length.
bool startsLike(std::string_view bytes, std::string_view signature) {
  size_t n = std::min(bytes.size(), signature.size());
  return bytes.substr(0, n) == signature.substr(0, n);
}

std::optional<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

Address makeAddress(bool v6, const uint8_t* ip, uint16_t port_network_order) {
  Address a;
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, ip, 16);
    sin6->sin6_port = port_network_order;
    a.length = sizeof(sockaddr_in6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, ip, 4);
    sin->sin_port = port_network_order;
    a.length = sizeof(sockaddr_in);
  }
  return a;
}

// Splits off the text up to the next single space.
bool nextWord(std::string_view& rest, std::string_view& word) {
  size_t space = rest.find(' ');
  word = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
  return !word.empty();
}

ProxyHeader parseV1(std::string_view bytes) {
  // Only printable ASCII before CR LF: the line cannot hide anything. The
  // CR LF ends the line by byte kProxyV1MaxLength at the latest.
  size_t limit = std::min(bytes.size(), kProxyV1MaxLength - 1);
  for (size_t i = 0; i < limit; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      if (i + 1 == bytes.size()) return needMore();
      if (bytes[i + 1] != '\n') return error("v1: CR without LF");
      std::string_view line = bytes.substr(kV1Signature.size(), i - kV1Signature.size());
      std::string_view proto;
      if (!nextWord(line, proto)) return error("v1: no protocol");
      // UNKNOWN: the sender may add anything up to CR LF (§2.1); ignored.
      if (proto == "UNKNOWN") return complete(i + 2, std::nullopt);
      if (proto != "TCP4" && proto != "TCP6")
        return error("v1: protocol is not TCP4, TCP6 or UNKNOWN");
      std::string_view src, dst, sport, dport;
      if (line.ends_with(' ') || !nextWord(line, src) || !nextWord(line, dst) ||
          !nextWord(line, sport) || !nextWord(line, dport) || !line.empty()) {
        return error("v1: expected two addresses and two ports separated by single spaces");
      }
      std::optional<IpAddress> s = parseIp(src);
      std::optional<IpAddress> d = parseIp(dst);
      bool v6 = proto == "TCP6";
      // parseIp folds mapped addresses to IPv4; the family word must match the text.
      bool src_ok = s && (src.find(':') != std::string_view::npos) == v6;
      bool dst_ok = d && (dst.find(':') != std::string_view::npos) == v6;
      if (!src_ok || !dst_ok) return error("v1: an address is not of the named family");
      std::optional<uint16_t> sp = parsePort(sport);
      if (!sp || !parsePort(dport)) return error("v1: a port is not 0-65535 in decimal");
      uint8_t raw[16];
      inet_pton(v6 ? AF_INET6 : AF_INET, std::string(src).c_str(), raw);
      return complete(i + 2, makeAddress(v6, raw, htons(*sp)));
    }
    if (c < 0x20 || c > 0x7e) return error("v1: a byte that is not printable ASCII");
  }
  if (bytes.size() >= kProxyV1MaxLength - 1) return error("v1: no CR LF within 107 bytes");
  return needMore();
}

ProxyHeader parseV2(std::string_view bytes) {
  if (bytes.size() > kV2Signature.size()) {
    auto ver_cmd = static_cast<uint8_t>(bytes[12]);
    if ((ver_cmd >> 4) != 2) return error("v2: version is not 2");
    if ((ver_cmd & 0x0f) > 1) return error("v2: command is neither LOCAL nor PROXY");
  }
  if (bytes.size() > 13) {
    auto fam = static_cast<uint8_t>(bytes[13]);
    if ((fam >> 4) > 3 || (fam & 0x0f) > 2) return error("v2: unknown address family or transport");
  }
  if (bytes.size() < kV2Fixed) return needMore();
  auto len =
      static_cast<size_t>((static_cast<uint8_t>(bytes[14]) << 8) | static_cast<uint8_t>(bytes[15]));
  size_t total = kV2Fixed + len;
  if (total > kProxyV2MaxLength) return error("v2: header longer than sesame accepts");
  auto fam = static_cast<uint8_t>(bytes[13]);
  bool local = (static_cast<uint8_t>(bytes[12]) & 0x0f) == 0;
  unsigned family = fam >> 4;
  unsigned transport = fam & 0x0f;
  // Checked before the whole header is in, so the verdict does not depend
  // on how the bytes arrived.
  size_t need = family == 1 ? 12 : family == 2 ? 36 : family == 3 ? 216 : 0;
  if (!local && len < need) return error("v2: address block shorter than its family needs");
  if (!local && family != 0 && family != 3 && transport != 1) {
    return error("v2: transport is not STREAM");
  }
  if (bytes.size() < total) return needMore();
  // LOCAL (§2.2): the balancer speaks for itself; addresses are ignored.
  if (local || family == 0 || family == 3) return complete(total, std::nullopt);
  const auto* block = reinterpret_cast<const uint8_t*>(bytes.data()) + kV2Fixed;
  bool v6 = family == 2;
  size_t ip_len = v6 ? 16 : 4;
  uint16_t port;
  std::memcpy(&port, block + 2 * ip_len, 2);  // already network order
  return complete(total, makeAddress(v6, block, port));
}

}  // namespace

ProxyHeader parseProxyHeader(std::string_view bytes) {
  if (bytes.empty()) return needMore();
  if (bytes[0] == 'P') {
    if (!startsLike(bytes, kV1Signature)) return error("v1: does not start with \"PROXY \"");
    if (bytes.size() <= kV1Signature.size()) return needMore();
    return parseV1(bytes);
  }
  if (!startsLike(bytes, kV2Signature)) return error("not a PROXY protocol header");
  return parseV2(bytes);
}

}  // namespace sesame::net

// PROXY protocol headers, v1 (text) and v2 (binary), as HAProxy's
// doc/proxy-protocol.txt defines them: the line a load balancer sends before
// a TCP stream to name the client it accepted. Pure: bytes in, a verdict out.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "sesame/net/address.h"

namespace sesame::net {

// v1: "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n" is the
// longest line the spec allows (§2.1).
inline constexpr size_t kProxyV1MaxLength = 107;
// v2: the 16-byte fixed part plus addresses and TLVs. The spec allows 64 KiB;
// sesame reads at most this much before the first request byte, so a peer
// cannot make it hold more.
inline constexpr size_t kProxyV2MaxLength = 16 + 2048;
inline constexpr size_t kProxyMaxLength = kProxyV2MaxLength;

struct ProxyHeader {
  enum class Status {
    kNeedMore,  // every byte so far fits a header: read more and call again
    kComplete,  // `length` bytes are the header; the stream proper follows
    kError,     // not a PROXY header, or one sesame refuses; close the connection
  };
  Status status = Status::kNeedMore;
  size_t length = 0;
  // The client's address and port. Absent for v2 LOCAL (the balancer's own
  // health check), v1 "UNKNOWN", and v2 UNSPEC or UNIX families: the
  // connection's own peer stands.
  std::optional<Address> source;
  std::string_view error;  // kError: what was wrong, for a debug log line
};

// Looks at the first bytes of a connection, `bytes` being everything
// received so far (call again from the start with more). Decides as early
// as the bytes allow: a first byte that starts neither signature is an
// error at once, and a prefix answered kNeedMore is never answered
// differently than the full input would be. Accepts v1 TCP4, TCP6 and
// UNKNOWN; v2 PROXY (INET / INET6 over STREAM, UNSPEC, UNIX) and LOCAL,
// with TLVs skipped. Rejects a v1 line over kProxyV1MaxLength or with
// anything but single spaces, numeric addresses of the named family and
// decimal ports without leading zeros; a v2 header of another version or
// command, over kProxyV2MaxLength, with DGRAM transport, or with an address
// block shorter than its family needs.
[[nodiscard]] ProxyHeader parseProxyHeader(std::string_view bytes);

}  // namespace sesame::net

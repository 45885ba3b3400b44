// libFuzzer target: the PROXY protocol header parser over arbitrary first
// bytes of a connection. Checks the contract the acceptor relies on: the
// verdict is bounded, and it does not depend on how the bytes arrived
// (every prefix either asks for more or already gives the same verdict).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/net/proxy_protocol.h"

using sesame::fuzz::check;
using sesame::fuzz::Rng;
using sesame::net::kProxyMaxLength;
using sesame::net::kProxyV1MaxLength;
using sesame::net::parseProxyHeader;
using sesame::net::ProxyHeader;
using Status = ProxyHeader::Status;

namespace {

bool same(const ProxyHeader& a, const ProxyHeader& b) {
  if (a.status != b.status || a.length != b.length || a.error != b.error) return false;
  if (a.source.has_value() != b.source.has_value()) return false;
  return !a.source || a.source->toString() == b.source->toString();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const ProxyHeader full = parseProxyHeader(input);
  switch (full.status) {
    case Status::kComplete:
      check(full.length > 0 && full.length <= input.size() && full.length <= kProxyMaxLength);
      if (input[0] == 'P') check(full.length <= kProxyV1MaxLength);
      if (full.source) check(!full.source->toString().empty());
      break;
    case Status::kNeedMore:
      // A peer can never make sesame wait for more than the bound.
      check(input.size() < kProxyMaxLength);
      break;
    case Status::kError:
      check(!full.error.empty());
      break;
  }
  // Split invariance: the connection peeks whatever has arrived, so a
  // shorter read must ask for more or agree with the longer one; and bytes
  // after a complete header never change it.
  Rng rng(input);
  size_t cuts = size < 64 ? size : 64;
  for (size_t i = 0; i < cuts; ++i) {
    size_t n = size < 64 ? i : rng.below(size);
    const ProxyHeader part = parseProxyHeader(input.substr(0, n));
    if (part.status == Status::kNeedMore) {
      check(full.status != Status::kComplete || n < full.length);
      continue;
    }
    check(same(part, full));
  }
  return 0;
}

// libFuzzer target: the outbound client's URL parser over arbitrary bytes (URLs come from the
// configuration and from a provider's discovery document). What is accepted has the shape the
// client relies on, and its canonical form parses back to the same URL.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/outbound/url.h"

using sesame::fuzz::check;
using sesame::outbound::parseUrl;
using sesame::outbound::Url;

namespace {

bool safeByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '#' && c != '\\';
}

void checkUrl(const Url& url, bool allow_plain_http) {
  check(!url.host.empty());
  check(url.port != 0);
  check(url.https || allow_plain_http);
  check(!url.target.empty() && url.target.front() == '/');
  for (char c : url.target) check(safeByte(c));
  // Nothing that could end the request line or smuggle a field into the head.
  for (char c : url.authority()) check(safeByte(c) && c != '/' && c != '?' && c != '@');
  const std::string canonical = url.toString();
  const auto again = parseUrl(canonical, allow_plain_http, nullptr);
  check(again.has_value());
  check(again->host == url.host && again->port == url.port && again->https == url.https &&
        again->ip_literal == url.ip_literal && again->target == url.target);
  check(again->toString() == canonical);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool allow_plain_http : {false, true}) {
    std::string error;
    const auto url = parseUrl(text, allow_plain_http, &error);
    if (url) {
      check(error.empty());
      checkUrl(*url, allow_plain_http);
    } else {
      check(!error.empty());
    }
  }
  return 0;
}

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "sesame/session/settings.h"

namespace sesame::session {

std::optional<net::Address> parseRedisAddress(std::string_view text, std::string* error,
                                              bool resolve_names) {
  auto fail = [error](std::string why) -> std::optional<net::Address> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    sockaddr_un sun{};
    if (path.empty() || path.front() != '/') {
      return fail("a unix socket needs an absolute path, e.g. \"unix:/run/redis/redis.sock\"");
    }
    if (path.size() >= sizeof sun.sun_path) {
      return fail("the socket path is longer than " + std::to_string(sizeof sun.sun_path - 1) +
                  " bytes");
    }
    if (path.find('\0') != std::string_view::npos) return fail("the socket path holds a NUL byte");
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.data(), path.size());
    net::Address addr;
    std::memcpy(&addr.storage, &sun, sizeof sun);
    addr.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return addr;
  }
  std::string why;
  std::optional<net::HostPort> hp = net::parseHostPort(text, &why);
  if (!hp) return fail(why);
  if (resolve_names) {
    std::optional<net::Address> addr = net::resolve(*hp, &why);
    return addr ? addr : fail(why);
  }
  // Loopback is the one name whose answer is fixed without a lookup.
  if (hp->host == "localhost") hp->host = "127.0.0.1";
  std::optional<net::Address> addr = net::resolveNumeric(*hp, &why);
  if (!addr) {
    return fail(why +
                " (write an IP address such as \"127.0.0.1:6379\" or a unix socket as "
                "\"unix:/run/redis/redis.sock\")");
  }
  return addr;
}

}  // namespace sesame::session

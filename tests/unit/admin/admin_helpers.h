// Test support for admin/: configurations with upstreams and a blocking
// HTTP client for the admin listener (redis-server: ../redis_server.h).
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../redis_server.h"
#include "sesame/config/config.h"
#include "sesame/net/address.h"

namespace sesame::admin::testing {

using sesame::testing::freePort;

inline net::Address loopback(uint16_t port) {
  std::string error;
  auto addr = net::resolveNumeric(net::HostPort{"127.0.0.1", port}, &error);
  REQUIRE(addr);
  return *addr;
}

using sesame::testing::RedisServer;

// A configuration holding only upstreams: name -> server ports on 127.0.0.1.
inline std::shared_ptr<config::Config> upstreamConfig(
    const std::vector<std::pair<std::string, std::vector<uint16_t>>>& upstreams) {
  auto cfg = std::make_shared<config::Config>();
  for (const auto& [name, ports] : upstreams) {
    config::UpstreamConfig u;
    u.name = name;
    for (uint16_t port : ports) {
      u.servers.push_back({"127.0.0.1:" + std::to_string(port), loopback(port)});
    }
    cfg->upstreams.push_back(std::move(u));
  }
  return cfg;
}

// Adds a [session] with store = "redis" at `address` ("host:port" or "unix:...").
inline void useRedis(config::Config& cfg, const std::string& address,
                     const std::string& password = "") {
  session::Settings s;
  s.store = session::StoreKind::kRedis;
  s.redis.address = address;
  std::string error;
  auto addr = session::parseRedisAddress(address, &error);
  REQUIRE(addr);
  s.redis.addr = *addr;
  s.redis.password = password;
  cfg.session = std::move(s);
}

struct HttpResponse {
  int status = 0;
  std::string head;  // status line and fields, up to the blank line
  std::string body;
  bool closed = false;  // the server closed the connection after it
};

// Connects, sends `request` (half-closing after it if asked), reads until
// the server closes (at most `limit`).
inline HttpResponse roundTrip(const net::Address& addr, const std::string& request,
                              bool half_close = false,
                              std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{static_cast<time_t>(limit.count() / 1000),
             static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  REQUIRE(::connect(fd, addr.sa(), addr.length) == 0);
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading it all
    sent += static_cast<size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  std::string data;
  HttpResponse r;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
      continue;
    }
    r.closed = n == 0 || errno == ECONNRESET;
    break;
  }
  ::close(fd);
  size_t end = data.find("\r\n\r\n");
  if (data.size() >= 12 && data.rfind("HTTP/1.1 ", 0) == 0) r.status = std::stoi(data.substr(9, 3));
  r.head = data.substr(0, end);
  if (end != std::string::npos) r.body = data.substr(end + 4);
  return r;
}

inline std::string get(std::string_view path, std::string_view method = "GET") {
  return std::string(method) + " " + std::string(path) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n";
}

}  // namespace sesame::admin::testing

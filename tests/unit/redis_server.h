// Test support for every module that talks to Redis: a throwaway
// redis-server child on a free loopback port.
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sesame/base/c_handle.h"

namespace sesame::testing {

inline uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
  ::close(fd);
  return ntohs(sin.sin_port);
}

// A throwaway redis-server child: no persistence, loopback only, killed on
// destruction. Extra arguments are config directives (--requirepass ...).
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra = {}, uint16_t port = 0)
      : port_(port != 0 ? port : freePort()), extra_(std::move(extra)) {
    start();
  }
  ~RedisServer() { stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  void start() {
    std::vector<std::string> args{
        "redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",  "--save", "",
        "--appendonly", "no",     "--daemonize",         "no",     "--loglevel", "warning"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      std::freopen("/dev/null", "w", stdout);
      ::execv("/usr/bin/redis-server", argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (answersPing()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("redis-server did not start on port " << port_);
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // A blocking side channel for assertions (hiredis' synchronous API).
  RedisReplyPtr run(const std::vector<std::string>& argv,
                    const std::vector<std::string>& auth = {}) {
    const RedisContextPtr owned(redisConnect("127.0.0.1", port_));
    redisContext* c = owned.get();
    REQUIRE(c != nullptr);
    REQUIRE(c->err == 0);
    auto send = [c](const std::vector<std::string>& a) {
      std::vector<const char*> parts;
      std::vector<size_t> lengths;
      for (const std::string& s : a) {
        parts.push_back(s.data());
        lengths.push_back(s.size());
      }
      return static_cast<redisReply*>(
          redisCommandArgv(c, static_cast<int>(a.size()), parts.data(), lengths.data()));
    };
    if (!auth.empty()) RedisReplyPtr auth_reply(send(auth));
    RedisReplyPtr reply(send(argv));
    REQUIRE(reply != nullptr);
    return reply;
  }

 private:
  bool answersPing() {
    const RedisContextPtr c(redisConnect("127.0.0.1", port_));
    if (c == nullptr || c->err != 0) return false;
    // +PONG, or NOAUTH with --requirepass: it is up.
    return RedisReplyPtr(static_cast<redisReply*>(redisCommand(c.get(), "PING"))) != nullptr;
  }

  uint16_t port_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

}  // namespace sesame::testing

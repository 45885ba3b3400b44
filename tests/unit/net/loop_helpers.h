// Test helpers for code that runs on a live event loop: a bounded loop
// runner, connected socket pairs, loopback listeners and a StreamHandler
// that records every callback.
#pragma once

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/base/clock.h"
#include "sesame/net/address.h"
#include "sesame/net/stream.h"

namespace sesame::net::testing {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// One event_base per test. A 5 ms tick keeps EVLOOP_ONCE from blocking
// forever, so every wait is bounded by its own deadline.
class Loop {
 public:
  Loop()
      : base_(event_base_new()),
        clock_(base_.get()),
        tick_(event_new(
            base_.get(), -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr)) {
    timeval tv{0, 5000};
    event_add(tick_.get(), &tv);
  }

  [[nodiscard]] event_base* base() const { return base_.get(); }
  // The loop's real clock, for code whose timeouts run in real time.
  [[nodiscard]] sesame::Clock& clock() { return clock_; }

  // Runs the loop until done() holds or `limit` passes; done() is checked
  // before every pass, so it may also feed a peer socket. Returns done().
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 1000ms) {
    auto deadline = SteadyClock::now() + limit;
    while (!done()) {
      if (SteadyClock::now() >= deadline) return false;
      event_base_loop(base_.get(), EVLOOP_ONCE);
    }
    return true;
  }

  // Runs what is ready now (readiness already reported, events activated,
  // timers already due) without waiting: the event-driven way to let a
  // component react before asserting that it did nothing.
  void settle() {
    for (int i = 0; i < 8; ++i) event_base_loop(base_.get(), EVLOOP_NONBLOCK);
  }

 private:
  EventBasePtr base_;
  LoopClock clock_;
  EventPtr tick_;
};

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

inline void setNonBlocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

struct FdPair {
  UniqueFd mine;  // for the Stream under test
  UniqueFd peer;  // driven directly by the test
};

// A connected AF_UNIX stream pair, both ends non-blocking.
inline FdPair socketPair() {
  int fds[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return {};
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

struct Listener {
  UniqueFd fd;  // non-blocking
  Address addr;
};

// A TCP socket bound to 127.0.0.1 on a free port; listening unless
// backlog < 0 (then a connect to it is refused, and the port stays taken).
inline Listener listenLoopback(int backlog = 16) {
  Listener l;
  l.fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) return {};
  if (backlog >= 0 && ::listen(l.fd.get(), backlog) != 0) return {};
  socklen_t len = sizeof sin;
  ::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&sin), &len);
  l.addr = fromSockaddr(reinterpret_cast<sockaddr*>(&sin), len);
  return l;
}

// Accepts one connection, running the loop while none is pending.
inline UniqueFd acceptOne(const Listener& l, Loop& loop, std::chrono::milliseconds limit = 1000ms) {
  UniqueFd fd;
  loop.runUntil(
      [&] {
        fd.reset(::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        return fd.get() >= 0;
      },
      limit);
  return fd;
}

// A connected TCP pair over loopback, both ends non-blocking.
inline FdPair tcpPair() {
  Listener l = listenLoopback();
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(client.get(), l.addr.sa(), l.addr.length) != 0) return {};
  UniqueFd server(::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  setNonBlocking(client.get(), true);
  return {std::move(server), std::move(client)};
}

// Writes what the socket takes now; returns the byte count.
inline size_t writeSome(int fd, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// Appends what the socket holds now to `out`; true once the peer closed.
inline bool readAvailable(int fd, std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
}

inline std::string drain(evbuffer* buf) {
  std::string s(evbuffer_get_length(buf), '\0');
  evbuffer_remove(buf, s.data(), s.size());
  return s;
}

inline void add(evbuffer* buf, std::string_view s) {
  evbuffer_add(buf, s.data(), s.size());
}

// Bytes with no short period, so a lost, repeated or reordered block shows.
inline std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 65521) & 0xff);
  return s;
}

// Records every callback in order; the optional hooks run after recording.
class RecordingHandler final : public StreamHandler {
 public:
  void onStreamRead(Stream& stream) override {
    ++reads;
    log.push_back("read");
    if (on_read) on_read(stream);
  }
  void onStreamWrite(Stream& stream) override {
    ++writes;
    log.push_back("write");
    if (on_write) on_write(stream);
  }
  void onStreamEvent(Stream& stream, StreamEvent event) override {
    events.push_back(event);
    log.push_back("event " + std::to_string(static_cast<int>(event)));
    input_at_event.push_back(evbuffer_get_length(stream.input()));
    if (on_event) on_event(stream, event);
  }

  int reads = 0;
  int writes = 0;
  std::vector<StreamEvent> events;
  std::vector<size_t> input_at_event;  // input() length when each event arrived
  std::vector<std::string> log;
  std::function<void(Stream&)> on_read;
  std::function<void(Stream&)> on_write;
  std::function<void(Stream&, StreamEvent)> on_event;
};

}  // namespace sesame::net::testing

// Benchmark client for new TLS connections per second: every connection is a
// full handshake (a fresh SSL, no session offered) carrying one request.
//
// wrk cannot measure this: it reuses its SSL objects after SSL_clear(), so its
// reconnects resume the previous session (nginx logs $ssl_session_reused "r"),
// and `openssl s_time -new` spends ~1 ms of client CPU per connection, so it
// measures itself. Usage: tls_connect PORT CONNECTIONS SECONDS (127.0.0.1).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kRequest =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
constexpr std::string_view kOkPrefix = "HTTP/1.1 200 ";

struct Slot {
  int fd = -1;
  SSL* ssl = nullptr;
  Clock::time_point started;
  size_t sent = 0;
  bool handshaken = false;
  bool ok_status = false;
  size_t received = 0;
};

class Load {
 public:
  Load(SSL_CTX* ctx, sockaddr_in addr, int epfd) : ctx_(ctx), addr_(addr), epfd_(epfd) {}

  void open(Slot& s) {
    s = Slot{};
    s.started = Clock::now();
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s.fd < 0 || (connect(s.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) < 0 &&
                     errno != EINPROGRESS)) {
      std::perror("tls_connect: connect");
      std::exit(1);
    }
    s.ssl = SSL_new(ctx_);
    SSL_set_fd(s.ssl, s.fd);
    epoll_event ev{EPOLLOUT, {.ptr = &s}};
    epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd, &ev);
  }

  // Drives one connection as far as it goes without blocking; returns true
  // when it has ended (successfully or not) and the slot is free again.
  bool step(Slot& s) {
    if (!s.handshaken) {
      int r = SSL_connect(s.ssl);
      if (r != 1) return wait(s, r);
      s.handshaken = true;
    }
    while (s.sent < kRequest.size()) {
      int r =
          SSL_write(s.ssl, kRequest.data() + s.sent, static_cast<int>(kRequest.size() - s.sent));
      if (r <= 0) return wait(s, r);
      s.sent += static_cast<size_t>(r);
    }
    char buf[4096];
    for (;;) {
      int r = SSL_read(s.ssl, buf, sizeof buf);
      if (r <= 0) return wait(s, r);
      if (s.received == 0)
        s.ok_status = std::string_view(buf, static_cast<size_t>(r)).starts_with(kOkPrefix);
      s.received += static_cast<size_t>(r);
    }
  }

  void close(Slot& s) {
    SSL_free(s.ssl);
    ::close(s.fd);
  }

  std::vector<uint32_t> latency_us;
  uint64_t errors = 0;

 private:
  bool wait(Slot& s, int r) {
    int e = SSL_get_error(s.ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      epoll_event ev{e == SSL_ERROR_WANT_READ ? uint32_t{EPOLLIN} : uint32_t{EPOLLOUT},
                     {.ptr = &s}};
      epoll_ctl(epfd_, EPOLL_CTL_MOD, s.fd, &ev);
      return false;
    }
    // The server answers and closes (Connection: close): with close_notify
    // (ZERO_RETURN) or without it (SYSCALL at EOF).
    bool done = s.received > 0 && (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL);
    if (done && s.ok_status) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - s.started);
      latency_us.push_back(static_cast<uint32_t>(us.count()));
    } else {
      ++errors;
    }
    close(s);
    return true;
  }

  SSL_CTX* ctx_;
  sockaddr_in addr_;
  int epfd_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: tls_connect PORT CONNECTIONS SECONDS\n");
    return 2;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<Slot> slots(static_cast<size_t>(std::atoi(argv[2])));
  const auto duration = std::chrono::duration<double>(std::atof(argv[3]));

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // No client cache and no tickets: nothing exists to resume from.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // A server may close after a Connection: close response without close_notify;
  // the response is framed by Content-Length, so that is not a failure here.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);

  int epfd = epoll_create1(0);
  Load load(ctx, addr, epfd);
  const auto start = Clock::now();
  for (Slot& s : slots) load.open(s);
  std::vector<epoll_event> events(slots.size());
  while (Clock::now() - start < duration) {
    int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      Slot& s = *static_cast<Slot*>(events[static_cast<size_t>(i)].data.ptr);
      if (load.step(s)) load.open(s);
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();

  auto& lat = load.latency_us;
  double p99_ms = 0;
  if (!lat.empty()) {
    auto nth = lat.begin() + static_cast<long>(lat.size() * 99 / 100);
    std::nth_element(lat.begin(), nth, lat.end());
    p99_ms = *nth / 1000.0;
  }
  // The client's own CPU share: near 100% means it, not the server, was the limit.
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu =
      ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::printf("connections %zu errors %llu seconds %.3f rate %.1f p99_ms %.3f client_cpu %.0f%%\n",
              lat.size(), static_cast<unsigned long long>(load.errors), secs, lat.size() / secs,
              p99_ms, 100 * cpu / secs);
  return lat.empty() ? 1 : 0;
}

#include "sesame/proxy/accept.h"

#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <utility>

#include "sesame/base/log.h"
#include "sesame/net/cidr.h"
#include "sesame/net/proxy_protocol.h"
#include "sesame/net/stream.h"
#include "sesame/proxy/server_connection.h"

namespace sesame::proxy {
namespace {

constexpr std::chrono::seconds kWarnEvery{60};

// A flood of headerless or hostile connections must not flood the log:
// details at debug, and at most one warning a minute per worker (each worker
// is one thread) saying how many were refused.
void noteRefusal(const net::Address& peer, std::string_view why) {
  thread_local std::chrono::steady_clock::time_point last_warning{};
  thread_local uint64_t refused = 0;
  ++refused;
  std::string who = peer.toString();
  LOG_DEBUG("%s: connection refused on a proxy_protocol listener: %.*s", who.c_str(),
            static_cast<int>(why.size()), why.data());
  auto now = std::chrono::steady_clock::now();
  if (last_warning.time_since_epoch().count() != 0 && now - last_warning < kWarnEvery) return;
  LOG_WARN(
      "%s: connection refused on a proxy_protocol listener: %.*s (%llu refused in this worker "
      "since the last such warning; the others are logged at debug)",
      who.c_str(), static_cast<int>(why.size()), why.data(),
      static_cast<unsigned long long>(refused));
  last_warning = now;
  refused = 0;
}

void serve(Context& ctx, const config::ListenConfig& listen, int fd, SslPtr ssl,
           const net::Address& peer, bool may_forward = true) {
  // The stream owns `fd` and `ssl` from here on.
  std::unique_ptr<net::Stream> stream =
      net::Stream::accept(ctx.base, ctx.clock, fd, std::move(ssl));
  auto conn = std::make_unique<ServerConnection>(ctx, listen, std::move(stream), peer, may_forward);
  ServerConnection* raw = conn.get();
  ctx.adopt(std::move(conn));
  raw->start();
}

// Waits for the PROXY header on the raw socket. It peeks (MSG_PEEK) and
// consumes exactly the header's bytes, as nginx does, so whatever follows
// (a TLS ClientHello, a request) stays in the socket for the Stream: no
// buffer is carried over, and a TLS handshake starts exactly where it would
// without the header.
class ProxyHeaderReader final : public Disposable {
 public:
  ProxyHeaderReader(Context& ctx, const config::ListenConfig& listen, int fd, SslPtr ssl,
                    const net::Address& peer)
      : ctx_(ctx), listen_(listen), fd_(fd), ssl_(std::move(ssl)), peer_(peer) {}
  ~ProxyHeaderReader() override {
    if (fd_ >= 0) ::close(fd_);
  }
  ProxyHeaderReader(const ProxyHeaderReader&) = delete;
  ProxyHeaderReader& operator=(const ProxyHeaderReader&) = delete;

  void start() {
    // Edge-triggered: a peeked, incomplete header stays in the socket, and
    // only new bytes (or the peer's close) should wake us.
    io_.reset(event_new(ctx_.base, fd_, EV_READ | EV_CLOSED | EV_PERSIST | EV_ET, onIoThunk, this));
    timer_ =
        ctx_.clock.timer([this] { refuse("no complete PROXY header within timeouts.header"); });
    event_add(io_.get(), nullptr);
    timer_->arm(ctx_.config->timeouts.header);
  }

  // Nothing of a request has been read yet: a stop loses nothing.
  void closeIfIdle() override { end(); }

 private:
  static void onIoThunk(int, short what, void* arg) {
    static_cast<ProxyHeaderReader*>(arg)->onReadable((what & EV_CLOSED) != 0);
  }

  void onReadable(bool peer_closed) {
    char buf[net::kProxyMaxLength];
    ssize_t n;
    do {
      n = ::recv(fd_, buf, sizeof buf, MSG_PEEK);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return refuse("read error before the PROXY header");
    }
    if (n == 0) return refuse("closed before sending a PROXY header");
    net::ProxyHeader header = net::parseProxyHeader({buf, static_cast<size_t>(n)});
    switch (header.status) {
      case net::ProxyHeader::Status::kNeedMore:
        if (peer_closed) refuse("closed in the middle of the PROXY header");
        return;
      case net::ProxyHeader::Status::kError:
        return refuse(header.error);
      case net::ProxyHeader::Status::kComplete:
        break;
    }
    // The peeked bytes are in the socket's buffer: this read takes exactly them.
    ssize_t got;
    do {
      got = ::recv(fd_, buf, header.length, 0);
    } while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(header.length)) return refuse("PROXY header lost in reading");
    // LOCAL, UNKNOWN or an unsupported family name no client: the peer
    // stays the balancer, but what follows is a client's (a TCP-mode
    // balancer adds no X-Forwarded-For of its own), so its forwarding
    // fields are not believed.
    net::Address client = header.source ? *header.source : peer_;
    io_.reset();
    timer_.reset();
    serve(ctx_, listen_, std::exchange(fd_, -1), std::move(ssl_), client,
          header.source.has_value());
    ctx_.graveyard.bury(ctx_.release(this));
  }

  void refuse(std::string_view why) {
    noteRefusal(peer_, why);
    end();
  }

  void end() {
    io_.reset();
    timer_.reset();
    ctx_.metrics.onConnectionClosed();
    ctx_.graveyard.bury(ctx_.release(this));
  }

  Context& ctx_;
  const config::ListenConfig& listen_;
  int fd_;
  SslPtr ssl_;  // null on plain listeners; the Stream takes it
  net::Address peer_;
  EventPtr io_;
  std::unique_ptr<Timer> timer_;
};

}  // namespace

void acceptConnection(Context& ctx, const config::ListenConfig& listen, int fd, SslPtr ssl,
                      const net::Address& peer) {
  if (!listen.proxy_protocol) return serve(ctx, listen, fd, std::move(ssl), peer);
  std::optional<net::IpAddress> ip = net::ipOf(peer);
  if (!ip || !net::containsAny(ctx.config->server.trusted_proxies, *ip)) {
    // Only a trusted balancer may say who the client is.
    ::close(fd);
    ctx.metrics.onConnectionClosed();
    return noteRefusal(peer, "the peer is not in server.trusted_proxies");
  }
  auto reader = std::make_unique<ProxyHeaderReader>(ctx, listen, fd, std::move(ssl), peer);
  ProxyHeaderReader* raw = reader.get();
  ctx.adopt(std::move(reader));
  raw->start();
}

}  // namespace sesame::proxy

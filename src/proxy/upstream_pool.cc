#include "sesame/proxy/upstream_pool.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

#include "sesame/base/log.h"

namespace sesame::proxy {

UpstreamPool::UpstreamPool(event_base* base, Graveyard& graveyard,
                           const config::UpstreamConfig& cfg,
                           const config::TimeoutsConfig& timeouts)
    : base_(base), graveyard_(graveyard), cfg_(cfg), timeouts_(timeouts), idle_(cfg.servers.size()) {}

UpstreamPool::~UpstreamPool() = default;

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& list : idle_) n += list.size();
  return n;
}

std::unique_ptr<UpstreamConn> UpstreamPool::acquire(size_t attempt) {
  size_t server = (next_ + attempt) % cfg_.servers.size();
  if (attempt == 0) next_ = (next_ + 1) % cfg_.servers.size();
  auto& idle = idle_[server];
  // Only the first attempt may use a pooled connection: a retry follows a
  // failure, and a fresh connect tells us whether the server is alive.
  if (attempt == 0 && !idle.empty()) {
    std::unique_ptr<UpstreamConn> conn = std::move(idle.back());
    idle.pop_back();
    conn->reused = true;
    return conn;
  }
  const config::UpstreamServer& target = cfg_.servers[server];
  BufferEventPtr bev(bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE));
  if (!bev) return nullptr;
  timeval connect_tv{static_cast<time_t>(timeouts_.upstream_connect.count() / 1000),
                     static_cast<suseconds_t>(timeouts_.upstream_connect.count() % 1000 * 1000)};
  // While connecting, libevent counts the connect as a pending write, so
  // the write timeout is the connect timeout.
  bufferevent_set_timeouts(bev.get(), nullptr, &connect_tv);
  if (bufferevent_socket_connect(bev.get(), const_cast<sockaddr*>(target.addr.sa()),
                                 static_cast<int>(target.addr.length)) != 0) {
    LOG_WARN("upstream \"%s\": connect to %s failed immediately", cfg_.name.c_str(),
             target.address.c_str());
    return nullptr;
  }
  int fd = bufferevent_getfd(bev.get());
  int one = 1;
  // Heads and small bodies go out in one write; Nagle would delay them.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto conn = std::make_unique<UpstreamConn>();
  conn->bev = std::move(bev);
  conn->server = server;
  conn->pool = this;
  return conn;
}

void UpstreamPool::release(std::unique_ptr<UpstreamConn> conn) {
  auto& idle = idle_[conn->server];
  if (idle.size() >= cfg_.keepalive) return;  // unique_ptr closes it
  bufferevent* bev = conn->bev.get();
  bufferevent_set_timeouts(bev, nullptr, nullptr);
  // An idle upstream connection must say nothing; any byte or EOF means the
  // server closed it or broke protocol, and it leaves the pool.
  bufferevent_setcb(bev, onIdleRead, nullptr, onIdleEvent, this);
  bufferevent_setwatermark(bev, EV_READ, 0, 0);
  bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
  bufferevent_enable(bev, EV_READ);
  conn->reused = false;
  idle.push_back(std::move(conn));
}

void UpstreamPool::onIdleRead(bufferevent* bev, void* arg) {
  static_cast<UpstreamPool*>(arg)->dropIdle(bev);
}

void UpstreamPool::onIdleEvent(bufferevent* bev, short /*what*/, void* arg) {
  static_cast<UpstreamPool*>(arg)->dropIdle(bev);
}

void UpstreamPool::dropIdle(bufferevent* bev) {
  // Called from the connection's own callback: disable it now, free it later.
  for (auto& idle : idle_) {
    auto it = std::find_if(idle.begin(), idle.end(),
                           [bev](const auto& c) { return c->bev.get() == bev; });
    if (it != idle.end()) {
      bufferevent_disable(bev, EV_READ | EV_WRITE);
      graveyard_.bury(std::move(*it));
      idle.erase(it);
      return;
    }
  }
}

}  // namespace sesame::proxy

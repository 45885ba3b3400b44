#include "sesame/proxy/upstream_pool.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

#include "sesame/base/log.h"

namespace sesame::proxy {

UpstreamPool::UpstreamPool(event_base* base, Clock& clock, Graveyard& graveyard,
                           const config::UpstreamConfig& cfg,
                           const config::TimeoutsConfig& timeouts)
    : base_(base),
      clock_(clock),
      graveyard_(graveyard),
      cfg_(cfg),
      timeouts_(timeouts),
      trim_timer_(clock.timer([this] { trim(); })),
      idle_(cfg.servers.size()) {}

UpstreamPool::~UpstreamPool() = default;

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& list : idle_) n += list.size();
  return n;
}

std::unique_ptr<UpstreamConn> UpstreamPool::acquire(size_t attempt, size_t& first_server) {
  if (attempt == 0) {
    first_server = next_;
    next_ = (next_ + 1) % cfg_.servers.size();
  }
  size_t server = (first_server + attempt) % cfg_.servers.size();
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
  std::string error;
  std::unique_ptr<net::Stream> stream = net::Stream::connect(base_, clock_, target.addr, &error);
  if (!stream) {
    LOG_WARN_LIMITED(
        "upstream \"%s\": cannot connect to %s: %s (check that the server runs and listens "
        "there, and the servers of [upstream.%s])",
        cfg_.name.c_str(), target.address.c_str(), error.c_str(), cfg_.name.c_str());
    return nullptr;
  }
  // A pending connect counts as a pending write: the write timeout is the
  // connect timeout.
  stream->setTimeouts(net::Stream::Duration{0}, timeouts_.upstream_connect);
  auto conn = std::make_unique<UpstreamConn>();
  conn->stream = std::move(stream);
  conn->server = server;
  conn->pool = this;
  return conn;
}

void UpstreamPool::release(std::unique_ptr<UpstreamConn> conn) {
  auto& idle = idle_[conn->server];
  if (cfg_.keepalive == 0) return;  // unique_ptr closes it
  net::Stream& stream = *conn->stream;
  stream.setTimeouts(net::Stream::Duration{0}, net::Stream::Duration{0});
  stream.setHandler(this);
  stream.setReadEnabled(true);
  conn->reused = false;
  conn->idle_since = clock_.now();
  idle.push_back(std::move(conn));
  if (idle.size() > cfg_.keepalive && !trim_timer_->armed()) trim_timer_->arm(kTrimAfter);
}

void UpstreamPool::trim() {
  const Clock::TimePoint now = clock_.now();
  bool surplus_left = false;
  for (auto& idle : idle_) {
    // acquire() takes from the back, so the front holds the longest idle.
    while (idle.size() > cfg_.keepalive) {
      if (now - idle.front()->idle_since < kTrimAfter) {
        surplus_left = true;
        break;
      }
      idle.pop_front();
    }
  }
  if (surplus_left) trim_timer_->arm(kTrimAfter);
}

void UpstreamPool::dropIdle(net::Stream& stream) {
  // Called from the connection's own callback: disable it now, free it later.
  for (auto& idle : idle_) {
    auto it = std::find_if(idle.begin(), idle.end(),
                           [&stream](const auto& c) { return c->stream.get() == &stream; });
    if (it != idle.end()) {
      stream.disable();
      graveyard_.bury(std::move(*it));
      idle.erase(it);
      return;
    }
  }
}

}  // namespace sesame::proxy

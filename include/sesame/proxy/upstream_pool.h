// Per-worker upstream connections: keep-alive pools per server, round robin,
// asynchronous connect with a timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/config/config.h"
#include "sesame/proxy/graveyard.h"

namespace sesame::proxy {

class UpstreamPool;

// One connection to one upstream server. Owned by the pool while idle and by
// the client connection that uses it while a request is in flight.
struct UpstreamConn : Disposable {
  BufferEventPtr bev;
  size_t server = 0;  // index into UpstreamConfig::servers
  bool reused = false;  // came from the idle pool (may have been closed by the peer meanwhile)
  UpstreamPool* pool = nullptr;
};

class UpstreamPool {
 public:
  UpstreamPool(event_base* base, Graveyard& graveyard, const config::UpstreamConfig& cfg,
               const config::TimeoutsConfig& timeouts);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection to the next server in round-robin order if the pool
  // holds one, else a new connection whose connect is in progress (the
  // caller sees BEV_EVENT_CONNECTED or an error/timeout on its own
  // callbacks). `attempt` counts servers already tried for this request, so
  // a retry goes to the next server. Null when no socket could be created.
  [[nodiscard]] std::unique_ptr<UpstreamConn> acquire(size_t attempt);
  // Returns a connection that finished a response cleanly and may be reused.
  // Closed instead when the pool for that server is full.
  void release(std::unique_ptr<UpstreamConn> conn);

  [[nodiscard]] const config::UpstreamConfig& config() const { return cfg_; }
  [[nodiscard]] size_t serverCount() const { return cfg_.servers.size(); }
  [[nodiscard]] size_t idleCount() const;

 private:
  static void onIdleEvent(bufferevent* bev, short what, void* arg);
  static void onIdleRead(bufferevent* bev, void* arg);
  void dropIdle(bufferevent* bev);

  event_base* base_;
  Graveyard& graveyard_;
  const config::UpstreamConfig& cfg_;
  const config::TimeoutsConfig& timeouts_;
  size_t next_ = 0;
  std::vector<std::deque<std::unique_ptr<UpstreamConn>>> idle_;  // per server
};

}  // namespace sesame::proxy

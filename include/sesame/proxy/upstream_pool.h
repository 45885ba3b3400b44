// Per-worker upstream connections: keep-alive pools per server, round robin,
// asynchronous connect with a timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "sesame/base/clock.h"
#include "sesame/config/config.h"
#include "sesame/net/stream.h"
#include "sesame/proxy/graveyard.h"

namespace sesame::proxy {

class UpstreamPool;

// One connection to one upstream server. Owned by the pool while idle and by
// the client connection that uses it while a request is in flight.
struct UpstreamConn : Disposable {
  std::unique_ptr<net::Stream> stream;
  size_t server = 0;    // index into UpstreamConfig::servers
  bool reused = false;  // came from the idle pool (may have been closed by the peer meanwhile)
  UpstreamPool* pool = nullptr;
  Clock::TimePoint idle_since{};  // when it entered the pool
};

class UpstreamPool : private net::StreamHandler {
 public:
  // Connections are watched on `base`; connect timeouts and the surplus
  // trim run on `clock`, which must outlive the pool.
  UpstreamPool(event_base* base, Clock& clock, Graveyard& graveyard,
               const config::UpstreamConfig& cfg, const config::TimeoutsConfig& timeouts);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection to the next server in round-robin order if the pool
  // holds one, else a new connection whose connect is in progress (the
  // caller's handler sees kConnected, or kError / kWriteTimeout). `attempt` counts servers already
  // tried for this request, so a retry goes to the next server. Null when no socket could be
  // created.
  // `first_server` is set by attempt 0 and must be passed back unchanged on
  // retries: other requests move the round robin in between.
  [[nodiscard]] std::unique_ptr<UpstreamConn> acquire(size_t attempt, size_t& first_server);
  // Returns a connection that finished a response cleanly and may be reused.
  // A burst may push a server's pool past `keepalive`: under load every
  // response of one loop iteration is released before the next requests
  // are read, and closing the surplus at once would force as many new
  // connects moments later. The surplus, least recently used first, is
  // closed once it has been idle for kTrimAfter.
  void release(std::unique_ptr<UpstreamConn> conn);

  [[nodiscard]] const config::UpstreamConfig& config() const { return cfg_; }
  [[nodiscard]] size_t serverCount() const { return cfg_.servers.size(); }
  [[nodiscard]] size_t idleCount() const;

  static constexpr std::chrono::seconds kTrimAfter{1};

 private:
  void trim();
  // An idle upstream connection must say nothing; any byte, EOF or error
  // means the server closed it or broke protocol, and it leaves the pool.
  void onStreamRead(net::Stream& stream) override { dropIdle(stream); }
  void onStreamWrite(net::Stream&) override {}
  void onStreamEvent(net::Stream& stream, net::StreamEvent) override { dropIdle(stream); }
  void dropIdle(net::Stream& stream);

  event_base* base_;
  Clock& clock_;
  Graveyard& graveyard_;
  const config::UpstreamConfig& cfg_;
  const config::TimeoutsConfig& timeouts_;
  size_t next_ = 0;
  std::unique_ptr<Timer> trim_timer_;
  std::vector<std::deque<std::unique_ptr<UpstreamConn>>> idle_;  // per server
};

}  // namespace sesame::proxy

// Readiness of the Redis store: one PING over a fresh connection that
// authenticates, selects and connects (TCP or unix socket) exactly as the
// store's own connections do.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sesame/base/clock.h"
#include "sesame/session/settings.h"

namespace sesame::session {

namespace redis {
class Connection;
}

class RedisProbe {
 public:
  // "" when the server answered the PING; otherwise why it did not, as a
  // sentence fragment ("AUTH failed: WRONGPASS ...; check [redis] ...").
  using Done = std::function<void(const std::string& error)>;

  // Starts at once. `done` runs exactly once, from the loop (never inside
  // this constructor), within connect_timeout plus command_timeout; it must
  // not destroy the probe. `settings` and `clock` must outlive the probe. Destroying
  // the probe first cancels it: `done` does not run. Logs nothing.
  RedisProbe(event_base* loop, Clock& clock, const RedisSettings& settings, Done done);
  ~RedisProbe();
  RedisProbe(const RedisProbe&) = delete;
  RedisProbe& operator=(const RedisProbe&) = delete;

 private:
  void finish(const std::string& error);

  Done done_;
  std::unique_ptr<redis::Connection> connection_;
};

}  // namespace sesame::session

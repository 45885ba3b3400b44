// Readiness: can this process serve traffic now? Probes each upstream (a TCP
// connect to its servers) and the session store (a Redis PING), on the
// admin loop, and caches the answer so a tight probe loop cannot hammer them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/base/clock.h"
#include "sesame/config/config.h"

namespace sesame::admin {

struct Readiness {
  bool ready = false;
  std::vector<std::string> reasons;  // one line each when not ready, e.g.
                                     // "upstream app: no server reachable (...)"
};

class ReadinessProber {
 public:
  using Done = std::function<void(const Readiness&)>;

  // `connect_timeout` bounds each upstream connect; a Redis probe takes at
  // most its own connect_timeout plus command_timeout. `cache_for` (zero:
  // never cache) is how long a finished round answers later checks for the
  // same configuration snapshot. Probes run on `loop`, their timeouts and
  // the cache's age on `clock`, which must outlive the prober.
  ReadinessProber(event_base* loop, Clock& clock, std::chrono::milliseconds connect_timeout,
                  std::chrono::milliseconds cache_for);
  ~ReadinessProber();
  ReadinessProber(const ReadinessProber&) = delete;
  ReadinessProber& operator=(const ReadinessProber&) = delete;

  // Ready when every [[upstream]] has a server that accepts a TCP
  // connection (closed again at once, no byte sent) and the session store
  // answers (memory and cookie stores always do; Redis must answer PING
  // after AUTH and SELECT); each only when the snapshot's [admin]
  // ready_requires names it (both without [admin]), unprobed otherwise. `done` runs inside this
  // call when a cached answer is fresh, otherwise from the loop once the round ends; checks made
  // while a round runs share it. Must run on the loop's thread.
  void check(std::shared_ptr<const config::Config> config, Done done);

  // Rounds started so far (tests: caching and sharing).
  [[nodiscard]] unsigned rounds() const { return rounds_; }

 private:
  class Round;  // one set of probes, defined in readiness.cc

  static void onFinishedThunk(int fd, short what, void* arg);
  void onFinished();

  event_base* loop_;
  Clock& clock_;
  std::chrono::milliseconds connect_timeout_;
  std::chrono::milliseconds cache_for_;
  EventPtr finished_;  // activated by a round's last probe; runs outside every probe callback
  std::unique_ptr<Round> round_;
  std::vector<Done> waiting_;
  std::shared_ptr<const config::Config> cached_config_;
  Readiness cached_;
  Clock::TimePoint cached_at_;
  unsigned rounds_ = 0;
};

}  // namespace sesame::admin

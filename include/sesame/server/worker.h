// One event-loop thread: its own event_base, listening sockets, TLS
// contexts, upstream pools and connections. Workers share nothing mutable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/base/clock.h"
#include "sesame/base/loop_mailbox.h"
#include "sesame/config/config.h"
#include "sesame/proxy/context.h"
#include "sesame/tls/context.h"

namespace sesame::server {

// What a worker serves with: one configuration and what the main thread
// built from it. Start-up gives each worker its first generation, each
// reload a new one.
struct Generation {
  uint64_t number = 0;  // 1 at start-up, one more per successful reload
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const proxy::SessionShared> sessions;  // null without [session]
  std::unique_ptr<tls::ServerContext> tls;               // null without TLS listeners
  // Parallel to config->listeners: a bound, listening socket the worker
  // takes over, or -1 to keep the socket it already listens on at that
  // address (a listener that did not change is never closed).
  std::vector<int> listen_fds;
};

class Worker {
 public:
  // Sets up `first` on the calling thread: its access log file is opened
  // here, before a start as root drops privileges.
  Worker(unsigned id, Generation first);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread and returns once its loop runs callbacks. With a
  // nonzero `heartbeat` the loop bumps heartbeats() that often, from a timer
  // on the loop itself, so the main thread can tell a live loop from a
  // wedged one before it pings systemd's watchdog.
  void start(std::chrono::microseconds heartbeat = std::chrono::microseconds(0));
  // Thread-safe; only its changes mean anything.
  [[nodiscard]] uint64_t heartbeats() const { return heartbeats_.load(std::memory_order_relaxed); }

  // Thread-safe; returns once new connections are served with `next`.
  // Connections already open finish on their generation: each closes after
  // its current or next response ("Connection: close"), and the old
  // generation (its configuration, TLS context, upstream and Redis
  // connections) is freed with its last connection. Listeners at addresses
  // `next` no longer has are closed.
  void adopt(Generation next);
  // Thread-safe: SIGUSR1, the access log files of every generation are
  // opened again.
  void reopenLogs();
  // Thread-safe: adds this worker's counters into `out` on the worker's own
  // loop, waiting for it at most until `deadline` (false when the loop did
  // not answer in time, e.g. a wedged worker; `out` is then unchanged).
  [[nodiscard]] bool addMetrics(proxy::MetricsSnapshot& out,
                                std::chrono::steady_clock::time_point deadline);
  // Thread-safe: stops accepting (the listeners close), closes connections
  // between requests and lets exchanges in flight finish; the loop ends by
  // itself once the last connection has closed.
  void drain();
  // Waits for the loop to end, until `deadline` at most, then ends it and
  // closes what is still open. Returns the number of client connections
  // that were still open then (0 when the drain finished in time).
  size_t join(std::chrono::steady_clock::time_point deadline);

  // Runs closures on this worker's loop, for threads that answer it (the password-hashing
  // pool). Closed once the loop has ended: later posts are dropped.
  [[nodiscard]] std::shared_ptr<LoopMailbox> mailbox() const { return mailbox_; }

 private:
  struct Binding {
    Worker* worker = nullptr;
    const config::ListenConfig* listen = nullptr;  // in the current generation's config
    std::string key;                               // the bound address, as net::Address prints it
    ListenerPtr listener;
    EventPtr resume;  // re-enables accepting after a pause for lack of descriptors
  };
  // The TLS context outlives the connections that use it.
  struct Live {
    uint64_t number = 0;
    std::unique_ptr<tls::ServerContext> tls;
    std::unique_ptr<proxy::Context> ctx;
  };

  static void onAcceptThunk(evconnlistener* listener, int fd, sockaddr* addr, int len, void* arg);
  static void onAcceptErrorThunk(evconnlistener* listener, void* arg);
  static void onResumeThunk(int fd, short what, void* arg);
  static void onRunningThunk(int fd, short what, void* arg);
  static void onHeartbeatThunk(int fd, short what, void* arg);
  static void onFlushLogThunk(int fd, short what, void* arg);
  static void onReapThunk(int fd, short what, void* arg);
  void onAccept(const Binding& binding, int fd, sockaddr* addr, int len);
  // Runs `task` on the loop and returns once it has run (or was dropped with the mailbox).
  void call(std::function<void()> task);
  void install(Generation& next);
  [[nodiscard]] std::unique_ptr<Binding> listenOn(int fd, const std::string& key);
  void reap();
  [[nodiscard]] size_t openConnections() const;

  unsigned id_;
  EventBasePtr base_;
  LoopClock clock_;               // of base_: every timeout on this worker
  proxy::WorkerMetrics metrics_;  // outlives every generation's context
  std::unique_ptr<Live> current_;
  std::vector<std::unique_ptr<Live>> retired_;  // draining, freed by reap()
  std::vector<std::unique_ptr<Binding>> bindings_;
  bool stopping_ = false;
  std::shared_ptr<LoopMailbox> mailbox_;  // closed by the loop's thread as it ends
  EventPtr heartbeat_event_;
  EventPtr reap_event_;
  EventPtr flush_log_event_;  // reports rate-limited log messages (log::flushSuppressed)
  std::atomic<uint64_t> heartbeats_{0};
  std::promise<void> running_;
  std::promise<void> ended_;
  std::future<void> ended_future_;
  size_t left_open_ = 0;  // written by the thread before it ends, read after join
  std::thread thread_;
};

}  // namespace sesame::server

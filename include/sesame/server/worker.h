// One event-loop thread: its own event_base, listening sockets, TLS
// contexts, upstream pools and connections. Workers share nothing mutable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/config/config.h"
#include "sesame/proxy/context.h"
#include "sesame/tls/context.h"

namespace sesame::server {

class Worker {
 public:
  // `listen_fds` are bound listening sockets, parallel to cfg->listeners;
  // the worker owns them from here on. `tls` may be null without TLS listeners.
  // `sessions` (null without [session]) must outlive the worker.
  Worker(unsigned id, std::shared_ptr<const config::Config> cfg,
         std::unique_ptr<tls::ServerContext> tls, const std::vector<int>& listen_fds,
         const proxy::SessionShared* sessions);
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
  // Thread-safe: asks the loop to exit (through a pipe, so the loop itself
  // needs no locks), then waits for the thread.
  void stopAndJoin();

 private:
  struct Binding {
    Worker* worker = nullptr;
    const config::ListenConfig* listen = nullptr;
    evconnlistener* listener = nullptr;
    EventPtr resume;  // re-enables accepting after a pause for lack of descriptors
  };

  static void onAcceptThunk(evconnlistener* listener, int fd, sockaddr* addr, int len, void* arg);
  static void onAcceptErrorThunk(evconnlistener* listener, void* arg);
  static void onStopThunk(int fd, short what, void* arg);
  static void onResumeThunk(int fd, short what, void* arg);
  static void onRunningThunk(int fd, short what, void* arg);
  static void onHeartbeatThunk(int fd, short what, void* arg);
  void onAccept(const Binding& binding, int fd, sockaddr* addr, int len);

  unsigned id_;
  EventBasePtr base_;
  std::unique_ptr<tls::ServerContext> tls_;
  std::unique_ptr<proxy::Context> ctx_;
  std::vector<std::unique_ptr<Binding>> bindings_;
  std::vector<ListenerPtr> listeners_;
  int stop_pipe_[2] = {-1, -1};
  EventPtr stop_event_;
  EventPtr heartbeat_event_;
  std::atomic<uint64_t> heartbeats_{0};
  std::promise<void> running_;
  std::thread thread_;
};

}  // namespace sesame::server

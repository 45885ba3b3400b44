// The admin listener: plain HTTP/1.1 on its own thread and event loop,
// serving /metrics (Prometheus), /healthz, /readyz and, with a token, the
// session API (/sessions), apart from every public listener.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "sesame/admin/metrics.h"
#include "sesame/admin/sessions_api.h"
#include "sesame/config/config.h"
#include "sesame/net/address.h"

namespace sesame::admin {

// Where the admin server gets its data; implemented by the process
// (server/). Every method is called on the admin thread, one call at a
// time, and must be thread-safe with respect to the rest of the process.
// collect() may block briefly: the implementation asks each worker to run
// WorkerMetrics::addTo on its own loop and waits for the answers; the
// admin thread serves nothing else meanwhile, which is fine for a scrape.
class AdminSources {
 public:
  virtual ~AdminSources() = default;
  // The sum of every worker's WorkerMetrics.
  virtual MetricsSnapshot collect() = 0;
  virtual ProcessMetrics process() = 0;
  // True while the public listeners accept connections; false while
  // starting and draining (then /readyz answers 503 without probing).
  virtual bool listening() = 0;
  // The configuration now in force, for the readiness probes.
  virtual std::shared_ptr<const config::Config> config() = 0;
  // The configuration now in force with its memory store, for the session API.
  virtual SessionSources sessions() = 0;
};

class AdminServer {
 public:
  struct Options {
    size_t max_connections = 16;  // more are accepted and closed at once
    size_t max_head_bytes = 8192;
    std::chrono::milliseconds request_timeout{10'000};  // whole request head, then the response
    std::chrono::milliseconds probe_timeout{1'000};     // each upstream connect for /readyz
    std::chrono::milliseconds readiness_cache{1'000};
  };

  // Binds and listens on `addr` now, without SO_REUSEPORT, so an address
  // in use fails here: null, with `error` like "admin address
  // 127.0.0.1:9901: Address already in use". Call before dropping
  // privileges; nothing is served until start(). `sources` must outlive
  // the server.
  [[nodiscard]] static std::unique_ptr<AdminServer> create(const net::Address& addr,
                                                           AdminSources& sources,
                                                           std::string* error,
                                                           const Options& options);
  [[nodiscard]] static std::unique_ptr<AdminServer> create(const net::Address& addr,
                                                           AdminSources& sources,
                                                           std::string* error) {
    return create(addr, sources, error, Options{});
  }
  // Stops (as stop()) and closes every socket.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Starts the admin thread; returns once its loop runs.
  void start();
  // Thread-safe, idempotent: ends the loop (open admin connections are
  // closed without an answer) and joins the thread.
  void stop();
  // The bound address (with the kernel's port when `addr` had port 0).
  [[nodiscard]] const net::Address& address() const;

  class Impl;  // defined in admin_server.cc; named here for its connections

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sesame::admin

// The process: turns the configuration file into listening workers, and
// carries out what signals ask for (reload, reopen logs, stop). Every call
// runs on the main thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sesame/admin/admin_server.h"
#include "sesame/config/config.h"
#include "sesame/identity/signer.h"
#include "sesame/proxy/session_gate.h"
#include "sesame/server/notify.h"
#include "sesame/server/worker.h"
#include "sesame/tls/context.h"

namespace sesame::server {

inline constexpr const char* kVersion = "0.1.0";

// The configuration file read and checked exactly as `sesame -t`, a start
// and a reload all do: the file itself, its certificates and keys, and the
// access log file.
struct Checked {
  std::shared_ptr<const config::Config> config;  // null when `errors` is not empty
  std::unique_ptr<tls::ContextFactory> tls;      // null without TLS listeners
  // [identity] assertion_*: the keys loaded; null when off.
  std::shared_ptr<const identity::Signer> signer;
  std::vector<std::string> errors;  // operator messages, file:line first
  std::vector<std::string> warnings;
};
[[nodiscard]] Checked checkConfiguration(const std::string& path);

class Server : private admin::AdminSources {
 public:
  Server(std::string config_path, const Notifier& notifier);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener once per worker (all before any worker runs, so a
  // busy port fails the start), and the [admin] address, and sets the
  // workers up with `checked`. False with the reasons on stderr.
  [[nodiscard]] bool prepare(Checked checked);
  // Starts the worker threads and the admin listener (after a privilege
  // drop) and tells systemd READY=1. `heartbeat` as in Worker::start.
  void start(std::chrono::microseconds heartbeat);
  // SIGHUP: reads the configuration file, certificates and secrets again.
  // A file with errors is logged at error level, named in systemd's STATUS
  // line until a reload succeeds, and changes nothing; a good one serves
  // new connections, while open ones finish on the previous configuration.
  // Listeners at unchanged addresses stay open; new addresses are bound
  // (failing the reload when they cannot be); dropped ones close.
  // server.workers, server.user and [admin] take effect at the next start
  // (logged).
  void reload();
  // SIGUSR1: access log files are opened again (logrotate).
  void reopenLogs();
  // SIGTERM/SIGINT: stops accepting (/readyz answers 503 from here on),
  // lets requests in flight finish for up to server.shutdown_timeout, then
  // closes what is left; returns when every worker and the admin listener
  // have stopped.
  void stop();

  [[nodiscard]] const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }

 private:
  // admin::AdminSources, called on the admin thread.
  proxy::MetricsSnapshot collect() override;
  admin::ProcessMetrics process() override;
  bool listening() override { return listening_.load(); }
  std::shared_ptr<const config::Config> config() override;
  admin::SessionSources sessions() override;

  // The reload itself; false with the reasons in `errors`.
  bool tryReload(std::vector<std::string>* errors);
  void notify(const std::string& state) const;
  [[nodiscard]] std::string status() const;

  std::string path_;
  const Notifier& notifier_;
  std::shared_ptr<const config::Config> config_;  // written here, read by the admin thread
  mutable std::mutex config_mutex_;
  // Null without [session]; written under config_mutex_ once the admin thread runs.
  std::shared_ptr<proxy::SessionShared> sessions_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::AdminServer> admin_;  // null without [admin]
  uint64_t generation_ = 0;
  // Heads the STATUS line from a failed reload until one succeeds; empty otherwise.
  std::string reload_failure_;
  std::atomic<bool> listening_{false};
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
  std::atomic<bool> last_reload_ok_{true};
  std::atomic<int64_t> loaded_at_{0};   // Unix seconds, of the configuration in force
  std::atomic<int64_t> started_at_{0};  // Unix seconds
};

}  // namespace sesame::server

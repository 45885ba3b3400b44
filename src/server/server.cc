#include "sesame/server/server.h"

#include <unistd.h>

#include <ctime>
#include <set>

#include "sesame/base/log.h"
#include "sesame/net/listener.h"
#include "sesame/oidc/provider.h"
#include "sesame/proxy/access_log.h"

namespace sesame::server {
namespace {

constexpr int kListenBacklog = 4096;
constexpr std::chrono::seconds kCollectTimeout{1};

bool needsTls(const config::Config& cfg) {
  for (const auto& l : cfg.listeners) {
    if (l.tls) return true;
  }
  return false;
}

// Listening sockets, one row per worker, one column per listener.
using SocketTable = std::vector<std::vector<int>>;

void closeSockets(SocketTable& table) {
  for (auto& row : table) {
    for (int& fd : row) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
}

// Every worker gets its own socket per address (SO_REUSEPORT). Addresses in
// `kept` are already served: their column is -1. All or nothing: after a
// failure every socket bound here is closed again.
bool bindSockets(const config::Config& cfg, size_t workers, const std::set<std::string>& kept,
                 SocketTable* table, std::string* error) {
  table->assign(workers, {});
  for (auto& row : *table) {
    for (const config::ListenConfig& listen : cfg.listeners) {
      if (kept.count(listen.addr.toString()) != 0) {
        row.push_back(-1);
        continue;
      }
      int fd = net::bindListener(listen.addr, kListenBacklog, error);
      if (fd < 0) {
        closeSockets(*table);
        return false;
      }
      row.push_back(fd);
    }
  }
  return true;
}

std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// The head of the STATUS line after a failed reload, which `systemctl
// status` shows until the next reload succeeds: the first error, so the
// operator sees what to fix without the journal. One line, bounded.
std::string reloadFailure(const std::vector<std::string>& errors) {
  constexpr size_t kMaxError = 300;
  std::string first = errors.empty() ? std::string("unknown error") : errors.front();
  for (char& c : first) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (first.size() > kMaxError) first = first.substr(0, kMaxError - 3) + "...";
  std::string more =
      errors.size() > 1 ? " (and " + plural(errors.size() - 1, "more error") + ")" : "";
  return "reload failed: " + first + more + "; see the log; still ";
}

}  // namespace

Checked checkConfiguration(const std::string& path) {
  Checked checked;
  config::LoadResult loaded = config::load(path);
  checked.errors = loaded.errors;
  if (!loaded.config) return checked;
  // Opened (and created) now, like the certificates, so that `sesame -t`, a
  // start and a reload all fail on a path this user cannot write.
  if (loaded.config->log.access == config::LogConfig::Access::kFile) {
    std::string error;
    int fd = proxy::openAccessLogFile(loaded.config->log, &error);
    if (fd < 0) {
      checked.errors.push_back(error);
    } else {
      ::close(fd);
    }
  }
  if (needsTls(*loaded.config)) {
    checked.tls = std::make_unique<tls::ContextFactory>(loaded.config->tls);
    checked.warnings = checked.tls->warnings();
    checked.errors.insert(checked.errors.end(), checked.tls->errors().begin(),
                          checked.tls->errors().end());
  }
  if (loaded.config->session && !loaded.config->session->assertion.keys.empty()) {
    const session::Assertion& assertion = loaded.config->session->assertion;
    std::vector<identity::KeyText> texts;
    for (const session::AssertionKey& key : assertion.keys) texts.push_back({key.file, key.pem});
    identity::SigningKeys::LoadResult keys = identity::SigningKeys::load(texts);
    if (!keys.keys) {
      checked.errors.push_back("[identity] assertion_key: " + keys.error);
    } else {
      checked.signer = std::make_shared<const identity::Signer>(
          std::move(*keys.keys), assertion.issuer,
          std::chrono::duration_cast<std::chrono::seconds>(assertion.ttl));
    }
  }
  if (checked.errors.empty()) checked.config = loaded.config;
  return checked;
}

namespace {

// What start-up and reloads learn from each [oidc] provider before the workers see the
// configuration: a provider that is not lazy must answer, or the start (reload) fails.
bool discoverProviders(const config::Config& cfg, proxy::SessionShared& shared,
                       std::vector<std::string>* errors) {
  for (const config::OidcProviderConfig& provider : cfg.oidc) {
    std::string error;
    oidc::KnowledgePtr known = oidc::discoverNow(provider, &error);
    if (!known && !provider.lazy) {
      errors->push_back(error + " (set lazy = true in [oidc" +
                        (provider.name == "default" ? "" : "." + provider.name) +
                        "] to start without it)");
      continue;
    }
    if (!known) LOG_WARN("%s; lazy: starting without it and trying again", error.c_str());
    shared.oidc.push_back(std::move(known));
  }
  return errors->empty();
}

}  // namespace

Server::Server(std::string config_path, const Notifier& notifier)
    : path_(std::move(config_path)), notifier_(notifier) {}

Server::~Server() {
  if (admin_) admin_->stop();
  // Without stop(): end the loops at once.
  for (auto& w : workers_) {
    w->drain();
    static_cast<void>(w->join(std::chrono::steady_clock::now()));
  }
}

bool Server::prepare(Checked checked) {
  {
    std::lock_guard lock(config_mutex_);
    config_ = checked.config;
  }
  started_at_ = std::time(nullptr);
  loaded_at_ = started_at_.load();
  size_t count = config_->server.workers;
  SocketTable sockets;
  std::string error;
  // The admin socket listens first: once a public port answers, so does
  // /healthz (an orchestrator may probe both the moment one is up).
  if (config_->admin) {
    admin_ = admin::AdminServer::create(config_->admin->addr, *this, &error);
    if (!admin_) {
      LOG_ERROR("%s (the [admin] address in %s)", error.c_str(), path_.c_str());
      return false;
    }
  }
  if (!bindSockets(*config_, count, {}, &sockets, &error)) {
    LOG_ERROR("%s", error.c_str());
    return false;
  }
  if (config_->session) {
    sessions_ = std::make_shared<proxy::SessionShared>(*config_->session,
                                                       config_->login ? &*config_->login : nullptr);
    sessions_->signer = checked.signer;
    std::vector<std::string> errors;
    if (!discoverProviders(*config_, *sessions_, &errors)) {
      for (const std::string& e : errors) LOG_ERROR("%s", e.c_str());
      closeSockets(sockets);
      return false;
    }
  }
  generation_ = 1;
  for (size_t i = 0; i < count; ++i) {
    Generation first{generation_, config_, sessions_, nullptr, sockets[i]};
    if (checked.tls) {
      tls::ContextResult made = checked.tls->make();
      if (!made.context) {
        for (const std::string& e : made.errors) LOG_ERROR("%s", e.c_str());
        closeSockets(sockets);
        return false;
      }
      first.tls = std::move(made.context);
    }
    // The worker owns its row of sockets from here on.
    for (int& fd : sockets[i]) fd = -1;
    workers_.push_back(std::make_unique<Worker>(static_cast<unsigned>(i), std::move(first)));
  }
  return true;
}

void Server::start(std::chrono::microseconds heartbeat) {
  for (auto& w : workers_) w->start(heartbeat);
  if (admin_) admin_->start();
  listening_ = true;
  for (const config::ListenConfig& listen : config_->listeners) {
    LOG_INFO("listening on %s (%s%s%s)", listen.addr.toString().c_str(),
             listen.tls ? "https" : "http", listen.redirect_https ? ", redirecting to https" : "",
             listen.proxy_protocol ? ", PROXY protocol from trusted_proxies" : "");
  }
  LOG_INFO("sesame started with %s", plural(workers_.size(), "worker").c_str());
  // Every worker's loop runs (start() returned) on sockets bound and
  // listening before any started: connections are accepted from here on.
  notify("READY=1\nSTATUS=" + status());
}

void Server::reload() {
  LOG_INFO("SIGHUP: reloading %s", path_.c_str());
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  // systemd 253+ pairs the RELOADING=1 with the reload by this timestamp.
  notify("RELOADING=1\nMONOTONIC_USEC=" +
         std::to_string(static_cast<uint64_t>(now.tv_sec) * 1'000'000 +
                        static_cast<uint64_t>(now.tv_nsec) / 1000) +
         "\nSTATUS=reloading");
  std::vector<std::string> errors;
  if (tryReload(&errors)) {
    reloads_ok_.fetch_add(1);
    last_reload_ok_ = true;
    reload_failure_.clear();
  } else {
    reloads_failed_.fetch_add(1);
    last_reload_ok_ = false;
    for (const std::string& e : errors) LOG_ERROR("%s", e.c_str());
    LOG_ERROR("reload failed (%s); still serving configuration generation %llu, loaded before",
              plural(errors.size(), "error").c_str(), static_cast<unsigned long long>(generation_));
    reload_failure_ = reloadFailure(errors);
  }
  // READY=1 either way: sesame serves, and Type=notify-reload waits for it.
  notify("READY=1\nSTATUS=" + status());
}

bool Server::tryReload(std::vector<std::string>* errors) {
  Checked checked = checkConfiguration(path_);
  for (const std::string& w : checked.warnings) LOG_WARN("%s", w.c_str());
  if (!checked.errors.empty()) {
    *errors = std::move(checked.errors);
    const config::ServerConfig& server = config_->server;
    if (!server.user.empty() && server.uid != 0 && ::geteuid() == server.uid) {
      errors->push_back("sesame runs as user " + server.user +
                        " since it started, so a reload reads files as that user: make "
                        "certificates, keys and secret files readable by it, or restart");
    }
    return false;
  }
  const config::Config& next = *checked.config;
  std::set<std::string> kept;
  for (const config::ListenConfig& listen : config_->listeners) {
    kept.insert(listen.addr.toString());
  }
  SocketTable sockets;
  std::string error;
  if (!bindSockets(next, workers_.size(), kept, &sockets, &error)) {
    errors->push_back(error);
    return false;
  }
  std::vector<Generation> generations(workers_.size());
  std::shared_ptr<proxy::SessionShared> sessions;
  if (next.session) {
    sessions = std::make_shared<proxy::SessionShared>(
        *next.session, next.login ? &*next.login : nullptr, sessions_.get());
    sessions->signer = checked.signer;
    if (!discoverProviders(next, *sessions, errors)) {
      closeSockets(sockets);
      return false;
    }
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    Generation& gen = generations[i];
    gen = {generation_ + 1, checked.config, sessions, nullptr, sockets[i]};
    if (!checked.tls) continue;
    tls::ContextResult made = checked.tls->make();
    if (!made.context) {
      *errors = made.errors;
      closeSockets(sockets);
      return false;
    }
    gen.tls = std::move(made.context);
  }
  if (next.server.workers != workers_.size()) {
    LOG_WARN("server.workers changed to %u: a reload keeps the %zu running; restart to apply",
             next.server.workers, workers_.size());
  }
  if (next.server.user != config_->server.user) {
    LOG_WARN("server.user changed: users are switched only at start; restart to apply");
  }
  bool admin_before = config_->admin.has_value();
  if (admin_before != next.admin.has_value() ||
      (admin_before && next.admin->addr.toString() != config_->admin->addr.toString())) {
    LOG_WARN("[admin] changed: the admin listener is set up only at start; restart to apply");
  }
  ++generation_;
  // Each worker owns its row of sockets once it has adopted its generation.
  for (size_t i = 0; i < workers_.size(); ++i) workers_[i]->adopt(std::move(generations[i]));
  uint64_t previous = generation_ - 1;
  {
    std::lock_guard lock(config_mutex_);
    config_ = checked.config;
    sessions_ = std::move(sessions);  // collect() reads it on the admin thread
  }
  loaded_at_ = std::time(nullptr);
  log::setMinLevel(config_->log.level);
  LOG_INFO(
      "reloaded %s: new connections get configuration generation %llu; open ones finish on "
      "generation %llu",
      path_.c_str(), static_cast<unsigned long long>(generation_),
      static_cast<unsigned long long>(previous));
  return true;
}

void Server::reopenLogs() {
  LOG_INFO("SIGUSR1: reopening the access log files");
  for (auto& w : workers_) w->reopenLogs();
}

void Server::stop() {
  listening_ = false;
  notify("STOPPING=1\nSTATUS=stopping");
  auto timeout = config_->server.shutdown_timeout;
  LOG_INFO(
      "stopping: closing the listeners; waiting up to %lld ms (server.shutdown_timeout) for "
      "requests in flight",
      static_cast<long long>(timeout.count()));
  for (auto& w : workers_) w->drain();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t cut = 0;
  for (auto& w : workers_) cut += w->join(deadline);
  if (cut > 0) {
    LOG_WARN(
        "server.shutdown_timeout (%lld ms) passed with %s still open (slow clients, long "
        "transfers or WebSocket tunnels); closed them. Raise shutdown_timeout to wait longer",
        static_cast<long long>(timeout.count()), plural(cut, "connection").c_str());
  }
  // The admin thread may be asking the workers for metrics: it stops first.
  if (admin_) admin_->stop();
  workers_.clear();
  LOG_INFO("stopped");
}

proxy::MetricsSnapshot Server::collect() {
  proxy::MetricsSnapshot sum;
  // A wedged worker must not hang the scrape: its counters are left out.
  auto deadline = std::chrono::steady_clock::now() + kCollectTimeout;
  for (auto& w : workers_) {
    if (!w->addMetrics(sum, deadline)) LOG_WARN("metrics: a worker did not answer within 1 s");
  }
  // The memory store is process-wide and counts for itself (thread-safe).
  std::shared_ptr<proxy::SessionShared> sessions;
  {
    std::lock_guard lock(config_mutex_);
    sessions = sessions_;
  }
  if (sessions && sessions->memory) {
    sum.sessions_evicted_anonymous = sessions->memory->evictedAnonymous();
    sum.sessions_evicted_logged_in = sessions->memory->evictedLoggedIn();
  }
  return sum;
}

admin::ProcessMetrics Server::process() {
  std::shared_ptr<const config::Config> cfg = config();
  admin::ProcessMetrics p;
  p.version = kVersion;
  p.start_time_seconds = static_cast<double>(started_at_.load());
  p.workers = static_cast<unsigned>(workers_.size());
  p.listeners = listening_ ? static_cast<unsigned>(cfg->listeners.size()) : 0;
  p.reloads_succeeded = reloads_ok_.load();
  p.reloads_failed = reloads_failed_.load();
  p.last_reload_ok = last_reload_ok_.load();
  p.last_config_load_seconds = static_cast<double>(loaded_at_.load());
  return p;
}

std::shared_ptr<const config::Config> Server::config() {
  std::lock_guard lock(config_mutex_);
  return config_;
}

admin::SessionSources Server::sessions() {
  std::lock_guard lock(config_mutex_);
  return {config_, sessions_ ? sessions_->memory : nullptr};
}

void Server::notify(const std::string& state) const {
  std::string error;
  if (!notifier_.send(state, &error)) LOG_WARN("%s", error.c_str());
}

std::string Server::status() const {
  return reload_failure_ + "serving on " + plural(config_->listeners.size(), "listener") +
         " with " + plural(workers_.size(), "worker") + ", configuration generation " +
         std::to_string(generation_);
}

}  // namespace sesame::server

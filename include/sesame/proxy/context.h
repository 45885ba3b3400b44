// Everything one worker's connections share: its loop, the configuration
// snapshot, routes, upstream pools and TLS context. Owned by the worker's
// thread; never touched by another thread, so the request path takes no locks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/base/clock.h"
#include "sesame/config/config.h"
#include "sesame/proxy/access_log.h"
#include "sesame/proxy/graveyard.h"
#include "sesame/proxy/metrics.h"
#include "sesame/proxy/request_id.h"
#include "sesame/proxy/router.h"
#include "sesame/proxy/session_gate.h"
#include "sesame/proxy/upstream_pool.h"
#include "sesame/session/identity_filter.h"

struct ssl_ctx_st;

namespace sesame::proxy {

struct Exchange;  // server_connection.h

struct Context {
  // `shared` is null exactly when the configuration has no [session]; the
  // context keeps it (and with it the memory store) alive. `metrics` is the
  // worker's and outlives the context.
  Context(event_base* loop, Clock& clock, std::shared_ptr<const config::Config> cfg,
          ssl_ctx_st* tls, std::shared_ptr<const SessionShared> shared, WorkerMetrics& metrics);
  // Destroys the connections still open (worker shutdown).
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Client connections are owned here from accept until they close.
  void adopt(std::unique_ptr<Disposable> conn);
  [[nodiscard]] std::unique_ptr<Disposable> release(Disposable* conn);
  // No client connection left: the context may be destroyed (from a
  // callback that none of its objects own).
  [[nodiscard]] bool idle() const { return live_head_ == nullptr; }
  // Client connections open; walks the list (for shutdown reports).
  [[nodiscard]] size_t connections() const;
  // Retires the context (a reload or a stop): from now on each connection
  // closes after its current or next response, with "Connection: close", so
  // a keep-alive client never races a close with its next request. A stop
  // (`close_idle`) also closes the connections that sit between requests.
  void drain(bool close_idle);
  // Sets up the OpenID providers' clients on the worker's loop, which
  // `mailbox` serves (name lookups answer through it).
  void startProviders(const std::shared_ptr<LoopMailbox>& mailbox);
  // The per-request state for a request's first byte on one of this
  // context's connections: a spare one when there is, else a new one.
  [[nodiscard]] std::unique_ptr<Exchange> takeExchange();
  // A connection went idle: its exchange, reset (Exchange::next()), is kept
  // for the next request on any connection of this worker, unless
  // kMaxSpareExchanges are kept already or it holds more than
  // kMaxSpareExchangeBytes (a 16 KiB head would stay pinned): then it is
  // freed. Idle connections still hold no exchange, and a keep-alive
  // request no longer costs an allocation and the first use of cold memory.
  void recycleExchange(std::unique_ptr<Exchange> ex);
  [[nodiscard]] size_t spareExchanges() const { return spare_exchanges_.size(); }
  static constexpr size_t kMaxSpareExchanges = 256;
  static constexpr size_t kMaxSpareExchangeBytes = 16 * 1024;
  // SIGUSR1: the access log file is opened again (logrotate).
  void reopenLogs() { access_log.reopen(); }

  event_base* base;
  Clock& clock;  // the worker's: every timeout of this context's streams and stores
  std::shared_ptr<const config::Config> config;
  // store = "redis": this worker's connection. Declared before everything
  // that may hold its tickets, so it is destroyed after them.
  std::unique_ptr<session::Store> worker_store;
  Router router;
  Graveyard graveyard;
  std::vector<std::unique_ptr<UpstreamPool>> pools;  // parallel to config->upstreams
  ssl_ctx_st* ssl_ctx;                               // null without TLS listeners
  // ":8443" when the first TLS listener is not on 443, for redirect_https.
  std::string https_port_suffix;
  std::string hsts_field;  // "Strict-Transport-Security: max-age=N\r\n" or empty
  // Removed from every request, public routes included: the configured
  // identity headers, or the defaults when there is no [session].
  session::IdentityHeaders identity;
  std::unique_ptr<SessionContext> sessions;  // null without [session]
  // [oidc]: this worker's view of each provider; made by startProviders.
  std::vector<std::unique_ptr<oidc::Provider>> providers;
  std::unique_ptr<identity::AssertionCache> assertions;  // [identity] assertion_*
  AccessLog access_log;                                  // [log] access; off by default
  RequestIdSource request_ids;
  bool draining = false;  // set by drain()
  // Where a response head is put together before it is copied into a
  // client's output buffer: one per worker, emptied and filled within one
  // call, so its capacity serves every response (a fresh string per
  // response was an allocation each).
  std::string scratch_head;
  std::string scratch_fields;  // the extra fields of that head
  // The worker's counters, and this configuration's slots in them.
  WorkerMetrics& metrics;
  std::vector<RouteCounters*> route_metrics;        // parallel to config->routes
  std::vector<UpstreamCounters*> upstream_metrics;  // parallel to config->upstreams
  RouteCounters* no_route_metrics;                  // requests that matched no route

 private:
  static void onSweepThunk(int fd, short what, void* arg);

  std::shared_ptr<const SessionShared> shared_;
  EventPtr sweep_timer_;
  std::vector<std::unique_ptr<Exchange>> spare_exchanges_;  // see recycleExchange
  Disposable* live_head_ = nullptr;
};

}  // namespace sesame::proxy

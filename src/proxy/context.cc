#include "sesame/proxy/context.h"

#include <event2/event.h>

#include <chrono>

#include "connection_io.h"
#include "sesame/proxy/server_connection.h"
#include "sesame/session/redis_store.h"

namespace sesame::proxy {

namespace {

// Sessions nobody asks for again are found by this sweep, not by a lookup.
constexpr timeval kSweepInterval{60, 0};

}  // namespace

Context::Context(event_base* loop, Clock& loop_clock, std::shared_ptr<const config::Config> cfg,
                 ssl_ctx_st* tls, std::shared_ptr<const SessionShared> shared,
                 WorkerMetrics& worker_metrics)
    : base(loop),
      clock(loop_clock),
      config(std::move(cfg)),
      router(config->routes),
      graveyard(loop),
      ssl_ctx(tls),
      access_log(config->log),
      metrics(worker_metrics),
      no_route_metrics(worker_metrics.route(kNoRouteLabel)),
      shared_(std::move(shared)) {
  for (const config::RouteConfig& route : config->routes) {
    route_metrics.push_back(metrics.route(route.host + route.path));
  }
  for (const config::UpstreamConfig& upstream : config->upstreams) {
    upstream_metrics.push_back(metrics.upstream(upstream.name));
  }
  for (const config::UpstreamConfig& upstream : config->upstreams) {
    pools.push_back(
        std::make_unique<UpstreamPool>(base, clock, graveyard, upstream, config->timeouts));
  }
  for (const config::ListenConfig& listen : config->listeners) {
    if (!listen.tls) continue;
    std::string port = listen.addr.toString().substr(listen.addr.toString().rfind(':') + 1);
    if (port != "443") https_port_suffix = ":" + port;
    break;
  }
  if (config->tls.hsts) {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*config->tls.hsts).count();
    hsts_field = "Strict-Transport-Security: max-age=" + std::to_string(seconds) + "\r\n";
  }
  if (!config->session) return;
  const session::Settings& settings = *config->session;
  identity = settings.identity;
  identity.assertion_header = settings.assertion.header;
  sessions = std::make_unique<SessionContext>();
  sessions->settings = &settings;
  sessions->codec = &shared_->codec;
  sessions->store = shared_->memory.get();
  sessions->sealer = shared_->sealer;
  sessions->metrics = &metrics;
  sessions->planted_cookie_logged.assign(config->routes.size(), false);
  if (settings.store == session::StoreKind::kRedis) {
    worker_store =
        std::make_unique<session::RedisStore>(base, clock, settings.redis, settings.timeouts);
    sessions->store = worker_store.get();
  }
  if (config->login) {
    sessions->login = &*config->login;
    sessions->hashing = shared_->hashing.get();
    sessions->counters =
        shared_->counters ? static_cast<session::Store*>(shared_->counters.get()) : sessions->store;
  }
  sessions->signer = shared_->signer;
  if (shared_->signer) {
    assertions = std::make_unique<identity::AssertionCache>();
    sessions->assertions = assertions.get();
  }
  sessions->plain_cookie = {settings.cookie_name, settings.secure, true, settings.same_site,
                            settings.domain};
  sessions->tls_cookie = sessions->plain_cookie;
  sessions->tls_cookie.secure = true;
  if (settings.store == session::StoreKind::kMemory) {
    sweep_timer_.reset(event_new(base, -1, EV_PERSIST, onSweepThunk, this));
    event_add(sweep_timer_.get(), &kSweepInterval);
  }
}

void Context::onSweepThunk(int, short, void* arg) {
  auto* self = static_cast<Context*>(arg);
  self->sessions->store->sweep(session::wallClockNow());
}

Context::~Context() {
  while (live_head_ != nullptr) {
    Disposable* next = live_head_->live_next_;
    delete live_head_;
    live_head_ = next;
  }
}

void Context::drain(bool close_idle) {
  draining = true;
  if (!close_idle) return;
  // closeIfIdle() may unlink the connection it is called on.
  for (Disposable* conn = live_head_; conn != nullptr;) {
    Disposable* next = conn->live_next_;
    conn->closeIfIdle();
    conn = next;
  }
}

size_t Context::connections() const {
  size_t n = 0;
  for (const Disposable* conn = live_head_; conn != nullptr; conn = conn->live_next_) ++n;
  return n;
}

void Context::adopt(std::unique_ptr<Disposable> conn) {
  Disposable* c = conn.release();
  c->live_next_ = live_head_;
  if (live_head_ != nullptr) live_head_->live_prev_ = c;
  live_head_ = c;
}

std::unique_ptr<Disposable> Context::release(Disposable* conn) {
  if (conn->live_prev_ != nullptr) {
    conn->live_prev_->live_next_ = conn->live_next_;
  } else {
    live_head_ = conn->live_next_;
  }
  if (conn->live_next_ != nullptr) conn->live_next_->live_prev_ = conn->live_prev_;
  conn->live_prev_ = conn->live_next_ = nullptr;
  return std::unique_ptr<Disposable>(conn);
}

std::unique_ptr<Exchange> Context::takeExchange() {
  if (spare_exchanges_.empty()) {
    return std::make_unique<Exchange>(config->limits.head, io::kMaxResponseHead);
  }
  std::unique_ptr<Exchange> ex = std::move(spare_exchanges_.back());
  spare_exchanges_.pop_back();
  return ex;
}

void Context::recycleExchange(std::unique_ptr<Exchange> ex) {
  if (!ex || spare_exchanges_.size() >= kMaxSpareExchanges) return;
  ex->next();
  if (ex->storageBytes() > kMaxSpareExchangeBytes) return;
  if (spare_exchanges_.capacity() == 0) spare_exchanges_.reserve(kMaxSpareExchanges);
  spare_exchanges_.push_back(std::move(ex));
}

void Context::startProviders(const std::shared_ptr<LoopMailbox>& mailbox) {
  if (!sessions) return;
  for (size_t i = 0; i < config->oidc.size(); ++i) {
    oidc::KnowledgePtr known = i < shared_->oidc.size() ? shared_->oidc[i] : nullptr;
    providers.push_back(std::make_unique<oidc::Provider>(base, mailbox, config->oidc[i], known));
    sessions->providers.push_back(providers.back().get());
  }
}

}  // namespace sesame::proxy

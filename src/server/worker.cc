#include "sesame/server/worker.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sesame/base/log.h"
#include "sesame/proxy/accept.h"

namespace sesame::server {
namespace {

// How often a worker with retired generations looks for ones whose last
// connection has closed.
constexpr timeval kReapInterval{0, 100 * 1000};

EventBasePtr newLoop() {
  // Each loop is touched by its own thread only: no internal locking.
  EventConfigPtr cfg(event_config_new());
  event_config_set_flag(cfg.get(), EVENT_BASE_FLAG_NOLOCK);
  return EventBasePtr(event_base_new_with_config(cfg.get()));
}

}  // namespace

Worker::Worker(unsigned id, Generation first) : id_(id), base_(newLoop()), clock_(base_.get()) {
  ended_future_ = ended_.get_future();
  mailbox_ = std::make_shared<LoopMailbox>(base_.get());
  reap_event_.reset(event_new(base_.get(), -1, EV_PERSIST, onReapThunk, this));
  install(first);
}

Worker::~Worker() {
  // Listeners and connections go before the loop that their events live in;
  // connections before the TLS contexts of their generation.
  bindings_.clear();
  current_.reset();
  retired_.clear();
  // Its event goes before the loop; a hashing thread may hold the mailbox itself for longer.
  mailbox_->close();
  heartbeat_event_.reset();
  reap_event_.reset();
  flush_log_event_.reset();
}

void Worker::start(std::chrono::microseconds heartbeat) {
  static constexpr timeval kNow{0, 0};
  if (event_base_once(base_.get(), -1, EV_TIMEOUT, onRunningThunk, this, &kNow) != 0) {
    LOG_ERROR("worker %u: cannot schedule its first callback (out of memory?)", id_);
    running_.set_value();
  }
  if (heartbeat.count() > 0) {
    heartbeat_event_.reset(event_new(base_.get(), -1, EV_PERSIST, onHeartbeatThunk, this));
    timeval every{static_cast<time_t>(heartbeat.count() / 1'000'000),
                  static_cast<suseconds_t>(heartbeat.count() % 1'000'000)};
    event_add(heartbeat_event_.get(), &every);
  }
  flush_log_event_.reset(event_new(base_.get(), -1, EV_PERSIST, onFlushLogThunk, this));
  static constexpr timeval kFlushLog{log::kLimitedInterval.count(), 0};
  event_add(flush_log_event_.get(), &kFlushLog);
  std::future<void> running = running_.get_future();
  thread_ = std::thread([this] {
    LOG_DEBUG("worker %u: running", id_);
    event_base_dispatch(base_.get());
    // What this worker's limited messages left uncounted, before it ends.
    log::flushSuppressed(std::chrono::steady_clock::now() + log::kLimitedInterval);
    left_open_ = openConnections();
    // Connections left at a shutdown_timeout close now, on their own
    // thread, not when the main thread gets round to this worker.
    bindings_.clear();
    current_.reset();
    retired_.clear();
    // Tasks posted from now on are dropped, not left waiting for a loop that has ended.
    mailbox_->close();
    ended_.set_value();
  });
  running.wait();
}

void Worker::onRunningThunk(int, short, void* arg) {
  static_cast<Worker*>(arg)->running_.set_value();
}

void Worker::onHeartbeatThunk(int, short, void* arg) {
  static_cast<Worker*>(arg)->heartbeats_.fetch_add(1, std::memory_order_relaxed);
}

// Each worker thread has its own log budgets (log.h), so each flushes its own.
void Worker::onFlushLogThunk(int, short, void*) {
  log::flushSuppressed(std::chrono::steady_clock::now());
}

void Worker::call(std::function<void()> task) {
  // Shared with the task: when a closed mailbox drops it, the promise is broken and the wait
  // ends.
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> ran = done->get_future();
  mailbox_->post([&task, done] {
    task();
    done->set_value();
  });
  ran.wait();
}

void Worker::adopt(Generation next) {
  call([this, &next] { install(next); });
}

void Worker::reopenLogs() {
  mailbox_->post([this] {
    if (current_) current_->ctx->reopenLogs();
    for (auto& live : retired_) live->ctx->reopenLogs();
  });
}

bool Worker::addMetrics(proxy::MetricsSnapshot& out,
                        std::chrono::steady_clock::time_point deadline) {
  // Shared with the task, which may run after a caller that gave up.
  auto snapshot = std::make_shared<proxy::MetricsSnapshot>();
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> ready = done->get_future();
  mailbox_->post([this, snapshot, done] {
    metrics_.addTo(*snapshot);
    done->set_value();
  });
  if (ready.wait_until(deadline) != std::future_status::ready) return false;
  out.add(*snapshot);
  return true;
}

void Worker::drain() {
  mailbox_->post([this] {
    stopping_ = true;
    bindings_.clear();
    if (current_) current_->ctx->drain(true);
    for (auto& live : retired_) live->ctx->drain(true);
    event_add(reap_event_.get(), &kReapInterval);
    reap();
  });
}

size_t Worker::join(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) return 0;
  if (ended_future_.wait_until(deadline) != std::future_status::ready) {
    mailbox_->post([this] { event_base_loopbreak(base_.get()); });
  }
  thread_.join();
  return left_open_;
}

void Worker::install(Generation& next) {
  auto live = std::make_unique<Live>();
  live->number = next.number;
  live->tls = std::move(next.tls);
  live->ctx = std::make_unique<proxy::Context>(base_.get(), clock_, next.config,
                                               live->tls ? live->tls->defaultCtx() : nullptr,
                                               next.sessions, metrics_);
  if (live->ctx->sessions) live->ctx->sessions->mailbox = mailbox_;
  live->ctx->startProviders(mailbox_);
  std::vector<std::unique_ptr<Binding>> bindings;
  const std::vector<config::ListenConfig>& listeners = live->ctx->config->listeners;
  for (size_t i = 0; i < listeners.size(); ++i) {
    std::string key = listeners[i].addr.toString();
    std::unique_ptr<Binding> binding;
    if (next.listen_fds[i] >= 0) {
      binding = listenOn(next.listen_fds[i], key);
    } else {
      for (auto& kept : bindings_) {
        if (kept && kept->key == key) binding = std::move(kept);
      }
    }
    if (!binding) {
      LOG_ERROR("worker %u: no socket for %s; that address is not served", id_,
                listeners[i].address.c_str());
      continue;
    }
    binding->listen = &listeners[i];
    bindings.push_back(std::move(binding));
  }
  // Sockets at addresses the new configuration dropped close here.
  bindings_ = std::move(bindings);
  if (current_) {
    current_->ctx->drain(false);
    retired_.push_back(std::move(current_));
    event_add(reap_event_.get(), &kReapInterval);
  }
  current_ = std::move(live);
}

std::unique_ptr<Worker::Binding> Worker::listenOn(int fd, const std::string& key) {
  auto binding = std::make_unique<Binding>();
  binding->worker = this;
  binding->key = key;
  binding->listener.reset(
      evconnlistener_new(base_.get(), onAcceptThunk, binding.get(), LEV_OPT_CLOSE_ON_FREE, -1, fd));
  if (!binding->listener) {
    ::close(fd);
    return nullptr;
  }
  evconnlistener_set_error_cb(binding->listener.get(), onAcceptErrorThunk);
  binding->resume.reset(evtimer_new(base_.get(), onResumeThunk, binding.get()));
  return binding;
}

void Worker::onReapThunk(int, short, void* arg) {
  static_cast<Worker*>(arg)->reap();
}

// Runs from the reap timer, never from a callback of the contexts it frees.
void Worker::reap() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    if ((*it)->ctx->idle()) {
      LOG_DEBUG("worker %u: configuration generation %llu served its last connection", id_,
                static_cast<unsigned long long>((*it)->number));
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
  if (stopping_) {
    // loopexit, not loopbreak: the graveyard's pending sweep runs first.
    if (retired_.empty() && (!current_ || current_->ctx->idle())) {
      event_base_loopexit(base_.get(), nullptr);
    }
    return;
  }
  if (retired_.empty()) event_del(reap_event_.get());
}

size_t Worker::openConnections() const {
  size_t n = current_ ? current_->ctx->connections() : 0;
  for (const auto& live : retired_) n += live->ctx->connections();
  return n;
}

void Worker::onAcceptThunk(evconnlistener*, int fd, sockaddr* addr, int len, void* arg) {
  auto* binding = static_cast<Binding*>(arg);
  binding->worker->onAccept(*binding, fd, addr, len);
}

void Worker::onAcceptErrorThunk(evconnlistener* listener, void* arg) {
  auto* binding = static_cast<Binding*>(arg);
  int err = errno;
  bool out_of_descriptors = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
  LOG_ERROR(
      "worker %u: accept on %s failed: %s%s", binding->worker->id_,
      binding->listen->address.c_str(), std::strerror(err),
      out_of_descriptors ? "; pausing accepts for 500ms (raise LimitNOFILE / ulimit -n)" : "");
  if (!out_of_descriptors) return;
  // The pending connection stays in the backlog and the listening socket
  // stays readable: without a pause the loop would spin on accept(), starving
  // the connections it already has (the ones whose close frees descriptors).
  evconnlistener_disable(listener);
  static constexpr timeval kPause{0, 500 * 1000};
  evtimer_add(binding->resume.get(), &kPause);
}

void Worker::onResumeThunk(int, short, void* arg) {
  evconnlistener_enable(static_cast<Binding*>(arg)->listener.get());
}

void Worker::onAccept(const Binding& binding, int fd, sockaddr* addr, int len) {
  proxy::Context& ctx = *current_->ctx;
  metrics_.onConnectionOpened();
  int one = 1;
  // Response heads and small bodies leave in one segment; Nagle would hold them.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  SslPtr ssl;
  if (binding.listen->tls) {
    ssl.reset(SSL_new(ctx.ssl_ctx));
    if (ssl == nullptr) {
      LOG_ERROR("worker %u: SSL_new failed (out of memory?)", id_);
      ::close(fd);
      return;
    }
  }
  proxy::acceptConnection(ctx, *binding.listen, fd, std::move(ssl),
                          net::fromSockaddr(addr, static_cast<socklen_t>(len)));
}

}  // namespace sesame::server

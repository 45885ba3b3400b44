#include "sesame/server/worker.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sesame/base/log.h"
#include "sesame/proxy/server_connection.h"

namespace sesame::server {
namespace {

EventBasePtr newLoop() {
  // Each loop is touched by its own thread only: no internal locking.
  event_config* cfg = event_config_new();
  event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
  EventBasePtr base(event_base_new_with_config(cfg));
  event_config_free(cfg);
  return base;
}

}  // namespace

Worker::Worker(unsigned id, std::shared_ptr<const config::Config> cfg,
               std::unique_ptr<tls::ServerContext> tls, const std::vector<int>& listen_fds,
               const proxy::SessionShared* sessions)
    : id_(id), base_(newLoop()), tls_(std::move(tls)) {
  ctx_ = std::make_unique<proxy::Context>(base_.get(), cfg, tls_ ? tls_->defaultCtx() : nullptr,
                                          sessions);
  for (size_t i = 0; i < cfg->listeners.size(); ++i) {
    auto binding = std::make_unique<Binding>();
    binding->worker = this;
    binding->listen = &ctx_->config->listeners[i];
    ListenerPtr listener(evconnlistener_new(base_.get(), onAcceptThunk, binding.get(),
                                            LEV_OPT_CLOSE_ON_FREE, -1, listen_fds[i]));
    evconnlistener_set_error_cb(listener.get(), onAcceptErrorThunk);
    binding->listener = listener.get();
    binding->resume.reset(evtimer_new(base_.get(), onResumeThunk, binding.get()));
    listeners_.push_back(std::move(listener));
    bindings_.push_back(std::move(binding));
  }
  if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) == 0) {
    stop_event_.reset(event_new(base_.get(), stop_pipe_[0], EV_READ, onStopThunk, this));
    event_add(stop_event_.get(), nullptr);
  }
}

Worker::~Worker() {
  // Connections and listeners go before the loop that their events live in.
  listeners_.clear();
  ctx_.reset();
  stop_event_.reset();
  heartbeat_event_.reset();
  for (int fd : stop_pipe_) {
    if (fd >= 0) ::close(fd);
  }
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
  std::future<void> running = running_.get_future();
  thread_ = std::thread([this] {
    LOG_DEBUG("worker %u: running", id_);
    event_base_dispatch(base_.get());
  });
  running.wait();
}

void Worker::onRunningThunk(int, short, void* arg) {
  static_cast<Worker*>(arg)->running_.set_value();
}

void Worker::onHeartbeatThunk(int, short, void* arg) {
  static_cast<Worker*>(arg)->heartbeats_.fetch_add(1, std::memory_order_relaxed);
}

void Worker::stopAndJoin() {
  if (!thread_.joinable()) return;
  char byte = 1;
  if (::write(stop_pipe_[1], &byte, 1) != 1) LOG_ERROR("worker %u: cannot signal stop", id_);
  thread_.join();
}

void Worker::onStopThunk(int, short, void* arg) {
  event_base_loopbreak(static_cast<Worker*>(arg)->base_.get());
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
  evconnlistener_enable(static_cast<Binding*>(arg)->listener);
}

void Worker::onAccept(const Binding& binding, int fd, sockaddr* addr, int len) {
  int one = 1;
  // Response heads and small bodies leave in one segment; Nagle would hold them.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  SSL* ssl = nullptr;
  if (binding.listen->tls) {
    ssl = SSL_new(ctx_->ssl_ctx);
    if (ssl == nullptr) {
      LOG_ERROR("worker %u: SSL_new failed (out of memory?)", id_);
      ::close(fd);
      return;
    }
  }
  // The stream owns `fd` and `ssl` from here on.
  std::unique_ptr<net::Stream> stream = net::Stream::accept(base_.get(), fd, ssl);
  auto conn = std::make_unique<proxy::ServerConnection>(
      *ctx_, *binding.listen, std::move(stream),
      net::fromSockaddr(addr, static_cast<socklen_t>(len)));
  proxy::ServerConnection* raw = conn.get();
  ctx_->adopt(std::move(conn));
  raw->start();
}

}  // namespace sesame::server

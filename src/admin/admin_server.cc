#include "sesame/admin/admin_server.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "sesame/admin/readiness.h"
#include "sesame/base/log.h"
#include "sesame/http/request_parser.h"
#include "sesame/http/response_parser.h"
#include "sesame/net/stream.h"

namespace sesame::admin {
namespace {

// Not net::bindListener: that sets SO_REUSEPORT, with which a second bind
// of the same address (another sesame, or a [[listen]]) would succeed and
// share the admin traffic instead of failing the start.
int bindAdmin(const net::Address& addr, std::string* error) {
  auto fail = [&](int fd) {
    *error = "admin address " + addr.toString() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  };
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(fd);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, addr.sa(), addr.length) != 0 || ::listen(fd, 64) != 0) return fail(fd);
  return fd;
}

EventBasePtr newLoop() {
  EventConfigPtr cfg(event_config_new());
  event_config_set_flag(cfg.get(), EVENT_BASE_FLAG_NOLOCK);  // touched by the admin thread only
  return EventBasePtr(event_base_new_with_config(cfg.get()));
}

bool isEndpoint(std::string_view path) {
  return path == "/metrics" || path == "/healthz" || path == "/readyz";
}

}  // namespace

// One admin connection: a request head in, one response out (Connection:
// close), then the server frees it. Never deleted inside its own callback:
// finish() hands it to the server's sweep.
class AdminConnection final : private net::StreamHandler {
 public:
  AdminConnection(AdminServer::Impl& server, uint64_t id, std::unique_ptr<net::Stream> stream,
                  const AdminServer::Options& options)
      : server_(server),
        id_(id),
        stream_(std::move(stream)),
        parser_(http::RequestLimits{options.max_head_bytes, 64}) {
    stream_->setHandler(this);
    stream_->setReadHighWater(options.max_head_bytes + 1);
    stream_->setTimeouts(std::chrono::milliseconds(0), options.request_timeout);
    // One clock for the head and the answer: a slow client cannot hold one
    // of the few admin slots longer.
    stream_->setDeadline(options.request_timeout);
  }

  [[nodiscard]] uint64_t id() const { return id_; }

  void respond(int status, std::string_view content_type, std::string_view body,
               std::string_view extra_headers = {}) {
    if (responded_) return;
    responded_ = true;
    stream_->setReadEnabled(false);
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       std::string(http::reasonPhrase(status)) + "\r\n";
    // A 204 has neither content nor Content-Length (RFC 9110 §8.6).
    if (status != 204) {
      head += "Content-Type: " + std::string(content_type) +
              "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    head +=
        "Cache-Control: no-store\r\nConnection: close\r\n" + std::string(extra_headers) + "\r\n";
    evbuffer_add(stream_->output(), head.data(), head.size());
    if (!head_only_ && status != 204) evbuffer_add(stream_->output(), body.data(), body.size());
  }

  void respond(const Answer& answer) {
    respond(answer.status, answer.content_type, answer.body, answer.fields);
  }

  // Keeps the session API call this connection waits for (dropped with the connection).
  void hold(std::unique_ptr<SessionsCall> call) { call_ = std::move(call); }

  void respondText(int status, std::string_view body, std::string_view extra_headers = {}) {
    respond(status, "text/plain; charset=utf-8", body, extra_headers);
  }

 private:
  void onStreamRead(net::Stream& stream) override;
  void onStreamWrite(net::Stream& stream) override {
    if (responded_ && evbuffer_get_length(stream.output()) == 0) finish();
  }
  void onStreamEvent(net::Stream&, net::StreamEvent event) override {
    // A client may half-close once its request is sent (shutdown(SHUT_WR)):
    // the answer still goes out, bounded by the deadline.
    if (event == net::StreamEvent::kEof && have_request_) return;
    finish();
  }
  void finish();

  AdminServer::Impl& server_;
  const uint64_t id_;
  std::unique_ptr<net::Stream> stream_;
  http::RequestParser parser_;
  std::unique_ptr<SessionsCall> call_;
  bool head_only_ = false;
  bool have_request_ = false;  // a whole head, or a parse error: no more reading
  bool responded_ = false;
  bool finished_ = false;
};

class AdminServer::Impl {
 public:
  Impl(AdminSources& sources, const Options& options) : sources_(sources), options_(options) {}

  ~Impl() {
    stop();
    // Everything holding events goes before the loop they live in.
    connections_.clear();
    dead_.clear();
    sessions_.reset();
    prober_.reset();
    listener_.reset();
    sweep_.reset();
    stop_event_.reset();
    for (int fd : stop_pipe_) {
      if (fd >= 0) ::close(fd);
    }
  }

  bool init(const net::Address& addr, std::string* error) {
    base_ = newLoop();
    if (!base_ || ::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
      *error = "admin address " + addr.toString() + ": cannot create its event loop";
      return false;
    }
    clock_ = std::make_unique<LoopClock>(base_.get());
    int fd = bindAdmin(addr, error);
    if (fd < 0) return false;
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    address_ = net::fromSockaddr(reinterpret_cast<sockaddr*>(&bound), len);
    listener_.reset(evconnlistener_new(base_.get(), onAcceptThunk, this,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd));
    if (!listener_) {
      ::close(fd);
      *error = "admin address " + addr.toString() + ": cannot watch its socket";
      return false;
    }
    evconnlistener_set_error_cb(listener_.get(), onAcceptErrorThunk);
    resume_.reset(evtimer_new(base_.get(), onResumeThunk, this));
    sweep_.reset(event_new(base_.get(), -1, 0, onSweepThunk, this));
    stop_event_.reset(event_new(base_.get(), stop_pipe_[0], EV_READ, onStopThunk, this));
    event_add(stop_event_.get(), nullptr);
    prober_ = std::make_unique<ReadinessProber>(base_.get(), *clock_, options_.probe_timeout,
                                                options_.readiness_cache);
    sessions_ = std::make_unique<SessionsApi>(base_.get(), *clock_);
    return true;
  }

  void start() {
    if (thread_.joinable()) return;
    std::promise<void> running;
    std::future<void> ran = running.get_future();
    static constexpr timeval kNow{0, 0};
    event_base_once(
        base_.get(), -1, EV_TIMEOUT,
        [](int, short, void* p) { static_cast<std::promise<void>*>(p)->set_value(); }, &running,
        &kNow);
    thread_ = std::thread([this] { event_base_dispatch(base_.get()); });
    ran.wait();
    LOG_INFO("admin endpoints on http://%s (/metrics, /healthz, /readyz%s)",
             address_.toString().c_str(), sessionsEnabled(*sources_.config()) ? ", /sessions" : "");
  }

  void stop() {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (!thread_.joinable()) return;
    char byte = 1;
    if (::write(stop_pipe_[1], &byte, 1) != 1) LOG_ERROR("admin: cannot signal its thread to stop");
    thread_.join();
  }

  [[nodiscard]] const net::Address& address() const { return address_; }

  void dispatch(AdminConnection& conn, const http::RequestHead& head);

  // The connection is done: freed on the next loop pass, never inside its
  // own stream callback.
  void retire(AdminConnection& conn) {
    auto it = connections_.find(conn.id());
    if (it == connections_.end()) return;
    dead_.push_back(std::move(it->second));
    connections_.erase(it);
    event_active(sweep_.get(), 0, 0);
  }

 private:
  static void onAcceptThunk(evconnlistener*, int fd, sockaddr*, int, void* arg) {
    static_cast<Impl*>(arg)->onAccept(fd);
  }
  static void onAcceptErrorThunk(evconnlistener* listener, void* arg) {
    LOG_ERROR("admin: accept on %s failed: %s; pausing accepts for 1s",
              static_cast<Impl*>(arg)->address_.toString().c_str(), std::strerror(errno));
    // A descriptor shortage leaves the socket readable: without a pause
    // the loop would spin on accept().
    evconnlistener_disable(listener);
    static constexpr timeval kPause{1, 0};
    evtimer_add(static_cast<Impl*>(arg)->resume_.get(), &kPause);
  }
  static void onResumeThunk(int, short, void* arg) {
    evconnlistener_enable(static_cast<Impl*>(arg)->listener_.get());
  }
  static void onSweepThunk(int, short, void* arg) { static_cast<Impl*>(arg)->dead_.clear(); }
  static void onStopThunk(int, short, void* arg) {
    event_base_loopbreak(static_cast<Impl*>(arg)->base_.get());
  }

  void onAccept(int fd) {
    if (connections_.size() >= options_.max_connections) {
      LOG_DEBUG("admin: %zu connections open; closing a new one", connections_.size());
      ::close(fd);
      return;
    }
    const uint64_t id = next_id_++;
    auto conn = std::make_unique<AdminConnection>(
        *this, id, net::Stream::accept(base_.get(), *clock_, fd, nullptr), options_);
    connections_.emplace(id, std::move(conn));
  }

  void answer(uint64_t id, const Answer& answer) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->respond(answer);
  }

  void answerReadiness(uint64_t id, const Readiness& readiness) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;  // the client left while the probes ran
    if (readiness.ready) return it->second->respondText(200, "ready\n");
    std::string body;
    for (const std::string& reason : readiness.reasons) body += reason + "\n";
    it->second->respondText(503, body);
  }

  AdminSources& sources_;
  const Options options_;
  EventBasePtr base_;
  std::unique_ptr<LoopClock> clock_;  // of base_, for the connections' timeouts
  net::Address address_;
  ListenerPtr listener_;
  EventPtr resume_;
  EventPtr sweep_;
  EventPtr stop_event_;
  int stop_pipe_[2] = {-1, -1};
  std::unique_ptr<ReadinessProber> prober_;
  std::unique_ptr<SessionsApi> sessions_;
  std::map<uint64_t, std::unique_ptr<AdminConnection>> connections_;
  std::vector<std::unique_ptr<AdminConnection>> dead_;
  uint64_t next_id_ = 1;
  std::mutex stop_mutex_;
  std::thread thread_;
};

void AdminConnection::onStreamRead(net::Stream& stream) {
  if (have_request_) return;
  evbuffer* in = stream.input();
  const size_t n = evbuffer_get_length(in);
  const auto* data = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ssize_t>(n)));
  switch (parser_.parse(std::string_view(data, n))) {
    case http::RequestParser::Status::kNeedMore:
      return;
    case http::RequestParser::Status::kError:
      have_request_ = true;
      return respondText(parser_.errorStatus(), std::string(parser_.errorReason()) + "\n");
    case http::RequestParser::Status::kComplete:
      have_request_ = true;
      stream.setReadEnabled(false);
      head_only_ = parser_.head().method == "HEAD";
      return server_.dispatch(*this, parser_.head());
  }
}

void AdminConnection::finish() {
  if (finished_) return;
  finished_ = true;
  stream_->disable();
  server_.retire(*this);
}

void AdminServer::Impl::dispatch(AdminConnection& conn, const http::RequestHead& head) {
  const std::string_view target = head.target;
  const std::string_view path = target.substr(0, target.find('?'));
  if (isSessionsPath(path)) {
    SessionSources sources = sources_.sessions();
    if (sessionsEnabled(*sources.config)) {
      const uint64_t id = conn.id();
      return conn.hold(
          sessions_->handle(head, sources, [this, id](const Answer& reply) { answer(id, reply); }));
    }
  }
  // The other endpoints ignore query strings.
  if (!isEndpoint(path)) {
    return conn.respondText(404,
                            "not found: the admin endpoints are /metrics, /healthz and /readyz\n");
  }
  if (head.method != "GET" && head.method != "HEAD") {
    return conn.respondText(405, "method not allowed: use GET or HEAD\n", "Allow: GET, HEAD\r\n");
  }
  if (path == "/healthz") return conn.respondText(200, "ok\n");
  if (path == "/metrics") {
    return conn.respond(200, kPrometheusContentType,
                        renderPrometheus(sources_.collect(), sources_.process()));
  }
  std::shared_ptr<const config::Config> cfg = sources_.config();
  const bool need_listeners = !cfg->admin || cfg->admin->ready.listeners;
  if (need_listeners && !sources_.listening()) {
    return conn.respondText(503, "not listening: sesame is starting or draining\n");
  }
  const uint64_t id = conn.id();
  prober_->check(std::move(cfg),
                 [this, id](const Readiness& readiness) { answerReadiness(id, readiness); });
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() = default;

std::unique_ptr<AdminServer> AdminServer::create(const net::Address& addr, AdminSources& sources,
                                                 std::string* error, const Options& options) {
  auto impl = std::make_unique<Impl>(sources, options);
  if (!impl->init(addr, error)) return nullptr;
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

void AdminServer::start() {
  impl_->start();
}

void AdminServer::stop() {
  impl_->stop();
}

const net::Address& AdminServer::address() const {
  return impl_->address();
}

}  // namespace sesame::admin

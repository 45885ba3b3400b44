#include "sesame/outbound/client.h"

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "core.h"
#include "sesame/base/log.h"

namespace sesame::outbound {
namespace detail {
namespace {

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

// RFC 9110 §5.5: field-vchar, SP and HTAB. CR and LF would let a value start a new field or
// end the head (request splitting).
bool isFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

// Fields that frame or route the request, or that the client sets itself: a caller's copy
// would contradict the client's (two Content-Lengths smuggle a request) or break decoding.
constexpr std::array<std::string_view, 13> kOwnFields = {
    "Host",        "Content-Length",  "Transfer-Encoding",
    "Connection",  "Keep-Alive",      "Proxy-Connection",
    "TE",          "Trailer",         "Upgrade",
    "Expect",      "Accept-Encoding", "User-Agent",
    "Content-Type"};

std::string checkRequest(const Request& request) {
  if (!isToken(request.method) || request.method.size() > 32) return "invalid method";
  if (!isFieldValue(request.content_type)) return "invalid content type";
  for (const http::Header& field : request.headers) {
    if (!isToken(field.name)) return "invalid header field name";
    if (!isFieldValue(field.value)) return "invalid value in header " + field.name;
    for (std::string_view own : kOwnFields) {
      if (http::equalsIgnoreCase(field.name, own)) {
        return "header " + field.name + " is set by the client itself";
      }
    }
  }
  return {};
}

std::string opensslReason() {
  const unsigned long err = ERR_peek_last_error();
  const char* reason = err != 0 ? ERR_reason_error_string(err) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown error";
}

}  // namespace

Core::Core(event_base* base, std::shared_ptr<LoopMailbox> mailbox, Options options)
    : base_(base),
      options_(std::move(options)),
      ssl_ctx_(SSL_CTX_new(TLS_client_method())),
      deferred_(event_new(base, -1, 0, onDeferredThunk, this)) {
  resolver_ = std::make_shared<Resolver>(std::move(mailbox), options_.lookup);
  SSL_CTX* ctx = ssl_ctx_.get();
  if (ctx == nullptr || deferred_ == nullptr) {
    setup_error_ = "outbound HTTPS client: out of memory";
    return;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // Providers speak HTTP/1.1 to us; ALPN keeps a server that prefers h2 from choosing it.
  static constexpr unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn - 1);
  if (options_.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      setup_error_ = "cannot load the system CA store: " + opensslReason();
    }
  } else if (SSL_CTX_load_verify_file(ctx, options_.ca_file.c_str()) != 1) {
    setup_error_ =
        "ca_file " + options_.ca_file + ": cannot load CA certificates (" + opensslReason() + ")";
  }
}

Core::~Core() = default;

FetchHandle Core::fetch(Request request, Callback done) {
  const uint64_t id = next_id_++;
  FetchHandle handle(new Fetch(weak_from_this(), id));
  std::string why = setup_error_;
  std::optional<Url> url;
  if (why.empty()) why = checkRequest(request);
  if (why.empty()) {
    url = parseUrl(request.url, options_.allow_plain_http, &why);
    if (!url) why = "URL \"" + log::printable(request.url, 200) + "\": " + why;
  }
  if (!why.empty()) {
    Result failed;
    failed.error = std::move(why);
    finish(id, std::move(done), std::move(failed));
    return handle;
  }
  auto exchange =
      std::make_unique<Exchange>(*this, id, std::move(request), std::move(*url), std::move(done));
  Exchange* started = exchange.get();
  active_.emplace(id, std::move(exchange));
  started->start();
  return handle;
}

void Core::cancel(uint64_t id) {
  std::erase_if(completed_, [id](const Completion& c) { return c.id == id; });
  auto it = active_.find(id);
  if (it == active_.end()) return;
  it->second->abandon();
  dead_exchanges_.push_back(std::move(it->second));
  active_.erase(it);
  schedule();
}

size_t Core::idleConnections() const {
  size_t n = 0;
  for (const auto& [origin, connections] : idle_) n += connections.size();
  return n;
}

void Core::resolve(const std::string& host, uint64_t id) {
  resolver_->resolve(host, [this, id](const LookupResult& result) { onResolved(id, result); });
}

void Core::onResolved(uint64_t id, const LookupResult& result) {
  auto it = active_.find(id);
  if (it != active_.end()) it->second->onResolved(result);
}

std::unique_ptr<Connection> Core::takeIdle(const std::string& origin) {
  auto it = idle_.find(origin);
  if (it == idle_.end()) return nullptr;
  std::unique_ptr<Connection> connection = std::move(it->second.back());
  it->second.pop_back();
  if (it->second.empty()) idle_.erase(it);
  connection->cancelTimer();
  return connection;
}

void Core::keepIdle(const std::string& origin, std::unique_ptr<Connection> connection) {
  if (options_.max_idle_per_origin == 0) return bury(std::move(connection));
  connection->setOwner(this);
  connection->armTimer(options_.idle_timeout);
  std::vector<std::unique_ptr<Connection>>& pool = idle_[origin];
  pool.push_back(std::move(connection));
  if (pool.size() > options_.max_idle_per_origin) {
    bury(std::move(pool.front()));
    pool.erase(pool.begin());
  }
}

void Core::bury(std::unique_ptr<Connection> connection) {
  connection->disable();
  dead_connections_.push_back(std::move(connection));
  schedule();
}

void Core::finish(uint64_t id, Callback done, Result result) {
  auto it = active_.find(id);
  if (it != active_.end()) {
    dead_exchanges_.push_back(std::move(it->second));
    active_.erase(it);
  }
  completed_.push_back(Completion{id, std::move(done), std::move(result)});
  schedule();
}

// An idle connection that the server closes, writes to unprompted, or that times out is over:
// nothing valid can arrive before a request.
void Core::onConnectionRead(Connection& connection) {
  dropIdle(connection);
}

void Core::onConnectionEvent(Connection& connection, short) {
  dropIdle(connection);
}

void Core::dropIdle(Connection& connection) {
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    auto& pool = it->second;
    auto found = std::find_if(pool.begin(), pool.end(),
                              [&](const auto& c) { return c.get() == &connection; });
    if (found == pool.end()) continue;
    std::unique_ptr<Connection> dead = std::move(*found);
    pool.erase(found);
    if (pool.empty()) idle_.erase(it);
    return bury(std::move(dead));
  }
}

void Core::schedule() {
  event_active(deferred_.get(), EV_TIMEOUT, 0);
}

void Core::onDeferredThunk(int, short, void* arg) {
  static_cast<Core*>(arg)->onDeferred();
}

void Core::onDeferred() {
  dead_connections_.clear();
  dead_exchanges_.clear();
  // A callback may fetch again, cancel other fetches or destroy the Client (and this Core).
  const std::weak_ptr<Core> alive = weak_from_this();
  while (!completed_.empty()) {
    Completion next = std::move(completed_.front());
    completed_.pop_front();
    next.done(std::move(next.result));
    if (alive.expired()) return;
  }
}

}  // namespace detail

Fetch::~Fetch() {
  if (auto core = core_.lock()) core->cancel(id_);
}

Client::Client(event_base* base, std::shared_ptr<LoopMailbox> mailbox, Options options)
    : core_(std::make_shared<detail::Core>(base, std::move(mailbox), std::move(options))) {}

Client::~Client() = default;

const std::string& Client::setupError() const {
  return core_->setupError();
}

FetchHandle Client::fetch(Request request, Callback done) {
  return core_->fetch(std::move(request), std::move(done));
}

size_t Client::idleConnections() const {
  return core_->idleConnections();
}

}  // namespace sesame::outbound

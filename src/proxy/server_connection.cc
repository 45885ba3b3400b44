#include "sesame/proxy/server_connection.h"

#include "connection_io.h"

#include <event2/buffer.h>

#include <algorithm>

#include "sesame/auth/form.h"
#include "sesame/base/log.h"
#include "sesame/http/path_normalizer.h"
#include "sesame/proxy/body_pump.h"
#include "sesame/proxy/forwarding.h"
#include "sesame/session/identity_filter.h"

namespace sesame::proxy {

using namespace io;

ServerConnection::ServerConnection(Context& ctx, const config::ListenConfig& listen,
                                   std::unique_ptr<net::Stream> stream, const net::Address& peer,
                                   bool may_forward)
    : ctx_(ctx),
      listen_(listen),
      client_(std::move(stream)),
      peer_ip_(peer.hostString()),
      may_forward_(may_forward) {}

ServerConnection::~ServerConnection() = default;

void ServerConnection::start() {
  client_->setHandler(this);
  client_->setReadHighWater(std::max(kHighWater, ctx_.config->limits.head.header_bytes + 4096));
  client_->setWriteLowWater(kLowWater);
  client_->setTimeouts(kNoTimeout, ctx_.config->timeouts.client_send);
  // The first request's clock starts at accept, TLS handshake included, so a
  // client that connects and says nothing is treated as a slow header.
  head_timer_started_ = true;
  armTimer(ctx_.config->timeouts.header);
}

void ServerConnection::closeIfIdle() {
  // Between requests: no byte of a next request has arrived (a connection
  // still in its TLS handshake counts too; a partial head stays in the
  // input buffer until it is complete). Closing then loses nothing.
  if (client_state_ == Client::kHead && evbuffer_get_length(input(client_)) == 0) close();
}

void ServerConnection::onStreamRead(net::Stream& stream) {
  if (&stream == client_.get()) return onClientRead();
  onUpstreamRead();
}

void ServerConnection::onStreamWrite(net::Stream& stream) {
  if (&stream == client_.get()) return onClientWrite();
  onUpstreamWrite();
}

void ServerConnection::onStreamEvent(net::Stream& stream, net::StreamEvent event) {
  if (&stream == client_.get()) return onClientEvent(event);
  onUpstreamEvent(event);
}

void ServerConnection::onClientRead() {
  if (!tls_counted_ && listen_.tls && !client_->handshaking()) countTlsHandshake();
  switch (client_state_) {
    case Client::kHead:
      readHeads();
      break;
    case Client::kBody:
      pumpRequestBody();
      break;
    case Client::kOwnBody:
      readOwnBody();
      break;
    case Client::kTunnel:
      pumpTunnel();
      break;
    case Client::kClosing:
      // Keep reading and discarding, so the client sees our answer instead
      // of a reset caused by unread data (a lingering close).
      evbuffer_drain(input(client_), evbuffer_get_length(input(client_)));
      break;
    case Client::kWaiting:  // pipelined bytes wait; the read watermark bounds them
    case Client::kClosed:
      break;
  }
}

void ServerConnection::onClientWrite() {
  if (client_state_ == Client::kClosing) {
    if (evbuffer_get_length(output(client_)) == 0) close();
  } else if (client_state_ == Client::kTunnel) {
    pumpTunnel();
  } else if (upstream_state_ == Upstream::kBody) {
    pumpResponseBody();
  }
}

void ServerConnection::onClientEvent(net::StreamEvent event) {
  if (event == net::StreamEvent::kDeadline) return onTimer();
  if (event == net::StreamEvent::kEof) {
    client_eof_ = true;
    // A client may half-close after a complete request (RFC 9112 §9.6):
    // its response is still delivered. Anything else is an abort.
    if (client_state_ == Client::kWaiting) return;
    if (client_state_ == Client::kClosing && evbuffer_get_length(output(client_)) > 0) return;
  }
  close();
}

void ServerConnection::onTimer() {
  switch (client_state_) {
    case Client::kHead:
      if (head_timer_started_) {
        LOG_DEBUG("%s: request head not received in time", peer_ip_.c_str());
        respondError(408, true);
      } else {
        close();  // idle keep-alive connection
      }
      break;
    case Client::kOwnBody:
      LOG_DEBUG("%s: form body not received in time", peer_ip_.c_str());
      respondError(408, true);
      break;
    case Client::kTunnel:
    case Client::kClosing:
      close();
      break;
    default:
      break;
  }
}

void ServerConnection::armTimer(config::Duration d) {
  client_->setDeadline(d);
}

void ServerConnection::readHeads() {
  evbuffer* in = input(client_);
  size_t available = evbuffer_get_length(in);
  if (available == 0) return;
  if (!head_timer_started_) {
    head_timer_started_ = true;
    armTimer(ctx_.config->timeouts.header);
  }
  size_t view = std::min(available, ctx_.config->limits.head.header_bytes + 64);
  auto* bytes = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ssize_t>(view)));
  if (!ex_) ex_ = ctx_.takeExchange();
  if (!ex_->log.timed) {
    ex_->log.started = SteadyClock::now();
    ex_->log.timed = true;
  }
  switch (ex_->request.parse({bytes, view})) {
    case http::RequestParser::Status::kNeedMore:
      return;
    case http::RequestParser::Status::kError:
      LOG_DEBUG("%s: rejected request: %.*s", peer_ip_.c_str(),
                static_cast<int>(ex_->request.errorReason().size()),
                ex_->request.errorReason().data());
      respondError(ex_->request.errorStatus(), true);
      return;
    case http::RequestParser::Status::kComplete:
      evbuffer_drain(in, ex_->request.consumed());
      client_->setDeadline(kNoTimeout);
      handleRequest();
      return;
  }
}

void ServerConnection::handleRequest() {
  http::RequestHead& req = ex_->request.head();
  ex_->log.due = true;
  // Forward-auth reads nginx's X-Original-URL, which the clean-up below
  // removes (no upstream may be steered by it).
  if (req.target.starts_with("/.sesame")) {
    if (const http::Header* h = req.headers.find("X-Original-URL")) {
      ex_->state.original_url = h->value;
    }
  }
  // First, before sesame adds anything: a Connection option must not remove
  // the identity or forwarding fields added below.
  cleanRequestFields(req, ctx_.config->server.upgrade_protocols);
  chooseRequestId(req.headers, ctx_.request_ids, ex_->request_id);
  static const std::vector<net::Cidr> kNobody;
  ex_->state.client = resolveClient(may_forward_ ? ctx_.config->server.trusted_proxies : kNobody,
                                    peer_ip_, listen_.tls, req.headers);
  ex_->state.keep_alive = req.keep_alive && !ctx_.draining;
  bool has_body = req.body != http::BodyKind::kNone;
  // Routed and forwarded in its one normal spelling, so the application
  // serves what sesame authorised (issue 10 §3); "*" and CONNECT targets are
  // not paths.
  const bool origin_form = req.target.starts_with('/');
  if (origin_form) {
    std::string& normal = ex_->normal_target;
    std::string_view reason =
        http::normalizeTarget(req.target, ctx_.config->server.escaped_slashes, normal);
    if (!reason.empty()) {
      LOG_DEBUG("%s: rejected request: %.*s", peer_ip_.c_str(), static_cast<int>(reason.size()),
                reason.data());
      return respondError(400, true);
    }
    req.target.swap(normal);
  }
  if (listen_.redirect_https) {
    if (req.host.empty()) return respondError(400, true);
    // The https listener's port, not the plain one the client used.
    std::string location = "Location: https://" + std::string(stripPort(req.host)) +
                           ctx_.https_port_suffix + (origin_form ? req.target : "/") + "\r\n";
    return respondError(308, has_body || !ex_->state.keep_alive, location);
  }
  if (origin_form && isOwnTarget(req.target)) return handleOwnRequest();
  Router::TargetMatch found = ctx_.router.matchTarget(req.host, req.target);
  if (found.ambiguous) return respondError(400, true);
  ex_->state.route = found.route;
  if (ex_->state.route == nullptr) return respondError(404, has_body || !ex_->state.keep_alive);
  if (req.method == "CONNECT") return respondError(405, true);
  uint64_t limit = ctx_.config->limits.body_bytes;
  if (limit != 0 && req.body == http::BodyKind::kLength && req.content_length > limit) {
    return respondError(413, true);
  }
  session::stripSpoofable(req.headers, ctx_.identity);
  if (ctx_.sessions) {
    if (ex_->state.route->policy.auth == session::Auth::kPublic) {
      takeCookie(req.headers, ctx_.sessions->settings->cookie_name);
    } else {
      if (!gate_)
        gate_ =
            std::make_unique<SessionGate>(*ctx_.sessions, static_cast<SessionGateOwner&>(*this));
      ex_->state.gated = true;
      // Bytes after the head (a body, pipelined requests) wait unread until
      // the check is done; the read watermark bounds them.
      client_state_ = Client::kWaiting;
      return gate_->checkRequest(req, ex_->state.route->policy, ex_->state.client.https,
                                 ex_->state.client.address);
    }
  }
  forwardRequest();
}

void ServerConnection::handleOwnRequest() {
  http::RequestHead& req = ex_->request.head();
  bool has_body = req.body != http::BodyKind::kNone;
  session::stripSpoofable(req.headers, ctx_.identity);
  if (!ctx_.sessions) return respondError(404, has_body || !ex_->state.keep_alive);
  // Forms are small: a body of unknown length (chunked) or a large one is
  // refused before a byte of it is read.
  if (req.body == http::BodyKind::kChunked) return respondError(411, true);
  if (has_body && req.content_length > auth::kMaxLoginBody) return respondError(413, true);
  if (!gate_)
    gate_ = std::make_unique<SessionGate>(*ctx_.sessions, static_cast<SessionGateOwner&>(*this));
  if (!own_) {
    own_ = std::make_unique<OwnEndpoints>(*ctx_.sessions, *gate_,
                                          static_cast<OwnEndpointsOwner&>(*this));
  }
  ex_->state.gated = true;
  ex_->state.own = true;
  if (has_body && req.content_length > 0) {
    if (req.expect_continue && req.version_minor == 1) {
      evbuffer_add(output(client_), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    client_state_ = Client::kOwnBody;
    armTimer(ctx_.config->timeouts.header);
    return readOwnBody();
  }
  client_state_ = Client::kWaiting;
  own_->start(req, ex_->state.client, std::move(ex_->state.original_url), {});
}

void ServerConnection::readOwnBody() {
  evbuffer* in = input(client_);
  const http::RequestHead& req = ex_->request.head();
  size_t length = static_cast<size_t>(req.content_length);
  if (evbuffer_get_length(in) < length) return;
  std::string body(length, '\0');
  evbuffer_remove(in, body.data(), length);
  client_->setDeadline(kNoTimeout);
  client_state_ = Client::kWaiting;
  own_->start(ex_->request.head(), ex_->state.client, std::move(ex_->state.original_url),
              std::move(body));
}

void ServerConnection::onOwnResponse(const OwnResponse& response) {
  respond(response.status, !ex_->state.keep_alive, response.fields, response.content_type,
          response.body);
}

void Exchange::next() {
  request.reset();
  response.reset();
  request_body = {};
  response_body = {};
  upstream_head.clear();
  normal_target.clear();
  request_id.clear();
  log = {};
  state = {};
}

size_t Exchange::storageBytes() const {
  const http::RequestHead& req = request.head();
  const http::ResponseHead& resp = response.head();
  return sizeof(Exchange) + req.method.capacity() + req.target.capacity() + req.host.capacity() +
         req.headers.storageBytes() + resp.reason.capacity() + resp.headers.storageBytes() +
         upstream_head.capacity() + normal_target.capacity() + state.original_url.capacity();
}

void ServerConnection::onRequestChecked(int status, std::string_view fields) {
  if (ex_->state.own) return own_->onChecked(status);
  if (status == 0) return forwardRequest();
  bool has_body = ex_->request.head().body != http::BodyKind::kNone;
  respondError(status, has_body || !ex_->state.keep_alive, fields);
}

void ServerConnection::forwardRequest() {
  const http::RequestHead& req = ex_->request.head();
  bool has_body = req.body != http::BodyKind::kNone;
  ex_->request_body = http::BodyDecoder(req.body, req.content_length);
  ex_->upstream_head.clear();
  RequestForwarding fwd{peer_ip_,
                        ex_->state.client.https,
                        ctx_.config->upstreams[ex_->state.route->upstream_index].servers[0].address,
                        ex_->request_id.view(),
                        ex_->state.client.address,
                        ex_->state.client.trusted_peer};
  appendUpstreamRequest(ex_->upstream_head, req, fwd);
  if (req.expect_continue && has_body && req.version_minor == 1) {
    evbuffer_add(output(client_), "HTTP/1.1 100 Continue\r\n\r\n", 25);
  }
  client_state_ = has_body ? Client::kBody : Client::kWaiting;
  ex_->log.upstream_started = SteadyClock::now();
  connectUpstream();
}

void ServerConnection::respondError(int status, bool close_after, std::string_view extra_fields) {
  std::string body = std::string(http::reasonPhrase(status)) + "\n";
  respond(status, close_after, extra_fields, "text/plain; charset=utf-8", body);
}

void ServerConnection::respond(int status, bool close_after, std::string_view extra_fields,
                               std::string_view content_type, std::string_view body) {
  close_after = close_after || ctx_.draining;
  std::string response;
  std::string fields(extra_fields);
  if (https()) fields.append(ctx_.hsts_field);
  // Before any byte of a request (a silent connection's 408) the ID names
  // only this answer.
  RequestId unlogged;
  RequestId& id = ex_ ? ex_->request_id : unlogged;
  if (id.empty()) ctx_.request_ids.next(id);
  fields.append("X-Request-Id: ").append(id.view()).append("\r\n");
  bool head = ex_ && ex_->request.head().method == "HEAD";
  appendResponse(response, status, close_after, fields, content_type,
                 head ? std::string_view() : body, body.size());
  evbuffer_add(output(client_), response.data(), response.size());
  if (ex_) logExchange(status, head ? 0 : body.size());
  if (close_after) return closeWhenFlushed();
  nextRequest();
}

void ServerConnection::logExchange(int status, uint64_t bytes) {
  ExchangeLog& info = ex_->log;
  bool parsed = info.due;
  info.due = false;
  SteadyClock::time_point now = SteadyClock::now();
  RouteCounters& route =
      parsed && ex_->state.route != nullptr
          ? *ctx_.route_metrics[static_cast<size_t>(ex_->state.route - ctx_.config->routes.data())]
          : *ctx_.no_route_metrics;
  ctx_.metrics.onRequest(route, status, info.timed ? now - info.started : SteadyClock::duration{});
  if (!ctx_.access_log.enabled()) return;
  AccessRecord record;
  record.client = parsed ? std::string_view(ex_->state.client.address) : std::string_view(peer_ip_);
  record.status = status;
  record.bytes = bytes;
  record.request_id = ex_->request_id.view();
  std::string handle;
  // A head that failed to parse may be half-filled: its line logs "-".
  if (parsed) {
    const http::RequestHead& req = ex_->request.head();
    record.method = req.method;
    // The callback's query holds an authorization code and a state: secrets
    // for as long as the provider would still take the code.
    record.target = std::string_view(req.target).starts_with("/.sesame/oidc/callback?")
                        ? std::string_view("/.sesame/oidc/callback?-")
                        : std::string_view(req.target);
    record.version_minor = req.version_minor;
    if (const http::Header* h = req.headers.find("Referer")) record.referer = h->value;
    if (const http::Header* h = req.headers.find("User-Agent")) record.user_agent = h->value;
    if (ex_->state.gated) {
      handle = gate_->sessionHandle();
      record.session = handle;
      record.user = gate_->user();
    }
  }
  if (info.timed) record.duration_us = micros(now - info.started);
  if (info.upstream != nullptr) {
    record.upstream = *info.upstream;
    record.upstream_us = micros(now - info.upstream_started);
  }
  ctx_.access_log.write(record);
}

void ServerConnection::countTlsHandshake() {
  tls_counted_ = true;
  // Still handshaking at close: the client gave up, or the handshake failed.
  ctx_.metrics.onTlsHandshake(!client_->handshaking());
}

void ServerConnection::countUpstreamError(UpstreamError kind) {
  ctx_.metrics.onUpstreamError(*ctx_.upstream_metrics[ex_->state.route->upstream_index], kind);
}

bool ServerConnection::https() const {
  return ex_ && ex_->log.due ? ex_->state.client.https : listen_.tls;
}

std::string ServerConnection::requestTag() const {
  return ex_ && !ex_->request_id.empty() ? std::string(ex_->request_id.view()) : "-";
}

void ServerConnection::closeWhenFlushed() {
  dropUpstream();
  client_state_ = Client::kClosing;
  client_->setWriteLowWater(0);
  client_->setReadEnabled(true);
  // Give a client that does not read its answer a bounded time.
  armTimer(ctx_.config->timeouts.client_send);
  if (evbuffer_get_length(output(client_)) == 0) close();
}

void ServerConnection::dropUpstream() {
  if (upstream_) {
    upstream_->stream->disable();
    ctx_.graveyard.bury(std::move(upstream_));
  }
  upstream_state_ = Upstream::kNone;
}

void ServerConnection::close() {
  if (client_state_ == Client::kClosed) return;
  client_state_ = Client::kClosed;
  if (ex_ && ex_->log.due) {
    // Cut short: by the client before any answer (499, as nginx logs it),
    // or by either side in the middle of a response.
    int status = ex_->log.status;
    uint64_t bytes = status == 101 ? ex_->log.tunnel_bytes : ex_->response_body.payloadBytes();
    logExchange(status == 0 ? 499 : status, status == 0 ? 0 : bytes);
  }
  if (gate_) gate_->cancel();
  if (own_) own_->cancel();
  if (!tls_counted_ && listen_.tls) countTlsHandshake();
  ctx_.metrics.onConnectionClosed();
  dropUpstream();
  client_->setDeadline(kNoTimeout);
  client_->disable();
  ctx_.graveyard.bury(ctx_.release(this));
}

}  // namespace sesame::proxy

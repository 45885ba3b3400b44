#include "sesame/proxy/server_connection.h"

#include <event2/buffer.h>

#include <algorithm>

#include "sesame/base/log.h"
#include "sesame/proxy/body_pump.h"
#include "sesame/proxy/forwarding.h"
#include "sesame/session/identity_filter.h"

namespace sesame::proxy {
namespace {

// Per direction, at most this much payload waits in sesame's buffers before
// the reading side is paused; bounds memory per connection whatever the
// message size (a 1 GiB body costs the same as a 1 MiB one).
constexpr size_t kHighWater = 256 * 1024;
// The paused side resumes once the writer has drained below this.
constexpr size_t kLowWater = 64 * 1024;
// Bytes of a response head sesame will buffer from an upstream.
constexpr size_t kMaxResponseHead = 64 * 1024;

constexpr net::Stream::Duration kNoTimeout{0};

using SteadyClock = std::chrono::steady_clock;

int64_t micros(SteadyClock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

evbuffer* input(const std::unique_ptr<net::Stream>& s) {
  return s->input();
}
evbuffer* output(const std::unique_ptr<net::Stream>& s) {
  return s->output();
}

}  // namespace

ServerConnection::ServerConnection(Context& ctx, const config::ListenConfig& listen,
                                   std::unique_ptr<net::Stream> stream, const net::Address& peer)
    : ctx_(ctx), listen_(listen), client_(std::move(stream)), peer_ip_(peer.hostString()) {}

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
  switch (client_state_) {
    case Client::kHead:
      readHeads();
      break;
    case Client::kBody:
      pumpRequestBody();
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
  if (!ex_) ex_ = std::make_unique<Exchange>(ctx_.config->limits.head, kMaxResponseHead);
  if (!ex_->log.timed && ctx_.access_log.enabled()) {
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
  gated_ = false;
  ex_->log.due = true;
  chooseRequestId(req.headers, ctx_.request_ids, ex_->request_id);
  keep_alive_ = req.keep_alive && !ctx_.draining;
  bool has_body = req.body != http::BodyKind::kNone;
  if (listen_.redirect_https) {
    if (req.host.empty()) return respondError(400, true);
    // The https listener's port, not the plain one the client used.
    std::string location = "Location: https://" + std::string(stripPort(req.host)) +
                           ctx_.https_port_suffix + req.target + "\r\n";
    return respondError(308, has_body || !keep_alive_, location);
  }
  route_ = ctx_.router.match(req.host, req.target);
  if (route_ == nullptr) return respondError(404, has_body || !keep_alive_);
  if (req.method == "CONNECT") return respondError(405, true);
  uint64_t limit = ctx_.config->limits.body_bytes;
  if (limit != 0 && req.body == http::BodyKind::kLength && req.content_length > limit) {
    return respondError(413, true);
  }
  session::stripSpoofable(req.headers, ctx_.identity);
  if (ctx_.sessions) {
    if (route_->policy.auth == session::Auth::kPublic) {
      takeCookie(req.headers, ctx_.sessions->settings->cookie_name);
    } else {
      if (!gate_)
        gate_ = std::make_unique<SessionGate>(*ctx_.sessions, listen_.tls,
                                              static_cast<SessionGateOwner&>(*this));
      gated_ = true;
      // Bytes after the head (a body, pipelined requests) wait unread until
      // the check is done; the read watermark bounds them.
      client_state_ = Client::kWaiting;
      return gate_->checkRequest(req, route_->policy);
    }
  }
  forwardRequest();
}

void ServerConnection::onRequestChecked(int status, std::string_view fields) {
  if (status == 0) return forwardRequest();
  bool has_body = ex_->request.head().body != http::BodyKind::kNone;
  respondError(status, has_body || !keep_alive_, fields);
}

void ServerConnection::forwardRequest() {
  const http::RequestHead& req = ex_->request.head();
  bool has_body = req.body != http::BodyKind::kNone;
  ex_->request_body = http::BodyDecoder(req.body, req.content_length);
  ex_->upstream_head.clear();
  RequestForwarding fwd{peer_ip_, listen_.tls,
                        ctx_.config->upstreams[route_->upstream_index].servers[0].address,
                        ex_->request_id.view()};
  appendUpstreamRequest(ex_->upstream_head, req, fwd);
  if (req.expect_continue && has_body && req.version_minor == 1) {
    evbuffer_add(output(client_), "HTTP/1.1 100 Continue\r\n\r\n", 25);
  }
  client_state_ = has_body ? Client::kBody : Client::kWaiting;
  attempt_ = 0;
  if (ctx_.access_log.enabled()) ex_->log.upstream_started = SteadyClock::now();
  connectUpstream();
}

void ServerConnection::connectUpstream() {
  UpstreamPool& pool = *ctx_.pools[route_->upstream_index];
  upstream_ = pool.acquire(attempt_, first_server_);
  if (!upstream_) {
    if (!retryUpstream()) upstreamFailed(502, "no socket");
    return;
  }
  ex_->log.upstream =
      &ctx_.config->upstreams[route_->upstream_index].servers[upstream_->server].address;
  net::Stream& stream = *upstream_->stream;
  stream.setHandler(this);
  stream.setReadHighWater(kHighWater);
  stream.setWriteLowWater(kLowWater);
  if (upstream_->reused) {
    onUpstreamConnected();
  } else {
    upstream_state_ = Upstream::kConnecting;
  }
}

bool ServerConnection::retryUpstream() {
  // Each server once, plus one more try when the first pick was a pooled
  // connection the server had already closed.
  size_t servers = ctx_.pools[route_->upstream_index]->serverCount();
  if (++attempt_ > servers) return false;
  connectUpstream();
  return true;
}

void ServerConnection::onUpstreamConnected() {
  upstream_state_ = Upstream::kHead;
  net::Stream& stream = *upstream_->stream;
  config::Duration io = ctx_.config->timeouts.upstream_read;
  // The read clock runs only once the request is fully sent: an upstream is
  // silent while it receives a long upload.
  stream.setTimeouts(client_state_ == Client::kBody ? kNoTimeout : io, io);
  ex_->response.reset();
  response_started_ = false;
  evbuffer_add(stream.output(), ex_->upstream_head.data(), ex_->upstream_head.size());
  if (client_state_ == Client::kBody) pumpRequestBody();
}

void ServerConnection::pumpRequestBody() {
  if (upstream_state_ == Upstream::kNone || upstream_state_ == Upstream::kConnecting) return;
  bool chunked = ex_->request_body.kind() == http::BodyKind::kChunked;
  PumpResult r =
      pumpBody(ex_->request_body, input(client_), output(upstream_->stream), chunked, kHighWater);
  uint64_t limit = ctx_.config->limits.body_bytes;
  if (limit != 0 && ex_->request_body.payloadBytes() > limit) {
    dropUpstream();
    return response_started_ ? close() : respondError(413, true);
  }
  if (r == PumpResult::kError) {
    dropUpstream();
    return response_started_ ? close() : respondError(400, true);
  }
  if (r == PumpResult::kDone) {
    client_state_ = Client::kWaiting;
    config::Duration io = ctx_.config->timeouts.upstream_read;
    upstream_->stream->setTimeouts(io, io);
  }
}

void ServerConnection::onUpstreamWrite() {
  if (client_state_ == Client::kBody) {
    pumpRequestBody();
  } else if (client_state_ == Client::kTunnel) {
    pumpTunnel();
  }
}

void ServerConnection::onUpstreamRead() {
  if (client_state_ == Client::kTunnel) return pumpTunnel();
  if (upstream_state_ == Upstream::kHead) return readResponse();
  if (upstream_state_ == Upstream::kBody) return pumpResponseBody();
}

void ServerConnection::readResponse() {
  evbuffer* in = input(upstream_->stream);
  while (upstream_state_ == Upstream::kHead) {
    size_t available = evbuffer_get_length(in);
    if (available == 0) return;
    size_t view = std::min(available, kMaxResponseHead + 64);
    auto* bytes = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ssize_t>(view)));
    const http::RequestHead& req = ex_->request.head();
    switch (ex_->response.parse({bytes, view}, req.method)) {
      case http::ResponseParser::Status::kNeedMore:
        return;
      case http::ResponseParser::Status::kError: {
        std::string why = "invalid response: " + std::string(ex_->response.errorReason());
        return upstreamFailed(502, why.c_str());
      }
      case http::ResponseParser::Status::kComplete:
        break;
    }
    evbuffer_drain(in, ex_->response.consumed());
    int status = ex_->response.head().status;
    if (status == 101) {
      if (!req.upgrade) return upstreamFailed(502, "101 Switching Protocols without an upgrade");
      return startTunnel();
    }
    if (status >= 100 && status < 200) {
      // Interim responses go to HTTP/1.1 clients; 100 only when the client
      // asked for it and sesame has not already answered it.
      bool forward = req.version_minor == 1 && status != 100;
      if (forward) {
        std::string head;
        appendClientResponse(head, ex_->response.head(), {});
        evbuffer_add(output(client_), head.data(), head.size());
      }
      ex_->response.reset();
      continue;
    }
    if (gated_) {
      switch (gate_->applyControl(ex_->response.head())) {
        case SessionGate::Control::kSend:
          break;
        case SessionGate::Control::kRefuse:
          dropUpstream();
          return respondError(503, true);
        case SessionGate::Control::kPending:
          upstream_state_ = Upstream::kHeld;
          return;
      }
    }
    // The response may complete here and the next pipelined request start
    // on another upstream connection: `in` is stale after this call.
    sendResponseHead();
    return pumpResponseBody();
  }
}

void ServerConnection::onResponseApplied(bool ok) {
  if (!ok) {
    dropUpstream();
    return respondError(503, true);
  }
  sendResponseHead();
  pumpResponseBody();
}

void ServerConnection::sendResponseHead() {
  const http::RequestHead& req = ex_->request.head();
  http::ResponseHead& resp = ex_->response.head();
  bool http11 = req.version_minor == 1;
  // A body still arriving from the client when the answer comes cannot be
  // delimited for a next request: this response is the connection's last.
  bool close = !keep_alive_ || ctx_.draining || client_eof_ || client_state_ == Client::kBody;
  chunked_out_ = false;
  if (resp.body == http::BodyKind::kChunked || resp.body == http::BodyKind::kUntilClose) {
    if (http11) {
      chunked_out_ = true;
    } else {
      close = true;  // HTTP/1.0: the body ends with the connection
    }
  }
  keep_alive_ = !close;
  std::string extra;
  if (listen_.tls && !resp.headers.find("Strict-Transport-Security")) extra = ctx_.hsts_field;
  if (gated_) {
    extra.append(gate_->responseFields());
    if (gate_->noStore()) {
      // A logout answer must not be replayed from any cache.
      resp.headers.remove("Cache-Control");
      extra.append("Cache-Control: no-store\r\n");
    }
  }
  ResponseForwarding fwd{chunked_out_, close, !http11 && !close, false, extra};
  fwd.request_id = ex_->request_id.view();
  std::string head;
  head.reserve(512);
  appendClientResponse(head, resp, fwd);
  evbuffer_add(output(client_), head.data(), head.size());
  response_started_ = true;
  ex_->log.status = resp.status;
  ex_->response_body = http::BodyDecoder(resp.body, resp.content_length);
  upstream_state_ = Upstream::kBody;
}

void ServerConnection::pumpResponseBody() {
  evbuffer* in = input(upstream_->stream);
  PumpResult r = pumpBody(ex_->response_body, in, output(client_), chunked_out_, kHighWater);
  if (r == PumpResult::kError) {
    LOG_WARN(
        "upstream %s: malformed response body framing (request %s); the client got a truncated "
        "response: fix the application's Content-Length or chunked encoding",
        ctx_.config->upstreams[route_->upstream_index].servers[upstream_->server].address.c_str(),
        requestTag().c_str());
    // The head already went out: deliver what passed validation, then close,
    // so the client sees a truncated message rather than nothing.
    return closeWhenFlushed();
  }
  if (r == PumpResult::kDone) return finishResponse();
  if (upstream_eof_ && evbuffer_get_length(in) == 0) {
    if (ex_->response_body.kind() != http::BodyKind::kUntilClose) return closeWhenFlushed();
    if (chunked_out_) evbuffer_add(output(client_), "0\r\n\r\n", 5);
    finishResponse();
  }
}

void ServerConnection::finishResponse() {
  bool reusable = ex_->response.head().keep_alive && client_state_ == Client::kWaiting &&
                  !upstream_eof_ && evbuffer_get_length(input(upstream_->stream)) == 0;
  if (reusable) {
    upstream_->pool->release(std::move(upstream_));
    upstream_state_ = Upstream::kNone;
  } else {
    dropUpstream();
  }
  upstream_eof_ = false;
  logExchange(ex_->log.status, ex_->response_body.payloadBytes());
  if (client_state_ != Client::kWaiting) return closeWhenFlushed();
  nextRequest();
}

void ServerConnection::nextRequest() {
  if (!keep_alive_ || client_eof_ || ctx_.draining) return closeWhenFlushed();
  client_state_ = Client::kHead;
  head_timer_started_ = false;
  armTimer(ctx_.config->timeouts.idle);
  if (evbuffer_get_length(input(client_)) == 0) {
    // Idle keep-alive connections are most connections: drop per-request
    // state now and build it again when the next request's first byte
    // arrives (about 1 KiB per idle connection, more with many fields).
    ex_.reset();
    return;
  }
  if (ex_) {
    ex_->request.reset();
    ex_->request_id.clear();
    ex_->log = {};
  }
  readHeads();
}

void ServerConnection::startTunnel() {
  std::string head;
  ResponseForwarding fwd;
  fwd.upgrade = true;
  fwd.request_id = ex_->request_id.view();
  appendClientResponse(head, ex_->response.head(), fwd);
  evbuffer_add(output(client_), head.data(), head.size());
  response_started_ = true;
  ex_->log.status = ex_->response.head().status;
  client_state_ = Client::kTunnel;
  upstream_state_ = Upstream::kBody;
  upstream_->stream->setTimeouts(kNoTimeout, kNoTimeout);
  pumpTunnel();
}

void ServerConnection::pumpTunnel() {
  evbuffer* client_in = input(client_);
  evbuffer* client_out = output(client_);
  evbuffer* up_in = input(upstream_->stream);
  evbuffer* up_out = output(upstream_->stream);
  size_t moved = 0;
  if (evbuffer_get_length(up_out) < kHighWater) {
    moved += evbuffer_get_length(client_in);
    evbuffer_add_buffer(up_out, client_in);
  }
  if (evbuffer_get_length(client_out) < kHighWater) {
    ex_->log.tunnel_bytes += evbuffer_get_length(up_in);
    moved += evbuffer_get_length(up_in);
    evbuffer_add_buffer(client_out, up_in);
  }
  if (moved > 0) armTimer(ctx_.config->timeouts.tunnel_idle);
  if (upstream_eof_ && evbuffer_get_length(up_in) == 0) closeWhenFlushed();
}

void ServerConnection::onUpstreamEvent(net::StreamEvent event) {
  if (event == net::StreamEvent::kConnected) return onUpstreamConnected();
  const std::string& server =
      ctx_.config->upstreams[route_->upstream_index].servers[upstream_->server].address;
  if (upstream_state_ == Upstream::kHeld) {
    // The body waits in the buffer; pumpResponseBody sees the end later.
    if (event == net::StreamEvent::kEof) {
      upstream_eof_ = true;
      return;
    }
    gate_->cancel();
    return upstreamFailed(502, "connection lost while the session store was busy");
  }
  if (upstream_state_ == Upstream::kConnecting) {
    if (event == net::StreamEvent::kWriteTimeout) {
      LOG_WARN(
          "upstream %s: connect timed out after %lld ms (request %s): check the server and the "
          "network, or raise timeouts.upstream_connect",
          server.c_str(), static_cast<long long>(ctx_.config->timeouts.upstream_connect.count()),
          requestTag().c_str());
    } else {
      LOG_WARN(
          "upstream %s: connect failed (request %s): check that the server runs and listens "
          "there",
          server.c_str(), requestTag().c_str());
    }
    dropUpstream();
    if (!retryUpstream()) upstreamFailed(502, "no upstream server answered");
    return;
  }
  if (event == net::StreamEvent::kReadTimeout || event == net::StreamEvent::kWriteTimeout) {
    if (upstream_state_ == Upstream::kHead) return upstreamFailed(504, "response timed out");
    LOG_WARN(
        "upstream %s: silent for timeouts.upstream_read (%lld ms) in the middle of a response "
        "(request %s); the client got a truncated response",
        server.c_str(), static_cast<long long>(ctx_.config->timeouts.upstream_read.count()),
        requestTag().c_str());
    return closeWhenFlushed();
  }
  bool eof = event == net::StreamEvent::kEof;
  if (upstream_state_ == Upstream::kHead) {
    // A pooled connection the server closed before we used it: the request
    // never reached an application, so sending it again is safe when the
    // client's body is not already consumed.
    bool nothing_received = evbuffer_get_length(input(upstream_->stream)) == 0;
    if (upstream_->reused && nothing_received &&
        ex_->request_body.kind() == http::BodyKind::kNone) {
      dropUpstream();
      if (retryUpstream()) return;
    }
    return upstreamFailed(502, eof ? "closed before responding" : "connection error");
  }
  if (eof) {
    upstream_eof_ = true;
    if (client_state_ == Client::kTunnel) return pumpTunnel();
    return pumpResponseBody();
  }
  LOG_WARN(
      "upstream %s: connection error in the middle of a response (request %s); the client got a "
      "truncated response",
      server.c_str(), requestTag().c_str());
  close();
}

void ServerConnection::upstreamFailed(int status, const char* why) {
  if (route_ != nullptr) {
    const config::UpstreamConfig& up = ctx_.config->upstreams[route_->upstream_index];
    const std::string* server = ex_ ? ex_->log.upstream : nullptr;
    LOG_WARN("upstream \"%s\"%s%s: %s; answering %d to %s (request %s)", up.name.c_str(),
             server != nullptr ? " at " : "", server != nullptr ? server->c_str() : "", why, status,
             peer_ip_.c_str(), requestTag().c_str());
  }
  dropUpstream();
  if (response_started_) return closeWhenFlushed();
  respondError(status, true);
}

void ServerConnection::respondError(int status, bool close_after, std::string_view extra_fields) {
  close_after = close_after || ctx_.draining;
  std::string response;
  std::string fields(extra_fields);
  if (listen_.tls) fields.append(ctx_.hsts_field);
  // Before any byte of a request (a silent connection's 408) the ID names
  // only this answer.
  RequestId unlogged;
  RequestId& id = ex_ ? ex_->request_id : unlogged;
  if (id.empty()) ctx_.request_ids.next(id);
  fields.append("X-Request-Id: ").append(id.view()).append("\r\n");
  bool head = ex_ && ex_->request.head().method == "HEAD";
  appendErrorResponse(response, status, close_after, fields, head);
  evbuffer_add(output(client_), response.data(), response.size());
  if (ex_) {
    size_t body = head ? 0 : response.size() - (response.find("\r\n\r\n") + 4);
    logExchange(status, body);
  }
  if (close_after) return closeWhenFlushed();
  nextRequest();
}

void ServerConnection::logExchange(int status, uint64_t bytes) {
  ExchangeLog& info = ex_->log;
  bool parsed = info.due;
  info.due = false;
  if (!ctx_.access_log.enabled()) return;
  SteadyClock::time_point now = SteadyClock::now();
  AccessRecord record;
  record.client = peer_ip_;
  record.status = status;
  record.bytes = bytes;
  record.request_id = ex_->request_id.view();
  std::string handle;
  // A head that failed to parse may be half-filled: its line logs "-".
  if (parsed) {
    const http::RequestHead& req = ex_->request.head();
    record.method = req.method;
    record.target = req.target;
    record.version_minor = req.version_minor;
    if (const http::Header* h = req.headers.find("Referer")) record.referer = h->value;
    if (const http::Header* h = req.headers.find("User-Agent")) record.user_agent = h->value;
    if (gated_) {
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
  dropUpstream();
  client_->setDeadline(kNoTimeout);
  client_->disable();
  ctx_.graveyard.bury(ctx_.release(this));
}

}  // namespace sesame::proxy

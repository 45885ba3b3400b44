// ServerConnection, upstream side: connecting (with retries on the next
// server), sending the request body, reading the response head, holding it
// for the session gate, streaming the body back, tunnels, upstream failures.
#include <event2/buffer.h>

#include <algorithm>

#include "connection_io.h"
#include "sesame/base/log.h"
#include "sesame/proxy/body_pump.h"
#include "sesame/proxy/forwarding.h"
#include "sesame/proxy/server_connection.h"
#include "sesame/session/cache_control.h"
#include "sesame/session/cookie_header.h"

namespace sesame::proxy {

using namespace io;

void ServerConnection::connectUpstream() {
  UpstreamPool& pool = *ctx_.pools[ex_->state.route->upstream_index];
  upstream_ = pool.acquire(ex_->state.attempt, ex_->state.first_server);
  if (!upstream_) {
    countUpstreamError(UpstreamError::kConnect);
    if (!retryUpstream()) upstreamFailed(502, "no socket");
    return;
  }
  ex_->log.upstream =
      &ctx_.config->upstreams[ex_->state.route->upstream_index].servers[upstream_->server].address;
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
  size_t servers = ctx_.pools[ex_->state.route->upstream_index]->serverCount();
  if (++ex_->state.attempt > servers) return false;
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
    return ex_->state.response_started ? close() : respondError(413, true);
  }
  if (r == PumpResult::kError) {
    dropUpstream();
    return ex_->state.response_started ? close() : respondError(400, true);
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
        countUpstreamError(UpstreamError::kBadResponse);
        return upstreamFailed(502, why.c_str());
      }
      case http::ResponseParser::Status::kComplete:
        break;
    }
    evbuffer_drain(in, ex_->response.consumed());
    if (ctx_.sessions) dropPlantedCookies();
    int status = ex_->response.head().status;
    // Before anything looks at the fields (HSTS present? Cache-Control strict
    // enough?): a field the upstream names in Connection is gone by then.
    ex_->response.head().headers.removeHopByHop(status == 101);
    if (status == 101 || status >= 200) {
      ctx_.metrics.onUpstream(*ctx_.upstream_metrics[ex_->state.route->upstream_index],
                              std::chrono::steady_clock::now() - ex_->log.upstream_started);
    }
    if (status == 101) {
      if (!upgradeAccepted(req, ex_->response.head())) {
        countUpstreamError(UpstreamError::kBadResponse);
        return upstreamFailed(502,
                              "101 Switching Protocols to a protocol the request did not offer");
      }
      return startTunnel();
    }
    if (status >= 100 && status < 200) {
      // Interim responses go to HTTP/1.1 clients; 100 only when the client
      // asked for it and sesame has not already answered it. Not while the
      // client leaves kHighWater unread: an upstream sending 1xx without
      // end would grow the buffer without bound, and they are only
      // informational (the final response still comes).
      bool forward = req.version_minor == 1 && status != 100 &&
                     evbuffer_get_length(output(client_)) < kHighWater;
      if (forward) sendClientResponse({});
      ex_->response.reset();
      continue;
    }
    if (ex_->state.gated) {
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

void ServerConnection::dropPlantedCookies() {
  // Whatever the route: an application, or whatever can add a response
  // field there, must not set a session in the browser (sesame's own
  // Set-Cookie goes out in the extra fields, after this).
  SessionContext& sessions = *ctx_.sessions;
  const std::string& name = sessions.settings->cookie_name;
  if (session::removeSetCookies(ex_->response.head().headers, name) == 0) return;
  size_t index = static_cast<size_t>(ex_->state.route - ctx_.config->routes.data());
  if (sessions.planted_cookie_logged[index]) return;
  sessions.planted_cookie_logged[index] = true;
  LOG_WARN(
      "upstream \"%s\" sent a Set-Cookie for sesame's session cookie \"%s\" (route \"%s%s\", "
      "request %s); removed it from the response: the application must not set that cookie "
      "(logged once per route and worker)",
      ctx_.config->upstreams[ex_->state.route->upstream_index].name.c_str(), name.c_str(),
      ex_->state.route->host.c_str(), ex_->state.route->path.c_str(), requestTag().c_str());
}

void ServerConnection::onResponseApplied(bool ok) {
  if (ex_->state.own) return own_->onApplied(ok);
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
  bool close =
      !ex_->state.keep_alive || ctx_.draining || client_eof_ || client_state_ == Client::kBody;
  if (resp.body == http::BodyKind::kChunked || resp.body == http::BodyKind::kUntilClose) {
    if (http11) {
      ex_->state.chunked_out = true;
    } else {
      close = true;  // HTTP/1.0: the body ends with the connection
    }
  }
  ex_->state.keep_alive = !close;
  std::string& extra = ctx_.scratch_fields;
  extra.clear();
  if (https() && !resp.headers.find("Strict-Transport-Security")) extra = ctx_.hsts_field;
  if (ex_->state.gated) {
    extra.append(gate_->responseFields());
    // No cache may hand this session cookie (or its clearing) to others.
    if (gate_->noStore()) session::forbidCaching(resp.headers);
  }
  ResponseForwarding fwd{ex_->state.chunked_out, close, !http11 && !close, false, extra};
  fwd.request_id = ex_->request_id.view();
  sendClientResponse(fwd);
  ex_->state.response_started = true;
  ex_->log.status = resp.status;
  ex_->response_body = http::BodyDecoder(resp.body, resp.content_length);
  upstream_state_ = Upstream::kBody;
}

void ServerConnection::sendClientResponse(const ResponseForwarding& fwd) {
  std::string& head = ctx_.scratch_head;
  head.clear();
  appendClientResponse(head, ex_->response.head(), fwd);
  evbuffer_add(output(client_), head.data(), head.size());
}

void ServerConnection::pumpResponseBody() {
  evbuffer* in = input(upstream_->stream);
  PumpResult r =
      pumpBody(ex_->response_body, in, output(client_), ex_->state.chunked_out, kHighWater);
  if (r == PumpResult::kError) {
    countUpstreamError(UpstreamError::kBadResponse);
    LOG_WARN_LIMITED(
        "upstream %s: malformed response body framing (request %s); the client got a truncated "
        "response: fix the application's Content-Length or chunked encoding",
        ctx_.config->upstreams[ex_->state.route->upstream_index]
            .servers[upstream_->server]
            .address.c_str(),
        requestTag().c_str());
    // The head already went out: deliver what passed validation, then close,
    // so the client sees a truncated message rather than nothing.
    return closeWhenFlushed();
  }
  if (r == PumpResult::kDone) return finishResponse();
  if (ex_->state.upstream_eof && evbuffer_get_length(in) == 0) {
    if (ex_->response_body.kind() != http::BodyKind::kUntilClose) return closeWhenFlushed();
    if (ex_->state.chunked_out) evbuffer_add(output(client_), "0\r\n\r\n", 5);
    finishResponse();
  }
}

void ServerConnection::finishResponse() {
  bool reusable = ex_->response.head().keep_alive && client_state_ == Client::kWaiting &&
                  !ex_->state.upstream_eof && evbuffer_get_length(input(upstream_->stream)) == 0;
  if (reusable) {
    upstream_->pool->release(std::move(upstream_));
    upstream_state_ = Upstream::kNone;
  } else {
    dropUpstream();
  }
  logExchange(ex_->log.status, ex_->response_body.payloadBytes());
  if (client_state_ != Client::kWaiting) return closeWhenFlushed();
  nextRequest();
}

void ServerConnection::nextRequest() {
  if (!ex_->state.keep_alive || client_eof_ || ctx_.draining) return closeWhenFlushed();
  client_state_ = Client::kHead;
  head_timer_started_ = false;
  armTimer(ctx_.config->timeouts.idle);
  if (evbuffer_get_length(input(client_)) == 0) {
    // Idle keep-alive connections are most connections: give the
    // per-request state back now and take one again when the next
    // request's first byte arrives (about 1 KiB per idle connection, more
    // with many fields).
    if (gate_) gate_->forgetRequest();
    ctx_.recycleExchange(std::move(ex_));
    return;
  }
  if (ex_) ex_->next();
  readHeads();
}

void ServerConnection::startTunnel() {
  ResponseForwarding fwd;
  fwd.upgrade = true;
  fwd.request_id = ex_->request_id.view();
  sendClientResponse(fwd);
  ex_->state.response_started = true;
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
  if (ex_->state.upstream_eof && evbuffer_get_length(up_in) == 0) closeWhenFlushed();
}

void ServerConnection::onUpstreamEvent(net::StreamEvent event) {
  if (event == net::StreamEvent::kConnected) return onUpstreamConnected();
  const std::string& server =
      ctx_.config->upstreams[ex_->state.route->upstream_index].servers[upstream_->server].address;
  if (upstream_state_ == Upstream::kHeld) {
    // The body waits in the buffer; pumpResponseBody sees the end later.
    if (event == net::StreamEvent::kEof) {
      ex_->state.upstream_eof = true;
      return;
    }
    gate_->cancel();
    countUpstreamError(UpstreamError::kReset);
    return upstreamFailed(502, "connection lost while the session store was busy");
  }
  if (upstream_state_ == Upstream::kConnecting) {
    countUpstreamError(UpstreamError::kConnect);
    if (event == net::StreamEvent::kWriteTimeout) {
      LOG_WARN_LIMITED(
          "upstream %s: connect timed out after %lld ms (request %s): check the server and the "
          "network, or raise timeouts.upstream_connect",
          server.c_str(), static_cast<long long>(ctx_.config->timeouts.upstream_connect.count()),
          requestTag().c_str());
    } else {
      LOG_WARN_LIMITED(
          "upstream %s: connect failed (request %s): check that the server runs and listens "
          "there",
          server.c_str(), requestTag().c_str());
    }
    dropUpstream();
    if (!retryUpstream()) upstreamFailed(502, "no upstream server answered");
    return;
  }
  if (event == net::StreamEvent::kReadTimeout || event == net::StreamEvent::kWriteTimeout) {
    countUpstreamError(UpstreamError::kTimeout);
    if (upstream_state_ == Upstream::kHead) return upstreamFailed(504, "response timed out");
    LOG_WARN_LIMITED(
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
    countUpstreamError(UpstreamError::kReset);
    return upstreamFailed(502, eof ? "closed before responding" : "connection error");
  }
  if (eof) {
    ex_->state.upstream_eof = true;
    if (client_state_ == Client::kTunnel) return pumpTunnel();
    return pumpResponseBody();
  }
  countUpstreamError(UpstreamError::kReset);
  LOG_WARN_LIMITED(
      "upstream %s: connection error in the middle of a response (request %s); the client got a "
      "truncated response",
      server.c_str(), requestTag().c_str());
  close();
}

void ServerConnection::upstreamFailed(int status, const char* why) {
  if (ex_->state.route != nullptr) {
    const config::UpstreamConfig& up = ctx_.config->upstreams[ex_->state.route->upstream_index];
    const std::string* server = ex_->log.upstream;
    LOG_WARN_LIMITED("upstream \"%s\"%s%s: %s; answering %d to %s (request %s)", up.name.c_str(),
                     server != nullptr ? " at " : "", server != nullptr ? server->c_str() : "", why,
                     status, peer_ip_.c_str(), requestTag().c_str());
  }
  dropUpstream();
  if (ex_->state.response_started) return closeWhenFlushed();
  respondError(status, true);
}

}  // namespace sesame::proxy

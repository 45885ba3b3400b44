#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>

#include <algorithm>
#include <utility>

#include "core.h"
#include "sesame/base/log.h"

namespace sesame::outbound::detail {
namespace {

// A server may send a few interim responses (103 Early Hints); an endless stream of them is
// an attack on the loop, ended here rather than by the request timeout alone.
constexpr int kMaxInterimResponses = 8;

std::string seconds(Millis d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s"
                               : std::to_string(d.count()) + "ms";
}

net::Address withPort(net::Address address, uint16_t port) {
  if (address.family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&address.storage)->sin_port = htons(port);
  } else if (address.family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&address.storage)->sin6_port = htons(port);
  }
  return address;
}

timeval toTimeval(Millis d) {
  const auto ms = std::max<Millis::rep>(d.count(), 0);
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace

Exchange::Exchange(Core& core, uint64_t id, Request request, Url url, Callback done)
    : core_(core),
      id_(id),
      request_(std::move(request)),
      url_(std::move(url)),
      done_(std::move(done)),
      parser_(core.options().max_head) {}

Exchange::~Exchange() = default;

void Exchange::start() {
  deadline_.reset(evtimer_new(core_.base(), onDeadlineThunk, this));
  const timeval tv = toTimeval(core_.options().request_timeout);
  if (deadline_ == nullptr || evtimer_add(deadline_.get(), &tv) != 0) {
    return fail("cannot add a timer to the event loop (out of memory?)");
  }
  if (std::unique_ptr<Connection> idle = core_.takeIdle(origin())) {
    connection_ = std::move(idle);
    connection_->setOwner(this);
    reused_ = true;
    return send();
  }
  freshConnection();
}

void Exchange::abandon() {
  phase_ = Phase::kDone;
  if (deadline_ != nullptr) evtimer_del(deadline_.get());
  if (connection_ != nullptr) core_.bury(std::move(connection_));
}

void Exchange::onDeadlineThunk(int, short, void* arg) {
  auto* self = static_cast<Exchange*>(arg);
  const char* during = self->phase_ == Phase::kLookup    ? "looking up the name"
                       : self->phase_ == Phase::kConnect ? "connecting"
                       : self->phase_ == Phase::kHead    ? "waiting for the response"
                                                         : "reading the response body";
  self->fail("timed out after " + seconds(self->core_.options().request_timeout) + " " + during);
}

void Exchange::freshConnection() {
  reused_ = false;
  addresses_.clear();
  next_address_ = 0;
  connect_errors_.clear();
  if (url_.ip_literal) {
    std::string error;
    std::optional<net::Address> literal = net::resolveNumeric({url_.host, url_.port}, &error);
    if (!literal) return fail(error);
    addresses_.push_back(*literal);
    return connectNext();
  }
  phase_ = Phase::kLookup;
  core_.resolve(url_.host, id_);
}

void Exchange::onResolved(const LookupResult& result) {
  if (phase_ != Phase::kLookup) return;
  if (!result.error.empty() || result.addresses.empty()) {
    return fail(result.error.empty() ? url_.host + " resolves to no address" : result.error);
  }
  for (const net::Address& address : result.addresses) {
    addresses_.push_back(withPort(address, url_.port));
  }
  connectNext();
}

void Exchange::connectNext() {
  phase_ = Phase::kConnect;
  ssl_ctx_st* ssl_ctx = url_.https ? core_.sslCtx() : nullptr;
  while (next_address_ < addresses_.size()) {
    const net::Address& peer = addresses_[next_address_++];
    std::string error;
    connection_ = Connection::open(core_.base(), ssl_ctx, url_, peer, this, &error);
    if (connection_ != nullptr) {
      connection_->armTimer(core_.options().connect_timeout);
      return;
    }
    onConnectFailed(peer, error);
  }
  fail(connect_errors_);
}

void Exchange::onConnectFailed(const net::Address& peer, const std::string& why) {
  if (!connect_errors_.empty()) connect_errors_ += "; ";
  const std::string host =
      url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
  connect_errors_ += "connect to " + host + ":" + std::to_string(url_.port);
  if (!url_.ip_literal) connect_errors_ += " (" + peer.hostString() + ")";
  connect_errors_ += ": " + why;
}

void Exchange::send() {
  phase_ = Phase::kHead;
  got_bytes_ = false;
  std::string out = request_.method + " " + url_.target + " HTTP/1.1\r\nHost: " + url_.authority() +
                    "\r\nUser-Agent: sesame\r\nAccept-Encoding: identity\r\n";
  if (!request_.content_type.empty()) out += "Content-Type: " + request_.content_type + "\r\n";
  // RFC 9110 §8.6: a POST states its length even when empty.
  if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT") {
    out += "Content-Length: " + std::to_string(request_.body.size()) + "\r\n";
  }
  for (const http::Header& field : request_.headers) {
    out += field.name + ": " + field.value + "\r\n";
  }
  out += "\r\n";
  out += request_.body;
  evbuffer_add(connection_->output(), out.data(), out.size());
}

void Exchange::onConnectionRead(Connection&) {
  if (phase_ == Phase::kHead) return readHead();
  if (phase_ == Phase::kBody) return readBody();
}

void Exchange::onConnectionEvent(Connection& connection, short events) {
  if (phase_ == Phase::kConnect) {
    if (events & BEV_EVENT_CONNECTED) {
      connection.cancelTimer();
      return send();
    }
    const std::string why = (events & BEV_EVENT_TIMEOUT)
                                ? "timed out after " + seconds(core_.options().connect_timeout)
                                : connection.failure();
    onConnectFailed(connection.peer(), why);
    core_.bury(std::move(connection_));
    return connectNext();
  }
  if (phase_ == Phase::kHead || phase_ == Phase::kBody) {
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) onClosed(events);
  }
}

void Exchange::readHead() {
  evbuffer* in = connection_->input();
  const size_t max_view = core_.options().max_head + 64;
  while (phase_ == Phase::kHead) {
    const size_t available = evbuffer_get_length(in);
    if (available == 0) return;
    got_bytes_ = true;
    const size_t view = std::min(available, max_view);
    const auto* bytes = reinterpret_cast<const char*>(evbuffer_pullup(in, view));
    switch (parser_.parse({bytes, view}, request_.method)) {
      case http::ResponseParser::Status::kNeedMore:
        return;
      case http::ResponseParser::Status::kError:
        return fail("invalid response: " + std::string(parser_.errorReason()));
      case http::ResponseParser::Status::kComplete:
        break;
    }
    evbuffer_drain(in, parser_.consumed());
    const http::ResponseHead& head = parser_.head();
    if (head.status == 101) return fail("unexpected 101 Switching Protocols");
    if (head.status < 200) {
      if (++interim_responses_ > kMaxInterimResponses) return fail("too many interim responses");
      parser_.reset();
      continue;
    }
    if (head.body == http::BodyKind::kLength && head.content_length > core_.options().max_body) {
      return fail("response body over " + std::to_string(core_.options().max_body) + " bytes");
    }
    decoder_ = http::BodyDecoder(head.body, head.content_length);
    if (head.body == http::BodyKind::kNone) return complete();
    phase_ = Phase::kBody;
    readBody();
  }
}

void Exchange::readBody() {
  evbuffer* in = connection_->input();
  for (;;) {
    const size_t want = std::min(evbuffer_get_length(in), http::BodyDecoder::kMaxLineBytes);
    const auto* bytes = reinterpret_cast<const char*>(evbuffer_pullup(in, want));
    const http::BodyDecoder::Result r = decoder_.next({bytes != nullptr ? bytes : "", want});
    evbuffer_drain(in, r.framing);
    switch (r.step) {
      case http::BodyDecoder::Step::kError:
        return fail("invalid chunked framing in the response body");
      case http::BodyDecoder::Step::kDone:
        return complete();
      case http::BodyDecoder::Step::kNeedMore:
        if (r.framing == 0) return;
        continue;
      case http::BodyDecoder::Step::kData:
        break;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(r.data, evbuffer_get_length(in)));
    if (n == 0) return;
    std::string& body = result_.body;
    if (body.size() + n > core_.options().max_body) {
      return fail("response body over " + std::to_string(core_.options().max_body) + " bytes");
    }
    const size_t old = body.size();
    body.resize(old + n);
    evbuffer_remove(in, body.data() + old, n);
    decoder_.consumed(n);
  }
}

void Exchange::onClosed(short events) {
  // Bytes that arrived with the close are read first.
  if (evbuffer_get_length(connection_->input()) > 0) onConnectionRead(*connection_);
  if (phase_ == Phase::kBody) {
    if (decoder_.kind() == http::BodyKind::kUntilClose) {
      // RFC 9112 §9.8: a body framed by the close is complete only with TLS close_notify;
      // without it an attacker who can end the TCP stream truncates the response.
      if (connection_->endedWithoutCloseNotify()) {
        return fail("response body truncated: the connection ended without TLS close_notify");
      }
      if (events & BEV_EVENT_EOF) return complete();
    }
    return fail("connection closed before the end of the response body (" + connection_->failure() +
                ")");
  }
  if (phase_ != Phase::kHead) return;
  if (!got_bytes_ && reused_ && !retried_ && request_.method == "GET") {
    // The server closed the idle connection as we reused it (RFC 9112 §9.3.1): a GET is safe
    // to send again, once, on a connection of its own.
    retried_ = true;
    core_.bury(std::move(connection_));
    parser_.reset();
    return freshConnection();
  }
  fail(std::string(got_bytes_ ? "connection closed in the middle of the response head"
                              : "connection closed before any response") +
       " (" + connection_->failure() + ")");
}

void Exchange::complete() {
  http::ResponseHead& head = parser_.head();
  result_.ok = true;
  result_.status = head.status;
  result_.headers = std::move(head.headers);
  const bool reusable = head.keep_alive && decoder_.kind() != http::BodyKind::kUntilClose &&
                        connection_->connected() &&
                        evbuffer_get_length(connection_->input()) == 0 &&
                        evbuffer_get_length(connection_->output()) == 0;
  LOG_DEBUG("outbound: %s %s -> %d", request_.method.c_str(), url_.host.c_str(), result_.status);
  finish(std::move(result_), reusable);
}

void Exchange::fail(const std::string& why) {
  Result failed;
  failed.error = what() + ": " + why;
  LOG_DEBUG("outbound: %s %s failed", request_.method.c_str(), url_.host.c_str());
  finish(std::move(failed), false);
}

void Exchange::finish(Result result, bool reusable) {
  phase_ = Phase::kDone;
  // Not freed here: this may be the timer's own callback. The exchange frees it later.
  if (deadline_ != nullptr) evtimer_del(deadline_.get());
  if (connection_ != nullptr) {
    if (reusable) {
      core_.keepIdle(origin(), std::move(connection_));
    } else {
      core_.bury(std::move(connection_));
    }
  }
  core_.finish(id_, std::move(done_), std::move(result));
}

std::string Exchange::origin() const {
  return (url_.https ? "https://" : "http://") + url_.authority();
}

// The request as an operator reads it in an error: the query may carry parameters nobody
// should copy into a log, so it is left out.
std::string Exchange::what() const {
  const std::string path = url_.target.substr(0, url_.target.find('?'));
  return request_.method + " " + origin() + path;
}

}  // namespace sesame::outbound::detail

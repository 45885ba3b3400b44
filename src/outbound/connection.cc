#include "connection.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace sesame::outbound::detail {

Connection::Connection(event_base* base, ssl_ctx_st* ssl_ctx, const Url& url,
                       const net::Address& peer, ConnectionOwner* owner)
    : base_(base),
      ssl_ctx_(ssl_ctx),
      host_(url.host),
      ip_literal_(url.ip_literal),
      peer_(peer),
      owner_(owner) {}

std::unique_ptr<Connection> Connection::open(event_base* base, ssl_ctx_st* ssl_ctx, const Url& url,
                                             const net::Address& peer, ConnectionOwner* owner,
                                             std::string* error) {
  const int fd = ::socket(peer.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("cannot create a socket: ") + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<Connection> c(new Connection(base, ssl_ctx, url, peer, owner));
  c->fd_ = fd;
  const int one = 1;
  // A request head and a small form body leave in one segment.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, peer.sa(), peer.length) != 0 && errno != EINPROGRESS) {
    *error = std::strerror(errno);
    return nullptr;
  }
  // Writable once the connect is over, whichever way it went (SO_ERROR tells).
  c->tcp_event_.reset(event_new(base, fd, EV_WRITE, onTcpThunk, c.get()));
  if (c->tcp_event_ == nullptr || event_add(c->tcp_event_.get(), nullptr) != 0) {
    *error = "cannot add a socket to the event loop (out of memory?)";
    return nullptr;
  }
  return c;
}

Connection::~Connection() {
  if (tls_up_ && bev_ != nullptr) {
    // Best-effort close_notify on a socket that never blocks; the peer's is not awaited.
    SSL_shutdown(bufferevent_openssl_get_ssl(bev_.get()));
    ERR_clear_error();
  }
  disable();
  bev_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void Connection::disable() {
  owner_ = nullptr;
  state_ = State::kDead;
  tcp_event_.reset();
  timer_.reset();
  if (bev_ != nullptr) {
    bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
    bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  }
}

void Connection::armTimer(std::chrono::milliseconds after) {
  if (timer_ == nullptr) timer_.reset(evtimer_new(base_, onTimerThunk, this));
  const auto ms = after.count() > 0 ? after.count() : 0;
  const timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  evtimer_add(timer_.get(), &tv);
}

void Connection::cancelTimer() {
  if (timer_ != nullptr) evtimer_del(timer_.get());
}

evbuffer* Connection::input() const {
  return bufferevent_get_input(bev_.get());
}

evbuffer* Connection::output() const {
  return bufferevent_get_output(bev_.get());
}

void Connection::onTcpThunk(int, short, void* arg) {
  static_cast<Connection*>(arg)->onTcp();
}

void Connection::onReadThunk(bufferevent*, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  if (self->owner_ != nullptr) self->owner_->onConnectionRead(*self);
}

void Connection::onEventThunk(bufferevent*, short events, void* arg) {
  static_cast<Connection*>(arg)->onEvent(events);
}

void Connection::onTimerThunk(int, short, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  if (self->owner_ != nullptr) self->owner_->onConnectionEvent(*self, BEV_EVENT_TIMEOUT);
}

void Connection::onTcp() {
  tcp_event_.reset();
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0 || !startStream()) {
    if (failure_.empty()) failure_ = std::strerror(err);
    state_ = State::kDead;
    if (owner_ != nullptr) owner_->onConnectionEvent(*this, BEV_EVENT_ERROR);
    return;
  }
  if (state_ == State::kReady && owner_ != nullptr) {
    owner_->onConnectionEvent(*this, BEV_EVENT_CONNECTED);
  }
}

bool Connection::startStream() {
  const int flags = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
  if (ssl_ctx_ == nullptr) {
    bev_.reset(bufferevent_socket_new(base_, fd_, flags));
    state_ = State::kReady;
  } else {
    SslPtr ssl(SSL_new(ssl_ctx_));
    if (ssl == nullptr) {
      failure_ = "TLS: cannot create a connection (out of memory?)";
      return false;
    }
    bool named = true;
    if (ip_literal_) {
      // RFC 6066 §3: no SNI for an address; the certificate must carry the IP (RFC 6125 §6.2).
      named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host_.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      named = SSL_set_tlsext_host_name(ssl.get(), host_.c_str()) == 1 &&
              SSL_set1_host(ssl.get(), host_.c_str()) == 1;
    }
    if (!named) {
      ERR_clear_error();
      failure_ = "TLS: cannot set the name to verify";
      return false;
    }
    bev_.reset(
        bufferevent_openssl_socket_new(base_, fd_, ssl.get(), BUFFEREVENT_SSL_CONNECTING, flags));
    // BEV_OPT_CLOSE_ON_FREE: the bufferevent frees the SSL with the socket.
    if (bev_ != nullptr) static_cast<void>(ssl.release());
    state_ = State::kTls;
  }
  if (bev_ == nullptr) {
    failure_ = "cannot create a bufferevent (out of memory?)";
    return false;
  }
  fd_ = -1;  // the bufferevent closes it
  bufferevent_setcb(bev_.get(), onReadThunk, nullptr, onEventThunk, this);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  return true;
}

void Connection::onEvent(short events) {
  if (state_ == State::kDead) return;
  if (events & BEV_EVENT_CONNECTED) {
    state_ = State::kReady;
    tls_up_ = true;
  } else if (events & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
    describeFailure(events);
    state_ = State::kDead;
    tls_up_ = false;
  }
  if (owner_ != nullptr) owner_->onConnectionEvent(*this, events);
}

void Connection::describeFailure(short events) {
  const bool handshaking = state_ == State::kTls;
  std::string tls_reason;
  if (ssl_ctx_ != nullptr) {
    while (const unsigned long err = bufferevent_get_openssl_error(bev_.get())) {
      if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) unexpected_eof_ = true;
      const char* reason = ERR_reason_error_string(err);
      if (tls_reason.empty() && reason != nullptr) tls_reason = reason;
    }
  }
  if (handshaking) {
    const long verify = SSL_get_verify_result(bufferevent_openssl_get_ssl(bev_.get()));
    if (verify != X509_V_OK) {
      failure_ =
          std::string("TLS: certificate verify failed: ") + X509_verify_cert_error_string(verify);
    } else if (!tls_reason.empty() && !unexpected_eof_) {
      failure_ = "TLS: handshake failed: " + tls_reason;
    } else {
      failure_ = "TLS: the server closed the connection during the handshake";
    }
  } else if (unexpected_eof_ || (events & BEV_EVENT_EOF)) {
    failure_ = "the server closed the connection";
  } else if (!tls_reason.empty()) {
    failure_ = "TLS: " + tls_reason;
  } else {
    failure_ = "connection failed";
  }
}

}  // namespace sesame::outbound::detail

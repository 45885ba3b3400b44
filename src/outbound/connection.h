// One outbound connection: non-blocking TCP connect, then TLS (bufferevent_openssl) with SNI
// and host-name verification, then a byte stream. Private to src/outbound.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sesame/base/c_handle.h"
#include "sesame/net/address.h"
#include "sesame/outbound/url.h"

namespace sesame::outbound::detail {

class Connection;

// Whoever uses the connection now: an exchange, or the idle pool.
class ConnectionOwner {
 public:
  virtual void onConnectionRead(Connection& connection) = 0;
  // BEV_EVENT_* bits: CONNECTED once TCP and TLS are up; EOF, ERROR (failure() says why);
  // TIMEOUT when the connection's timer fires.
  virtual void onConnectionEvent(Connection& connection, short events) = 0;

 protected:
  ~ConnectionOwner() = default;
};

class Connection {
 public:
  // Starts a non-blocking connect to `peer` (its port set) for `url`'s origin; with `ssl_ctx`
  // the TLS handshake follows, verifying `url.host` (a name: SNI and host-name check; an IP
  // literal: the certificate must name the IP). Null with `error` set when no socket could be
  // made or the connect failed at once.
  static std::unique_ptr<Connection> open(event_base* base, ssl_ctx_st* ssl_ctx, const Url& url,
                                          const net::Address& peer, ConnectionOwner* owner,
                                          std::string* error);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void setOwner(ConnectionOwner* owner) { owner_ = owner; }
  // One-shot: the owner gets BEV_EVENT_TIMEOUT after `after`; re-arming moves it.
  void armTimer(std::chrono::milliseconds after);
  void cancelTimer();
  // Stops every callback for good (before the connection waits in the graveyard).
  void disable();

  // Valid once connected.
  [[nodiscard]] evbuffer* input() const;
  [[nodiscard]] evbuffer* output() const;

  // Why the last ERROR or EOF event happened, as a sentence without the address: "Connection
  // refused", "TLS: certificate verify failed: hostname mismatch", ...
  [[nodiscard]] const std::string& failure() const { return failure_; }
  // The last ERROR was a TLS stream ending without close_notify (RFC 9112 §9.8: a body framed
  // by the close is then truncated, perhaps by an attacker).
  [[nodiscard]] bool endedWithoutCloseNotify() const { return unexpected_eof_; }

  [[nodiscard]] bool connected() const { return state_ == State::kReady; }
  [[nodiscard]] const net::Address& peer() const { return peer_; }

 private:
  enum class State { kTcp, kTls, kReady, kDead };

  Connection(event_base* base, ssl_ctx_st* ssl_ctx, const Url& url, const net::Address& peer,
             ConnectionOwner* owner);

  static void onTcpThunk(int fd, short what, void* arg);
  static void onReadThunk(bufferevent* bev, void* arg);
  static void onEventThunk(bufferevent* bev, short events, void* arg);
  static void onTimerThunk(int fd, short what, void* arg);
  void onTcp();
  void onEvent(short events);
  bool startStream();
  void describeFailure(short events);

  event_base* base_;
  ssl_ctx_st* ssl_ctx_;
  std::string host_;
  bool ip_literal_;
  net::Address peer_;
  ConnectionOwner* owner_;
  State state_ = State::kTcp;
  int fd_ = -1;  // owned until the bufferevent takes it
  EventPtr tcp_event_;
  EventPtr timer_;
  BufferEventPtr bev_;
  std::string failure_;
  bool unexpected_eof_ = false;
  bool tls_up_ = false;  // handshake done, not failed: close_notify is worth sending
};

}  // namespace sesame::outbound::detail

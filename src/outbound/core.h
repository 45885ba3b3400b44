// The client's state on its loop: exchanges in flight, idle connections per origin, deferred
// callbacks and destruction. Private to src/outbound.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "connection.h"
#include "resolver.h"
#include "sesame/http/response_parser.h"
#include "sesame/outbound/client.h"
#include "sesame/outbound/url.h"

namespace sesame::outbound::detail {

class Core;

// One request and its response: lookup, connect (each address in turn), send, read.
class Exchange final : public ConnectionOwner {
 public:
  Exchange(Core& core, uint64_t id, Request request, Url url, Callback done);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  void start();
  void onResolved(const LookupResult& result);
  // The caller went away: give the connection up without a callback.
  void abandon();
  [[nodiscard]] uint64_t id() const { return id_; }
  Callback takeCallback() { return std::move(done_); }

 private:
  enum class Phase { kLookup, kConnect, kHead, kBody, kDone };

  void onConnectionRead(Connection& connection) override;
  void onConnectionEvent(Connection& connection, short events) override;
  static void onDeadlineThunk(int fd, short what, void* arg);

  void freshConnection();
  void connectNext();
  void onConnectFailed(const net::Address& peer, const std::string& why);
  void send();
  void readHead();
  void readBody();
  void onClosed(short events);
  void complete();
  void fail(const std::string& why);
  void finish(Result result, bool reusable);
  [[nodiscard]] std::string origin() const;
  [[nodiscard]] std::string what() const;

  Core& core_;
  uint64_t id_;
  Request request_;
  Url url_;
  Callback done_;
  Phase phase_ = Phase::kLookup;
  EventPtr deadline_;
  std::vector<net::Address> addresses_;
  size_t next_address_ = 0;
  std::string connect_errors_;
  std::unique_ptr<Connection> connection_;
  bool reused_ = false;
  bool retried_ = false;
  bool got_bytes_ = false;
  int interim_responses_ = 0;
  http::ResponseParser parser_;
  http::BodyDecoder decoder_;
  Result result_;
};

class Core final : public std::enable_shared_from_this<Core>, public ConnectionOwner {
 public:
  Core(event_base* base, std::shared_ptr<LoopMailbox> mailbox, Options options);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  [[nodiscard]] const std::string& setupError() const { return setup_error_; }
  FetchHandle fetch(Request request, Callback done);
  void cancel(uint64_t id);
  [[nodiscard]] size_t idleConnections() const;

  // For exchanges.
  [[nodiscard]] event_base* base() const { return base_; }
  [[nodiscard]] const Options& options() const { return options_; }
  [[nodiscard]] ssl_ctx_st* sslCtx() const { return ssl_ctx_.get(); }
  // The lookup result goes to exchange `id` if it is still in flight.
  void resolve(const std::string& host, uint64_t id);
  void onResolved(uint64_t id, const LookupResult& result);
  // The most recently idled connection of `origin`, or null.
  std::unique_ptr<Connection> takeIdle(const std::string& origin);
  void keepIdle(const std::string& origin, std::unique_ptr<Connection> connection);
  // Closes a connection once the current callbacks have returned to the loop.
  void bury(std::unique_ptr<Connection> connection);
  // Exchange `id` is over: it is destroyed later, `done` runs later with `result`.
  void finish(uint64_t id, Callback done, Result result);

 private:
  struct Completion {
    uint64_t id;
    Callback done;
    Result result;
  };

  void onConnectionRead(Connection& connection) override;
  void onConnectionEvent(Connection& connection, short events) override;
  void dropIdle(Connection& connection);
  void schedule();
  static void onDeferredThunk(int fd, short what, void* arg);
  void onDeferred();

  event_base* base_;
  Options options_;
  std::string setup_error_;
  SslCtxPtr ssl_ctx_;
  std::shared_ptr<Resolver> resolver_;
  EventPtr deferred_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Exchange>> active_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
  std::deque<Completion> completed_;
  std::vector<std::unique_ptr<Exchange>> dead_exchanges_;
  std::vector<std::unique_ptr<Connection>> dead_connections_;
};

}  // namespace sesame::outbound::detail

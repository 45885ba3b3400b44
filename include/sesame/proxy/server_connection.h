// One client connection: reads requests, routes them, forwards each to an
// upstream and streams the response back, in order, until the client or a
// timeout closes it. Requests are handled one at a time; pipelined requests
// wait in the input buffer, so responses leave in request order.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "sesame/base/c_handle.h"
#include "sesame/config/config.h"
#include "sesame/http/body_decoder.h"
#include "sesame/http/request_parser.h"
#include "sesame/http/response_parser.h"
#include "sesame/net/address.h"
#include "sesame/net/stream.h"
#include "sesame/proxy/client_address.h"
#include "sesame/proxy/context.h"
#include "sesame/proxy/forwarding.h"
#include "sesame/proxy/graveyard.h"
#include "sesame/proxy/own_endpoints.h"
#include "sesame/proxy/request_id.h"
#include "sesame/proxy/session_gate.h"
#include "sesame/proxy/upstream_pool.h"

namespace sesame::proxy {

// What the access log needs beyond the parsed heads. Times are taken only
// while the access log is on.
struct ExchangeLog {
  std::chrono::steady_clock::time_point started{};  // first byte of the request head
  std::chrono::steady_clock::time_point upstream_started{};
  const std::string* upstream = nullptr;  // the server last tried, as configured
  uint64_t tunnel_bytes = 0;              // upstream to client, after a 101
  int status = 0;                         // of the response head sent to the client
  bool timed = false;
  bool due = false;  // a request head parsed and its line not written yet
};

// What one exchange has decided and how far it got. Reset as a whole for
// each request, so no decision of a previous request (its route, its gate,
// its framing) can leak into the next one on a keep-alive connection.
struct ExchangeState {
  const config::RouteConfig* route = nullptr;  // null until matched
  ClientView client;                           // resolved when the head is parsed (log.due)
  bool gated = false;                          // went through the connection's SessionGate
  bool keep_alive = true;                      // the connection stays open after the response
  size_t attempt = 0;                          // upstream connection attempts after the first
  size_t first_server = 0;                     // the round robin's pick for the first attempt
  bool chunked_out = false;                    // the response body is re-framed as chunked
  bool upstream_eof = false;                   // the upstream connection reached its end
  bool response_started = false;               // bytes of this response reached the client buffer
  bool own = false;                            // sesame answers it itself (/.sesame/)
  std::string original_url;  // X-Original-URL of a /.sesame/ request (forward-auth)
};

// One request/response exchange: taken at a request's first byte and given
// back when the connection goes idle, so idle keep-alive connections (most
// of them) carry none of it; the worker's context keeps given-back ones for
// the next request of any of its connections (Context::recycleExchange),
// and the parsers' buffers are reused by pipelined requests (next()).
struct Exchange {
  Exchange(const http::RequestLimits& limits, size_t max_response_head)
      : request(limits), response(max_response_head) {}

  // Prepares for the next request, pipelined or on another connection:
  // everything per request is reset here and nowhere else, so nothing of
  // one request (its fields, its decisions) is seen by the next. Buffers
  // keep their capacity.
  void next();
  // Heap bytes held, spare capacity included.
  [[nodiscard]] size_t storageBytes() const;

  http::RequestParser request;
  http::ResponseParser response;
  http::BodyDecoder request_body;
  http::BodyDecoder response_body;
  std::string upstream_head;  // serialised once, resent on a retry
  // normalizeTarget's output, then swapped with the request's target: the
  // two buffers are reused, no string is made per request for a long path.
  std::string normal_target;
  RequestId request_id;
  ExchangeLog log;
  ExchangeState state;
};

class ServerConnection : public Disposable,
                         private net::StreamHandler,
                         private SessionGateOwner,
                         private OwnEndpointsOwner {
 public:
  // Takes the accepted (plain or TLS-accepting) stream. Without
  // `may_forward` the peer's forwarding fields are never believed, even
  // from an address in trusted_proxies (a PROXY header that named no
  // client: the bytes that follow are a client's, not the balancer's).
  ServerConnection(Context& ctx, const config::ListenConfig& listen,
                   std::unique_ptr<net::Stream> stream, const net::Address& peer,
                   bool may_forward = true);
  ~ServerConnection() override;
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  void start();
  void closeIfIdle() override;

 private:
  // kOwnBody: reading the form body of a request to /.sesame/.
  enum class Client { kHead, kBody, kOwnBody, kWaiting, kTunnel, kClosing, kClosed };
  // kHeld: the response head is in, waiting for the session store.
  enum class Upstream { kNone, kConnecting, kHead, kHeld, kBody };

  void onStreamRead(net::Stream& stream) override;
  void onStreamWrite(net::Stream& stream) override;
  void onStreamEvent(net::Stream& stream, net::StreamEvent event) override;
  void onClientRead();
  void onClientWrite();
  void onClientEvent(net::StreamEvent event);
  void onUpstreamRead();
  void onUpstreamWrite();
  void onUpstreamEvent(net::StreamEvent event);
  void onTimer();

  void readHeads();
  void handleRequest();
  void forwardRequest();
  void handleOwnRequest();
  void readOwnBody();
  void onOwnResponse(const OwnResponse& response) override;
  void onRequestChecked(int status, std::string_view fields) override;
  void onResponseApplied(bool ok) override;
  void connectUpstream();
  void onUpstreamConnected();
  bool retryUpstream();
  void pumpRequestBody();
  void readResponse();
  // Removes an upstream Set-Cookie for the session cookie (logged once per route).
  void dropPlantedCookies();
  void sendResponseHead();
  // Serialises the upstream's response head with `fwd` into the client's
  // output buffer.
  void sendClientResponse(const ResponseForwarding& fwd);
  void pumpResponseBody();
  void finishResponse();
  void nextRequest();
  void startTunnel();
  void pumpTunnel();
  void upstreamFailed(int status, const char* why);
  void countTlsHandshake();
  void countUpstreamError(UpstreamError kind);

  void respondError(int status, bool close, std::string_view extra_fields = {});
  // Sends sesame's own response (head and whole body) and goes on to the
  // next request, or closes.
  void respond(int status, bool close, std::string_view fields, std::string_view content_type,
               std::string_view body);
  // Writes the exchange's access log line (when the log is on).
  void logExchange(int status, uint64_t bytes);
  // The exchange's request ID for error log messages ("-" before one exists),
  // so that they can be matched with the access log line.
  [[nodiscard]] std::string requestTag() const;
  // The scheme the client used: a trusted proxy's word once a head is
  // parsed, else the listener's. Decides HSTS.
  [[nodiscard]] bool https() const;
  void armTimer(config::Duration d);
  void closeWhenFlushed();
  void dropUpstream();
  void close();

  Context& ctx_;
  const config::ListenConfig& listen_;
  std::unique_ptr<net::Stream> client_;
  std::string peer_ip_;
  bool may_forward_;

  Client client_state_ = Client::kHead;
  std::unique_ptr<Exchange> ex_;     // null while idle
  bool head_timer_started_ = false;  // a request's first byte (or the accept) started the clock
  bool client_eof_ = false;

  bool tls_counted_ = false;           // the TLS handshake's outcome is in the metrics
  std::unique_ptr<SessionGate> gate_;  // made at the first request on a session route
  std::unique_ptr<OwnEndpoints> own_;  // made at the first request to /.sesame/
  std::unique_ptr<UpstreamConn> upstream_;
  Upstream upstream_state_ = Upstream::kNone;
};

}  // namespace sesame::proxy

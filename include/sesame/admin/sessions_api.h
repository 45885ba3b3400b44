// The session API of the admin listener: list a user's sessions, end one by
// its handle or all of a user's, behind the bearer token of [admin]
// token_file. Request parsing, the token check and the JSON are pure;
// SessionsApi runs a request against the session store.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/clock.h"
#include "sesame/config/config.h"
#include "sesame/http/header_list.h"
#include "sesame/http/request_parser.h"
#include "sesame/session/store.h"

struct event_base;

namespace sesame::session {
class RedisStore;
}

namespace sesame::admin {

// An answer sesame writes itself.
struct Answer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string fields;  // extra header lines, each ending in CRLF
};

// What a request to the session API asks for.
struct SessionsRequest {
  enum class Kind {
    kList,          // GET /sessions?user=NAME
    kRevokeHandle,  // DELETE /sessions/HANDLE
    kRevokeUser,    // DELETE /sessions?user=NAME
  };
  Kind kind = Kind::kList;
  std::string subject;  // the user name (decoded), or the handle
};

// The paths the session API owns: "/sessions" and everything under "/sessions/".
[[nodiscard]] bool isSessionsPath(std::string_view path);

// `method` and `target` of a request on a sessions path. The query is
// application/x-www-form-urlencoded ('+' is a space, %XX a byte) and holds
// exactly one `user`, which must be what X-Sesame-Login accepts (1-256
// bytes, no control characters) once decoded; a handle is 1-64 base64url
// characters, without a query. Otherwise nullopt, with `error` the answer:
// 400 naming the problem, or 405 with Allow.
[[nodiscard]] std::optional<SessionsRequest> parseSessionsRequest(std::string_view method,
                                                                  std::string_view target,
                                                                  Answer* error);

// An application/x-www-form-urlencoded value decoded; nullopt for a '%' not
// followed by two hex digits.
[[nodiscard]] std::optional<std::string> decodeQueryValue(std::string_view text);

// TOKEN of the one "Authorization: Bearer TOKEN" field (scheme compared
// case-insensitively, RFC 7235 §2.1); nullopt when there is none, more than
// one Authorization field, another scheme or an empty token.
[[nodiscard]] std::optional<std::string_view> bearerToken(const http::HeaderList& headers);

// Whether `presented` is `expected`, in time that depends on neither: the
// SHA-256 digests of both are compared with CRYPTO_memcmp, so neither the
// position of the first wrong byte nor the token's length shows in timing.
[[nodiscard]] bool tokenMatches(std::string_view presented, std::string_view expected);

// The answer body of GET /sessions: a JSON array, one object per session
// with "handle", "created", "last_seen", "login", "method", "client" and
// "user_agent" (times as RFC 3339, base/json.h; a zero time as null).
[[nodiscard]] std::string sessionsJson(const std::vector<session::SessionSummary>& sessions);

// `status` with the body {"error": MESSAGE} (one line) and `fields`.
[[nodiscard]] Answer errorAnswer(int status, std::string_view message, std::string fields = {});

// What the session API reads at each request, taken together so that a
// reload between two reads cannot mix generations.
struct SessionSources {
  std::shared_ptr<const config::Config> config;
  // store = "memory": the process-wide store of that configuration; null otherwise.
  std::shared_ptr<session::Store> memory;
};

// True when `config` has an [admin] token_file: only then is the API served
// (404 otherwise, as for any unknown path).
[[nodiscard]] bool sessionsEnabled(const config::Config& config);

// A request in progress; destroying it before it answered cancels the
// answer (the client has gone). The store's work may still complete.
class SessionsCall {
 public:
  virtual ~SessionsCall() = default;
};

// Runs the session API on the admin thread's loop. The memory store is the
// process-wide one (thread-safe); with store = "redis" the API keeps its own
// Redis connection on this loop, so no worker's loop ever waits for an
// administrator, made for the configuration generation in force and made
// again at the first request after a reload (the previous one is freed
// once its last call has settled). Every method runs on the loop's thread.
class SessionsApi {
 public:
  using Reply = std::function<void(const Answer&)>;

  // `loop` and `clock` must outlive the API.
  SessionsApi(event_base* loop, Clock& clock);
  ~SessionsApi();
  SessionsApi(const SessionsApi&) = delete;
  SessionsApi& operator=(const SessionsApi&) = delete;

  // One request on a sessions path, with the sources' current snapshot
  // (sessionsEnabled holds). Answers through `reply` exactly once, inside
  // this call or later from the loop, unless the returned call is
  // destroyed first: 401 (with WWW-Authenticate) without the right bearer
  // token, 400/405 for a malformed request, 501 without a server-side
  // store (store = "cookie", or no [session]), 503 when the store fails,
  // else the request's answer (200 list; 204 for a handle ended, 404 for
  // an unknown one; 200 {"revoked": N} for a user's sessions ended).
  // Every answer after the token check has a JSON body; errors are
  // {"error": "..."}, one line.
  [[nodiscard]] std::unique_ptr<SessionsCall> handle(const http::RequestHead& head,
                                                     const SessionSources& sources, Reply reply);

 private:
  // The store for `sources` (its Redis connection made or remade here), or
  // null with the 501 answer in `why`.
  session::Store* storeFor(const SessionSources& sources, Answer* why);

  event_base* loop_;
  Clock& clock_;
  std::shared_ptr<const config::Config> redis_config_;  // the generation redis_ serves
  std::unique_ptr<session::RedisStore> redis_;
  std::vector<std::unique_ptr<session::RedisStore>> retired_;  // calls still in flight
};

}  // namespace sesame::admin

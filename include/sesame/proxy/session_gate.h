// The session side of one client connection: checks each request against
// its route's session policy, gives the upstream an identity it can trust,
// and applies the upstream's X-Sesame-* control headers to the store before
// the response head leaves.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/auth/hash_pool.h"
#include "sesame/base/loop_mailbox.h"
#include "sesame/config/config.h"
#include "sesame/http/request_parser.h"
#include "sesame/http/response_parser.h"
#include "sesame/identity/assertion_cache.h"
#include "sesame/identity/signer.h"
#include "sesame/oidc/provider.h"
#include "sesame/proxy/metrics.h"
#include "sesame/proxy/oidc_refresh.h"
#include "sesame/session/control_headers.h"
#include "sesame/session/cookie_codec.h"
#include "sesame/session/cookie_header.h"
#include "sesame/session/cookie_sealer.h"
#include "sesame/session/cookie_store.h"
#include "sesame/session/memory_store.h"
#include "sesame/session/settings.h"
#include "sesame/session/store.h"

namespace sesame::proxy {

// Session objects every worker shares, made at start-up and at each reload:
// the codec (immutable), and the embedded store (thread-safe) for store =
// "memory" or the sealer (immutable) for store = "cookie".
struct SessionShared {
  // `previous` (the configuration's before a reload, or null) hands over
  // what must outlive a reload: with store = "memory" its memory store,
  // reconfigured to the new bounds and timeouts, so a reload logs nobody
  // out; the sign-in failure counters; the hashing pool when its size is
  // unchanged (logins being checked finish).
  SessionShared(const session::Settings& settings, const config::LoginConfig* login,
                const SessionShared* previous = nullptr);

  session::CookieCodec codec;
  std::shared_ptr<session::MemoryStore> memory;
  std::shared_ptr<const session::CookieSealer> sealer;
  // [login]: the password hashing threads, and with store = "cookie" a
  // memory store that only keeps the brute-force counters (the cookie store
  // has no server side); with "memory" that is `memory`.
  std::shared_ptr<auth::HashPool> hashing;
  unsigned hash_threads = 0;
  size_t hash_queue = 0;
  std::shared_ptr<session::MemoryStore> counters;
  // [oidc], parallel to Config::oidc: what the main thread discovered at
  // start-up or at this reload (null: a lazy provider not reached then).
  std::vector<oidc::KnowledgePtr> oidc;
  // [identity] assertion_*: null when off.
  std::shared_ptr<const identity::Signer> signer;
};

// What every connection of one worker uses for sessions. The codec is
// shared by all workers; `store` is the process-wide memory store or this
// worker's own connection to Redis; with a `sealer` (store = "cookie")
// each request gets its own CookieStore instead.
struct SessionContext {
  const session::Settings* settings = nullptr;
  const session::CookieCodec* codec = nullptr;
  session::Store* store = nullptr;
  std::shared_ptr<const session::CookieSealer> sealer;
  session::CookieAttributes plain_cookie;  // for plain listeners
  session::CookieAttributes tls_cookie;    // Secure forced on
  WorkerMetrics* metrics = nullptr;        // the worker's; null in tests that do not count
  // [login], or null: sign-in at /.sesame/; sessions of method "password"
  // end when their user leaves the users file.
  const config::LoginConfig* login = nullptr;
  auth::HashPool* hashing = nullptr;
  session::Store* counters = nullptr;    // brute-force counters: the store, or a memory store
  std::shared_ptr<LoopMailbox> mailbox;  // the worker loop's, for hashing results
  // [oidc], parallel to Config::oidc: this worker's view of each provider.
  std::vector<oidc::Provider*> providers;
  // [identity] assertion_*: the signer (its keys published at
  // /.sesame/jwks.json) and this worker's cache of signed assertions; null
  // when off.
  std::shared_ptr<const identity::Signer> signer;
  identity::AssertionCache* assertions = nullptr;
  // Parallel to the configuration's routes: whether this worker already
  // logged an upstream Set-Cookie for the session cookie there (a warning
  // per route, not per response).
  std::vector<bool> planted_cookie_logged;
};

// Removes every `name` pair from the Cookie fields (dropping fields left
// empty) and tells whether there was one; the first value found goes to
// `value` when given (its storage reused). The upstream never sees the
// session's bearer token, whatever the route.
bool takeCookie(http::HeaderList& headers, std::string_view name, std::string* value = nullptr);

// Told when a check that could not finish at once has finished.
class SessionGateOwner {
 public:
  // The request may go upstream (`status` 0), or gets sesame's own answer
  // `status` (302, 401, 403, 503) with the preformatted header lines `fields`.
  virtual void onRequestChecked(int status, std::string_view fields) = 0;
  // The held response may go out (true), or the store failed a login or
  // logout and the client must get 503 instead (false).
  virtual void onResponseApplied(bool ok) = 0;

 protected:
  ~SessionGateOwner() = default;
};

class SessionGate {
 public:
  SessionGate(const SessionContext& ctx, SessionGateOwner& owner);
  ~SessionGate();
  SessionGate(const SessionGate&) = delete;
  SessionGate& operator=(const SessionGate&) = delete;

  // Starts the check of a request on a non-public route: CSRF (unsafe
  // methods and every upgrade request), the session
  // cookie (verified before any store is asked, then removed), the store
  // lookup and the access decision; adds the identity headers to `req`.
  // The owner's onRequestChecked follows, possibly before this returns;
  // `req` must live until then. `https`: the scheme the client used (the
  // listener's, or a trusted proxy's X-Forwarded-Proto); it names the
  // request's own origin for CSRF and makes this exchange's cookies Secure.
  // `client`: the client's address (recorded at a login).
  void checkRequest(http::RequestHead& req, const session::RoutePolicy& policy, bool https,
                    std::string_view client);

  // For sesame's own endpoints (/.sesame/): the cookie is verified and the
  // session loaded as on an auth = "session" route (with `csrf`, the
  // cross-site check of unsafe methods first), without an access decision
  // or a new cookie. onRequestChecked follows: 0 (see session()), or 403.
  void inspect(http::RequestHead& req, bool https, std::string_view client, bool csrf);
  // After inspect: the session found (null when none, or the store failed:
  // lookupStatus() tells).
  [[nodiscard]] const session::Session* session() const {
    return r_.loaded ? &*r_.loaded : nullptr;
  }
  [[nodiscard]] session::StoreStatus lookupStatus() const { return r_.lookup; }
  // What the sign-in form's CSRF token binds to: the browser's session
  // (its store key; with store = "cookie" the sealed session's nonce).
  // With `create`, a browser without one gets an anonymous session now (its
  // Set-Cookie is in responseFields()); without, "" then.
  [[nodiscard]] std::string csrfBinding(bool create);
  // Logs the inspected browser in as `login.user`: a new session ID (no
  // fixation), user, groups and tags recorded, [session] max_per_user
  // applied, then `extra` written to the new session (sesame's own fields:
  // an OpenID sign-in's tokens). onResponseApplied follows (false: the
  // store failed), possibly before this returns.
  void login(const session::LoginInfo& login, session::Update extra = {});
  // Writes `update` to the inspected session, creating it when only its
  // cookie exists so far (csrfBinding(true)); onResponseApplied follows
  // (false: the store failed).
  void saveData(session::Update update);
  // Ends the inspected session and clears the cookie (with `clear_site_data`,
  // the browser's cookies for the site too); onResponseApplied follows.
  void logout(bool clear_site_data = true);

  enum class Control {
    kSend,     // the response may go out now
    kRefuse,   // the store failed a login or logout: answer 503 instead
    kPending,  // store work under way; onResponseApplied follows
  };
  // Applies the control headers of a final response on an accept_control
  // route (other routes: kSend at once).
  Control applyControl(const http::ResponseHead& resp);

  // Header lines for the response to this request (Set-Cookie, and on a
  // logout Clear-Site-Data; sesame's own answers also get their
  // Cache-Control here); complete once the request check and any control
  // work are done.
  [[nodiscard]] const std::string& responseFields() const { return r_.response_fields; }
  // True when responseFields() carries the session Set-Cookie (a new
  // anonymous session, a login, a re-sealed cookie, a logout): the
  // upstream's response must then go through session::forbidCaching.
  [[nodiscard]] bool noStore() const { return r_.no_store; }

  // For the access log, once the response is decided: the session this
  // exchange used, or created at a login, named by its non-secret handle
  // (CookieCodec::handle; "" when there is none, and always with
  // store = "cookie", whose sessions have no ID), and its logged-in user
  // ("" when anonymous).
  [[nodiscard]] std::string sessionHandle() const;
  [[nodiscard]] std::string_view user() const;

  // Forgets any store answer still due (the connection is going away).
  void cancel();
  // The request it checked is gone (its exchange went back to the worker's
  // free list, where another connection may take it): nothing may reach it
  // through the gate any more.
  void forgetRequest() {
    r_.req = nullptr;
    r_.policy = nullptr;
  }

 private:
  enum class Phase { kIdle, kLoad, kActions };
  enum class OpKind { kCreate, kRotate, kIdentity, kTrim, kUpdate, kExtra, kDestroy, kDestroyUser };
  struct Op {
    OpKind kind;
    bool required;  // a failure answers 503 (login, logout)
  };

  session::Store& store() { return r_.jar ? *r_.jar : *ctx_.store; }
  void countLookup(SessionLookup result);
  void countOp(OpKind kind);
  // store = "cookie": the session is the cookie; a Set-Cookie goes out
  // whenever the sealed value under `key` changed (or clears it when gone).
  void appendJarCookie(std::string_view key);
  void absorb(const session::Session& session);
  // The identity headers (and the signed assertion) for `user`.
  void addIdentity(std::string_view user, const std::vector<std::string>& groups);
  // A bearer route: true when the token (or its absence on a bearer_only
  // route) settles the request, whose check then goes on without a cookie.
  bool checkBearer();
  void verifyBearer();
  void begin(http::RequestHead& req, bool https, std::string_view client);
  // CSRF for unsafe methods, and for every upgrade; false (and the 403 sent) when refused.
  bool allowedSite();
  void readCookie();
  void startLoad();
  void onLoaded(session::StoreStatus status);
  // After the lookup (and any refresh): the access decision.
  void decide(session::StoreStatus status);
  // An OpenID session whose access token is due for a refresh ([oidc] refresh).
  void noteRefresh(const session::Session& session);
  void onRefreshed(OidcRefresh::Outcome outcome);
  void appendSetCookie(std::string_view value);
  void clearResponseFields();
  void finishRequest(int status);
  void issueAnonymous();
  // Where a browser without a session is sent to sign in.
  [[nodiscard]] std::string loginLocation() const;
  void planActions(session::ControlActions actions);
  void runNextOp();
  [[nodiscard]] session::TicketPtr startOp(const Op& op, session::Store::Done done);
  void onOpDone(session::StoreStatus status);
  void finishActions();
  // Runs one store call; its completion comes to `resume` outside the
  // store's call stack, and the finished ticket is kept until the next
  // completion so that no ticket is freed inside its own callback.
  template <typename Call>
  void run(Call call);
  void completed(session::StoreStatus status);
  void resume();

  const SessionContext& ctx_;
  SessionGateOwner& owner_;

  Phase phase_ = Phase::kIdle;
  bool in_call_ = false;
  bool done_ = false;
  session::StoreStatus status_ = session::StoreStatus::kMissing;
  session::TicketPtr ticket_;
  session::TicketPtr spent_;

  // Everything one request decides, reset as a whole by checkRequest so
  // nothing of the previous request on the connection (its user, its
  // cookie, its planned store work) carries over.
  struct RequestState {
    http::RequestHead* req = nullptr;
    const session::RoutePolicy* policy = nullptr;       // null: no response side (own answers)
    const session::CookieAttributes* cookie = nullptr;  // chosen by the client's scheme
    bool cookie_sent = false;
    bool has_id = false;
    std::chrono::steady_clock::time_point store_started{};  // of the store call in flight
    bool stored = false;                     // the store holds (or may hold, when it was down) key
    bool inspecting = false;                 // inspect(): keep the session, decide nothing
    std::optional<session::Session> loaded;  // inspect(): the session found
    session::StoreStatus lookup = session::StoreStatus::kMissing;
    bool revoked = false;        // a "password" session whose user left the users file
    session::TicketPtr cleanup;  // its destroy, not waited for
    std::string client;          // the client's address
    bool https = false;          // the scheme the client used
    session::SessionId id;
    std::string key;
    // The user and groups found (no other field is set): what the access
    // decision judges.
    session::Session identity;
    bool has_user = false;
    std::string response_fields;
    bool no_store = false;
    std::unique_ptr<session::CookieStore> jar;  // store = "cookie": this request's jar
    std::string bearer;                         // the request's bearer token
    bool bearer_refetched = false;
    oidc::Provider::Waiter waiter;           // a bearer token's keys being read again
    std::optional<size_t> refresh_provider;  // the session's tokens are due for a refresh
    std::unique_ptr<OidcRefresh> refresh;
    std::string sent_value;  // the cookie value the client sent

    // Control work of the response.
    std::vector<Op> ops;
    size_t next_op = 0;
    session::ControlActions actions;
    std::string login_method = "app";  // sesame's own form says "password"
    bool clear_site_data = true;       // a logout's Clear-Site-Data
    std::vector<std::string> login_tags;
    session::Update extra;  // login() and saveData(): sesame's own fields
    session::SessionId new_id;
    std::string new_key;
    bool failed = false;
    bool logged_in = false;  // this response's login went through
    bool applying = false;   // inside applyControl: report by return value
  };
  RequestState r_;
};

}  // namespace sesame::proxy

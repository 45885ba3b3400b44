// sesame's own paths under /.sesame/: the sign-in and sign-out pages,
// forward-auth for a front proxy, the session as JSON (issue 11), and
// OpenID Connect sign-in, back-channel logout and the assertion keys
// (issue 12). One per client connection, beside the SessionGate it drives.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sesame/auth/hash_pool.h"
#include "sesame/http/request_parser.h"
#include "sesame/oidc/provider.h"
#include "sesame/outbound/client.h"
#include "sesame/proxy/client_address.h"
#include "sesame/proxy/session_gate.h"
#include "sesame/session/store.h"

namespace sesame::proxy {

// sesame's whole answer to one request.
struct OwnResponse {
  int status = 200;
  std::string fields;        // header lines, each ending in CRLF
  std::string content_type;  // "" with an empty body
  std::string body;
};

class OwnEndpointsOwner {
 public:
  virtual void onOwnResponse(const OwnResponse& response) = 0;

 protected:
  ~OwnEndpointsOwner() = default;
};

// Whether the normalised `target` is one of sesame's own: "/.sesame" or
// under "/.sesame/". These take precedence over every route.
[[nodiscard]] bool isOwnTarget(std::string_view target);

class OwnEndpoints {
 public:
  // An OpenID sign-in under way, kept in the pre-login session between the
  // redirect to the provider and the callback.
  struct Flow {
    int64_t created = 0;  // wall-clock milliseconds
    size_t provider = 0;
    std::string state;
    std::string nonce;
    std::string verifier;
    std::string redirect_uri;
    std::string return_to;
  };

  OwnEndpoints(const SessionContext& ctx, SessionGate& gate, OwnEndpointsOwner& owner);
  ~OwnEndpoints();
  OwnEndpoints(const OwnEndpoints&) = delete;
  OwnEndpoints& operator=(const OwnEndpoints&) = delete;

  // Answers `req`, whose body (a form, at most auth::kMaxLoginBody bytes)
  // is complete in `body`; `original_url` is the X-Original-URL the
  // connection saved before its clean-up removed it (forward-auth). The
  // owner's onOwnResponse follows, possibly before this returns; `req`
  // must live until then.
  void start(http::RequestHead& req, const ClientView& client, std::string original_url,
             std::string body);
  // The gate's answers while an exchange is sesame's own.
  void onChecked(int status);
  void onApplied(bool ok);
  // Forgets every answer still due (the connection is going away).
  void cancel();

 private:
  enum class Endpoint { kLogin, kLogout, kAuth, kSession, kOidcCallback, kBackchannel, kJwks };
  enum class Step { kIdle, kCount, kHash, kClaim, kDestroy };

  void afterInspect();
  // OpenID Connect (own_oidc.cc).
  void startOidc(size_t provider);
  void oidcCallback();
  void onStateClaimed(session::StoreStatus status);
  void exchangeCode();
  void onTokens(const outbound::Result& result);
  void checkIdToken();
  void backchannelLogout(std::string_view body);
  void checkLogoutToken();
  void onLogoutClaimed(session::StoreStatus status);
  void answerJwks();
  void oidcRedirected();
  void oidcMessage(int status, std::string_view message, bool retry_link);
  [[nodiscard]] std::string logoutLocation() const;
  [[nodiscard]] std::string_view title() const;
  // Before a logout: the provider and ID token of an OpenID session, for
  // RP-initiated logout.
  void rememberOidcSession();
  // The sign-out goes on to the provider's end_session_endpoint.
  [[nodiscard]] bool rpLogout() const;
  [[nodiscard]] std::string selfUrl(std::string_view path) const;
  [[nodiscard]] std::string providerLink(size_t provider) const;
  [[nodiscard]] std::optional<size_t> providerNamed(std::string_view name) const;
  // Waits for `provider` to read its keys again; false when it will not now.
  bool awaitKeys(size_t provider, void (OwnEndpoints::*then)());
  void answerAuth();
  void answerSession();
  void showLoginForm(int status, std::string_view error);
  void showLogoutForm();
  bool tokenValid();
  void checkFailures();
  void onCounted(session::StoreStatus status, session::Failures failures);
  void onHashed(bool match);
  // Takes this attempt back from the counters (it was never checked).
  void forgive();
  void loggedIn();
  void respond(int status, std::string fields = {}, std::string_view content_type = {},
               std::string body = {});
  [[nodiscard]] std::string pageFields() const;
  [[nodiscard]] std::vector<std::string> failureKeys() const;
  // The client's counter: its address, or for IPv6 its /64 (one client
  // holds at least that many addresses).
  [[nodiscard]] std::string addressKey() const;
  // Runs one asynchronous call (store or hashing); its completion reaches
  // resume() outside the callee's call stack, and the finished ticket is
  // kept until the next call, so none is freed inside its own callback.
  template <typename Call>
  void run(Step step, Call call);
  void completed();
  void resume();

  const SessionContext& ctx_;
  SessionGate& gate_;
  OwnEndpointsOwner& owner_;

  bool in_call_ = false;
  bool done_ = false;
  session::TicketPtr ticket_;
  session::TicketPtr spent_;
  std::unique_ptr<auth::HashPool::Ticket> hash_ticket_;
  std::unique_ptr<auth::HashPool::Ticket> spent_hash_;
  outbound::FetchHandle fetch_;

  // Everything one request decides, replaced by start().
  struct RequestState {
    http::RequestHead* req = nullptr;
    ClientView client;
    std::string original_url;
    Endpoint endpoint = Endpoint::kSession;
    bool post = false;
    Step step = Step::kIdle;
    std::string username;
    std::string password;
    std::string csrf;
    std::string return_to = "/";
    session::StoreStatus status = session::StoreStatus::kOk;  // of the last store call
    session::Failures failures;                               // of the last counter call
    bool match = false;                                       // of the hash check
    session::TicketPtr cleanup;                               // a counter reset, not waited for
    session::TicketPtr spare;                                 // the address's attempt given back
    // OpenID Connect.
    std::optional<size_t> start_provider;  // /.sesame/login?provider=: sign in there
    Flow flow;
    std::string code;
    std::string tokens_body;  // the token endpoint's answer
    int tokens_status = 0;
    std::string logout_token;
    oidc::Provider::Waiter waiter;
    bool keys_refetched = false;
    std::string id_token;  // logout: the ending session's, for id_token_hint
    std::optional<size_t> logout_provider;
    std::string jti;
    session::Millis jti_ttl{0};
    std::string tag;           // back-channel logout: the sessions to end
    session::LoginInfo login;  // an OpenID sign-in, once its state is claimed
    session::Update login_extra;
  };
  RequestState r_;
};

template <typename Call>
void OwnEndpoints::run(Step step, Call call) {
  r_.step = step;
  done_ = false;
  in_call_ = true;
  call();
  in_call_ = false;
  if (done_) resume();
}

}  // namespace sesame::proxy

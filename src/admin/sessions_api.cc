// The session API's requests run against the store, on the admin loop.
#include "sesame/admin/sessions_api.h"

#include "sesame/base/json.h"
#include "sesame/base/log.h"
#include "sesame/session/redis_store.h"

namespace sesame::admin {
namespace {

constexpr std::string_view kChallenge = "WWW-Authenticate: Bearer realm=\"sesame admin\"";

Answer unauthorized(bool presented) {
  Answer answer;
  answer.status = 401;
  answer.content_type = "text/plain; charset=utf-8";
  answer.body =
      "unauthorized: send \"Authorization: Bearer TOKEN\" with the token of [admin] token_file\n";
  // RFC 6750 §3.1: invalid_token only when a token was sent.
  answer.fields = std::string(kChallenge) + (presented ? ", error=\"invalid_token\"" : "") + "\r\n";
  return answer;
}

Answer unavailable(std::string_view call, session::StoreStatus status) {
  const char* why = status == session::StoreStatus::kUnavailable ? "did not answer" : "refused";
  return errorAnswer(503, "the session store " + std::string(why) + " " + std::string(call) +
                              "; see sesame's log, then try again");
}

// One request: one store call, or for a user's sessions a list then an end.
class Call final : public SessionsCall {
 public:
  Call(SessionsRequest request, session::Store& store, std::shared_ptr<session::Store> keep,
       SessionsApi::Reply reply)
      : request_(std::move(request)),
        store_(store),
        keep_(std::move(keep)),
        reply_(std::move(reply)) {}

  void start() {
    switch (request_.kind) {
      case SessionsRequest::Kind::kList:
        ticket_ = store_.listUser(request_.subject, session::wallClockNow(),
                                  [this](session::StoreStatus status, const auto* sessions) {
                                    onListed(status, sessions);
                                  });
        return;
      case SessionsRequest::Kind::kRevokeHandle:
        ticket_ = store_.destroyHandle(request_.subject,
                                       [this](session::StoreStatus status) { onEnded(status); });
        return;
      case SessionsRequest::Kind::kRevokeUser:
        // Listed first for the count the answer reports: destroyUser says
        // only whether it worked.
        ticket_ = store_.listUser(request_.subject, session::wallClockNow(),
                                  [this](session::StoreStatus status, const auto* sessions) {
                                    onCounted(status, sessions);
                                  });
        return;
    }
  }

 private:
  void onListed(session::StoreStatus status, const std::vector<session::SessionSummary>* sessions) {
    if (status != session::StoreStatus::kOk) return reply_(unavailable("the list", status));
    Answer answer;
    answer.body = sessionsJson(*sessions);
    reply_(answer);
  }

  void onEnded(session::StoreStatus status) {
    if (status == session::StoreStatus::kMissing) {
      return reply_(errorAnswer(404, "no session has the handle " + jsonString(request_.subject)));
    }
    if (status != session::StoreStatus::kOk) return reply_(unavailable("the end", status));
    LOG_INFO("admin API: ended session %s", request_.subject.c_str());
    Answer answer;
    answer.status = 204;
    reply_(answer);
  }

  void onCounted(session::StoreStatus status,
                 const std::vector<session::SessionSummary>* sessions) {
    if (status != session::StoreStatus::kOk) return reply_(unavailable("the list", status));
    const size_t count = sessions->size();
    if (count == 0) return reply_(revoked(0));
    ticket_ = store_.destroyUser(request_.subject, [this, count](session::StoreStatus ended) {
      if (ended != session::StoreStatus::kOk) return reply_(unavailable("the end", ended));
      LOG_INFO("admin API: ended %zu session%s of user %s", count, count == 1 ? "" : "s",
               jsonString(request_.subject).c_str());
      reply_(revoked(count));
    });
  }

  static Answer revoked(size_t count) {
    Answer answer;
    answer.body = "{\"revoked\": " + std::to_string(count) + "}\n";
    return answer;
  }

  SessionsRequest request_;
  session::Store& store_;
  std::shared_ptr<session::Store> keep_;  // the memory store, kept while this call uses it
  SessionsApi::Reply reply_;
  session::TicketPtr ticket_;  // cancels the callback (and `this` in it) when the call goes
};

}  // namespace

SessionsApi::SessionsApi(event_base* loop, Clock& clock) : loop_(loop), clock_(clock) {}

SessionsApi::~SessionsApi() = default;

std::unique_ptr<SessionsCall> SessionsApi::handle(const http::RequestHead& head,
                                                  const SessionSources& sources, Reply reply) {
  // Not from a store callback: the request comes from a connection's read.
  std::erase_if(retired_, [](const auto& store) { return store->inFlight() == 0; });
  const std::optional<std::string_view> presented = bearerToken(head.headers);
  if (!presented || !tokenMatches(*presented, sources.config->admin->token)) {
    if (presented) {
      LOG_WARN_LIMITED(
          "admin API: refused a request with a wrong bearer token (the token is read from "
          "[admin] token_file at start and reload)");
    }
    reply(unauthorized(presented.has_value()));
    return nullptr;
  }
  Answer error;
  std::optional<SessionsRequest> request = parseSessionsRequest(head.method, head.target, &error);
  session::Store* store = request ? storeFor(sources, &error) : nullptr;
  if (store == nullptr) {
    reply(error);
    return nullptr;
  }
  auto call = std::make_unique<Call>(std::move(*request), *store, sources.memory, std::move(reply));
  call->start();
  return call;
}

session::Store* SessionsApi::storeFor(const SessionSources& sources, Answer* why) {
  const config::Config& config = *sources.config;
  if (!config.session) {
    *why = errorAnswer(501, "there is no [session] table, so sesame keeps no sessions");
    return nullptr;
  }
  switch (config.session->store) {
    case session::StoreKind::kCookie:
      *why = errorAnswer(501,
                         "session.store = \"cookie\" keeps each session sealed in its browser's "
                         "cookie, so sesame can neither list nor end one; to end them all, "
                         "replace [session] secrets and reload");
      return nullptr;
    case session::StoreKind::kMemory:
      if (!sources.memory) {
        *why = errorAnswer(500, "store = \"memory\" but no memory store exists (a bug)");
      }
      return sources.memory.get();
    case session::StoreKind::kRedis:
      if (redis_config_ != sources.config) {
        if (redis_) retired_.push_back(std::move(redis_));
        redis_ = std::make_unique<session::RedisStore>(loop_, clock_, config.session->redis,
                                                       config.session->timeouts);
        redis_config_ = sources.config;
      }
      return redis_.get();
  }
  return nullptr;
}

}  // namespace sesame::admin

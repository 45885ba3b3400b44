// The session API on a real admin listener over a real memory store:
// authorization, each request, and the stores that cannot be administered.
#include "sesame/admin/sessions_api.h"
#include "sesame/base/json.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <string>

#include "admin_helpers.h"
#include "sesame/admin/admin_server.h"
#include "sesame/session/memory_store.h"

using namespace sesame;
using admin::testing::HttpResponse;
using admin::testing::roundTrip;

namespace {

constexpr std::string_view kToken = "test-token-0123456789abcdef0123456789";

class Sources final : public admin::AdminSources {
 public:
  admin::MetricsSnapshot collect() override { return {}; }
  admin::ProcessMetrics process() override { return {}; }
  bool listening() override { return true; }
  std::shared_ptr<const config::Config> config() override {
    std::lock_guard lock(mutex_);
    return config_;
  }
  admin::SessionSources sessions() override {
    std::lock_guard lock(mutex_);
    return {config_, memory_};
  }

  void set(std::shared_ptr<const config::Config> config,
           std::shared_ptr<session::MemoryStore> memory) {
    std::lock_guard lock(mutex_);
    config_ = std::move(config);
    memory_ = std::move(memory);
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<session::MemoryStore> memory_;
};

// [admin] with `token` ("" = no token_file) and, unless `store` is null, a [session].
std::shared_ptr<config::Config> makeConfig(std::string_view token,
                                           std::optional<session::StoreKind> store) {
  auto cfg = std::make_shared<config::Config>();
  cfg->admin = config::AdminConfig{"127.0.0.1:9901",
                                   admin::testing::loopback(9901),
                                   {},
                                   std::string(token),
                                   token.empty() ? "" : "/etc/token"};
  if (store) {
    session::Settings settings;
    settings.store = *store;
    cfg->session = settings;
  }
  return cfg;
}

std::string request(std::string_view method, std::string_view target,
                    std::string_view token = kToken) {
  std::string text = std::string(method) + " " + std::string(target) +
                     " HTTP/1.1\r\nHost: admin\r\nUser-Agent: test\r\n";
  if (!token.empty()) text += "Authorization: Bearer " + std::string(token) + "\r\n";
  return text + "\r\n";
}

// A logged-in session of `user` under store key `key`, named `handle`.
void login(session::MemoryStore& store, const std::string& key, const std::string& user,
           const std::string& handle, session::TimePoint now) {
  session::Session anonymous;
  session::StoreStatus created = session::StoreStatus::kUnavailable;
  (void)store.create(key, anonymous, now, [&](session::StoreStatus s) { created = s; });
  REQUIRE(created == session::StoreStatus::kOk);
  session::LoginInfo info;
  info.user = user;
  info.method = "app";
  info.handle = handle;
  info.address = "192.0.2.7";
  info.agent = "Agent \"" + user + "\"\x01";
  session::StoreStatus set = session::StoreStatus::kUnavailable;
  (void)store.setIdentity(key, info, now, [&](session::StoreStatus s) { set = s; });
  REQUIRE(set == session::StoreStatus::kOk);
}

bool live(session::MemoryStore& store, const std::string& key) {
  session::StoreStatus status = session::StoreStatus::kUnavailable;
  (void)store.load(key, session::wallClockNow(),
                   [&](session::StoreStatus s, const session::Session*) { status = s; });
  return status == session::StoreStatus::kOk;
}

bool hasField(const HttpResponse& r, std::string_view line) {
  return r.head.find("\r\n" + std::string(line) + "\r\n") != std::string::npos ||
         r.head.ends_with("\r\n" + std::string(line));
}

struct Fixture {
  Fixture() {
    sources.set(makeConfig(kToken, session::StoreKind::kMemory), memory);
    std::string error;
    server = admin::AdminServer::create(admin::testing::loopback(0), sources, &error);
    INFO(error);
    REQUIRE(server);
    server->start();
  }
  HttpResponse send(const std::string& text) { return roundTrip(server->address(), text); }

  Sources sources;
  std::shared_ptr<session::MemoryStore> memory =
      std::make_shared<session::MemoryStore>(1000, session::Timeouts{});
  std::unique_ptr<admin::AdminServer> server;
};

}  // namespace

TEST_CASE("session API: list, end one, end a user's, over the memory store", "[admin][sessions]") {
  Fixture f;
  const session::TimePoint now = session::wallClockNow();
  login(*f.memory, "key-alice-1", "alice", "handleAlice1", now - 2000);
  login(*f.memory, "key-alice-2", "alice", "handleAlice2", now - 1000);
  login(*f.memory, "key-bob", "bob", "handleBob001", now);

  HttpResponse r = f.send(request("GET", "/sessions?user=alice"));
  REQUIRE(r.status == 200);
  CHECK(hasField(r, "Content-Type: application/json"));
  CHECK(hasField(r, "Cache-Control: no-store"));
  // Oldest login first; the agent's quotes and control byte escaped.
  const size_t first = r.body.find("\"handle\": \"handleAlice1\"");
  const size_t second = r.body.find("\"handle\": \"handleAlice2\"");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(first < second);
  CHECK(r.body.find("handleBob001") == std::string::npos);
  CHECK(r.body.find("\"client\": \"192.0.2.7\"") != std::string::npos);
  CHECK(r.body.find("\"user_agent\": \"Agent \\\"alice\\\"?\"") != std::string::npos);
  CHECK(r.body.find("\"method\": \"app\"") != std::string::npos);
  CHECK(r.body.find("\"login\": \"" + sesame::rfc3339(now - 2000) + "\"") != std::string::npos);

  r = f.send(request("GET", "/sessions?user=carol"));
  CHECK(r.status == 200);
  CHECK(r.body == "[]\n");

  r = f.send(request("DELETE", "/sessions/handleAlice1"));
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(r.head.find("Content-Length") == std::string::npos);
  CHECK_FALSE(live(*f.memory, "key-alice-1"));
  CHECK(live(*f.memory, "key-alice-2"));

  r = f.send(request("DELETE", "/sessions/handleAlice1"));
  CHECK(r.status == 404);
  CHECK(r.body == "{\"error\": \"no session has the handle \\\"handleAlice1\\\"\"}\n");

  r = f.send(request("DELETE", "/sessions?user=alice"));
  CHECK(r.status == 200);
  CHECK(r.body == "{\"revoked\": 1}\n");
  CHECK_FALSE(live(*f.memory, "key-alice-2"));
  CHECK(live(*f.memory, "key-bob"));

  r = f.send(request("DELETE", "/sessions?user=alice"));
  CHECK(r.status == 200);
  CHECK(r.body == "{\"revoked\": 0}\n");
}

TEST_CASE("session API: the bearer token", "[admin][sessions]") {
  Fixture f;
  login(*f.memory, "key-alice", "alice", "handleAlice1", session::wallClockNow());
  SECTION("missing") {
    HttpResponse r = f.send(request("DELETE", "/sessions?user=alice", ""));
    CHECK(r.status == 401);
    CHECK(hasField(r, "WWW-Authenticate: Bearer realm=\"sesame admin\""));
  }
  SECTION("wrong, one byte short, another scheme") {
    for (const std::string& auth :
         {"Bearer " + std::string(kToken.substr(0, kToken.size() - 1)) + "X",
          "Bearer " + std::string(kToken.substr(0, kToken.size() - 1)),
          "Basic " + std::string(kToken)}) {
      HttpResponse r = f.send(
          "DELETE /sessions?user=alice HTTP/1.1\r\nHost: a\r\nAuthorization: " + auth + "\r\n\r\n");
      CHECK(r.status == 401);
      CHECK(r.head.find("WWW-Authenticate: Bearer realm=\"sesame admin\"") != std::string::npos);
    }
    HttpResponse r = f.send(request("GET", "/sessions?user=alice", "wrong-token"));
    CHECK(hasField(r, "WWW-Authenticate: Bearer realm=\"sesame admin\", error=\"invalid_token\""));
  }
  SECTION("checked before the request itself") {
    CHECK(f.send(request("POST", "/sessions", "")).status == 401);
    CHECK(f.send(request("GET", "/sessions/%%", "wrong")).status == 401);
  }
  CHECK(live(*f.memory, "key-alice"));
  SECTION("a reload changes it at once") {
    f.sources.set(
        makeConfig("another-token-0123456789abcdef0123456789", session::StoreKind::kMemory),
        f.memory);
    CHECK(f.send(request("GET", "/sessions?user=alice")).status == 401);
    CHECK(f.send(request("GET", "/sessions?user=alice", "another-token-0123456789abcdef0123456789"))
              .status == 200);
  }
}

TEST_CASE("session API: refused requests answer JSON", "[admin][sessions]") {
  Fixture f;
  HttpResponse r = f.send(request("GET", "/sessions?user=a%0Ab"));
  CHECK(r.status == 400);
  CHECK(hasField(r, "Content-Type: application/json"));
  r = f.send(request("PUT", "/sessions?user=alice"));
  CHECK(r.status == 405);
  CHECK(hasField(r, "Allow: GET, DELETE"));
  r = f.send(request("DELETE", "/sessions/not.a.handle"));
  CHECK(r.status == 400);
}

TEST_CASE("session API: off without a token, 501 without server-side sessions",
          "[admin][sessions]") {
  Fixture f;
  SECTION("no token_file: as unknown as any other path") {
    f.sources.set(makeConfig("", session::StoreKind::kMemory), f.memory);
    for (const char* target : {"/sessions?user=alice", "/sessions/abc"}) {
      HttpResponse r = f.send(request("GET", target));
      CHECK(r.status == 404);
      CHECK(hasField(r, "Content-Type: text/plain; charset=utf-8"));
      CHECK(r.head.find("WWW-Authenticate") == std::string::npos);
    }
  }
  SECTION("store = \"cookie\"") {
    f.sources.set(makeConfig(kToken, session::StoreKind::kCookie), nullptr);
    HttpResponse r = f.send(request("GET", "/sessions?user=alice"));
    CHECK(r.status == 501);
    CHECK(r.body.find("store = \\\"cookie\\\"") != std::string::npos);
    CHECK(r.body.find("secrets") != std::string::npos);
    CHECK(r.body.find('\n') == r.body.size() - 1);
    // Still behind the token.
    CHECK(f.send(request("GET", "/sessions?user=alice", "")).status == 401);
  }
  SECTION("no [session]") {
    f.sources.set(makeConfig(kToken, std::nullopt), nullptr);
    HttpResponse r = f.send(request("DELETE", "/sessions/abc"));
    CHECK(r.status == 501);
    CHECK(r.body.find("no [session]") != std::string::npos);
  }
  SECTION("the other endpoints are unchanged") {
    CHECK(f.send(request("GET", "/healthz", "")).status == 200);
    CHECK(f.send(request("GET", "/sessionsx", "")).status == 404);
  }
}

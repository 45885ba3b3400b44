#include "sesame/proxy/session_gate.h"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sesame/session/cookie_header.h"
#include "sesame/session/memory_store.h"

namespace sesame::proxy {
namespace {

using session::Auth;
using session::StoreStatus;

// Counts the calls that reach the real memory store, so tests can tell
// "never asked" from "asked and found nothing".
class CountingStore final : public session::Store {
 public:
  explicit CountingStore(session::Store& inner) : inner_(inner) {}
  size_t calls = 0;

  session::TicketPtr load(std::string_view key, session::TimePoint now, LoadDone done) override {
    ++calls;
    return inner_.load(key, now, std::move(done));
  }
  session::TicketPtr create(std::string_view key, const session::Session& s, session::TimePoint now,
                            Done done) override {
    ++calls;
    return inner_.create(key, s, now, std::move(done));
  }
  session::TicketPtr rotate(std::string_view old_key, std::string_view new_key,
                            session::TimePoint now, Done done) override {
    ++calls;
    return inner_.rotate(old_key, new_key, now, std::move(done));
  }
  session::TicketPtr update(std::string_view key, const session::Update& u, session::TimePoint now,
                            Done done) override {
    ++calls;
    return inner_.update(key, u, now, std::move(done));
  }
  session::TicketPtr setIdentity(std::string_view key, const session::LoginInfo& login,
                                 session::TimePoint now, Done done) override {
    ++calls;
    return inner_.setIdentity(key, login, now, std::move(done));
  }
  session::TicketPtr destroy(std::string_view key, Done done) override {
    ++calls;
    return inner_.destroy(key, std::move(done));
  }
  session::TicketPtr destroyUser(std::string_view user, Done done) override {
    ++calls;
    return inner_.destroyUser(user, std::move(done));
  }
  void sweep(session::TimePoint now) override { inner_.sweep(now); }
  session::TicketPtr listUser(std::string_view user, session::TimePoint now,
                              ListDone done) override {
    ++calls;
    return inner_.listUser(user, now, std::move(done));
  }
  session::TicketPtr destroyHandle(std::string_view handle, Done done) override {
    ++calls;
    return inner_.destroyHandle(handle, std::move(done));
  }
  session::TicketPtr trimUser(std::string_view user, size_t keep, session::TimePoint now,
                              Done done) override {
    ++calls;
    return inner_.trimUser(user, keep, now, std::move(done));
  }
  session::TicketPtr failures(const std::vector<std::string>& keys, session::TimePoint now,
                              CountDone done) override {
    ++calls;
    return inner_.failures(keys, now, std::move(done));
  }
  session::TicketPtr addFailure(const std::vector<std::string>& keys, session::Millis window,
                                session::TimePoint now, CountDone done) override {
    ++calls;
    return inner_.addFailure(keys, window, now, std::move(done));
  }
  session::TicketPtr forgiveFailure(const std::vector<std::string>& keys, session::TimePoint now,
                                    CountDone done) override {
    ++calls;
    return inner_.forgiveFailure(keys, now, std::move(done));
  }
  session::TicketPtr clearFailures(std::string_view key, Done done) override {
    ++calls;
    return inner_.clearFailures(key, std::move(done));
  }
  session::TicketPtr claim(std::string_view name, session::Millis ttl, session::TimePoint now,
                           Done done) override {
    ++calls;
    return inner_.claim(name, ttl, now, std::move(done));
  }
  session::TicketPtr release(std::string_view name, Done done) override {
    ++calls;
    return inner_.release(name, std::move(done));
  }
  session::TicketPtr destroyTagged(std::string_view tag, Done done) override {
    ++calls;
    return inner_.destroyTagged(tag, std::move(done));
  }

 private:
  session::Store& inner_;
};

struct Owner : SessionGateOwner {
  int checked = -1;  // -1: not told yet
  std::string fields;
  int applied = -1;
  void onRequestChecked(int status, std::string_view f) override {
    checked = status;
    fields = std::string(f);
  }
  void onResponseApplied(bool ok) override { applied = ok ? 1 : 0; }
};

struct Fixture {
  explicit Fixture(session::StoreKind kind = session::StoreKind::kMemory) {
    settings.secrets = {std::string(40, 's')};
    settings.cookie_name = "sid";
    settings.store = kind;
    shared = std::make_unique<SessionShared>(settings, nullptr);
    if (kind == session::StoreKind::kMemory)
      counting = std::make_unique<CountingStore>(*shared->memory);
    ctx.settings = &settings;
    ctx.codec = &shared->codec;
    ctx.store = counting.get();
    ctx.sealer = shared->sealer;
    ctx.plain_cookie = {"sid", false, true, "Lax", ""};
    ctx.tls_cookie = {"sid", true, true, "Lax", ""};
    gate = std::make_unique<SessionGate>(ctx, owner);
  }

  http::RequestHead request(std::string method, std::string target,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::RequestHead req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.host = "app.test";
    for (auto& [name, value] : headers) req.headers.add(name, value);
    return req;
  }

  // Runs a request through the gate; the owner's verdict is in `owner`.
  void check(http::RequestHead& req, const session::RoutePolicy& policy) {
    owner = Owner{};
    // The gate keeps the policy until the response, as the connection's
    // route config does: the fixture holds a copy, so callers may pass
    // temporaries.
    held_policy = policy;
    gate->checkRequest(req, held_policy, https, "192.0.2.1");
    REQUIRE(owner.checked != -1);  // the memory and cookie stores answer at once
  }

  SessionGate::Control respond(std::vector<std::pair<std::string, std::string>> headers) {
    http::ResponseHead resp;
    resp.status = 200;
    for (auto& [name, value] : headers) resp.headers.add(name, value);
    return gate->applyControl(resp);
  }

  // The value of the Set-Cookie line in `fields` ("" when there is none).
  static std::string cookieValue(const std::string& fields) {
    auto at = fields.find("Set-Cookie: sid=");
    if (at == std::string::npos) return "";
    at += 16;
    return fields.substr(at, fields.find(';', at) - at);
  }

  bool https = true;  // the scheme the client used (listener, or a trusted X-Forwarded-Proto)
  session::Settings settings;
  std::unique_ptr<SessionShared> shared;
  std::unique_ptr<CountingStore> counting;
  SessionContext ctx;
  Owner owner;
  session::RoutePolicy held_policy;
  std::unique_ptr<SessionGate> gate;
};

session::RoutePolicy policy(Auth auth, bool control = true) {
  session::RoutePolicy p;
  p.auth = auth;
  p.accept_control = control;
  return p;
}

const char* header(const http::RequestHead& req, std::string_view name) {
  const http::Header* h = req.headers.find(name);
  return h == nullptr ? nullptr : h->value.c_str();
}

// Logs in through a response carrying X-Sesame-Login; returns the cookie.
std::string login(Fixture& f, const std::string& user, const std::string& groups = "") {
  auto req = f.request("GET", "/login");
  auto route = policy(Auth::kSession);
  f.check(req, route);
  REQUIRE(f.owner.checked == 0);
  std::vector<std::pair<std::string, std::string>> headers{{"X-Sesame-Login", user}};
  if (!groups.empty()) headers.emplace_back("X-Sesame-Groups", groups);
  REQUIRE(f.respond(headers) == SessionGate::Control::kSend);
  std::string cookie = Fixture::cookieValue(f.gate->responseFields());
  REQUIRE(cookie.size() == session::CookieCodec::kValueLength);
  return cookie;
}

TEST_CASE("session gate: a session route without a cookie gets an anonymous one, stores nothing") {
  Fixture f;
  auto req = f.request("GET", "/");
  auto route = policy(Auth::kSession);
  f.check(req, route);
  CHECK(f.owner.checked == 0);
  CHECK(Fixture::cookieValue(f.gate->responseFields()).size() ==
        session::CookieCodec::kValueLength);
  CHECK(f.counting->calls == 0);
  CHECK(header(req, "X-Remote-User") == nullptr);
  // It carries a Set-Cookie: the response must stay out of shared caches.
  CHECK(f.gate->noStore());
}

TEST_CASE("session gate: forged cookies never reach the store") {
  Fixture f;
  auto route = policy(Auth::kRequired);
  std::string forged(session::CookieCodec::kValueLength, 'A');
  for (const std::string& value : {forged, std::string("short"), std::string()}) {
    auto req = f.request("GET", "/", {{"Cookie", "a=1; sid=" + value + "; b=2"}});
    f.check(req, route);
    CHECK(f.owner.checked == 401);
    // The bearer token is gone from what would go upstream; the others stay.
    CHECK(std::string(header(req, "Cookie")) == "a=1; b=2");
  }
  CHECK(f.counting->calls == 0);
}

TEST_CASE("session gate: required routes redirect browsers and answer 401 to others") {
  Fixture f;
  auto route = policy(Auth::kRequired);
  auto browser = f.request("GET", "/admin?x=1", {{"Accept", "text/html"}});
  f.check(browser, route);
  CHECK(f.owner.checked == 302);
  CHECK(f.owner.fields.find("Location: /login?return_to=/admin%3Fx%3D1\r\n") != std::string::npos);
  CHECK(f.owner.fields.find("Cache-Control: private, no-store\r\n") != std::string::npos);
  auto api = f.request("GET", "/admin", {{"Accept", "application/json"}});
  f.check(api, route);
  CHECK(f.owner.checked == 401);
  CHECK(f.owner.fields.find("WWW-Authenticate:") != std::string::npos);
  CHECK(f.owner.fields.find("Cache-Control") == std::string::npos);  // nothing per-user in it
  // A stale cookie gets cleared by the 401: that answer carries a Set-Cookie.
  std::string stale = login(f, "alice");
  auto logout = f.request("GET", "/", {{"Cookie", "sid=" + stale}});
  f.check(logout, policy(Auth::kSession));
  REQUIRE(f.respond({{"X-Sesame-Logout", "1"}}) == SessionGate::Control::kSend);
  auto after = f.request("GET", "/admin", {{"Cookie", "sid=" + stale}});
  f.check(after, route);
  CHECK(f.owner.checked == 401);
  CHECK(f.owner.fields.find("Max-Age=0") != std::string::npos);
  CHECK(f.owner.fields.find("Cache-Control: private, no-store\r\n") != std::string::npos);
}

TEST_CASE("session gate: login rotates the ID, identity reaches the upstream, old cookie dies") {
  Fixture f;
  // An anonymous session with data first.
  auto first = f.request("GET", "/");
  auto route = policy(Auth::kSession);
  f.check(first, route);
  std::string anonymous = Fixture::cookieValue(f.gate->responseFields());
  REQUIRE(f.respond({{"X-Sesame-Set", "cart=a%20b"}}) == SessionGate::Control::kSend);

  auto with_cart = f.request("GET", "/", {{"Cookie", "sid=" + anonymous}});
  f.check(with_cart, route);
  CHECK(std::string(header(with_cart, "X-Session-Cart")) == "a b");
  CHECK(f.gate->responseFields().empty());  // a known session gets no new cookie
  CHECK_FALSE(f.gate->noStore());
  REQUIRE(f.respond({{"X-Sesame-Login", "alice"}, {"X-Sesame-Groups", "admins, dev"}}) ==
          SessionGate::Control::kSend);
  std::string logged_in = Fixture::cookieValue(f.gate->responseFields());
  REQUIRE(logged_in.size() == session::CookieCodec::kValueLength);
  CHECK(logged_in != anonymous);

  auto admin = policy(Auth::kRequired);
  admin.groups = {"admins"};
  auto req = f.request("GET", "/admin", {{"Cookie", "sid=" + logged_in}});
  f.check(req, admin);
  CHECK(f.owner.checked == 0);
  CHECK(std::string(header(req, "X-Remote-User")) == "alice");
  CHECK(std::string(header(req, "X-Remote-Groups")) == "admins,dev");
  CHECK(std::string(header(req, "X-Session-Cart")) == "a b");  // data kept across login

  auto old = f.request("GET", "/admin", {{"Cookie", "sid=" + anonymous}});
  f.check(old, admin);
  CHECK(f.owner.checked == 401);

  admin.groups = {"finance"};
  auto other = f.request("GET", "/admin", {{"Cookie", "sid=" + logged_in}});
  f.check(other, admin);
  CHECK(f.owner.checked == 403);
}

// Logs in as `user` on the session of `cookie` (a response that also sets
// `set`, when given); returns the new cookie.
std::string loginOn(Fixture& f, const std::string& cookie, const std::string& user,
                    const std::string& set = "") {
  auto req = f.request("GET", "/login", {{"Cookie", "sid=" + cookie}});
  f.check(req, policy(Auth::kSession));
  REQUIRE(f.owner.checked == 0);
  std::vector<std::pair<std::string, std::string>> headers{{"X-Sesame-Login", user}};
  if (!set.empty()) headers.emplace_back("X-Sesame-Set", set);
  REQUIRE(f.respond(headers) == SessionGate::Control::kSend);
  std::string next = Fixture::cookieValue(f.gate->responseFields());
  REQUIRE_FALSE(next.empty());
  CHECK(next != cookie);
  return next;
}

// The data fields the upstream sees with `cookie`, as "key=value;..." in order.
std::string dataSeen(Fixture& f, const std::string& cookie, const char* user) {
  auto req = f.request("GET", "/", {{"Cookie", "sid=" + cookie}});
  f.check(req, policy(Auth::kRequired));
  REQUIRE(f.owner.checked == 0);
  CHECK(std::string(header(req, "X-Remote-User")) == user);
  std::string seen;
  for (const http::Header& h : req.headers.fields()) {
    if (h.name.starts_with("X-Session-")) seen += h.name.substr(10) + "=" + h.value + ";";
  }
  return seen;
}

TEST_CASE("session gate: data inheritance across users: another user's login starts afresh") {
  for (auto kind : {session::StoreKind::kMemory, session::StoreKind::kCookie}) {
    INFO((kind == session::StoreKind::kMemory ? "memory" : "cookie"));
    Fixture f(kind);
    // Anonymous with a cart, then alice: the cart survives the login.
    auto first = f.request("GET", "/");
    f.check(first, policy(Auth::kSession));
    REQUIRE(f.respond({{"X-Sesame-Set", "cart=3"}}) == SessionGate::Control::kSend);
    std::string anonymous = Fixture::cookieValue(f.gate->responseFields());
    REQUIRE_FALSE(anonymous.empty());
    std::string alice = loginOn(f, anonymous, "alice", "role=buyer");
    CHECK(dataSeen(f, alice, "alice") == "Cart=3;Role=buyer;");
    // alice again (say, a re-authentication): her data stays.
    std::string again = loginOn(f, alice, "alice");
    CHECK(dataSeen(f, again, "alice") == "Cart=3;Role=buyer;");
    // bob on the same browser: nothing of alice's, only what his own login sets.
    std::string bob = loginOn(f, again, "bob", "theme=dark");
    CHECK(dataSeen(f, bob, "bob") == "Theme=dark;");
    if (kind == session::StoreKind::kMemory) {
      // alice's session is gone, not just hidden.
      auto old = f.request("GET", "/", {{"Cookie", "sid=" + again}});
      f.check(old, policy(Auth::kRequired));
      CHECK(f.owner.checked == 401);
    }
  }
}

TEST_CASE("session gate: sesame's own data fields never reach the upstream nor its control") {
  Fixture f;
  std::string alice = login(f, "alice");
  std::optional<session::SessionId> id = f.shared->codec.verify(alice);
  REQUIRE(id);
  const std::string key = session::CookieCodec::storeKey(*id);
  session::MemoryStore& store = *f.shared->memory;
  const auto stored = [&](const std::string& of) {
    std::optional<session::Session> out;
    session::TicketPtr t =
        store.load(of, session::wallClockNow(), [&out](StoreStatus, const session::Session* s) {
          if (s != nullptr) out = *s;
        });
    return out;
  };
  session::Update update;
  update.set = {{".oidc.access_token", "eyJ.token"}, {".oidc.state", "one-use"}, {"cart", "3"}};
  StoreStatus status = StoreStatus::kUnavailable;
  session::TicketPtr t =
      store.update(key, update, session::wallClockNow(), [&status](StoreStatus s) { status = s; });
  REQUIRE(status == StoreStatus::kOk);

  CHECK(dataSeen(f, alice, "alice") == "Cart=3;");
  // The upstream can neither set nor unset them.
  auto req = f.request("GET", "/", {{"Cookie", "sid=" + alice}});
  f.check(req, policy(Auth::kRequired));
  REQUIRE(f.owner.checked == 0);
  REQUIRE(f.respond({{"X-Sesame-Set", ".oidc.state=forged"},
                     {"X-Sesame-Unset", ".oidc.access_token"},
                     {"X-Sesame-Set", "theme=dark"}}) == SessionGate::Control::kSend);
  std::optional<session::Session> after = stored(key);
  REQUIRE(after);
  CHECK(after->data == std::map<std::string, std::string>{{".oidc.access_token", "eyJ.token"},
                                                          {".oidc.state", "one-use"},
                                                          {"cart", "3"},
                                                          {"theme", "dark"}});
  // Another user's login starts afresh: none of alice's fields, sesame's own included.
  std::string bob = loginOn(f, alice, "bob");
  std::optional<session::SessionId> bob_id = f.shared->codec.verify(bob);
  REQUIRE(bob_id);
  std::optional<session::Session> fresh = stored(session::CookieCodec::storeKey(*bob_id));
  REQUIRE(fresh);
  CHECK(fresh->data.empty());
}

TEST_CASE("session gate: logout destroys and clears; logout all ends every session of the user") {
  Fixture f;
  std::string one = login(f, "bob");
  std::string two = login(f, "bob");
  auto route = policy(Auth::kRequired);

  auto req = f.request("GET", "/", {{"Cookie", "sid=" + one}});
  f.check(req, route);
  REQUIRE(f.owner.checked == 0);
  REQUIRE(f.respond({{"X-Sesame-Logout", "1"}}) == SessionGate::Control::kSend);
  CHECK(f.gate->responseFields().find("Max-Age=0") != std::string::npos);
  CHECK(f.gate->responseFields().find("Clear-Site-Data: \"cookies\"") != std::string::npos);
  CHECK(f.gate->noStore());
  auto after = f.request("GET", "/", {{"Cookie", "sid=" + one}});
  f.check(after, route);
  CHECK(f.owner.checked == 401);

  std::string three = login(f, "bob");
  auto all = f.request("GET", "/", {{"Cookie", "sid=" + three}});
  f.check(all, route);
  REQUIRE(f.respond({{"X-Sesame-Logout", "all"}}) == SessionGate::Control::kSend);
  for (const std::string& cookie : {two, three}) {
    auto gone = f.request("GET", "/", {{"Cookie", "sid=" + cookie}});
    f.check(gone, route);
    CHECK(f.owner.checked == 401);
  }
}

TEST_CASE("session gate: control headers are ignored on routes without accept_control") {
  Fixture f;
  auto req = f.request("GET", "/");
  auto route = policy(Auth::kSession, false);
  f.check(req, route);
  std::string before = f.gate->responseFields();
  size_t calls = f.counting->calls;
  CHECK(f.respond({{"X-Sesame-Login", "mallory"}}) == SessionGate::Control::kSend);
  CHECK(f.gate->responseFields() == before);
  CHECK(f.counting->calls == calls);
}

TEST_CASE("session gate: cross-site unsafe requests are refused before any store work") {
  Fixture f;
  auto route = policy(Auth::kSession);
  auto forged = f.request("POST", "/transfer", {{"Origin", "https://evil.example"}});
  f.check(forged, route);
  CHECK(f.owner.checked == 403);
  auto fetch = f.request("POST", "/transfer", {{"Sec-Fetch-Site", "cross-site"}});
  f.check(fetch, route);
  CHECK(f.owner.checked == 403);
  auto same = f.request("POST", "/transfer", {{"Origin", "https://app.test"}});
  f.check(same, route);
  CHECK(f.owner.checked == 0);
  route.csrf = false;
  auto allowed = f.request("POST", "/transfer", {{"Origin", "https://evil.example"}});
  f.check(allowed, route);
  CHECK(f.owner.checked == 0);
  CHECK(f.counting->calls == 0);
}

TEST_CASE("session gate: the request's own origin and the cookie follow the client's scheme") {
  // Behind a TLS-terminating balancer the listener is plain, but the scheme
  // the client used (a trusted X-Forwarded-Proto) is https.
  Fixture f;
  auto route = policy(Auth::kSession);
  auto same = f.request("POST", "/transfer", {{"Origin", "https://app.test"}});
  f.check(same, route);
  CHECK(f.owner.checked == 0);
  CHECK(f.gate->responseFields().find("; Secure") != std::string::npos);
  f.https = false;
  auto plain = f.request("POST", "/transfer", {{"Origin", "https://app.test"}});
  f.check(plain, route);
  CHECK(f.owner.checked == 403);
  auto http_origin = f.request("POST", "/transfer", {{"Origin", "http://app.test"}});
  f.check(http_origin, route);
  CHECK(f.owner.checked == 0);
  CHECK(f.gate->responseFields().find("Set-Cookie: sid=") != std::string::npos);
  CHECK(f.gate->responseFields().find("Secure") == std::string::npos);
}

TEST_CASE("session gate: cross-site WebSocket hijack is refused before any store work") {
  Fixture f;
  std::string cookie = login(f, "alice");
  size_t calls = f.counting->calls;
  auto route = policy(Auth::kRequired);
  auto upgrade = [&](std::vector<std::pair<std::string, std::string>> headers) {
    headers.emplace_back("Cookie", "sid=" + cookie);
    headers.emplace_back("Upgrade", "websocket");
    auto req = f.request("GET", "/ws", headers);
    req.upgrade = true;
    return req;
  };
  auto evil = upgrade({{"Origin", "https://evil.example"}});
  f.check(evil, route);
  CHECK(f.owner.checked == 403);
  CHECK(header(evil, "X-Remote-User") == nullptr);
  auto fetch = upgrade({{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}});
  f.check(fetch, route);
  CHECK(f.owner.checked == 403);
  CHECK(f.counting->calls == calls);
  // A plain GET with the same Origin is no upgrade: navigations pass.
  auto get =
      f.request("GET", "/ws", {{"Origin", "https://evil.example"}, {"Cookie", "sid=" + cookie}});
  f.check(get, route);
  CHECK(f.owner.checked == 0);

  auto own = upgrade({{"Origin", "https://app.test"}});
  f.check(own, route);
  CHECK(f.owner.checked == 0);
  CHECK(std::string(header(own, "X-Remote-User")) == "alice");
  auto tool = upgrade({});  // no Origin: not a browser
  f.check(tool, route);
  CHECK(f.owner.checked == 0);
  f.settings.csrf_origins = {"https://evil.example"};
  auto listed = upgrade({{"Origin", "https://evil.example"}});
  f.check(listed, route);
  CHECK(f.owner.checked == 0);
  f.settings.csrf_origins.clear();
  // csrf = false turns the Origin check off for upgrades too.
  route.csrf = false;
  auto opted_out = upgrade({{"Origin", "https://evil.example"}});
  f.check(opted_out, route);
  CHECK(f.owner.checked == 0);
}

TEST_CASE("session gate: cookie store seals the session in the cookie and re-seals on change") {
  Fixture f(session::StoreKind::kCookie);
  auto route = policy(Auth::kSession);
  auto first = f.request("GET", "/");
  f.check(first, route);
  CHECK(f.gate->responseFields().empty());  // nothing to seal yet
  REQUIRE(f.respond({{"X-Sesame-Login", "carol"}, {"X-Sesame-Set", "theme=dark"}}) ==
          SessionGate::Control::kSend);
  std::string sealed = Fixture::cookieValue(f.gate->responseFields());
  REQUIRE(sealed.size() > session::CookieCodec::kValueLength);

  auto req = f.request("GET", "/", {{"Cookie", "sid=" + sealed}});
  f.check(req, policy(Auth::kRequired));
  CHECK(f.owner.checked == 0);
  CHECK(std::string(header(req, "X-Remote-User")) == "carol");
  CHECK(std::string(header(req, "X-Session-Theme")) == "dark");
  CHECK(header(req, "Cookie") == nullptr);

  std::string tampered = sealed;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  auto bad = f.request("GET", "/", {{"Cookie", "sid=" + tampered}});
  f.check(bad, policy(Auth::kRequired));
  CHECK(f.owner.checked == 401);

  // A session too large for a cookie is refused, not truncated: the old
  // cookie stays, and no Set-Cookie goes out.
  auto big = f.request("GET", "/", {{"Cookie", "sid=" + sealed}});
  f.check(big, route);
  REQUIRE(f.respond({{"X-Sesame-Set", "blob=" + std::string(4000, 'x')}}) ==
          SessionGate::Control::kSend);
  CHECK(f.gate->responseFields().empty());
}

TEST_CASE("takeCookie removes every pair of the name from every Cookie field") {
  http::HeaderList headers;
  headers.add("Cookie", "sid=one; a=1");
  headers.add("Accept", "*/*");
  headers.add("Cookie", "sid=two");
  std::string value = "left over";
  REQUIRE(takeCookie(headers, "sid", &value));
  CHECK(value == "one");
  CHECK(headers.count("Cookie") == 1);
  CHECK(headers.find("Cookie")->value == "a=1");
  CHECK(headers.find("Accept") != nullptr);
  CHECK_FALSE(takeCookie(headers, "sid"));
}

// The fields a list holds, "Name: value" each, in order.
std::vector<std::string> fieldLines(const http::HeaderList& headers) {
  std::vector<std::string> out;
  for (const http::Header& h : headers.fields()) out.push_back(h.name + ": " + h.value);
  return out;
}

TEST_CASE("takeCookie edits the Cookie fields in place, other fields untouched") {
  SECTION("the name in the second Cookie field; the first is left as sent") {
    http::HeaderList headers;
    headers.add("Cookie", "a=1; b=2");
    headers.add("X-Other", "sid=not-a-cookie");
    headers.add("cookie", "c=3; sid=v; d=4");
    std::string value;
    REQUIRE(takeCookie(headers, "sid", &value));
    CHECK(value == "v");
    CHECK(fieldLines(headers) == std::vector<std::string>{"Cookie: a=1; b=2",
                                                          "X-Other: sid=not-a-cookie",
                                                          "cookie: c=3; d=4"});
  }
  SECTION("duplicates: the first value is returned, every pair goes") {
    http::HeaderList headers;
    headers.add("Cookie", "sid=first; x=1; sid=second");
    headers.add("Cookie", "sid=third");
    headers.add("Cookie", "y=2;sid=fourth");
    std::string value;
    REQUIRE(takeCookie(headers, "sid", &value));
    CHECK(value == "first");
    CHECK(fieldLines(headers) == std::vector<std::string>{"Cookie: x=1", "Cookie: y=2"});
  }
  SECTION("a field left empty is dropped; the others keep their order") {
    http::HeaderList headers;
    headers.add("Accept", "*/*");
    headers.add("Cookie", " sid=v ;  ; ");
    headers.add("User-Agent", "t");
    headers.add("Cookie", "sid=w");
    std::string value;
    REQUIRE(takeCookie(headers, "sid", &value));
    CHECK(value == "v");
    CHECK(fieldLines(headers) == std::vector<std::string>{"Accept: */*", "User-Agent: t"});
  }
  SECTION("quoted value, and names that only look alike") {
    http::HeaderList headers;
    headers.add("Cookie", "SID=upper; sid=\"q\"; sidx=1; xsid=2");
    std::string value;
    REQUIRE(takeCookie(headers, "sid", &value));
    CHECK(value == "q");
    CHECK(fieldLines(headers) == std::vector<std::string>{"Cookie: SID=upper; sidx=1; xsid=2"});
  }
  SECTION("not found: nothing is touched, not even spacing") {
    http::HeaderList headers;
    headers.add("Cookie", "a=1;b=2");
    std::string value = "untouched";
    CHECK_FALSE(takeCookie(headers, "sid", &value));
    CHECK(value == "untouched");
    CHECK(fieldLines(headers) == std::vector<std::string>{"Cookie: a=1;b=2"});
  }
}

// Each field ends as session::removeCookie spells it, whether the pieces
// fit where they were (sent with "; " or wider) or the joined form is
// longer than what was sent ("a=1;b=2").
TEST_CASE("takeCookie leaves each Cookie field as session::removeCookie would") {
  const std::vector<std::string> values = {
      "sid=v",
      "a=1;b=2;sid=v;c=3",
      "sid=v;a=1;b=2",
      "a=1; sid=v;b=2;c",
      "  a=1 ;\tb = 2;;sid=v;;  c=3  ",
      ";;;a",
      "a=1;;;;;;;;;;;;;;;b=2;c=3;d=4",
      "x;y;z;sid=1;sid=2;w",
      "a=1; b=2; c=3",
      "=; sid; sid=; a==b",
  };
  for (const std::string& other : values) {
    http::HeaderList headers;
    headers.add("Cookie", "sid=first");
    headers.add("Cookie", other);
    REQUIRE(takeCookie(headers, "sid"));
    const std::string expected = session::removeCookie(other, "sid");
    INFO(other);
    if (expected.empty()) {
      CHECK(headers.count("Cookie") == 0);
    } else {
      REQUIRE(headers.count("Cookie") == 1);
      CHECK(headers.find("Cookie")->value == expected);
    }
  }
}

}  // namespace
}  // namespace sesame::proxy

#include "sesame/proxy/router.h"

#include <catch2/catch.hpp>

using sesame::config::RouteConfig;
using sesame::proxy::pathMatches;
using sesame::proxy::Router;

namespace {

RouteConfig route(std::string host, std::string path, std::string upstream) {
  RouteConfig r;
  r.host = std::move(host);
  r.path = std::move(path);
  r.upstream = std::move(upstream);
  return r;
}

std::string pick(const Router& router, std::string_view host, std::string_view target) {
  const RouteConfig* r = router.match(host, target);
  return r == nullptr ? "none" : r->upstream;
}

}  // namespace

TEST_CASE("path prefixes match at segment boundaries", "[router]") {
  CHECK(pathMatches("/", "/anything"));
  CHECK(pathMatches("/api", "/api"));
  CHECK(pathMatches("/api", "/api/users"));
  CHECK(pathMatches("/api", "/api?x=1"));
  CHECK_FALSE(pathMatches("/api", "/apis"));
  CHECK(pathMatches("/api/", "/api/x"));
  CHECK_FALSE(pathMatches("/api/", "/api"));
  CHECK_FALSE(pathMatches("/api", "/"));
}

TEST_CASE("the longest matching prefix wins", "[router]") {
  std::vector<RouteConfig> routes = {route("", "/", "root"), route("", "/api", "api"),
                                     route("", "/api/admin", "admin")};
  Router router(routes);
  CHECK(pick(router, "x", "/") == "root");
  CHECK(pick(router, "x", "/apis") == "root");
  CHECK(pick(router, "x", "/api/v1") == "api");
  CHECK(pick(router, "x", "/api/admin/users") == "admin");
}

TEST_CASE("exact hosts beat wildcards, which beat host-less routes", "[router]") {
  std::vector<RouteConfig> routes = {route("", "/", "any"), route("*.example.com", "/", "wild"),
                                     route("*.a.example.com", "/", "deeper"),
                                     route("app.example.com", "/", "exact"),
                                     route("app.example.com", "/static", "static")};
  Router router(routes);
  CHECK(pick(router, "app.example.com", "/") == "exact");
  CHECK(pick(router, "app.example.com:8443", "/static/x.css") == "static");
  CHECK(pick(router, "www.example.com", "/") == "wild");
  CHECK(pick(router, "x.a.example.com", "/") == "deeper");
  CHECK(pick(router, "example.com", "/") == "any");
  CHECK(pick(router, "other.org", "/") == "any");
}

TEST_CASE("a host class that matches but has no path is a 404, not a fallback", "[router]") {
  std::vector<RouteConfig> routes = {route("", "/", "any"),
                                     route("app.example.com", "/api", "api")};
  Router router(routes);
  CHECK(pick(router, "app.example.com", "/api/x") == "api");
  CHECK(pick(router, "app.example.com", "/other") == "none");
  CHECK(pick(router, "elsewhere", "/other") == "any");
}

TEST_CASE("no route at all gives null", "[router]") {
  std::vector<RouteConfig> routes = {route("only.example.com", "/", "a")};
  Router router(routes);
  CHECK(pick(router, "other.example.com", "/") == "none");
}

TEST_CASE("stripPort removes only a port", "[router]") {
  CHECK(sesame::proxy::stripPort("example.com:8080") == "example.com");
  CHECK(sesame::proxy::stripPort("example.com") == "example.com");
  CHECK(sesame::proxy::stripPort("[::1]:8443") == "[::1]");
  CHECK(sesame::proxy::stripPort("[::1]") == "[::1]");
}

TEST_CASE("routeHost drops the port and the trailing dot", "[router]") {
  CHECK(sesame::proxy::routeHost("admin.example.com.:443") == "admin.example.com");
  CHECK(sesame::proxy::routeHost("admin.example.com.") == "admin.example.com");
  CHECK(sesame::proxy::routeHost("admin.example.com:443") == "admin.example.com");
  CHECK(sesame::proxy::routeHost("[::1]:8443") == "[::1]");
  CHECK(sesame::proxy::routeHost("127.0.0.1") == "127.0.0.1");
}

TEST_CASE("route bypass by spelling a protected host differently", "[router]") {
  std::vector<RouteConfig> routes = {route("", "/", "catch-all"),
                                     route("admin.example.com", "/", "admin"),
                                     route("*.internal.example.com", "/", "internal")};
  Router router(routes);
  // The parser lower-cases the host; every other spelling routes the same.
  for (const char* host : {"admin.example.com", "admin.example.com.", "admin.example.com:443",
                           "admin.example.com.:443", "admin.example.com.:80"}) {
    INFO(host);
    CHECK(pick(router, host, "/x") == "admin");
  }
  CHECK(pick(router, "db.internal.example.com.", "/") == "internal");
  CHECK(pick(router, "db.internal.example.com.:8443", "/") == "internal");
  CHECK(pick(router, "example.com.", "/") == "catch-all");
}

namespace {

RouteConfig guarded(std::string path, std::string upstream, sesame::session::Auth auth,
                    std::vector<std::string> groups = {}) {
  RouteConfig r = route("", std::move(path), std::move(upstream));
  r.policy.auth = auth;
  r.policy.groups = std::move(groups);
  return r;
}

std::string pickTarget(const Router& router, std::string_view target) {
  Router::TargetMatch m = router.matchTarget("app.test", target);
  if (m.ambiguous) return "ambiguous";
  return m.route == nullptr ? "none" : m.route->upstream;
}

}  // namespace

TEST_CASE("route bypass by path parameters: the stricter reading wins", "[router]") {
  using sesame::session::Auth;
  std::vector<RouteConfig> routes = {guarded("/", "root", Auth::kRequired),
                                     guarded("/public/", "public", Auth::kPublic),
                                     guarded("/admin/", "admin", Auth::kRequired, {"admin"}),
                                     guarded("/ops/", "ops", Auth::kRequired, {"ops"})};
  Router router(routes);
  // Tomcat's reading ("/admin/x") is the stricter one.
  CHECK(pickTarget(router, "/admin;jsessionid=1/x") == "admin");
  CHECK(pickTarget(router, "/admin;x/") == "admin");
  CHECK(pickTarget(router, "/admin/x;jsessionid=1?q=;") == "admin");
  // Express's reading ("/public;x/secret" is not under /public/) is.
  CHECK(pickTarget(router, "/public;x/secret") == "root");
  CHECK(pickTarget(router, "/public/a;x/b") == "public");
  std::vector<RouteConfig> split = {guarded("/", "root", Auth::kRequired, {"ops"}),
                                    guarded("/admin/", "admin", Auth::kRequired, {"admin"})};
  Router split_router(split);
  // Neither policy covers the other: refused.
  CHECK(pickTarget(split_router, "/admin;x/y") == "ambiguous");
  CHECK(pickTarget(split_router, "/admin/y;x") == "admin");
  // Not paths: matched as received.
  CHECK(pickTarget(router, "*") == "none");
}

TEST_CASE("policy strictness: auth, then csrf and groups", "[router]") {
  using sesame::proxy::atLeastAsStrict;
  using sesame::session::Auth;
  using sesame::session::RoutePolicy;
  auto policy = [](Auth auth, std::vector<std::string> groups = {}, bool csrf = true,
                   bool control = false) {
    RoutePolicy p;
    p.auth = auth;
    p.groups = std::move(groups);
    p.csrf = csrf;
    p.accept_control = control;
    return p;
  };
  CHECK(atLeastAsStrict(policy(Auth::kSession), policy(Auth::kPublic)));
  CHECK_FALSE(atLeastAsStrict(policy(Auth::kPublic), policy(Auth::kSession)));
  CHECK(atLeastAsStrict(policy(Auth::kRequired, {"a"}), policy(Auth::kRequired)));
  CHECK_FALSE(atLeastAsStrict(policy(Auth::kRequired), policy(Auth::kRequired, {"a"})));
  CHECK(atLeastAsStrict(policy(Auth::kRequired, {"a"}), policy(Auth::kRequired, {"a", "b"})));
  CHECK_FALSE(atLeastAsStrict(policy(Auth::kRequired, {"a", "b"}), policy(Auth::kRequired, {"a"})));
  CHECK_FALSE(atLeastAsStrict(policy(Auth::kRequired, {"a"}), policy(Auth::kRequired, {"b"})));
  CHECK(atLeastAsStrict(policy(Auth::kRequired), policy(Auth::kSession, {}, true)));
  CHECK_FALSE(atLeastAsStrict(policy(Auth::kSession, {}, false), policy(Auth::kSession)));
  CHECK_FALSE(atLeastAsStrict(policy(Auth::kRequired, {"a"}, false), policy(Auth::kSession)));
  // csrf has no effect on public routes; accept_control is not a check.
  CHECK(atLeastAsStrict(policy(Auth::kSession, {}, false), policy(Auth::kPublic)));
  CHECK(atLeastAsStrict(policy(Auth::kSession, {}, true, true), policy(Auth::kSession)));
  CHECK(atLeastAsStrict(policy(Auth::kSession), policy(Auth::kSession, {}, true, true)));
}

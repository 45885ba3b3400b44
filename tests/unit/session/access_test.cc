#include "sesame/session/access.h"

#include <catch2/catch.hpp>

using namespace sesame::session;
using sesame::http::HeaderList;

namespace {

RoutePolicy policy(Auth auth, std::vector<std::string> groups = {}) {
  RoutePolicy p;
  p.auth = auth;
  p.groups = std::move(groups);
  return p;
}

Session user(std::string name, std::vector<std::string> groups = {}) {
  Session s;
  s.user = std::move(name);
  s.groups = std::move(groups);
  return s;
}

}  // namespace

TEST_CASE("session routes forward with or without a session", "[access]") {
  Session alice = user("alice");
  Session anonymous;
  CHECK(decide(policy(Auth::kSession), {StoreStatus::kOk, &alice}, false) == Access::kForward);
  CHECK(decide(policy(Auth::kSession), {StoreStatus::kOk, &anonymous}, false) == Access::kForward);
  CHECK(decide(policy(Auth::kSession), {StoreStatus::kMissing, nullptr}, true) ==
        Access::kForwardAnonymous);
  // A store outage degrades "session" routes to anonymous, never to an error.
  CHECK(decide(policy(Auth::kSession), {StoreStatus::kUnavailable, nullptr}, false) ==
        Access::kForwardAnonymous);
}

TEST_CASE("required routes need a user", "[access]") {
  Session alice = user("alice");
  Session anonymous;
  CHECK(decide(policy(Auth::kRequired), {StoreStatus::kOk, &alice}, false) == Access::kForward);
  CHECK(decide(policy(Auth::kRequired), {StoreStatus::kOk, &anonymous}, true) ==
        Access::kLoginRedirect);
  CHECK(decide(policy(Auth::kRequired), {StoreStatus::kOk, &anonymous}, false) ==
        Access::kUnauthorized);
  CHECK(decide(policy(Auth::kRequired), {StoreStatus::kMissing, nullptr}, true) ==
        Access::kLoginRedirect);
  CHECK(decide(policy(Auth::kRequired), {StoreStatus::kMissing, nullptr}, false) ==
        Access::kUnauthorized);
}

TEST_CASE("required routes fail closed when the store is down", "[access]") {
  CHECK(decide(policy(Auth::kRequired), {StoreStatus::kUnavailable, nullptr}, true) ==
        Access::kUnavailable);
}

TEST_CASE("route groups: any one suffices, none is 403", "[access]") {
  Session ops = user("bob", {"staff", "ops"});
  Session guest = user("carol", {"guests"});
  auto admin_or_ops = policy(Auth::kRequired, {"admin", "ops"});
  CHECK(decide(admin_or_ops, {StoreStatus::kOk, &ops}, false) == Access::kForward);
  CHECK(decide(admin_or_ops, {StoreStatus::kOk, &guest}, true) == Access::kForbidden);
}

TEST_CASE("browser navigations are GET or HEAD accepting text/html", "[access]") {
  HeaderList browser;
  browser.add("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8");
  HeaderList api;
  api.add("Accept", "application/json");
  HeaderList with_params;
  with_params.add("accept", "application/json, Text/HTML ;q=0.5");
  HeaderList none;
  CHECK(isBrowserNavigation("GET", browser));
  CHECK(isBrowserNavigation("HEAD", browser));
  CHECK_FALSE(isBrowserNavigation("POST", browser));
  CHECK_FALSE(isBrowserNavigation("GET", api));
  CHECK(isBrowserNavigation("GET", with_params));
  CHECK_FALSE(isBrowserNavigation("GET", none));
  HeaderList lookalike;
  lookalike.add("Accept", "text/html-fragment");
  CHECK_FALSE(isBrowserNavigation("GET", lookalike));
}

TEST_CASE("the login location carries the target as one parameter", "[access]") {
  CHECK(loginLocation("/login", "/orders?id=7&x=a b") ==
        "/login?return_to=/orders%3Fid%3D7%26x%3Da%20b");
  CHECK(loginLocation("/sso?app=shop", "/") == "/sso?app=shop&return_to=/");
  CHECK(loginLocation("/login", "/caf\xc3\xa9") == "/login?return_to=/caf%C3%A9");
}

TEST_CASE("open redirect through return_to: paths a browser reads as another host",
          "[access][return_to]") {
  const std::string_view refused[] = {"//evil.example/x",
                                      "/\\evil.example/x",
                                      "/%2Fevil.example",
                                      "/%2fevil.example",
                                      "/%5Cevil.example",
                                      "/%5cevil.example",
                                      "///evil.example",
                                      "/\\/evil.example",
                                      "https://evil.example/",
                                      "javascript:alert(1)",
                                      "evil.example/x",
                                      "",
                                      " /x",
                                      "\t//evil.example",
                                      "/\t/evil.example",
                                      "/\r\n/evil.example",
                                      "/x\r\nSet-Cookie: a=b",
                                      "/x%0d%0aSet-Cookie:%20a=b",
                                      "/%09/evil.example",
                                      "/%7f",
                                      "/x%1Fy",
                                      "/a\\b",
                                      std::string_view("/\0/evil.example", 16)};
  for (std::string_view path : refused) {
    INFO(path);
    CHECK_FALSE(safeReturnPath(path));
  }
}

TEST_CASE("return_to accepts same-origin paths with their query", "[access][return_to]") {
  for (const char* path :
       {"/", "/orders?id=7&x=a b", "/caf\xc3\xa9", "/a/%2F/b", "/a;jsessionid=1/x",
        "/x?next=//elsewhere", "/x?q=a\\b", "/%20x", "/.well-known/x"}) {
    INFO(path);
    CHECK(safeReturnPath(path));
  }
}

TEST_CASE("open redirect through return_to: the login location falls back to /",
          "[access][return_to]") {
  CHECK(loginLocation("/login", "//evil.example/x") == "/login?return_to=/");
  CHECK(loginLocation("/login", "/\\evil.example/x") == "/login?return_to=/");
  CHECK(loginLocation("/login", "/%2F%2Fevil.example") == "/login?return_to=/");
  CHECK(loginLocation("/login", "https://evil.example/") == "/login?return_to=/");
  CHECK(loginLocation("/login", "/x%0D%0ALocation:%20//evil") == "/login?return_to=/");
  CHECK(loginLocation("/login", "/evil.example/x") == "/login?return_to=/evil.example/x");
}

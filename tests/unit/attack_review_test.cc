// Holes a hostile review of issue 10 found, one regression case per attack.
#include <catch2/catch.hpp>

#include "sesame/config/config.h"
#include "sesame/http/request_parser.h"
#include "sesame/proxy/client_address.h"
#include "sesame/proxy/forwarding.h"
#include "sesame/proxy/router.h"
#include "sesame/session/identity_filter.h"

using namespace sesame;

namespace {

http::RequestHead parseRequest(std::string_view text) {
  http::RequestParser parser;
  REQUIRE(parser.parse(text) == http::RequestParser::Status::kComplete);
  return parser.head();
}

}  // namespace

// lighttpd (http_cgi_encode_varname) and Apache 2.2 (http2env) map every
// non-alphanumeric byte of a field name to '_': "X+Remote+User" is
// HTTP_X_REMOTE_USER to the CGI/FastCGI application behind them.
TEST_CASE("identity spoofed in a CGI-folded spelling", "[attack_review]") {
  for (const char* spelling :
       {"X+Remote+User", "X~Remote~User", "X!Remote!User", "X*Remote*User", "X|Remote|User",
        "X'Remote'User", "X^Remote^User", "X`Remote`User", "X#Remote#User", "X$Remote$User",
        "X%Remote%User", "X&Remote&User"}) {
    INFO(spelling);
    CHECK(session::headerNameMatches(spelling, "X-Remote-User"));
  }
}

// A client behind a trusted balancer that passes Connection on names
// X-Forwarded-For there: the balancer's field is dropped before the client
// is resolved, and the client becomes the balancer itself.
TEST_CASE("client address spoofed as the balancer through Connection", "[attack_review]") {
  http::RequestHead req = parseRequest(
      "GET / HTTP/1.1\r\nHost: app.example\r\nConnection: keep-alive, X-Forwarded-For\r\n"
      "X-Forwarded-For: 192.0.2.7\r\n\r\n");
  std::vector<net::Cidr> trusted = {*net::parseCidr("10.0.0.0/8", nullptr)};
  proxy::cleanRequestFields(req, {"websocket"});
  proxy::ClientView view = proxy::resolveClient(trusted, "10.0.0.5", false, req.headers);
  CHECK(view.address == "192.0.2.7");
}

// nginx answers 301 to /admin/ for "GET /admin" under "location /admin/";
// sesame routes it to the catch-all, whose policy is weaker, and an
// application mounted at /admin serves its index there.
TEST_CASE("route skipped by dropping the trailing slash", "[attack_review]") {
  std::vector<config::RouteConfig> routes(2);
  routes[0].path = "/";
  routes[0].upstream = "app";
  routes[0].policy.auth = session::Auth::kSession;
  routes[1].path = "/admin/";
  routes[1].upstream = "app";
  routes[1].policy.auth = session::Auth::kRequired;
  routes[1].policy.groups = {"admin"};
  proxy::Router router(routes);
  for (const char* target : {"/admin", "/admin?x=1", "/admin;jsessionid=1"}) {
    INFO(target);
    proxy::Router::TargetMatch m = router.matchTarget("app.example", target);
    CHECK((m.route == nullptr || m.route == &routes[1]));
  }
}

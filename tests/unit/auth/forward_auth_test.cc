#include "sesame/auth/forward_auth.h"

#include <catch2/catch.hpp>

#include "sesame/auth/session_json.h"
#include "sesame/base/json.h"
#include "sesame/session/cookie_codec.h"

using namespace sesame;

namespace {

http::HeaderList headers(std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::HeaderList list;
  for (const auto& [name, value] : fields) list.add(name, value);
  return list;
}

}  // namespace

TEST_CASE("the original request from Traefik and Caddy headers", "[auth][forward_auth]") {
  auto original = auth::originalRequest(headers({{"X-Forwarded-Proto", "https"},
                                                 {"X-Forwarded-Host", "app.example.com"},
                                                 {"X-Forwarded-Uri", "/docs?p=1"},
                                                 {"X-Forwarded-Method", "POST"}}),
                                        "");
  REQUIRE(original);
  CHECK(original->url == "https://app.example.com/docs?p=1");
  CHECK(original->method == "POST");
}

TEST_CASE("the original request from nginx's X-Original-URL", "[auth][forward_auth]") {
  auto original = auth::originalRequest(headers({{"X-Original-Method", "GET"}}),
                                        "http://app.example.com:8080/x");
  REQUIRE(original);
  CHECK(original->url == "http://app.example.com:8080/x");
  CHECK(original->method == "GET");
  CHECK(auth::originalRequest(headers({}), "http://a/x")->method == "GET");
}

TEST_CASE("a malformed or ambiguous original request is no request", "[auth][forward_auth]") {
  CHECK_FALSE(auth::originalRequest(headers({}), ""));
  CHECK_FALSE(auth::originalRequest(
      headers(
          {{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "a"}, {"X-Forwarded-Uri", "x"}}),
      ""));
  CHECK_FALSE(auth::originalRequest(
      headers({{"X-Forwarded-Proto", "ftp"}, {"X-Forwarded-Host", "a"}, {"X-Forwarded-Uri", "/"}}),
      ""));
  CHECK_FALSE(auth::originalRequest(headers({{"X-Forwarded-Proto", "https"},
                                             {"X-Forwarded-Host", "a"},
                                             {"X-Forwarded-Host", "b"},
                                             {"X-Forwarded-Uri", "/"}}),
                                    ""));
  CHECK_FALSE(auth::originalRequest(headers({{"X-Original-Method", "get me"}}), "https://a/"));
  CHECK_FALSE(auth::originalRequest(headers({}), "https://a/ b"));
}

TEST_CASE("return addresses: only listed hosts, no open redirect", "[auth][forward_auth]") {
  const std::vector<std::string> hosts{"app.example.com", "b.example.com:8443"};
  CHECK(auth::allowedReturnUrl("https://app.example.com/x", hosts));
  CHECK(auth::allowedReturnUrl("http://APP.example.com:8080/x?y", hosts));
  CHECK(auth::allowedReturnUrl("https://app.example.com", hosts));
  CHECK(auth::allowedReturnUrl("https://b.example.com:8443/", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://b.example.com/", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://app.example.com@evil.example/", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://app.example.com.evil.example/", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://evil.example/app.example.com", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https:\\\\app.example.com/", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("javascript://app.example.com/%0aalert(1)", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://app.example.com/\tx", hosts));
  CHECK(auth::allowedReturnUrl("https://app.example.com?x", hosts));
  CHECK(auth::chooseReturnTo("/inside?a=b", hosts) == "/inside?a=b");
  CHECK(auth::chooseReturnTo("//evil.example", hosts) == "/");
  CHECK(auth::chooseReturnTo("https://evil.example/", hosts) == "/");
  CHECK(auth::chooseReturnTo("", hosts) == "/");
}

TEST_CASE("JSON strings and times", "[auth][json]") {
  CHECK(jsonString("a\"b\\c\n\x01") == R"("a\"b\\c\u000a\u0001")");
  CHECK(jsonString("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
  CHECK(jsonString("bad\xff\xc3") == R"("bad\u00ff\u00c3")");
  CHECK(jsonString("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")");  // a surrogate
  CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(rfc3339(1796400000123) == "2026-12-04T16:00:00Z");
}

TEST_CASE("the session as JSON", "[auth][json]") {
  session::Timeouts timeouts;
  timeouts.idle = std::chrono::minutes(30);
  timeouts.absolute = std::chrono::hours(12);
  CHECK(
      auth::renderSessionJson(nullptr, timeouts, false) ==
      "{\"authenticated\":false,\"user\":null,\"groups\":[],\"created\":null,\"expires\":null}\n");
  session::Session s;
  s.user = "alice";
  s.groups = {"admins", "a\"b"};
  s.data["cart"] = "3";
  s.created = 0;
  s.touched = 3600 * 1000;
  CHECK(auth::renderSessionJson(&s, timeouts, false) ==
        "{\"authenticated\":true,\"user\":\"alice\",\"groups\":[\"admins\",\"a\\\"b\"],"
        "\"created\":\"1970-01-01T00:00:00Z\",\"expires\":\"1970-01-01T01:30:00Z\"}\n");
  CHECK(auth::renderSessionJson(&s, timeouts, true).find(",\"data\":{\"cart\":\"3\"}}") !=
        std::string::npos);
  // sesame's own fields (provider tokens) are never shown, wherever they sort.
  s.data[".oidc.access_token"] = "eyJ.secret";
  s.data["-first"] = "1";
  s.data["zz"] = "2";
  const std::string shown = auth::renderSessionJson(&s, timeouts, true);
  CHECK(shown.find(",\"data\":{\"-first\":\"1\",\"cart\":\"3\",\"zz\":\"2\"}}") !=
        std::string::npos);
  CHECK(shown.find("oidc") == std::string::npos);
  CHECK(shown.find("secret") == std::string::npos);
  s.user.clear();
  CHECK(auth::renderSessionJson(&s, timeouts, false)
            .starts_with("{\"authenticated\":false,\"user\":null,\"groups\":[]"));
}

TEST_CASE("CSRF tokens bind to one session and verify under every secret", "[auth][csrf]") {
  session::CookieCodec old_codec({std::string(40, 'a')});
  session::CookieCodec codec({std::string(40, 'b'), std::string(40, 'a')});
  std::string token = codec.csrfToken("key-1");
  CHECK(token.size() == 43);
  CHECK(codec.verifyCsrfToken("key-1", token));
  CHECK_FALSE(codec.verifyCsrfToken("key-2", token));
  CHECK_FALSE(codec.verifyCsrfToken("key-1", token.substr(0, 42)));
  CHECK_FALSE(codec.verifyCsrfToken("key-1", ""));
  CHECK(codec.verifyCsrfToken("key-1", old_codec.csrfToken("key-1")));
  CHECK_FALSE(old_codec.verifyCsrfToken("key-1", token));
}

// The pure half of the session API: request parsing, bearer tokens, JSON.
#include <catch2/catch.hpp>
#include <string>

#include "sesame/admin/sessions_api.h"
#include "sesame/base/json.h"

using namespace sesame;
using admin::Answer;
using admin::SessionsRequest;
using Kind = admin::SessionsRequest::Kind;

namespace {

std::optional<SessionsRequest> parse(std::string_view method, std::string_view target,
                                     Answer* error = nullptr) {
  Answer ignored;
  return admin::parseSessionsRequest(method, target, error != nullptr ? error : &ignored);
}

// The status and body of a refused request.
Answer refused(std::string_view method, std::string_view target) {
  Answer error;
  INFO(method << " " << target);
  REQUIRE_FALSE(parse(method, target, &error));
  return error;
}

std::string json(std::string_view text) {
  std::string out;
  out = sesame::jsonString(text);
  return out;
}

http::HeaderList fields(std::initializer_list<std::pair<std::string, std::string>> list) {
  http::HeaderList headers;
  for (const auto& [name, value] : list) headers.add(name, value);
  return headers;
}

}  // namespace

TEST_CASE("session API paths", "[admin][sessions]") {
  CHECK(admin::isSessionsPath("/sessions"));
  CHECK(admin::isSessionsPath("/sessions/abc"));
  CHECK(admin::isSessionsPath("/sessions/"));
  CHECK_FALSE(admin::isSessionsPath("/sessionsx"));
  CHECK_FALSE(admin::isSessionsPath("/session"));
  CHECK_FALSE(admin::isSessionsPath("/metrics"));
}

TEST_CASE("session API requests: list, revoke a handle, revoke a user", "[admin][sessions]") {
  auto list = parse("GET", "/sessions?user=alice");
  REQUIRE(list);
  CHECK(list->kind == Kind::kList);
  CHECK(list->subject == "alice");

  auto user = parse("DELETE", "/sessions?user=alice");
  REQUIRE(user);
  CHECK(user->kind == Kind::kRevokeUser);
  CHECK(user->subject == "alice");

  auto handle = parse("DELETE", "/sessions/Ab-_09xyzQRS");
  REQUIRE(handle);
  CHECK(handle->kind == Kind::kRevokeHandle);
  CHECK(handle->subject == "Ab-_09xyzQRS");

  SECTION("the query value is form-decoded") {
    CHECK(parse("GET", "/sessions?user=jane+doe")->subject == "jane doe");
    CHECK(parse("GET", "/sessions?user=a%2Bb%40example.org")->subject == "a+b@example.org");
    CHECK(parse("GET", "/sessions?user=J%C3%BCrgen")->subject == "J\xc3\xbcrgen");
    CHECK(parse("GET", "/sessions?&user=bob&")->subject == "bob");
  }
}

TEST_CASE("session API requests refused with 400 or 405", "[admin][sessions]") {
  SECTION("bad user names") {
    for (const char* target :
         {"/sessions", "/sessions?", "/sessions?user=", "/sessions?user", "/sessions?user=a%0Ab",
          "/sessions?user=%7F", "/sessions?user=%00", "/sessions?user=a%2", "/sessions?user=%zz",
          "/sessions?user=a&user=b", "/sessions?name=alice", "/sessions?user=alice&x=1"}) {
      Answer error = refused("GET", target);
      CHECK(error.status == 400);
      CHECK(error.content_type == "application/json");
      CHECK(error.body.starts_with("{\"error\": \""));
      CHECK(error.body.ends_with("\"}\n"));
    }
  }
  SECTION("the longest user name X-Sesame-Login takes, and one byte more") {
    CHECK(parse("GET", "/sessions?user=" + std::string(256, 'u')));
    Answer error = refused("DELETE", "/sessions?user=" + std::string(257, 'u'));
    CHECK(error.status == 400);
    CHECK(error.body.find("1-256 bytes") != std::string::npos);
  }
  SECTION("bad handles") {
    for (const char* target : {"/sessions/", "/sessions/a/b", "/sessions/a%41", "/sessions/a.b",
                               "/sessions/abc?user=x", "/sessions/abc?"}) {
      CHECK(refused("DELETE", target).status == 400);
    }
    CHECK(refused("DELETE", "/sessions/" + std::string(65, 'a')).status == 400);
  }
  SECTION("methods") {
    Answer post = refused("POST", "/sessions?user=alice");
    CHECK(post.status == 405);
    CHECK(post.fields == "Allow: GET, DELETE\r\n");
    Answer get = refused("GET", "/sessions/abc");
    CHECK(get.status == 405);
    CHECK(get.fields == "Allow: DELETE\r\n");
    CHECK(refused("HEAD", "/sessions?user=alice").status == 405);
  }
}

TEST_CASE("query values decode '+' and %XX, and refuse broken escapes", "[admin][sessions]") {
  CHECK(admin::decodeQueryValue("") == "");
  CHECK(admin::decodeQueryValue("a+b%20c") == "a b c");
  CHECK(admin::decodeQueryValue("%2b%2B") == "++");
  CHECK(admin::decodeQueryValue("%00") == std::string(1, '\0'));
  CHECK_FALSE(admin::decodeQueryValue("%"));
  CHECK_FALSE(admin::decodeQueryValue("%4"));
  CHECK_FALSE(admin::decodeQueryValue("%g0"));
  CHECK_FALSE(admin::decodeQueryValue("ab%"));
}

TEST_CASE("bearer tokens: one Authorization field, scheme case-insensitive", "[admin][sessions]") {
  CHECK(admin::bearerToken(fields({{"Authorization", "Bearer abc"}})) == "abc");
  CHECK(admin::bearerToken(fields({{"authorization", "bearer abc"}})) == "abc");
  CHECK(admin::bearerToken(fields({{"Authorization", "BEARER   abc  "}})) == "abc");
  CHECK_FALSE(admin::bearerToken(fields({})));
  CHECK_FALSE(admin::bearerToken(fields({{"Authorization", "Basic YWJjOmRlZg=="}})));
  CHECK_FALSE(admin::bearerToken(fields({{"Authorization", "Bearer"}})));
  CHECK_FALSE(admin::bearerToken(fields({{"Authorization", "Bearer "}})));
  CHECK_FALSE(admin::bearerToken(fields({{"Authorization", "Bearerabc"}})));
  CHECK_FALSE(admin::bearerToken(
      fields({{"Authorization", "Bearer abc"}, {"Authorization", "Bearer abc"}})));
}

TEST_CASE("tokens compare whole, whatever their lengths", "[admin][sessions]") {
  const std::string token = "0123456789abcdef0123456789abcdef";
  CHECK(admin::tokenMatches(token, token));
  CHECK_FALSE(admin::tokenMatches(token.substr(0, 31), token));
  CHECK_FALSE(admin::tokenMatches(token + "0", token));
  CHECK_FALSE(admin::tokenMatches("1123456789abcdef0123456789abcdef", token));
  CHECK_FALSE(admin::tokenMatches("0123456789abcdef0123456789abcdee", token));
  CHECK_FALSE(admin::tokenMatches("", token));
  // A token with a NUL in it is compared as bytes, not as a C string.
  CHECK_FALSE(admin::tokenMatches(std::string("0\0", 2), std::string("0\0x", 3)));
}

TEST_CASE("JSON strings: escapes, UTF-8 kept, ill-formed bytes as \\u00XX", "[admin][sessions]") {
  CHECK(json("") == "\"\"");
  CHECK(json("Mozilla/5.0 (X11; Linux)") == "\"Mozilla/5.0 (X11; Linux)\"");
  CHECK(json("say \"hi\" \\o/") == "\"say \\\"hi\\\" \\\\o/\"");
  CHECK(json(std::string("\0\x01\n\r\t\x1f\x7f", 7)) ==
        "\"\\u0000\\u0001\\u000a\\u000d\\u0009\\u001f\\u007f\"");
  SECTION("well-formed UTF-8 passes through") {
    CHECK(json("J\xc3\xbcrgen") == "\"J\xc3\xbcrgen\"");                                // U+00FC
    CHECK(json("\xe2\x82\xac") == "\"\xe2\x82\xac\"");                                  // U+20AC
    CHECK(json("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");                          // U+1F600
    CHECK(json("\xef\xbf\xbf\xf4\x8f\xbf\xbf") == "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"");  // limits
  }
  SECTION("each byte of an ill-formed sequence escaped") {
    CHECK(json("\x80") == "\"\\u0080\"");                                   // lone continuation
    CHECK(json("\xc0\xaf") == "\"\\u00c0\\u00af\"");                        // overlong '/'
    CHECK(json("\xe0\x80\xaf") == "\"\\u00e0\\u0080\\u00af\"");             // overlong
    CHECK(json("\xed\xa0\x80") == "\"\\u00ed\\u00a0\\u0080\"");             // surrogate U+D800
    CHECK(json("\xf4\x90\x80\x80") == "\"\\u00f4\\u0090\\u0080\\u0080\"");  // above U+10FFFF
    CHECK(json("\xe2\x82") == "\"\\u00e2\\u0082\"");                        // cut short at the end
    CHECK(json("\xe2\x82x") == "\"\\u00e2\\u0082x\"");                      // cut short by ASCII
    CHECK(json("\xff\xfe") == "\"\\u00ff\\u00fe\"");
    CHECK(json("a\xc3\xa9\xc3") == "\"a\xc3\xa9\\u00c3\"");  // good, then cut
  }
}

TEST_CASE("RFC 3339 times in UTC", "[admin][sessions]") {
  CHECK(sesame::rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(sesame::rfc3339(1714566896000) == "2024-05-01T12:34:56Z");
  CHECK(sesame::rfc3339(1714566896999) == "2024-05-01T12:34:56Z");
}

TEST_CASE("the session list as JSON", "[admin][sessions]") {
  CHECK(admin::sessionsJson({}) == "[]\n");
  session::SessionSummary s;
  s.handle = "AbCdEfGhIjKl";
  s.created = 1714566896000;
  s.login = 1714566896000;
  s.touched = 1714567000000;
  s.method = "app";
  s.address = "192.0.2.7";
  s.agent = "curl/8.5 \"quoted\"\x01";
  session::SessionSummary never = s;
  never.handle = "second";
  never.touched = 0;
  CHECK(admin::sessionsJson({s, never}) ==
        "[\n"
        "  {\"handle\": \"AbCdEfGhIjKl\", \"created\": \"2024-05-01T12:34:56Z\", \"last_seen\": "
        "\"2024-05-01T12:36:40Z\", \"login\": \"2024-05-01T12:34:56Z\", \"method\": \"app\", "
        "\"client\": \"192.0.2.7\", \"user_agent\": \"curl/8.5 \\\"quoted\\\"\\u0001\"},\n"
        "  {\"handle\": \"second\", \"created\": \"2024-05-01T12:34:56Z\", \"last_seen\": null, "
        "\"login\": \"2024-05-01T12:34:56Z\", \"method\": \"app\", \"client\": \"192.0.2.7\", "
        "\"user_agent\": \"curl/8.5 \\\"quoted\\\"\\u0001\"}\n"
        "]\n");
}

TEST_CASE("error answers are one line of JSON", "[admin][sessions]") {
  Answer a = admin::errorAnswer(501, "store = \"cookie\"\nsecond line", "X: y\r\n");
  CHECK(a.status == 501);
  CHECK(a.content_type == "application/json");
  CHECK(a.body == "{\"error\": \"store = \\\"cookie\\\"\\u000asecond line\"}\n");
  CHECK(a.fields == "X: y\r\n");
}

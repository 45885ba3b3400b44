#include "sesame/auth/form.h"

#include <catch2/catch.hpp>
#include <string>

namespace sesame::auth {
namespace {

LoginForm parsed(std::string_view body) {
  std::string error;
  const std::optional<LoginForm> form = parseLoginForm(body, &error);
  INFO(error);
  REQUIRE(form);
  return *form;
}

std::string refused(std::string_view body) {
  std::string error;
  CHECK_FALSE(parseLoginForm(body, &error));
  return error;
}

TEST_CASE("a browser's form post decodes", "[auth][form]") {
  const LoginForm f = parsed(
      "csrf=abc-_123&return_to=%2Fapp%3Fx%3D1%26y%3D2&username=J%C3%BCrgen+M&password=p%40ss+"
      "w%2Bord%25");
  CHECK(f.username == "Jürgen M");
  CHECK(f.password == "p@ss w+ord%");
  CHECK(f.csrf == "abc-_123");
  CHECK(f.return_to == "/app?x=1&y=2");
}

TEST_CASE("missing fields are empty; empty pairs and unknown fields are skipped", "[auth][form]") {
  const LoginForm none = parsed("");
  CHECK(none.username.empty());
  CHECK(none.password.empty());
  CHECK(none.csrf.empty());
  CHECK(none.return_to.empty());
  const LoginForm f = parsed("&&submit=Sign+in&username=bob&&remember&x=%41&=&password");
  CHECK(f.username == "bob");
  CHECK(f.password.empty());
  CHECK(f.csrf.empty());
}

TEST_CASE("names match exactly after decoding", "[auth][form]") {
  // Another case or a suffix is another field, ignored.
  const LoginForm f = parsed("Username=a&username%20=b&user+name=c&usernam=d&csrf=t");
  CHECK(f.username.empty());
  CHECK(f.csrf == "t");
  // An encoded name is the same field as the plain one.
  CHECK(parsed("user%6Eame=alice").username == "alice");
  CHECK(refused("username=a&user%6eame=b") == "the username field is given twice");
}

TEST_CASE("a value splits at its first '='", "[auth][form]") {
  CHECK(parsed("password=a=b==").password == "a=b==");
  CHECK(parsed("csrf==").csrf == "=");
}

TEST_CASE("escapes: hex digits of either case, bad ones refused", "[auth][form]") {
  CHECK(parsed("password=%2f%2F%7e%00").password == std::string("//~\0", 4));
  CHECK(parsed("password=%252F").password == "%2F");  // decoded once only
  CHECK(refused("password=%") == "the password field has a bad %-escape");
  CHECK(refused("password=%2") == "the password field has a bad %-escape");
  CHECK(refused("password=%G1") == "the password field has a bad %-escape");
  CHECK(refused("password=%1G") == "the password field has a bad %-escape");
  CHECK(refused("password=%%41") == "the password field has a bad %-escape");
  CHECK(refused("csrf=ok&x%zz=1") == "a field name has a bad %-escape");
  CHECK(refused("username=%+1") == "the username field has a bad %-escape");
  // A bad escape in an unknown field's value costs nothing.
  CHECK(parsed("other=%zz&username=a").username == "a");
}

TEST_CASE("a known field given twice is refused", "[auth][form]") {
  for (const char* name : {"username", "password", "csrf", "return_to"}) {
    const std::string body = std::string(name) + "=a&" + name + "=a";
    CHECK(refused(body) == "the " + std::string(name) + " field is given twice");
    CHECK(refused(std::string(name) + "&" + name + "=") ==
          "the " + std::string(name) + " field is given twice");
  }
}

TEST_CASE("field bounds count decoded bytes", "[auth][form]") {
  CHECK(parsed("username=" + std::string(256, 'u')).username.size() == 256);
  CHECK(refused("username=" + std::string(257, 'u')) ==
        "the username field is longer than 256 bytes");
  std::string encoded;
  for (int i = 0; i < 256; ++i) encoded += "%75";
  CHECK(parsed("username=" + encoded).username == std::string(256, 'u'));
  CHECK(parsed("password=" + std::string(1024, 'p')).password.size() == 1024);
  CHECK(refused("password=" + std::string(1025, 'p')) ==
        "the password field is longer than 1024 bytes");
  CHECK(parsed("csrf=" + std::string(128, 'c')).csrf.size() == 128);
  CHECK(refused("csrf=" + std::string(129, 'c')) == "the csrf field is longer than 128 bytes");
  CHECK(parsed("return_to=" + std::string(2048, 'r')).return_to.size() == 2048);
  CHECK(refused("return_to=" + std::string(2049, 'r')) ==
        "the return_to field is longer than 2048 bytes");
}

TEST_CASE("the body itself is bounded", "[auth][form]") {
  std::string longest = "username=a&x=";
  longest += std::string(8192 - longest.size(), 'x');
  CHECK(parsed(longest).username == "a");
  CHECK(refused(longest + "x") == "the form is longer than 8192 bytes");
}

TEST_CASE("user names may not hold control characters; passwords may", "[auth][form]") {
  for (const char* body : {"username=a%0Ab", "username=a%0db", "username=%00", "username=a%7F",
                           "username=a%09b", "username=\x01"}) {
    INFO(body);
    CHECK(refused(body) == "the username field holds a control character");
  }
  CHECK(parsed("username=%C2%85").username == "\xC2\x85");  // only C0 and DEL
  CHECK(parsed("password=%09tab%0A").password == "\ttab\n");
}

TEST_CASE("errors never quote a value", "[auth][form]") {
  const std::string secret = "hunter2secret";
  for (const std::string& body :
       {"password=" + secret + "%", "password=" + secret + "&password=" + secret,
        "password=" + secret + std::string(1100, 'x'), "username=" + secret + "%01"}) {
    CHECK(refused(body).find(secret) == std::string::npos);
  }
}

}  // namespace
}  // namespace sesame::auth

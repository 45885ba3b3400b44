// JWT claim primitives and the exp/nbf/iat checks with clock skew.
#include "sesame/jose/claims.h"

#include <catch2/catch.hpp>
#include <string>

using namespace sesame;
using namespace sesame::jose;

namespace {

json::Document claims(const std::string& text) {
  std::string error;
  auto doc = parseClaims(text, &error);
  INFO(error);
  REQUIRE(doc);
  return std::move(*doc);
}

std::string timeCheck(const std::string& text, bool require_iat = false) {
  const auto problem = checkTimes(claims(text).root(), 1000, 60, require_iat);
  return problem ? *problem : "ok";
}

}  // namespace

TEST_CASE("claims: the payload must be a JSON object", "[jose]") {
  std::string error;
  CHECK_FALSE(parseClaims("[]", &error));
  CHECK(error == "claims are not a JSON object");
  CHECK_FALSE(parseClaims(R"({"sub":"a","sub":"b"})", &error));
  CHECK(error.find("duplicate") != std::string::npos);
  CHECK_FALSE(parseClaims("", &error));
}

TEST_CASE("claims: strings, audiences, NumericDates", "[jose]") {
  const auto doc = claims(
      R"({"iss":"https://id","sub":7,"aud":"one","exp":1700000000.9,"iat":"1","nbf":false})");
  const json::Value c = doc.root();
  CHECK(stringClaim(c, "iss") == "https://id");
  CHECK_FALSE(stringClaim(c, "sub"));
  CHECK_FALSE(stringClaim(c, "nonce"));
  CHECK(audiences(c) == std::vector<std::string_view>{"one"});
  CHECK(numericDate(c, "exp") == 1700000000);
  CHECK_FALSE(numericDate(c, "iat"));
  CHECK_FALSE(numericDate(c, "nbf"));
  CHECK_FALSE(numericDate(c, "missing"));

  CHECK(audiences(claims(R"({"aud":["a","b"]})").root()) ==
        std::vector<std::string_view>{"a", "b"});
  CHECK(audiences(claims(R"({"aud":[]})").root()) == std::vector<std::string_view>{});
  CHECK_FALSE(audiences(claims(R"({"aud":["a",1]})").root()));
  CHECK_FALSE(audiences(claims(R"({"aud":{"a":1}})").root()));
  CHECK_FALSE(audiences(claims(R"({})").root()));
}

TEST_CASE("claims: exp is required and must be after now minus skew", "[jose]") {
  CHECK(timeCheck(R"({})") == "token has no exp claim");
  CHECK(timeCheck(R"({"exp":"2000"})") == "token exp is not a NumericDate");
  CHECK(timeCheck(R"({"exp":null})") == "token exp is not a NumericDate");
  CHECK(timeCheck(R"({"exp":940})") == "token expired");
  CHECK(timeCheck(R"({"exp":941})") == "ok");
  CHECK(timeCheck(R"({"exp":940.99})") == "token expired");
  CHECK(timeCheck(R"({"exp":-9223372036854775808})") == "token expired");
  CHECK(timeCheck(R"({"exp":9223372036854775807})") == "ok");
}

TEST_CASE("claims: nbf and iat within skew of now", "[jose]") {
  CHECK(timeCheck(R"({"exp":2000,"nbf":1060})") == "ok");
  CHECK(timeCheck(R"({"exp":2000,"nbf":1061})") == "token not valid yet (nbf)");
  CHECK(timeCheck(R"({"exp":2000,"nbf":"soon"})") == "token nbf is not a NumericDate");
  CHECK(timeCheck(R"({"exp":2000,"iat":1060})") == "ok");
  CHECK(timeCheck(R"({"exp":2000,"iat":1061})") == "token issued in the future (iat)");
  CHECK(timeCheck(R"({"exp":2000,"iat":[]})") == "token iat is not a NumericDate");
  CHECK(timeCheck(R"({"exp":2000})", true) == "token has no iat claim");
  CHECK(timeCheck(R"({"exp":2000,"iat":999})", true) == "ok");
}

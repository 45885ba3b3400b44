#include "sesame/base/base64url.h"

#include <array>
#include <catch2/catch.hpp>
#include <string>

namespace {

std::span<const unsigned char> bytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("base64url encodes RFC 4648 §10's vectors without padding", "[base][base64url]") {
  CHECK(sesame::base64urlEncode(std::string_view("")).empty());
  CHECK(sesame::base64urlEncode(std::string_view("f")) == "Zg");
  CHECK(sesame::base64urlEncode(std::string_view("fo")) == "Zm8");
  CHECK(sesame::base64urlEncode(std::string_view("foo")) == "Zm9v");
  CHECK(sesame::base64urlEncode(std::string_view("foob")) == "Zm9vYg");
  CHECK(sesame::base64urlEncode(std::string_view("fooba")) == "Zm9vYmE");
  CHECK(sesame::base64urlEncode(std::string_view("foobar")) == "Zm9vYmFy");
  // The URL alphabet (RFC 4648 §5): '-' and '_' for 62 and 63.
  CHECK(sesame::base64urlEncode(std::string_view("\xfb\xff\xbf")) == "-_-_");
}

TEST_CASE("base64urlAssign replaces what the string held", "[base][base64url]") {
  std::string out = "a much longer earlier value that must not survive";
  sesame::base64urlAssign(out, bytes("foob"));
  CHECK(out == "Zm9vYg");
  sesame::base64urlAssign(out, bytes("foobar"));
  CHECK(out == "Zm9vYmFy");
  sesame::base64urlAssign(out, {});
  CHECK(out.empty());
}

TEST_CASE("base64url decodes what it encodes, one spelling only", "[base][base64url]") {
  std::array<unsigned char, 4> out{};
  REQUIRE(sesame::base64urlDecodeInto("Zm9vYg", out));
  CHECK(std::string(out.begin(), out.end()) == "foob");
  // "Zm9vYh" has unused low bits set: another spelling of the same bytes.
  CHECK_FALSE(sesame::base64urlDecodeInto("Zm9vYh", out));
  CHECK_FALSE(sesame::base64urlDecodeInto("Zm9vY=", out));
}

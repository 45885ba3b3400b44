// Red-team cases for the pure forward-auth checks: return addresses that a
// host list must refuse.
#include <catch2/catch.hpp>

#include "sesame/auth/forward_auth.h"

using namespace sesame;

TEST_CASE("a port-restricted host entry admits no other authority", "[auth][attack]") {
  const std::vector<std::string> hosts{"app.example.com:8443"};
  CHECK(auth::allowedReturnUrl("https://app.example.com:8443/x", hosts));
  // hostOf() cuts at the last ':', so "app.example.com:8443" is taken for
  // the host of these authorities, and the entry's port check is skipped.
  CHECK_FALSE(auth::allowedReturnUrl("https://app.example.com:8443:9999/x", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://app.example.com:8443:/x", hosts));
}

TEST_CASE("a host entry admits only a port made of digits", "[auth][attack]") {
  const std::vector<std::string> hosts{"app.example.com", "[::1]"};
  CHECK(auth::allowedReturnUrl("https://app.example.com:8443/x", hosts));
  CHECK(auth::allowedReturnUrl("https://[::1]:8443/x", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://app.example.com:evil.example/x", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://[::1]evil.example/x", hosts));
  CHECK_FALSE(auth::allowedReturnUrl("https://[::1]:80:80/x", hosts));
  CHECK(auth::chooseReturnTo("https://app.example.com:evil.example/", hosts) == "/");
}

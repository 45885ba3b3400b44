// Identity filter: spoofed identity headers in every spelling are removed.
#include <catch2/catch.hpp>

#include "sesame/session/identity_filter.h"

using sesame::http::HeaderList;
using sesame::session::dataHeaderName;
using sesame::session::headerNameHasPrefix;
using sesame::session::headerNameMatches;
using sesame::session::IdentityHeaders;
using sesame::session::stripSpoofable;

namespace {

std::vector<std::string> names(const HeaderList& headers) {
  std::vector<std::string> out;
  for (const auto& h : headers.fields()) out.push_back(h.name);
  return out;
}

}  // namespace

TEST_CASE("header names fold case, underscore and dot", "[session][identity]") {
  REQUIRE(headerNameMatches("x_remote_user", "X-Remote-User"));
  REQUIRE(headerNameMatches("X.Remote.User", "X-Remote-User"));
  REQUIRE(headerNameHasPrefix("x.session.cart", "X-Session-"));
  REQUIRE(headerNameMatches("X-REMOTE_USER", "X-Remote-User"));
  REQUIRE_FALSE(headerNameMatches("X-Remote-Users", "X-Remote-User"));
  REQUIRE_FALSE(headerNameMatches("X-Remote-User", ""));
  REQUIRE(headerNameHasPrefix("x_session_cart", "X-Session-"));
  REQUIRE_FALSE(headerNameHasPrefix("X-Session", "X-Session-"));
  REQUIRE_FALSE(headerNameHasPrefix("Host", ""));
}

TEST_CASE("stripSpoofable removes every spelling of the identity headers", "[session][identity]") {
  HeaderList h;
  for (const char* n :
       {"X-Remote-User", "x-remote-user", "X_Remote_User", "X-REMOTE_USER", "x_remote-USER",
        "X-Remote-Groups", "x_remote_groups", "X-Session-Cart", "x_session_cart", "X-SESSION-",
        "X-Sesame-Login", "x_sesame_set", "X.Remote.User", "x.remote_groups", "X.Session.Role"}) {
    h.add(n, "spoofed");
  }
  h.add("Host", "example.com");
  h.add("X-Remote-Username", "kept");
  h.add("Accept", "text/html");
  h.add("X-Sessions", "kept");
  REQUIRE(stripSpoofable(h, IdentityHeaders{}) == 15);
  REQUIRE(names(h) ==
          std::vector<std::string>{"Host", "X-Remote-Username", "Accept", "X-Sessions"});
}

TEST_CASE("stripSpoofable follows the configured names", "[session][identity]") {
  IdentityHeaders ids;
  ids.user_header = "Remote-User";
  ids.groups_header = "X-Groups";
  ids.data_prefix = "X-App-";
  HeaderList h;
  h.add("remote_user", "a");
  h.add("X-Remote-User", "kept: not configured");
  h.add("X_GROUPS", "a");
  h.add("x-app-theme", "dark");
  h.add("X-Session-Cart", "kept");
  h.add("X-Sesame-Logout", "always removed");
  REQUIRE(stripSpoofable(h, ids) == 4);
  REQUIRE(names(h) == std::vector<std::string>{"X-Remote-User", "X-Session-Cart"});
}

TEST_CASE("stripSpoofable with empty configured names removes only X-Sesame-",
          "[session][identity]") {
  IdentityHeaders ids{"", "", "", ""};
  HeaderList h;
  h.add("Host", "a");
  h.add("X-Sesame-Login", "b");
  REQUIRE(stripSpoofable(h, ids) == 1);
  REQUIRE(names(h) == std::vector<std::string>{"Host"});
}

TEST_CASE("stripSpoofable removes the assertion header in every spelling", "[session][identity]") {
  IdentityHeaders ids;
  ids.assertion_header = "X-App-Assertion";
  HeaderList h;
  h.add("Host", "a");
  h.add("X-App-Assertion", "forged");
  h.add("x_app_assertion", "forged");
  h.add("X.App.Assertion", "forged");
  h.add("X-App-Assertions", "kept");
  REQUIRE(stripSpoofable(h, ids) == 3);
  REQUIRE(names(h) == std::vector<std::string>{"Host", "X-App-Assertions"});
}

TEST_CASE("stripSpoofable on a clean list removes nothing", "[session][identity]") {
  HeaderList h;
  h.add("Host", "a");
  h.add("Cookie", "b=c");
  REQUIRE(stripSpoofable(h, IdentityHeaders{}) == 0);
  REQUIRE(h.size() == 2);
}

TEST_CASE("dataHeaderName capitalises words and maps '_' to '-'", "[session][identity]") {
  REQUIRE(dataHeaderName("X-Session-", "cart") == "X-Session-Cart");
  REQUIRE(dataHeaderName("X-Session-", "cart_items") == "X-Session-Cart-Items");
  REQUIRE(dataHeaderName("X-Session-", "CART-ITEMS") == "X-Session-Cart-Items");
  REQUIRE(dataHeaderName("X-Session-", "a--b") == "X-Session-A--B");
  REQUIRE(dataHeaderName("X-Session-", "2fa") == "X-Session-2fa");
  REQUIRE(dataHeaderName("X-Session-", "-x") == "X-Session--X");
  REQUIRE(dataHeaderName("X-App-", "v") == "X-App-V");
}

TEST_CASE("dataHeaderName output is stripped by stripSpoofable", "[session][identity]") {
  HeaderList h;
  h.add(dataHeaderName("X-Session-", "user_id"), "1");
  REQUIRE(stripSpoofable(h, IdentityHeaders{}) == 1);
}

#include "sesame/oidc/claims_map.h"

#include <catch2/catch.hpp>

namespace sesame::oidc {
namespace {

Claims alice() {
  Claims c;
  c.sub = "248289761001";
  c.email = "alice@example.com";
  c.email_verified = true;
  c.user = "alice";
  c.groups = {"staff", "admins"};
  return c;
}

TEST_CASE("no restrictions: the user and groups come through", "[oidc][claims]") {
  const AccessDecision d = decideAccess(alice(), {.user_claim = "preferred_username"});
  REQUIRE(d.allowed());
  CHECK(d.user == "alice");
  CHECK(d.groups == std::vector<std::string>{"staff", "admins"});
  CHECK(d.why.empty());
}

TEST_CASE("the user claim must be a usable name", "[oidc][claims]") {
  Claims c = alice();
  c.user.reset();
  CHECK(decideAccess(c, {}).denial == Denial::kNoUser);
  for (const std::string& bad :
       {std::string(), std::string("a\r\nX-Evil: 1"), std::string("a\0b", 3),
        std::string("del\x7f"), std::string(256, 'a')}) {
    c.user = bad;
    CHECK(decideAccess(c, {}).denial == Denial::kNoUser);
  }
  c.user = std::string(255, 'a');
  CHECK(decideAccess(c, {}).allowed());
  c.user = "Jürgen";
  CHECK(decideAccess(c, {}).allowed());
}

TEST_CASE("user_claim email needs email_verified", "[oidc][claims]") {
  Claims c = alice();
  c.user = c.email;
  CHECK(decideAccess(c, {.user_claim = "email"}).user == "alice@example.com");
  c.email_verified = false;
  const AccessDecision d = decideAccess(c, {.user_claim = "email"});
  CHECK(d.denial == Denial::kEmailUnverified);
  CHECK(d.why.find("email_verified") != std::string::npos);
}

TEST_CASE("allowed_groups needs one exact match", "[oidc][claims]") {
  AccessPolicy p{.allowed_groups = {"ops", "admins"}};
  CHECK(decideAccess(alice(), p).allowed());
  Claims c = alice();
  c.groups = {"Admins", "admin", "admins ", "staff"};
  CHECK(decideAccess(c, p).denial == Denial::kGroup);
  c.groups.clear();
  const AccessDecision d = decideAccess(c, p);
  CHECK(d.denial == Denial::kGroup);
  CHECK_FALSE(d.why.empty());
}

TEST_CASE("allowed_email_domains: the exact domain after the last '@'", "[oidc][claims]") {
  const AccessPolicy p{.allowed_email_domains = {"Example.com", "@corp.example"}};
  Claims c = alice();
  CHECK(decideAccess(c, p).allowed());
  c.email = "Bob@EXAMPLE.COM";
  CHECK(decideAccess(c, p).allowed());
  c.email = "carol@corp.example";
  CHECK(decideAccess(c, p).allowed());
  for (const char* trick :
       {"a@example.com@evil.com", "a@evil.com", "a@example.com.evil.com", "a@evilexample.com",
        "a@sub.example.com", "a@example.com.", "example.com", "a@", "@example.com",
        "a@example.com\n", "a%example.com@evil.com", ""}) {
    c.email = trick;
    INFO(trick);
    CHECK(decideAccess(c, p).denial == Denial::kEmailDomain);
  }
  c.email = "a@evil.com@example.com";  // the last '@' decides: the provider vouched for this
  CHECK(decideAccess(c, p).allowed());
}

TEST_CASE("allowed_email_domains needs a verified email", "[oidc][claims]") {
  Claims c = alice();
  c.email_verified = false;
  CHECK(decideAccess(c, {.allowed_email_domains = {"example.com"}}).denial ==
        Denial::kEmailUnverified);
}

TEST_CASE("groups are checked before the email domain; both must pass", "[oidc][claims]") {
  const AccessPolicy p{.allowed_groups = {"staff"}, .allowed_email_domains = {"example.com"}};
  Claims c = alice();
  CHECK(decideAccess(c, p).allowed());
  c.email = "alice@other.org";
  CHECK(decideAccess(c, p).denial == Denial::kEmailDomain);
  c.groups = {"guests"};
  CHECK(decideAccess(c, p).denial == Denial::kGroup);
}

TEST_CASE("emailDomain", "[oidc][claims]") {
  CHECK(emailDomain("a@B.Com") == "b.com");
  CHECK(emailDomain("a@b@c") == "c");
  CHECK_FALSE(emailDomain("ab.com"));
  CHECK_FALSE(emailDomain("a@"));
  CHECK_FALSE(emailDomain("@b.com"));
}

}  // namespace
}  // namespace sesame::oidc

// Signer: the JWT it signs, checked by an independent OpenSSL verifier
// using the public key rebuilt from the JWKS sesame publishes.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jws_check.h"
#include "sesame/base/base64url.h"
#include "sesame/identity/signer.h"

using identity_test::decodeJws;
using identity_test::generatePem;
using identity_test::stringMember;
using identity_test::verifyWithJwks;
using sesame::identity::Claims;
using sesame::identity::KeyText;
using sesame::identity::Signer;
using sesame::identity::SigningKeys;

namespace {

constexpr int64_t kNow = 1'800'000'000;

Signer makeSigner(std::vector<KeyText> texts, std::chrono::seconds ttl = std::chrono::seconds(60)) {
  auto result = SigningKeys::load(texts);
  INFO(result.error);
  REQUIRE(result.keys);
  return Signer(std::move(*result.keys), "https://sesame.example", ttl);
}

std::set<std::string> memberNames(const json_t* object) {
  std::set<std::string> names;
  const char* name;
  json_t* value;
  json_object_foreach(const_cast<json_t*>(object), name, value) names.insert(name);
  return names;
}

}  // namespace

TEST_CASE("identity: signed assertions verify and say who the user is", "[identity]") {
  const auto [type, curve, alg] = GENERATE(table<std::string, std::string, std::string>(
      {{"EC", "P-256", "ES256"}, {"ED25519", "", "EdDSA"}}));
  const Signer signer = makeSigner({{"key.pem", generatePem(type, curve)}});
  const std::vector<std::string> groups = {"admins", "dev ops"};
  const Claims claims{"app.example.com", "alice", groups, "", kNow};

  const std::string token = signer.sign(claims);
  INFO(alg);
  CHECK(verifyWithJwks(token, signer.keys().jwksJson()));

  auto jws = decodeJws(token);
  REQUIRE(jws);
  const json_t* header = jws->header.get();
  CHECK(memberNames(header) == std::set<std::string>{"alg", "typ", "kid"});
  CHECK(stringMember(header, "alg") == alg);
  CHECK(stringMember(header, "typ") == "JWT");
  CHECK(stringMember(header, "kid") == signer.keys().signingKey().kid);

  const json_t* payload = jws->payload.get();
  CHECK(memberNames(payload) ==
        std::set<std::string>{"iss", "aud", "sub", "groups", "iat", "exp", "jti"});
  CHECK(stringMember(payload, "iss") == "https://sesame.example");
  CHECK(stringMember(payload, "aud") == "app.example.com");
  CHECK(stringMember(payload, "sub") == "alice");
  const json_t* g = json_object_get(payload, "groups");
  REQUIRE(json_array_size(g) == 2);
  CHECK(std::string(json_string_value(json_array_get(g, 0))) == "admins");
  CHECK(std::string(json_string_value(json_array_get(g, 1))) == "dev ops");
  CHECK(json_integer_value(json_object_get(payload, "iat")) == kNow);
  CHECK(json_integer_value(json_object_get(payload, "exp")) -
            json_integer_value(json_object_get(payload, "iat")) ==
        60);
  const auto jti = sesame::base64urlDecode(stringMember(payload, "jti"));
  REQUIRE(jti);
  CHECK(jti->size() == 16);

  // Tampering with the payload breaks the signature.
  std::string tampered = token;
  tampered[tampered.find('.') + 3] ^= 1;
  CHECK_FALSE(verifyWithJwks(tampered, signer.keys().jwksJson()));
}

TEST_CASE("identity: every token gets its own jti", "[identity]") {
  const Signer signer = makeSigner({{"key.pem", generatePem("ED25519")}});
  const std::vector<std::string> groups;
  std::set<std::string> jtis;
  for (int i = 0; i < 100; ++i) {
    auto jws = decodeJws(signer.sign(Claims{"a", "bob", groups, "", kNow}));
    REQUIRE(jws);
    jtis.insert(stringMember(jws->payload.get(), "jti"));
  }
  CHECK(jtis.size() == 100);
}

TEST_CASE("identity: sid is present only when a session handle is given; ttl sets exp",
          "[identity]") {
  const Signer signer =
      makeSigner({{"key.pem", generatePem("EC", "P-256")}}, std::chrono::seconds(300));
  const std::vector<std::string> groups;
  auto with = decodeJws(signer.sign(Claims{"a", "bob", groups, "h4ndle", kNow}));
  REQUIRE(with);
  CHECK(stringMember(with->payload.get(), "sid") == "h4ndle");
  CHECK(json_integer_value(json_object_get(with->payload.get(), "exp")) == kNow + 300);
  CHECK(json_array_size(json_object_get(with->payload.get(), "groups")) == 0);
  CHECK(json_is_array(json_object_get(with->payload.get(), "groups")));
  auto without = decodeJws(signer.sign(Claims{"a", "bob", groups, "", kNow}));
  REQUIRE(without);
  CHECK(json_object_get(without->payload.get(), "sid") == nullptr);
}

TEST_CASE("identity: odd user and group names still give valid, verifiable JSON", "[identity]") {
  const Signer signer = makeSigner({{"key.pem", generatePem("ED25519")}});
  const std::vector<std::string> groups = {"a\"b", "back\\slash", std::string("\x01\xff", 2)};
  const std::string user = "\"}, \"sub\": \"root";
  const std::string token = signer.sign(Claims{"h\"ost", user, groups, "", kNow});
  CHECK(verifyWithJwks(token, signer.keys().jwksJson()));
  auto jws = decodeJws(token);
  REQUIRE(jws);
  CHECK(stringMember(jws->payload.get(), "sub") == user);
  CHECK(stringMember(jws->payload.get(), "aud") == "h\"ost");
  CHECK(std::string(json_string_value(
            json_array_get(json_object_get(jws->payload.get(), "groups"), 1))) == "back\\slash");
}

TEST_CASE("identity: the first key signs, a rotated-out key stays published", "[identity]") {
  const Signer signer =
      makeSigner({{"new.pem", generatePem("ED25519")}, {"old.pem", generatePem("EC", "P-256")}});
  const std::vector<std::string> groups;
  const std::string token = signer.sign(Claims{"a", "bob", groups, "", kNow});
  auto jws = decodeJws(token);
  REQUIRE(jws);
  CHECK(stringMember(jws->header.get(), "alg") == "EdDSA");
  CHECK(stringMember(jws->header.get(), "kid") == signer.keys().keys()[0].kid);
  CHECK(signer.keys().jwksJson().find(signer.keys().keys()[1].kid) != std::string::npos);
  CHECK(verifyWithJwks(token, signer.keys().jwksJson()));
}

TEST_CASE("identity: one signer serves several threads at once", "[identity]") {
  const std::string curve = GENERATE(std::string("P-256"), std::string(""));
  const Signer signer =
      makeSigner({{"key.pem", curve.empty() ? generatePem("ED25519") : generatePem("EC", curve)}});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<std::string> groups = {"g" + std::to_string(t)};
      for (int i = 0; i < 100; ++i) {
        const std::string user = "user" + std::to_string(t);
        if (!verifyWithJwks(signer.sign(Claims{"a", user, groups, "", kNow + i}),
                            signer.keys().jwksJson()))
          ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures == 0);
}

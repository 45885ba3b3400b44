// Shared by the [oidc] tests: a provider's signing keys, its JWKS and tokens it signs.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sesame/base/base64url.h"
#include "sesame/base/c_handle.h"
#include "sesame/base/json.h"
#include "sesame/jose/jwk.h"
#include "sesame/jose/jws.h"

namespace sesame::oidc::test {

inline constexpr int64_t kNow = 1'800'000'000;
inline constexpr std::string_view kIssuer = "https://id.example.com/realms/main";
inline constexpr std::string_view kClientId = "sesame";

// Keys are generated once per test run (RSA takes a while).
struct ProviderKeys {
  EvpPkeyPtr rsa{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))};
  EvpPkeyPtr ec{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  EvpPkeyPtr ed{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
  // Not in the JWKS: tokens it signs stand for a forger's.
  EvpPkeyPtr other_ec{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  jose::KeySet keys;

  ProviderKeys() {
    REQUIRE(rsa);
    REQUIRE(ec);
    REQUIRE(ed);
    REQUIRE(other_ec);
    const auto jwk = [](evp_pkey_st* key, std::string_view kid, jose::Alg alg) {
      const std::optional<std::string> j = jose::publicJwkJson(key, kid, alg);
      REQUIRE(j);
      return *j;
    };
    const std::string jwks = "{\"keys\":[" + jwk(rsa.get(), "rsa1", jose::Alg::kRS256) + "," +
                             jwk(ec.get(), "ec1", jose::Alg::kES256) + "," +
                             jwk(ed.get(), "ed1", jose::Alg::kEdDSA) + "]}";
    std::string error;
    std::optional<jose::KeySet> parsed = jose::parseJwks(jwks, &error);
    INFO(error);
    REQUIRE(parsed);
    REQUIRE(parsed->keys.size() == 3);
    keys = std::move(*parsed);
  }
};

inline ProviderKeys& provider() {
  static ProviderKeys p;
  return p;
}

// A compact JWS over `header` and `claims` (JSON texts) signed with `key`.
inline std::string signedToken(jose::Alg alg, evp_pkey_st* key, std::string_view header,
                               std::string_view claims) {
  std::string error;
  const std::optional<std::string> jwt = jose::sign(alg, key, header, claims, &error);
  INFO(error);
  REQUIRE(jwt);
  return *jwt;
}

// The usual case: ES256 with the provider's "ec1" key.
inline std::string es256(std::string_view claims, std::string_view extra_header = "") {
  return signedToken(jose::Alg::kES256, provider().ec.get(),
                     "{\"alg\":\"ES256\",\"kid\":\"ec1\"" + std::string(extra_header) + "}",
                     claims);
}

// Header and claims as-is, and an HMAC-SHA256 with `secret`: what an
// attacker builds for the HS256 key-confusion attack.
inline std::string hs256(std::string_view header, std::string_view claims,
                         std::string_view secret) {
  const std::string input = base64urlEncode(header) + "." + base64urlEncode(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64urlEncode(std::span<const unsigned char>(mac, len));
}

// A claims object built member by member; values are raw JSON.
class ClaimSet {
 public:
  ClaimSet& set(std::string name, std::string raw_json) {
    erase(name);
    members_.emplace_back(std::move(name), std::move(raw_json));
    return *this;
  }
  ClaimSet& erase(const std::string& name) {
    std::erase_if(members_, [&name](const auto& m) { return m.first == name; });
    return *this;
  }
  std::string json() const {
    std::string out = "{";
    for (const auto& [name, value] : members_)
      out += (out.size() > 1 ? "," : "") + jsonString(name) + ":" + value;
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

inline std::string quoted(std::string_view s) {
  return jsonString(s);
}

}  // namespace sesame::oidc::test

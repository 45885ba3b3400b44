// Signs the short-lived JWT that tells an upstream who the user is (issue 12 §2).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sesame/identity/signing_keys.h"

namespace sesame::identity {

// What one assertion says. Views: nothing is kept after sign() returns.
struct Claims {
  std::string_view audience;            // "aud": the request's host
  std::string_view user;                // "sub"
  std::span<const std::string> groups;  // "groups", in this order
  std::string_view session;             // "sid": a non-secret session handle; empty: no "sid"
  int64_t now = 0;                      // "iat", Unix seconds (wall clock)
};

// Immutable once built; one instance serves every worker. sign() only reads
// the keys and makes its own OpenSSL context per call, so workers call it
// concurrently without locks.
class Signer {
 public:
  // `issuer` becomes "iss"; `ttl` (at least 1 s, which the configuration
  // enforces) is exp - iat.
  Signer(SigningKeys keys, std::string issuer, std::chrono::seconds ttl);

  // A compact JWS (RFC 7515 §7.1) over a JWT (RFC 7519):
  //   header  {"alg":"ES256"|"EdDSA","typ":"JWT","kid":<signing key's kid>}
  //   payload {"iss":..,"aud":..,"sub":..,"groups":[..],"iat":now,
  //            "exp":now+ttl,"jti":<128 random bits, base64url>[,"sid":..]}
  // Strings are JSON-escaped (bytes that are not UTF-8 become \u00XX), so
  // any user or group name yields a valid token. Aborts only when OpenSSL
  // cannot sign or has no randomness.
  [[nodiscard]] std::string sign(const Claims& claims) const;

  [[nodiscard]] const SigningKeys& keys() const { return keys_; }
  [[nodiscard]] const std::string& issuer() const { return issuer_; }
  [[nodiscard]] std::chrono::seconds ttl() const { return ttl_; }

 private:
  SigningKeys keys_;
  std::string issuer_;
  std::chrono::seconds ttl_;
  std::string encoded_header_;  // base64url of the header, the same for every token
  std::string payload_start_;   // {"iss":<issuer>,"aud":
};

}  // namespace sesame::identity

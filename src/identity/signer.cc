#include "sesame/identity/signer.h"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "sesame/base/base64url.h"
#include "sesame/base/json.h"

namespace sesame::identity {
namespace {

// 128 bits: a jti collision between two tokens is then as unlikely as
// guessing a session ID, so an upstream may use jti for replay detection.
constexpr size_t kJtiBytes = 16;

std::string randomJti() {
  std::array<unsigned char, kJtiBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::fprintf(stderr, "sesame[fatal]: RAND_bytes failed; no randomness for an assertion jti\n");
    std::abort();
  }
  return base64urlEncode(bytes);
}

}  // namespace

Signer::Signer(SigningKeys keys, std::string issuer, std::chrono::seconds ttl)
    : keys_(std::move(keys)), issuer_(std::move(issuer)), ttl_(ttl) {
  if (ttl_.count() < 1) {
    std::fprintf(stderr, "sesame[fatal]: assertion lifetime must be at least 1 s\n");
    std::abort();
  }
  const SigningKeys::Key& key = keys_.signingKey();
  encoded_header_ = base64urlEncode("{\"alg\":" + jsonString(algorithmName(key.algorithm)) +
                                    ",\"typ\":\"JWT\",\"kid\":" + jsonString(key.kid) + "}");
  payload_start_ = "{\"iss\":" + jsonString(issuer_) + ",\"aud\":";
}

std::string Signer::sign(const Claims& claims) const {
  std::string payload = payload_start_;
  payload += jsonString(claims.audience);
  payload += ",\"sub\":";
  payload += jsonString(claims.user);
  payload += ",\"groups\":[";
  for (size_t i = 0; i < claims.groups.size(); ++i) {
    if (i > 0) payload += ',';
    payload += jsonString(claims.groups[i]);
  }
  payload += "],\"iat\":" + std::to_string(claims.now);
  payload += ",\"exp\":" + std::to_string(claims.now + ttl_.count());
  payload += ",\"jti\":\"" + randomJti() + '"';
  if (!claims.session.empty()) payload += ",\"sid\":" + jsonString(claims.session);
  payload += '}';

  std::string token;
  token.reserve(encoded_header_.size() + 1 + base64urlLength(payload.size()) + 1 +
                base64urlLength(64));
  token += encoded_header_;
  token += '.';
  token += base64urlEncode(payload);
  const std::string signature = keys_.signature(token);
  token += '.';
  token += base64urlEncode(signature);
  return token;
}

}  // namespace sesame::identity

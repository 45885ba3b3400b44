// libFuzzer target: what a provider or a client sends to the JOSE code.
// The input is tried as a compact JWS (parsed, then verified against fixed
// RS256/ES256/EdDSA keys, its payload read as claims), as a JWKS and as a
// single JWK (every accepted key thumbprinted and written back out).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/jose/claims.h"
#include "sesame/jose/jwk.h"
#include "sesame/jose/jws.h"

using sesame::fuzz::check;
using namespace sesame::jose;

namespace {

// RFC 7515 A.2 (RSA), A.3 (EC P-256) and RFC 8037 A.1 (Ed25519) public keys.
const KeySet& fixedKeys() {
  static const KeySet keys = [] {
    auto set = parseJwks(
        R"({"keys":[{"kty":"RSA","kid":"rsa","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"},)"
        R"({"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},)"
        R"({"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})",
        nullptr);
    check(set.has_value() && set->keys.size() == 3);
    return std::move(*set);
  }();
  return keys;
}

void checkKey(const Jwk& key) {
  const std::string print = thumbprint(key);
  check(print.size() == 43);
  const auto json = publicJwkJson(key.key.get(), key.kid, key.alg);
  check(json.has_value());
  const auto back = parseJwk(*json, nullptr);
  check(back.has_value() && back->kid == key.kid && back->type == key.type);
  check(thumbprint(*back) == print);
}

void tryCompact(std::string_view input) {
  std::string error;
  const auto jws = parseCompact(input, &error);
  if (!jws) {
    check(!error.empty());
    return;
  }
  check(input.size() <= kDefaultMaxJwsBytes);
  check(input.substr(0, jws->signing_input.size()) == jws->signing_input);
  check(algFromName(algName(jws->alg)) == jws->alg);
  check(!jws->signature.empty());
  check(jws->header.root().isObject());
  check(!jws->header.root().get("crit").exists() && !jws->header.root().get("jwk").exists());
  for (const Jwk& key : fixedKeys().keys) {
    const bool ok = verify(*jws, key, &error);
    // Only the one key type that fits the alg can ever verify.
    if (ok) check(key.type == keyTypeFor(jws->alg));
  }
  if (const Jwk* key = fixedKeys().find(jws->kid, jws->alg)) (void)verify(*jws, *key, &error);
  if (const auto claims = parseClaims(jws->payload, &error)) {
    (void)checkTimes(claims->root(), 1700000000, 60, true);
    (void)audiences(claims->root());
    (void)stringClaim(claims->root(), "iss");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  tryCompact(input);

  std::string error;
  if (const auto set = parseJwks(input, &error)) {
    check(set->keys.size() + set->skipped <= kMaxJwksKeys);
    for (const Jwk& key : set->keys) checkKey(key);
    for (Alg alg : {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA}) {
      if (const Jwk* k = set->find(std::nullopt, alg)) check(k->type == keyTypeFor(alg));
    }
  }
  if (const auto key = parseJwk(input, &error)) checkKey(*key);
  return 0;
}

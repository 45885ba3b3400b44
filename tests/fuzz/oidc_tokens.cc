// libFuzzer target: ID, logout and access token validation and the Bearer header, with a fixed
// provider key. Inputs are either whole tokens or claims that the target signs with the
// provider's key, so the checks after the signature are fuzzed too.
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/base/c_handle.h"
#include "sesame/jose/jwk.h"
#include "sesame/jose/jws.h"
#include "sesame/oidc/access_token.h"
#include "sesame/oidc/id_token.h"
#include "sesame/oidc/logout_token.h"

using sesame::fuzz::check;
namespace jose = sesame::jose;
namespace oidc = sesame::oidc;

namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kSkew = 60;
constexpr std::string_view kIssuer = "https://id.example.com";

// A fixed Ed25519 key, generated for this target only.
constexpr char kKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEILiK1wdXCJHiq/NSL3TYEzPi9rwXugUdF+pRHaMJdVj/\n"
    "-----END PRIVATE KEY-----\n";

struct Provider {
  sesame::EvpPkeyPtr key;
  jose::KeySet keys;

  Provider() {
    const sesame::BioPtr bio(BIO_new_mem_buf(kKeyPem, -1));
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    check(key != nullptr);
    const std::optional<std::string> jwk = jose::publicJwkJson(key.get(), "ed1", std::nullopt);
    check(jwk.has_value());
    std::optional<jose::KeySet> set = jose::parseJwks("{\"keys\":[" + *jwk + "]}", nullptr);
    check(set.has_value() && set->keys.size() == 1);
    keys = std::move(*set);
  }
};

const Provider& provider() {
  static const Provider p;
  return p;
}

bool goodName(std::string_view s) {
  if (s.empty() || s.size() > oidc::kMaxClaimBytes) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void checkClaims(const oidc::Claims& c) {
  check(goodName(c.sub));
  check(c.groups.size() <= oidc::kMaxGroups);
  for (const std::string& g : c.groups) check(goodName(g));
}

void validate(unsigned which, std::string_view token) {
  const oidc::TokenTrust trust{
      .keys = &provider().keys, .issuer = kIssuer, .now = kNow, .skew = kSkew};
  switch (which) {
    case 0: {
      const oidc::IdTokenResult r = oidc::validateIdToken(
          token, trust,
          {.client_id = "sesame", .nonce = "n0", .user_claim = "name", .groups_claim = "groups"});
      check(r.ok() == r.why.empty());
      if (r.ok()) {
        checkClaims(r.claims);
        check(r.expires_at > kNow - kSkew);
      }
      break;
    }
    case 1: {
      const oidc::LogoutTokenResult r =
          oidc::validateLogoutToken(token, trust, {.client_id = "sesame", .max_age = 600});
      check(r.ok() == r.why.empty());
      if (r.ok()) {
        check(!r.jti.empty() && (!r.sid.empty() || !r.sub.empty()));
        check(r.replay_until <= kNow + 600 + 2 * kSkew);
      }
      break;
    }
    default: {
      static const std::string kAudiences[] = {"api", "https://api.example.com"};
      const oidc::AccessTokenResult r = oidc::validateAccessToken(
          token, trust, {.audiences = kAudiences, .user_claim = "sub", .groups_claim = "roles"});
      check(r.ok() == r.why.empty());
      if (r.ok()) checkClaims(r.claims);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const unsigned which = (mode >> 1) % 4;
  if ((mode & 1) == 0) {
    // A whole token, or for the fourth kind an Authorization value.
    if (which == 3) {
      const std::optional<std::string_view> token = oidc::bearerToken(input);
      if (!token) return 0;
      check(!token->empty() && token->size() < input.size());
      validate(2, *token);
    } else {
      validate(which, input);
    }
    return 0;
  }
  // "<extra header members>\n<claims JSON>", signed with the provider's key.
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string header =
      "{\"alg\":\"EdDSA\",\"kid\":\"ed1\"" + std::string(input.substr(0, newline)) + "}";
  const std::optional<std::string> token = jose::sign(jose::Alg::kEdDSA, provider().key.get(),
                                                      header, input.substr(newline + 1), nullptr);
  if (!token) return 0;
  validate(which % 3, *token);
  return 0;
}

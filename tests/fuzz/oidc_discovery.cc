// libFuzzer target: a provider's discovery document and its token endpoint answers. What is
// accepted keeps the documented promises; refusals say why without control bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/oidc/discovery.h"
#include "sesame/oidc/token_response.h"

using sesame::fuzz::check;
namespace oidc = sesame::oidc;

namespace {

constexpr std::string_view kIssuer = "https://id.example.com";

bool printableLine(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void discovery(std::string_view doc) {
  std::string error;
  const std::optional<oidc::ProviderMetadata> m = oidc::parseProviderMetadata(doc, kIssuer, &error);
  if (!m) {
    check(!error.empty() && printableLine(error) && error.size() < 1024);
    return;
  }
  check(m->issuer == kIssuer);
  check(oidc::isHttpsEndpoint(m->authorization_endpoint));
  check(oidc::isHttpsEndpoint(m->token_endpoint));
  check(oidc::isHttpsEndpoint(m->jwks_uri));
  for (const std::string* optional :
       {&m->userinfo_endpoint, &m->end_session_endpoint, &m->revocation_endpoint})
    check(optional->empty() || oidc::isHttpsEndpoint(*optional));
  check(!m->id_token_algs.empty() && m->id_token_algs.size() <= 4);
}

void tokenResponse(int status, std::string_view body, oidc::Grant grant) {
  const oidc::TokenResponse r = oidc::parseTokenResponse(status, body, grant);
  check(printableLine(r.why));
  switch (r.outcome) {
    case oidc::TokenOutcome::kOk:
      check(status == 200);
      check(!r.tokens.access_token.empty() && r.tokens.access_token.size() <= oidc::kMaxTokenBytes);
      check(grant == oidc::Grant::kRefreshToken || !r.tokens.id_token.empty());
      check(!r.tokens.expires_in ||
            (*r.tokens.expires_in >= 0 && *r.tokens.expires_in <= oidc::kMaxExpiresIn));
      break;
    case oidc::TokenOutcome::kRefused:
      check(status == 400 || status == 401);
      check(printableLine(r.error_code) && r.error_code.size() <= 64);
      check(printableLine(r.error_description) &&
            r.error_description.size() <= oidc::kMaxErrorDescriptionBytes);
      break;
    case oidc::TokenOutcome::kMalformed:
      check(!r.why.empty());
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The first byte picks the parser and, for token answers, status and grant.
  const uint8_t mode = data[0];
  if (mode % 2 == 0) {
    discovery(input);
  } else {
    static constexpr int kStatuses[] = {200, 400, 401, 500};
    tokenResponse(kStatuses[(mode >> 1) % 4], input,
                  (mode >> 3) % 2 ? oidc::Grant::kRefreshToken : oidc::Grant::kAuthorizationCode);
  }
  return 0;
}

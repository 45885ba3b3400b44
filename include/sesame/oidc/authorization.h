// The requests sesame sends a provider: the authorization redirect and the token endpoint bodies.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace sesame::oidc {

struct AuthorizationRequest {
  std::string_view authorization_endpoint{};  // from discovery; https, no fragment
  std::string_view client_id{};
  std::string_view redirect_uri{};        // https://<host>/.sesame/oidc/callback
  std::span<const std::string> scopes{};  // "openid" must be among them (config checks)
  std::string_view state{};
  std::string_view nonce{};
  std::string_view code_challenge{};  // codeChallengeS256(code_verifier)
};

// The URL the browser is redirected to (OIDC Core §3.1.2.1):
// response_type=code, client_id, redirect_uri, scope (space-joined), state,
// nonce, code_challenge and code_challenge_method=S256 (RFC 7636 §4.3),
// each value percent-encoded (RFC 3986 §2.1), appended after '?' or, when
// the endpoint already carries a query (some providers put a tenant or
// policy there), after '&'.
[[nodiscard]] std::string authorizationUrl(const AuthorizationRequest& request);

}  // namespace sesame::oidc

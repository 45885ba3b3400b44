// The requests sesame sends a provider: the authorization redirect and the token endpoint bodies.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/jose/alg.h"

struct evp_pkey_st;

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

// How sesame authenticates to the token endpoint (OIDC Core §9).
enum class ClientAuth { kClientSecretBasic, kClientSecretPost, kPrivateKeyJwt };

// "client_secret_basic", "client_secret_post", "private_key_jwt".
[[nodiscard]] std::string_view clientAuthName(ClientAuth method);

// The method for a client configured with a secret or, when
// `has_private_key`, a key, given the provider's
// token_endpoint_auth_methods_supported (empty: not announced). A key
// means private_key_jwt. A secret means client_secret_basic when the
// provider lists it or lists nothing (Discovery §3: the default), else
// client_secret_post. nullopt, with `error` saying what the provider
// offers, when the list is non-empty and lacks the method(s) sesame could
// use: failing at discovery says more than a 401 at the first login.
[[nodiscard]] std::optional<ClientAuth> chooseClientAuth(
    std::span<const std::string> provider_methods, bool has_private_key, std::string* error);

struct ClientCredentials {
  ClientAuth method = ClientAuth::kClientSecretBasic;
  std::string_view client_id{};
  std::string_view client_secret{};  // the two client_secret_* methods
  // private_key_jwt (RFC 7523 §2.2): the client's private key, the alg it
  // signs with and the kid the provider knows it by (empty: no kid).
  evp_pkey_st* private_key = nullptr;
  jose::Alg key_alg = jose::Alg::kES256;
  std::string_view key_id{};
};

// A token endpoint POST: send `body` with Content-Type
// application/x-www-form-urlencoded and, when `authorization` is
// non-empty, as the Authorization field value. Both hold secrets: never
// log them.
struct TokenRequest {
  std::string body;
  std::string authorization;
};

// The code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5): grant_type=
// authorization_code, code, redirect_uri, code_verifier, plus the client
// authentication: client_secret_basic puts
// Basic base64(urlencode(id) ":" urlencode(secret)) in `authorization`
// (RFC 6749 §2.3.1 encodes both first, so a ':' in the id survives);
// client_secret_post adds client_id and client_secret to the body;
// private_key_jwt adds client_id, client_assertion_type
// (urn:ietf:params:oauth:client-assertion-type:jwt-bearer) and
// client_assertion, a JWT {iss = sub = client_id, aud = token_endpoint,
// jti random, iat = now, exp = now + 60} signed with the key. nullopt
// only when signing fails (`error` says why).
[[nodiscard]] std::optional<TokenRequest> codeExchangeRequest(
    const ClientCredentials& client, std::string_view token_endpoint, std::string_view code,
    std::string_view redirect_uri, std::string_view code_verifier, int64_t now, std::string* error);

// A refresh (RFC 6749 §6): grant_type=refresh_token, refresh_token, scope
// when non-empty, and the client authentication as above.
[[nodiscard]] std::optional<TokenRequest> refreshRequest(const ClientCredentials& client,
                                                         std::string_view token_endpoint,
                                                         std::string_view refresh_token,
                                                         std::string_view scope, int64_t now,
                                                         std::string* error);

}  // namespace sesame::oidc

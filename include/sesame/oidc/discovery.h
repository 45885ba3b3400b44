// A provider's metadata (OpenID Connect Discovery 1.0 §3) read and checked against what sesame
// needs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/jose/alg.h"

namespace sesame::oidc {

// Longest endpoint URL accepted from a provider.
inline constexpr size_t kMaxEndpointBytes = 2048;

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::string userinfo_endpoint;     // empty when absent
  std::string end_session_endpoint;  // empty when absent: no RP-initiated logout
  std::string revocation_endpoint;   // empty when absent (RFC 8414 §2)
  // id_token_signing_alg_values_supported ∩ the allow-list, in the
  // allow-list's order; never empty. The ID token must use one of these.
  std::vector<jose::Alg> id_token_algs;
  // token_endpoint_auth_methods_supported as listed; empty when absent,
  // which means client_secret_basic (Discovery §3).
  std::vector<std::string> token_endpoint_auth_methods;
  bool backchannel_logout_supported = false;
  bool backchannel_logout_session_supported = false;
};

// Parses the document served at {issuer}/.well-known/openid-configuration.
// Refused, with `error` naming the member and the reason:
//  - not a JSON object (the reader bounds size, depth, duplicate members);
//  - "issuer" not exactly `expected_issuer`, byte for byte (Discovery §4.3:
//    otherwise a provider could vouch for tokens of another issuer); the
//    message names both;
//  - authorization_endpoint, token_endpoint or jwks_uri absent; any endpoint
//    present that is not an https URL with a host, no fragment, no
//    whitespace or control bytes, at most kMaxEndpointBytes;
//  - id_token_signing_alg_values_supported naming none of RS256, PS256,
//    ES256, EdDSA (absent counts as ["RS256"], the registration default of
//    OIDC Core: the member is REQUIRED but a missing one must not widen
//    anything);
//  - response_types_supported present without "code";
//  - code_challenge_methods_supported present without "S256" (RFC 8414 §2:
//    absent means the provider does not say; PKCE is sent anyway);
//  - a known member of the wrong JSON type (a list that is not an array of
//    strings, a flag that is not a boolean).
// Unknown members are ignored.
[[nodiscard]] std::optional<ProviderMetadata> parseProviderMetadata(
    std::string_view json, std::string_view expected_issuer, std::string* error);

// Whether `url` passes the endpoint checks above.
[[nodiscard]] bool isHttpsEndpoint(std::string_view url);

}  // namespace sesame::oidc

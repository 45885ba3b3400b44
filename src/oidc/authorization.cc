#include "sesame/oidc/authorization.h"

#include <openssl/evp.h>

#include <algorithm>

#include "query.h"
#include "sesame/base/json.h"
#include "sesame/jose/jws.h"
#include "sesame/oidc/pkce.h"
#include "sesame/session/access.h"

namespace sesame::oidc {
namespace {

// RFC 7523 §3: the assertion's lifetime; short, since it is only a proof of
// key possession for this one request.
constexpr int64_t kAssertionLifetime = 60;

// Standard base64 with padding (RFC 4648 §4), as Basic credentials use it
// (RFC 7617 §2).
std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool listed(std::span<const std::string> methods, std::string_view name) {
  return std::find(methods.begin(), methods.end(), name) != methods.end();
}

std::optional<std::string> clientAssertion(const ClientCredentials& client,
                                           std::string_view token_endpoint, int64_t now,
                                           std::string* error) {
  std::string header = "{\"alg\":" + jsonString(jose::algName(client.key_alg)) + ",\"typ\":\"JWT\"";
  if (!client.key_id.empty()) header += ",\"kid\":" + jsonString(client.key_id);
  header += "}";
  const std::string payload =
      "{\"iss\":" + jsonString(client.client_id) + ",\"sub\":" + jsonString(client.client_id) +
      ",\"aud\":" + jsonString(token_endpoint) + ",\"jti\":" + jsonString(randomToken()) +
      ",\"iat\":" + std::to_string(now) + ",\"exp\":" + std::to_string(now + kAssertionLifetime) +
      "}";
  std::string why;
  std::optional<std::string> jwt =
      jose::sign(client.key_alg, client.private_key, header, payload, &why);
  if (!jwt && error != nullptr) *error = "private_key_jwt client assertion: " + why;
  return jwt;
}

std::optional<TokenRequest> authenticated(TokenRequest request, const ClientCredentials& client,
                                          std::string_view token_endpoint, int64_t now,
                                          std::string* error) {
  switch (client.method) {
    case ClientAuth::kClientSecretBasic:
      request.authorization = "Basic " + base64(session::percentEncode(client.client_id) + ":" +
                                                session::percentEncode(client.client_secret));
      break;
    case ClientAuth::kClientSecretPost:
      appendParameter(request.body, "client_id", client.client_id);
      appendParameter(request.body, "client_secret", client.client_secret);
      break;
    case ClientAuth::kPrivateKeyJwt: {
      const std::optional<std::string> jwt = clientAssertion(client, token_endpoint, now, error);
      if (!jwt) return std::nullopt;
      appendParameter(request.body, "client_id", client.client_id);
      appendParameter(request.body, "client_assertion_type",
                      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      appendParameter(request.body, "client_assertion", *jwt);
      break;
    }
  }
  return request;
}

}  // namespace

std::string authorizationUrl(const AuthorizationRequest& request) {
  std::string scope;
  for (const std::string& s : request.scopes) {
    if (!scope.empty()) scope.push_back(' ');
    scope.append(s);
  }
  std::string url = withQuerySeparator(request.authorization_endpoint);
  appendParameter(url, "response_type", "code");
  appendParameter(url, "client_id", request.client_id);
  appendParameter(url, "redirect_uri", request.redirect_uri);
  appendParameter(url, "scope", scope);
  appendParameter(url, "state", request.state);
  appendParameter(url, "nonce", request.nonce);
  appendParameter(url, "code_challenge", request.code_challenge);
  appendParameter(url, "code_challenge_method", "S256");
  return url;
}

std::string_view clientAuthName(ClientAuth method) {
  switch (method) {
    case ClientAuth::kClientSecretBasic:
      return "client_secret_basic";
    case ClientAuth::kClientSecretPost:
      return "client_secret_post";
    case ClientAuth::kPrivateKeyJwt:
      return "private_key_jwt";
  }
  return "";
}

std::optional<ClientAuth> chooseClientAuth(std::span<const std::string> provider_methods,
                                           bool has_private_key, std::string* error) {
  const auto offered = [&provider_methods] {
    std::string list;
    for (const std::string& m : provider_methods) list += (list.empty() ? "" : ", ") + m;
    return list;
  };
  if (has_private_key) {
    if (provider_methods.empty() || listed(provider_methods, "private_key_jwt"))
      return ClientAuth::kPrivateKeyJwt;
    if (error != nullptr) {
      *error =
          "a client key is configured but the provider's token endpoint does not offer "
          "private_key_jwt (it offers: " +
          offered() + ")";
    }
    return std::nullopt;
  }
  if (provider_methods.empty() || listed(provider_methods, "client_secret_basic"))
    return ClientAuth::kClientSecretBasic;
  if (listed(provider_methods, "client_secret_post")) return ClientAuth::kClientSecretPost;
  if (error != nullptr) {
    *error =
        "a client secret is configured but the provider's token endpoint offers neither "
        "client_secret_basic nor client_secret_post (it offers: " +
        offered() + ")";
  }
  return std::nullopt;
}

std::optional<TokenRequest> codeExchangeRequest(const ClientCredentials& client,
                                                std::string_view token_endpoint,
                                                std::string_view code,
                                                std::string_view redirect_uri,
                                                std::string_view code_verifier, int64_t now,
                                                std::string* error) {
  TokenRequest request;
  appendParameter(request.body, "grant_type", "authorization_code");
  appendParameter(request.body, "code", code);
  appendParameter(request.body, "redirect_uri", redirect_uri);
  appendParameter(request.body, "code_verifier", code_verifier);
  return authenticated(std::move(request), client, token_endpoint, now, error);
}

std::optional<TokenRequest> refreshRequest(const ClientCredentials& client,
                                           std::string_view token_endpoint,
                                           std::string_view refresh_token, std::string_view scope,
                                           int64_t now, std::string* error) {
  TokenRequest request;
  appendParameter(request.body, "grant_type", "refresh_token");
  appendParameter(request.body, "refresh_token", refresh_token);
  if (!scope.empty()) appendParameter(request.body, "scope", scope);
  return authenticated(std::move(request), client, token_endpoint, now, error);
}

}  // namespace sesame::oidc

#include "sesame/oidc/authorization.h"

#include "query.h"

namespace sesame::oidc {

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

}  // namespace sesame::oidc

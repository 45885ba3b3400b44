#include "sesame/oidc/logout_url.h"

#include "query.h"

namespace sesame::oidc {

std::string endSessionUrl(const EndSessionRequest& request) {
  std::string url = withQuerySeparator(request.end_session_endpoint);
  const auto optional = [&url](std::string_view name, std::string_view value) {
    if (!value.empty()) appendParameter(url, name, value);
  };
  optional("id_token_hint", request.id_token_hint);
  optional("post_logout_redirect_uri", request.post_logout_redirect_uri);
  optional("client_id", request.client_id);
  optional("state", request.state);
  // Nothing was appended: no dangling '?'.
  if (url.back() == '?' || url.back() == '&') url.pop_back();
  return url;
}

}  // namespace sesame::oidc

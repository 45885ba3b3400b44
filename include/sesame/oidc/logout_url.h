// The RP-initiated logout redirect (OpenID Connect RP-Initiated Logout 1.0 §2).
#pragma once

#include <string>
#include <string_view>

namespace sesame::oidc {

struct EndSessionRequest {
  std::string_view end_session_endpoint{};  // from discovery; https, no fragment
  // The ID token of the session being ended: RECOMMENDED (§2), and what
  // lets the provider skip asking the user to confirm. Omitted when empty.
  std::string_view id_token_hint{};
  // Where the provider sends the browser afterwards; must be registered at
  // the provider. Omitted when empty.
  std::string_view post_logout_redirect_uri{};
  // Sent so the provider can check post_logout_redirect_uri even when the
  // hint is missing or expired. Omitted when empty.
  std::string_view client_id{};
  std::string_view state{};  // returned with the redirect; omitted when empty
};

// end_session_endpoint with the non-empty parameters appended, each value
// percent-encoded (RFC 3986 §2.1), after '?' or, when the endpoint already
// has a query, '&'.
[[nodiscard]] std::string endSessionUrl(const EndSessionRequest& request);

}  // namespace sesame::oidc

// Private to oidc/: query strings and form bodies of name=value pairs.
#pragma once

#include <string>
#include <string_view>

namespace sesame::oidc {

// Appends "name=value" to `out`, the value percent-encoded so that it stays
// one value in a URL query and in an application/x-www-form-urlencoded body
// alike; `out` gets a '&' first unless it is empty or ends in '?' or '&'.
void appendParameter(std::string& out, std::string_view name, std::string_view value);

// `url` followed by '?' or, when it already has a query, '&'.
[[nodiscard]] std::string withQuerySeparator(std::string_view url);

}  // namespace sesame::oidc

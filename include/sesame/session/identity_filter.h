// Removes client-sent headers that could impersonate the identity sesame injects upstream.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sesame/http/header_list.h"

namespace sesame::session {

// Names of the headers sesame adds upstream for an authenticated session
// (issue 3 §4); the [identity] section of the configuration fills them.
struct IdentityHeaders {
  std::string user_header = "X-Remote-User";
  std::string groups_header = "X-Remote-Groups";
  std::string data_prefix = "X-Session-";
  // [identity] assertion_header: the signed assertion; empty when off.
  std::string assertion_header;
};

// True when `name` equals `target` with ASCII case ignored and every byte
// other than a letter or digit taken as '-'. Gateways fold names into one
// variable: CGI, PHP and WSGI map X-Remote-User, X_Remote_User and
// X.Remote.User to HTTP_X_REMOTE_USER, and lighttpd (CGI, FastCGI, SCGI)
// and Apache 2.2 map every non-alphanumeric byte ("X+Remote+User") to '_'.
// A client sending another spelling would otherwise smuggle an identity
// past a filter that only knows the dash one.
[[nodiscard]] bool headerNameMatches(std::string_view name, std::string_view target);
// The same folding for a prefix test. An empty prefix matches nothing.
[[nodiscard]] bool headerNameHasPrefix(std::string_view name, std::string_view prefix);

// Removes from client request headers every field whose name matches
// `ids.user_header`, `ids.groups_header` or `ids.assertion_header`, or
// starts with `ids.data_prefix`
// or "X-Sesame-", under the folding above (one pass: linear in the number
// of fields); returns how many were removed.
// Runs on every route, public ones included, before sesame adds the real
// identity. Empty names or prefix in `ids` match nothing (the configuration
// must reject them).
size_t stripSpoofable(http::HeaderList& headers, const IdentityHeaders& ids);

// Header name for session data field `key` (keys are [A-Za-z0-9_-]{1,64}):
// `prefix` as given, then `key` with '_' mapped to '-' (nginx drops header
// names containing '_' by default) and its first letter and every letter
// after a '-' upper-cased, the rest lower-cased: ("X-Session-", "cart_items")
// -> "X-Session-Cart-Items". Keys that differ only in case or in '_' versus
// '-' give the same name, as they would to the application anyway (header
// names are case-insensitive, and CGI folds '-' and '_'); the control-header
// parser therefore stores keys canonically (canonicalDataKey), and on
// canonical keys this mapping is injective.
[[nodiscard]] std::string dataHeaderName(std::string_view prefix, std::string_view key);

}  // namespace sesame::session

// JWT claims (RFC 7519 §4.1) read from a verified payload: typed primitives and the time checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/json_reader.h"

namespace sesame::jose {

// Parses a JWS payload as a JWT claims set: a JSON object (default
// json::Limits), or nullopt with `error` (may be null) saying why.
[[nodiscard]] std::optional<json::Document> parseClaims(std::string_view payload,
                                                        std::string* error);

// The claim `name` when it is a JSON string; nullopt when absent or of
// another type.
[[nodiscard]] std::optional<std::string_view> stringClaim(json::Value claims,
                                                          std::string_view name);

// "aud" as a list (RFC 7519 §4.1.3: a string or an array of strings);
// nullopt when absent, of another type, or an array holding a non-string.
[[nodiscard]] std::optional<std::vector<std::string_view>> audiences(json::Value claims);

// The NumericDate claim `name` in whole seconds (integer or real, floored);
// nullopt when absent or not a number.
[[nodiscard]] std::optional<int64_t> numericDate(json::Value claims, std::string_view name);

// The time checks of RFC 7519 §4.1.4-6 / OIDC Core §3.1.3.7 with `skew`
// seconds of tolerance each way. Refuses: "exp" absent or not a number, or
// exp <= now - skew (expired); "nbf" present and not a number, or
// nbf > now + skew; "iat" present and not a number, or iat > now + skew
// (issued in the future); with require_iat, "iat" absent. Returns nullopt
// when all hold, else a short reason for an operator's log ("token expired").
[[nodiscard]] std::optional<std::string> checkTimes(json::Value claims, int64_t now_seconds,
                                                    int64_t skew_seconds, bool require_iat);

}  // namespace sesame::jose

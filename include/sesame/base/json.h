// JSON text pieces for sesame's own answers (/.sesame/session, the admin API). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sesame {

// `text` as a JSON string, quotes included (RFC 8259 §7): '"', '\' and
// control characters escaped, and every byte that is not part of valid
// UTF-8 written as \u00XX, so client-controlled text (a User-Agent) always
// yields valid JSON.
[[nodiscard]] std::string jsonString(std::string_view text);

// Milliseconds since the epoch as an RFC 3339 UTC time, to the second:
// "2026-12-04T18:00:00Z".
[[nodiscard]] std::string rfc3339(int64_t unix_millis);

}  // namespace sesame

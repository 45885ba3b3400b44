// OpenSSL's thread-local error queue turned into one operator-readable reason.
#pragma once

#include <string>

namespace sesame::tls {

// Empties the error queue and returns the reason of its oldest entry (the
// root cause; later entries are the callers that passed it up), or fallback
// when the queue is empty.
[[nodiscard]] std::string takeOpenSslError(const std::string& fallback);

}  // namespace sesame::tls

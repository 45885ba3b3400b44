#include "openssl_error.h"

#include <openssl/err.h>

namespace sesame::tls {

std::string takeOpenSslError(const std::string& fallback) {
  unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return fallback;
  const char* reason = ERR_reason_error_string(first);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(first, buf, sizeof buf);
  return buf;
}

}  // namespace sesame::tls

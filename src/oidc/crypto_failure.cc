#include "crypto_failure.h"

#include <cstdio>
#include <cstdlib>

namespace sesame::oidc {

void cryptoFailure(const char* what) {
  std::fprintf(stderr, "sesame[fatal]: %s failed; refusing to continue without working crypto\n",
               what);
  std::abort();
}

}  // namespace sesame::oidc

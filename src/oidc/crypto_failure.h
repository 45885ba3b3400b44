// Private to oidc/: what a failing OpenSSL primitive does here (abort, loudly).
#pragma once

namespace sesame::oidc {

// A login must never go ahead on predictable randomness or a broken digest.
[[noreturn]] void cryptoFailure(const char* what);

}  // namespace sesame::oidc

#include "sesame/auth/password.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace sesame::auth {
namespace {

// crypt_rn keeps its working state, a copy of the password among it, in a caller's struct of
// about 32 KiB: one per call on the heap (threads share nothing), wiped before it is freed.
struct CryptState {
  std::unique_ptr<crypt_data> data = std::make_unique<crypt_data>();  // zeroed, as crypt_rn needs
  ~CryptState() { OPENSSL_cleanse(data.get(), sizeof *data); }
};

bool cryptAccepts(std::string_view password) {
  return password.size() <= kMaxCryptPasswordBytes && password.find('\0') == std::string_view::npos;
}

}  // namespace

std::optional<HashKind> hashKind(std::string_view hash) {
  if (hash.starts_with("$y$")) return HashKind::kYescrypt;
  if (hash.starts_with("$2b$") || hash.starts_with("$2y$")) return HashKind::kBcrypt;
  if (hash.starts_with("$6$")) return HashKind::kSha512;
  if (hash.starts_with("$5$")) return HashKind::kSha256;
  return std::nullopt;
}

const char* hashKindName(HashKind kind) {
  switch (kind) {
    case HashKind::kYescrypt:
      return "yescrypt";
    case HashKind::kBcrypt:
      return "bcrypt";
    case HashKind::kSha512:
      return "sha512crypt";
    case HashKind::kSha256:
      return "sha256crypt";
  }
  return "unknown";
}

bool verifyPassword(std::string_view password, const std::string& hash) {
  const std::optional<HashKind> kind = hashKind(hash);
  if (!kind || !cryptAccepts(password)) return false;
  if (*kind == HashKind::kBcrypt && password.size() > kMaxBcryptPasswordBytes) return false;
  CryptState state;
  // The password as a C string, in the state that is wiped afterwards.
  std::memcpy(state.data->input, password.data(), password.size());
  state.data->input[password.size()] = '\0';
  const char* out = crypt_rn(state.data->input, hash.c_str(), state.data.get(), sizeof *state.data);
  if (out == nullptr) return false;
  // The output's length follows from the hash's own format, so comparing lengths first tells an
  // attacker nothing; the bytes are compared in constant time.
  const size_t length = std::strlen(out);
  return length == hash.size() && CRYPTO_memcmp(out, hash.data(), length) == 0;
}

std::optional<std::string> hashPassword(std::string_view password, std::string* error) {
  if (password.empty()) {
    *error = "the password is empty";
    return std::nullopt;
  }
  if (!cryptAccepts(password)) {
    *error = password.size() > kMaxCryptPasswordBytes
                 ? "the password is longer than " + std::to_string(kMaxCryptPasswordBytes) +
                       " bytes, the most crypt(3) hashes"
                 : std::string("the password holds a NUL byte, which crypt(3) cannot hash");
    return std::nullopt;
  }
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // No random bytes given: libxcrypt takes them from the kernel (getrandom).
  if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting) == nullptr) {
    *error = std::string("cannot make a yescrypt salt: ") + std::strerror(errno);
    return std::nullopt;
  }
  CryptState state;
  std::memcpy(state.data->input, password.data(), password.size());
  state.data->input[password.size()] = '\0';
  const char* out = crypt_rn(state.data->input, setting, state.data.get(), sizeof *state.data);
  if (out == nullptr || hashKind(out) != HashKind::kYescrypt) {
    *error = std::string("yescrypt hashing failed: ") + std::strerror(errno);
    return std::nullopt;
  }
  return std::string(out);
}

void wipe(std::string& secret) {
  // The whole buffer: bytes past size() may hold an earlier, longer value.
  OPENSSL_cleanse(secret.data(), secret.capacity());
  secret.clear();
}

std::string hashFingerprint(std::string_view hash) {
  static constexpr std::string_view kLabel = "sesame user v1";
  std::string in(kLabel);
  in.append(hash);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(in.data(), in.size(), digest, &length, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 6; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace sesame::auth

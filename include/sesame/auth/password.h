// Password hashes in crypt(3) form: which kinds sesame accepts, checking a password against one,
// and making a new one (libxcrypt).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sesame::auth {

enum class HashKind { kYescrypt, kBcrypt, kSha512, kSha256 };

// The longest password the login form takes (bytes); nothing is truncated.
inline constexpr size_t kMaxPasswordBytes = 1024;
// The longest password libxcrypt hashes at all (CRYPT_MAX_PASSPHRASE_SIZE - 1): crypt(3) refuses
// longer ones for every kind, so no standard tool can have made a hash of one.
inline constexpr size_t kMaxCryptPasswordBytes = 511;
// bcrypt reads only the first 72 bytes of a password: a longer one would match a hash made from
// its first 72 bytes alone, so it is refused instead.
inline constexpr size_t kMaxBcryptPasswordBytes = 72;

// The kind of a crypt(3) hash string by its prefix: "$y$" yescrypt, "$2b$" or "$2y$" bcrypt,
// "$6$" sha512crypt, "$5$" sha256crypt; nullopt for anything else (the users file names what it
// is, see users.h). Only the prefix is looked at.
[[nodiscard]] std::optional<HashKind> hashKind(std::string_view hash);

// "yescrypt", "bcrypt", "sha512crypt", "sha256crypt".
[[nodiscard]] const char* hashKindName(HashKind kind);

// Whether `password` hashes to `hash` (crypt_rn with its own state, so any thread may call it;
// the result compared in constant time). Takes as long as the hash's cost says: never call it on
// an event loop (HashPool). False, without hashing, for a password that crypt(3) would refuse or
// truncate: longer than kMaxCryptPasswordBytes, longer than kMaxBcryptPasswordBytes for a bcrypt
// hash, or holding a NUL byte (crypt reads a C string). False for a hash crypt(3) rejects.
[[nodiscard]] bool verifyPassword(std::string_view password, const std::string& hash);

// A new yescrypt hash of `password` with libxcrypt's default cost and a random salt. nullopt
// with `*error` set for an empty password, one longer than kMaxCryptPasswordBytes or holding a
// NUL byte, or when libxcrypt fails (no randomness).
[[nodiscard]] std::optional<std::string> hashPassword(std::string_view password,
                                                      std::string* error);

// Overwrites the bytes of a string that held a password (OPENSSL_cleanse: not optimised away),
// then empties it.
void wipe(std::string& secret);

// 12 hex digits of SHA-256("sesame user v1" || hash): names one hash (one
// password of one user) without revealing anything usable about it.
[[nodiscard]] std::string hashFingerprint(std::string_view hash);

}  // namespace sesame::auth

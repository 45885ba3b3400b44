#include "sesame/auth/password.h"

#include <catch2/catch.hpp>
#include <string>

#include "test_hashes.h"

namespace sesame::auth {
namespace {

using namespace testing;

TEST_CASE("hashKind recognises the supported crypt(3) prefixes only", "[auth][password]") {
  CHECK(hashKind(kYescrypt) == HashKind::kYescrypt);
  CHECK(hashKind(kBcrypt2b) == HashKind::kBcrypt);
  CHECK(hashKind(kBcrypt2y) == HashKind::kBcrypt);
  CHECK(hashKind(kSha512) == HashKind::kSha512);
  CHECK(hashKind(kSha256) == HashKind::kSha256);
  for (const char* other : {kApr1, kSha1, kDes, kMd5crypt, kBcrypt2a, kScrypt, kGostYescrypt, "",
                            "$", "$y", "y$", "correct horse", "$6", "$2$"}) {
    INFO(other);
    CHECK_FALSE(hashKind(other));
  }
}

TEST_CASE("hashes made by mkpasswd, htpasswd and python verify", "[auth][password]") {
  for (const char* hash : {kYescrypt, kYescryptCost7, kSha512, kSha512Rounds, kSha256, kBcrypt2b,
                           kBcrypt2y, kPySha512Rounds, kPySha256}) {
    INFO(hash);
    CHECK(verifyPassword(kPassword, hash));
    CHECK_FALSE(verifyPassword("correct horsE", hash));
    CHECK_FALSE(verifyPassword("correct horse ", hash));
    CHECK_FALSE(verifyPassword("correct hors", hash));
    CHECK_FALSE(verifyPassword("", hash));
  }
}

TEST_CASE("non-ASCII passwords verify byte for byte", "[auth][password]") {
  CHECK(verifyPassword(kUtf8Password, kPyUtf8Sha512));
  CHECK(verifyPassword(kUtf8Password, kYescryptUtf8));
  CHECK_FALSE(verifyPassword("passwort ✓", kYescryptUtf8));
}

TEST_CASE("hashes sesame refuses never verify, even with the right password", "[auth][password]") {
  for (const char* hash : {kApr1, kSha1, kDes, kMd5crypt, kBcrypt2a, kScrypt, kGostYescrypt}) {
    INFO(hash);
    CHECK_FALSE(verifyPassword(kPassword, hash));
  }
  // A plain-text "hash" equal to the password is no match.
  CHECK_FALSE(verifyPassword(kPassword, kPassword));
}

TEST_CASE("a hash cut short or edited does not verify", "[auth][password]") {
  std::string cut = kYescrypt;
  cut.pop_back();
  CHECK_FALSE(verifyPassword(kPassword, cut));
  std::string longer = std::string(kSha512) + "x";
  CHECK_FALSE(verifyPassword(kPassword, longer));
  std::string flipped = kBcrypt2y;
  flipped.back() = flipped.back() == 'a' ? 'b' : 'a';
  CHECK_FALSE(verifyPassword(kPassword, flipped));
  CHECK_FALSE(verifyPassword(kPassword, "$y$j9T$"));
  CHECK_FALSE(verifyPassword(kPassword, "$2b$05$"));
}

TEST_CASE("long passwords are checked whole or refused, never truncated", "[auth][password]") {
  const std::string x511(511, 'x');
  CHECK(verifyPassword(x511, kPySha512Of511));
  CHECK(verifyPassword(x511, kYescryptOf511));
  CHECK_FALSE(verifyPassword(x511 + "x", kPySha512Of511));
  // crypt(3) takes at most 511 bytes: longer passwords cannot match any hash.
  const std::string x1024(1024, 'x');
  CHECK_FALSE(verifyPassword(x1024, kPySha512Of511));
  CHECK_FALSE(verifyPassword(x1024, kYescryptOf511));
  CHECK_FALSE(verifyPassword(std::string(1025, 'x'), kYescryptOf511));
}

TEST_CASE("bcrypt refuses passwords over 72 bytes instead of truncating", "[auth][password]") {
  const std::string b72(72, 'b');
  CHECK(verifyPassword(b72, kPyBcryptOf72));
  // bcrypt itself would accept these: it reads only the first 72 bytes.
  CHECK_FALSE(verifyPassword(b72 + "b", kPyBcryptOf72));
  CHECK_FALSE(verifyPassword(b72 + "anything", kPyBcryptOf72));
  // htpasswd hashed an 80-byte password into a bcrypt hash of its first 72 bytes.
  CHECK_FALSE(verifyPassword(std::string(80, 'b'), kHtpasswdBcryptOf80));
  // What that hash holds is the 72-byte password.
  CHECK(verifyPassword(b72, kHtpasswdBcryptOf80));
}

TEST_CASE("a NUL byte in a password is refused, not read as its end", "[auth][password]") {
  const std::string with_nul = std::string(kPassword) + std::string(1, '\0') + "tail";
  CHECK_FALSE(verifyPassword(with_nul, kYescrypt));
  CHECK_FALSE(verifyPassword(with_nul, kSha512));
  std::string error;
  CHECK_FALSE(hashPassword(with_nul, &error));
  CHECK(error == "the password holds a NUL byte, which crypt(3) cannot hash");
}

TEST_CASE("hashPassword makes salted yescrypt hashes that verify", "[auth][password]") {
  std::string error;
  const std::optional<std::string> a = hashPassword(kPassword, &error);
  const std::optional<std::string> b = hashPassword(kPassword, &error);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(hashKind(*a) == HashKind::kYescrypt);
  CHECK(a->starts_with("$y$j9T$"));  // libxcrypt's default cost
  CHECK(*a != *b);
  CHECK(verifyPassword(kPassword, *a));
  CHECK(verifyPassword(kPassword, *b));
  CHECK_FALSE(verifyPassword("correct horsE", *a));
  const std::optional<std::string> longest = hashPassword(std::string(511, 'z'), &error);
  REQUIRE(longest);
  CHECK(verifyPassword(std::string(511, 'z'), *longest));
}

TEST_CASE("hashPassword refuses what it cannot hash whole", "[auth][password]") {
  std::string error;
  CHECK_FALSE(hashPassword("", &error));
  CHECK(error == "the password is empty");
  CHECK_FALSE(hashPassword(std::string(512, 'z'), &error));
  CHECK(error == "the password is longer than 511 bytes, the most crypt(3) hashes");
  CHECK_FALSE(hashPassword(std::string(1024, 'z'), &error));
}

TEST_CASE("wipe zeroes the whole buffer and empties the string", "[auth][password]") {
  std::string secret(100, 's');
  secret.resize(10);  // bytes past size() still hold the longer value
  const char* data = secret.data();
  wipe(secret);
  CHECK(secret.empty());
  for (size_t i = 0; i < 100; ++i) CHECK(data[i] == '\0');
}

}  // namespace
}  // namespace sesame::auth

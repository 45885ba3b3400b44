#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../../../src/session/crypto.h"

namespace {

using sesame::session::HmacSha256;
using sesame::session::sha256;

std::span<const unsigned char> bytes(const std::string& s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

std::string hex(std::span<const unsigned char> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// OpenSSL's own one-shot HMAC, the reference the precomputed pads must match.
std::string referenceHmac(const std::vector<unsigned char>& key,
                          const std::vector<unsigned char>& msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // OpenSSL refuses a null key pointer, even for an empty key.
  static const unsigned char kNone = 0;
  const unsigned char* k = key.empty() ? &kNone : key.data();
  REQUIRE(HMAC(EVP_sha256(), k, static_cast<int>(key.size()), msg.data(), msg.size(), out, &len) !=
          nullptr);
  return hex({out, len});
}

}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231's test cases", "[session][crypto]") {
  // Test case 1: a 20-byte key.
  CHECK(hex(HmacSha256(bytes(std::string(20, '\x0b'))).tag(bytes("Hi There"))) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  CHECK(hex(HmacSha256(bytes("Jefe")).tag(bytes("what do ya want "), bytes("for nothing?"))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a 131-byte key, longer than the block, is hashed first.
  CHECK(hex(HmacSha256(bytes(std::string(131, '\xaa')))
                .tag(bytes("Test Using Larger Than Block-Size Key - Hash Key First"))) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("SHA-256 matches FIPS 180-2's examples, split or not", "[session][crypto]") {
  CHECK(hex(sha256(bytes("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex(sha256(bytes("ab"), bytes("c"))) == hex(sha256(bytes("abc"))));
  CHECK(hex(sha256({})) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("HMAC-SHA256 agrees with OpenSSL's for every key and message length",
          "[session][crypto]") {
  // Around the block size (64) and the padding boundary (55/56) on both
  // sides, messages split at every point.
  for (size_t key_len : {0, 1, 31, 32, 63, 64, 65, 128, 200}) {
    std::vector<unsigned char> key(key_len);
    if (key_len > 0) REQUIRE(RAND_bytes(key.data(), static_cast<int>(key_len)) == 1);
    const HmacSha256 mac(key);
    const HmacSha256 copy(mac);
    for (size_t msg_len : {0, 1, 55, 56, 64, 65, 119, 120, 300}) {
      std::vector<unsigned char> msg(msg_len);
      if (msg_len > 0) REQUIRE(RAND_bytes(msg.data(), static_cast<int>(msg_len)) == 1);
      const std::string want = referenceHmac(key, msg);
      for (size_t split = 0; split <= msg_len; split += msg_len / 4 + 1) {
        CAPTURE(key_len, msg_len, split);
        const std::span<const unsigned char> all(msg);
        CHECK(hex(mac.tag(all.first(split), all.subspan(split))) == want);
        CHECK(hex(copy.tag(all.first(split), all.subspan(split))) == want);
      }
    }
  }
}

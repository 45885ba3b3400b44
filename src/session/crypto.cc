#include "crypto.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP,
// whose contexts are allocated on the heap and cannot be copied without
// another allocation (EVP_MD_CTX_copy_ex calls the provider's dupctx). A
// plain SHA256_CTX is a struct: copying the absorbed pads is a memcpy.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>

namespace sesame::session {

namespace {

constexpr size_t kBlockLength = SHA256_CBLOCK;

void update(SHA256_CTX& ctx, std::span<const unsigned char> bytes) {
  if (!bytes.empty() && SHA256_Update(&ctx, bytes.data(), bytes.size()) != 1)
    cryptoFailure("SHA-256");
}

}  // namespace

void cryptoFailure(const char* what) {
  std::fprintf(stderr, "sesame[fatal]: %s failed; refusing to continue without working crypto\n",
               what);
  std::abort();
}

Sha256Digest sha256(std::span<const unsigned char> a, std::span<const unsigned char> b) {
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1) cryptoFailure("SHA-256");
  update(ctx, a);
  update(ctx, b);
  Sha256Digest out{};
  if (SHA256_Final(out.data(), &ctx) != 1) cryptoFailure("SHA-256");
  OPENSSL_cleanse(&ctx, sizeof(ctx));
  return out;
}

struct HmacSha256::Pads {
  SHA256_CTX inner;
  SHA256_CTX outer;
};

HmacSha256::HmacSha256(std::span<const unsigned char> key) : pads_(std::make_unique<Pads>()) {
  // RFC 2104 §2: a key longer than the block is hashed first; a shorter
  // one is padded with zeros.
  std::array<unsigned char, kBlockLength> block{};
  if (key.size() > kBlockLength) {
    Sha256Digest hashed = sha256(key);
    std::copy(hashed.begin(), hashed.end(), block.begin());
    OPENSSL_cleanse(hashed.data(), hashed.size());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<unsigned char, kBlockLength> pad{};
  for (size_t i = 0; i < kBlockLength; ++i) pad[i] = block[i] ^ 0x36;
  if (SHA256_Init(&pads_->inner) != 1) cryptoFailure("SHA-256");
  update(pads_->inner, pad);
  for (size_t i = 0; i < kBlockLength; ++i) pad[i] = block[i] ^ 0x5c;
  if (SHA256_Init(&pads_->outer) != 1) cryptoFailure("SHA-256");
  update(pads_->outer, pad);
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
}

HmacSha256::~HmacSha256() {
  if (pads_) OPENSSL_cleanse(pads_.get(), sizeof(Pads));
}

HmacSha256::HmacSha256(const HmacSha256& other) : pads_(std::make_unique<Pads>(*other.pads_)) {}

HmacSha256::HmacSha256(HmacSha256&&) noexcept = default;

std::array<unsigned char, kHmacSha256Length> HmacSha256::tag(
    std::span<const unsigned char> a, std::span<const unsigned char> b) const {
  SHA256_CTX ctx = pads_->inner;
  update(ctx, a);
  update(ctx, b);
  std::array<unsigned char, kHmacSha256Length> out{};
  if (SHA256_Final(out.data(), &ctx) != 1) cryptoFailure("SHA-256");
  ctx = pads_->outer;
  update(ctx, out);
  if (SHA256_Final(out.data(), &ctx) != 1) cryptoFailure("SHA-256");
  OPENSSL_cleanse(&ctx, sizeof(ctx));
  return out;
}

}  // namespace sesame::session

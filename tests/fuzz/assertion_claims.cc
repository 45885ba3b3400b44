// libFuzzer target: the signed identity assertion. Arbitrary bytes as the
// audience, user, groups and sid (a host, an identity provider's claim
// values) must always give a token whose payload is strict JSON carrying
// exactly those values and whose signature verifies; arbitrary key text
// must be refused with a reason or loaded, never crash.
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_body.h"
#include "sesame/base/base64url.h"
#include "sesame/base/c_handle.h"
#include "sesame/identity/signer.h"

using sesame::fuzz::check;
using sesame::identity::Claims;
using sesame::identity::KeyText;
using sesame::identity::Signer;
using sesame::identity::SigningKeys;

namespace {

constexpr int64_t kNow = 1'800'000'000;

// RFC 8037 A.1's Ed25519 key: fixed, so every run of an input is identical.
const Signer& signer() {
  static const Signer s = [] {
    const auto d = sesame::base64urlDecode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    const sesame::EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d->data()), d->size()));
    const sesame::BioPtr bio(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ==
          1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    const std::vector<KeyText> texts = {{"fuzz.pem", std::string(data, static_cast<size_t>(len))}};
    auto loaded = SigningKeys::load(texts);
    check(loaded.keys.has_value());
    return Signer(std::move(*loaded.keys), "https://sesame.fuzz", std::chrono::seconds(60));
  }();
  return s;
}

struct JsonDecref {
  void operator()(json_t* j) const { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

// Whether the JSON string `v` holds exactly `text`. jsonString writes a
// byte that is not UTF-8 as \u00XX, so only valid UTF-8 round-trips byte
// for byte (jansson's own check says which is which).
bool carries(const json_t* v, std::string_view text) {
  if (!json_is_string(v)) return false;
  const JsonPtr probe(json_stringn(text.data(), text.size()));
  if (probe == nullptr) return true;
  return std::string_view(json_string_value(v), json_string_length(v)) == text;
}

bool verifies(std::string_view token) {
  const size_t dot = token.rfind('.');
  const auto sig = sesame::base64urlDecode(token.substr(dot + 1));
  if (!sig) return false;
  const SigningKeys::Key& key = signer().keys().signingKey();
  const sesame::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.private_key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()),
                          sig->size(), reinterpret_cast<const unsigned char*>(token.data()),
                          dot) == 1;
}

void fuzzClaims(std::string_view input) {
  // Fields separated by '\n' (the only byte they never share here):
  // audience, user, sid, then one group per field.
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t end = input.find('\n', start);
    fields.push_back(input.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  fields.resize(std::max<size_t>(fields.size(), 3));
  const std::vector<std::string> groups(fields.begin() + 3, fields.end());
  const Claims claims{fields[0], fields[1], groups, fields[2], kNow};

  const std::string token = signer().sign(claims);
  check(verifies(token));
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  const auto payload = sesame::base64urlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  check(payload.has_value());
  json_error_t error;
  const JsonPtr json(json_loadb(payload->data(), payload->size(),
                                JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error));
  check(json != nullptr);
  check(json_object_size(json.get()) == (claims.session.empty() ? 7u : 8u));
  check(carries(json_object_get(json.get(), "aud"), claims.audience));
  check(carries(json_object_get(json.get(), "sub"), claims.user));
  if (!claims.session.empty()) check(carries(json_object_get(json.get(), "sid"), claims.session));
  const json_t* list = json_object_get(json.get(), "groups");
  check(json_array_size(list) == groups.size());
  for (size_t i = 0; i < groups.size(); ++i) check(carries(json_array_get(list, i), groups[i]));
  check(json_integer_value(json_object_get(json.get(), "exp")) == kNow + 60);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 8 == 0) {
    const std::vector<KeyText> texts = {{"fuzz.pem", std::string(input)}};
    auto loaded = SigningKeys::load(texts);
    check(loaded.keys.has_value() == loaded.error.empty());
    return 0;
  }
  fuzzClaims(input);
  return 0;
}

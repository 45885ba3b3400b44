// CookieSealer: round trips, tampering, secrets and rotation, size bounds,
// and the documented format checked against an independent implementation.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/session/cookie_sealer.h"
#include "sesame/session/cookie_store.h"

using sesame::EvpCipherCtxPtr;
using sesame::EvpPkeyCtxPtr;
using sesame::session::CookieSealer;
using sesame::session::CookieStore;
using sesame::session::Session;
using sesame::session::TimePoint;

namespace {

const std::string kSecret(32, 's');
const std::string kOther = "another secret, at least 32 bytes long";
constexpr std::string_view kName = "__Host-sesame";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

CookieSealer sealer(std::vector<std::string> secrets = {kSecret}, size_t max = 4000,
                    std::string_view name = kName) {
  return CookieSealer(secrets, name, max);
}

Session fullSession() {
  Session s;
  s.user = "zoë@example.org";
  s.groups = {"staff", "ops", "ünïcødé"};
  s.data = {{"cart", "3"}, {"lang", "de"}, {"note", "naïve ☃ \xf0\x9f\x8d\xaa"}, {"empty", ""}};
  s.created = 1'700'000'000'000;
  s.login = 1'700'000'000'000;
  s.touched = 1'700'000'123'456;
  s.nonce = "Nonce_of-22-characters";
  s.method = "password";
  s.address = "2001:db8::7";
  s.agent = "Mozilla/5.0 (X11; Linux x86_64) “quoted”";
  return s;
}

bool same(const Session& a, const Session& b) {
  return a.user == b.user && a.groups == b.groups && a.data == b.data && a.created == b.created &&
         a.login == b.login && a.touched == b.touched && a.nonce == b.nonce &&
         a.method == b.method && a.handle == b.handle && a.address == b.address &&
         a.agent == b.agent;
}

// --- An independent implementation of the format documented in the header.

std::string b64(const std::string& in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> unb64(const std::string& in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const size_t d = std::string_view(kAlphabet).find(c);
    if (d == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::array<unsigned char, 32> specMaster(const std::string& secret) {
  std::array<unsigned char, 32> key{};
  size_t len = key.size();
  const EvpPkeyCtxPtr owned(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  EVP_PKEY_CTX* ctx = owned.get();
  const std::string salt = "sesame cookie store v1";
  const std::string info = "aes-256-gcm message keys";
  REQUIRE(EVP_PKEY_derive_init(ctx) == 1);
  REQUIRE(EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1);
  REQUIRE(EVP_PKEY_CTX_set1_hkdf_salt(ctx, reinterpret_cast<const unsigned char*>(salt.data()),
                                      static_cast<int>(salt.size())) == 1);
  REQUIRE(EVP_PKEY_CTX_set1_hkdf_key(ctx, reinterpret_cast<const unsigned char*>(secret.data()),
                                     static_cast<int>(secret.size())) == 1);
  REQUIRE(EVP_PKEY_CTX_add1_hkdf_info(ctx, reinterpret_cast<const unsigned char*>(info.data()),
                                      static_cast<int>(info.size())) == 1);
  REQUIRE(EVP_PKEY_derive(ctx, key.data(), &len) == 1);
  return key;
}

std::array<unsigned char, 32> specMessageKey(const std::string& secret, const std::string& nonce) {
  const std::array<unsigned char, 32> master = specMaster(secret);
  std::array<unsigned char, 32> key{};
  unsigned len = 0;
  REQUIRE(HMAC(EVP_sha256(), master.data(), static_cast<int>(master.size()),
               reinterpret_cast<const unsigned char*>(nonce.data()), 12, key.data(),
               &len) != nullptr);
  return key;
}

// `plaintext` sealed as the header describes, with `version` both in the
// value and in the AAD.
std::string specSeal(const std::string& secret, std::string_view name, const std::string& plaintext,
                     unsigned char version = 2) {
  std::string nonce(24, '\0');
  REQUIRE(RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 24) == 1);
  const auto key = specMessageKey(secret, nonce);
  const std::string aad = std::string(1, static_cast<char>(version)) + std::string(name);
  std::string ct(plaintext.size(), '\0');
  std::string tag(16, '\0');
  const EvpCipherCtxPtr owned(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* ctx = owned.get();
  int len = 0;
  REQUIRE(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(),
                             reinterpret_cast<const unsigned char*>(nonce.data() + 12)) == 1);
  REQUIRE(EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                            static_cast<int>(aad.size())) == 1);
  REQUIRE(EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(ct.data()), &len,
                            reinterpret_cast<const unsigned char*>(plaintext.data()),
                            static_cast<int>(plaintext.size())) == 1);
  REQUIRE(EVP_EncryptFinal_ex(ctx, nullptr, &len) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag.data()) == 1);
  return b64(std::string(1, static_cast<char>(version)) + nonce + ct + tag);
}

std::optional<std::string> specOpen(const std::string& secret, std::string_view name,
                                    const std::string& value) {
  const std::optional<std::string> blob = unb64(value);
  REQUIRE(blob);
  REQUIRE(blob->size() >= 41);
  const std::string nonce = blob->substr(1, 24);
  const std::string ct = blob->substr(25, blob->size() - 41);
  std::string tag = blob->substr(blob->size() - 16);
  const auto key = specMessageKey(secret, nonce);
  const std::string aad = blob->substr(0, 1) + std::string(name);
  std::string pt(ct.size(), '\0');
  const EvpCipherCtxPtr owned(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* ctx = owned.get();
  int len = 0;
  REQUIRE(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(),
                             reinterpret_cast<const unsigned char*>(nonce.data() + 12)) == 1);
  REQUIRE(EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                            static_cast<int>(aad.size())) == 1);
  REQUIRE(EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(pt.data()), &len,
                            reinterpret_cast<const unsigned char*>(ct.data()),
                            static_cast<int>(ct.size())) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) == 1);
  unsigned char none[16];
  const bool ok = EVP_DecryptFinal_ex(ctx, none, &len) == 1;
  if (!ok) return std::nullopt;
  return pt;
}

// Plaintext pieces, big-endian as documented.
std::string u8(size_t v) {
  return std::string(1, static_cast<char>(v));
}
std::string u16(size_t v) {
  return u8(v >> 8) + u8(v & 0xff);
}
std::string u64(uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out += u8((v >> shift) & 0xff);
  return out;
}
std::string str16(const std::string& s) {
  return u16(s.size()) + s;
}
std::string field(const std::string& key, const std::string& value) {
  return u8(key.size()) + key + str16(value);
}
std::string times(uint64_t created = 5, uint64_t login = 0, uint64_t touched = 7) {
  return u64(created) + u64(login) + u64(touched);
}
std::string str8(const std::string& s) {
  return u8(s.size()) + s;
}
// Version 2's login details: nonce, method, address, agent.
std::string login(const std::string& nonce = "", const std::string& method = "",
                  const std::string& address = "", const std::string& agent = "") {
  return str8(nonce) + str8(method) + str8(address) + str16(agent);
}

}  // namespace

TEST_CASE("CookieSealer round-trips every field", "[session][cookie-store]") {
  const CookieSealer s = sealer();

  SECTION("an empty session has the smallest value") {
    const auto value = s.seal(Session{});
    REQUIRE(value);
    CHECK(value->size() == CookieSealer::kMinValueBytes);
    CHECK(CookieSealer::sealedSize(Session{}) == CookieSealer::kMinValueBytes);
    const auto back = s.open(*value);
    REQUIRE(back);
    CHECK(same(*back, Session{}));
  }

  SECTION("a full session, non-ASCII bytes included") {
    const auto value = s.seal(fullSession());
    REQUIRE(value);
    CHECK(value->size() == CookieSealer::sealedSize(fullSession()));
    CHECK(value->find_first_not_of(kAlphabet) == std::string::npos);
    const auto back = s.open(*value);
    REQUIRE(back);
    CHECK(same(*back, fullSession()));
  }

  SECTION("the largest times") {
    Session big;
    big.created = INT64_MAX;
    big.login = INT64_MAX;
    big.touched = INT64_MAX;
    const auto back = s.open(s.seal(big).value());
    REQUIRE(back);
    CHECK(same(*back, big));
  }
}

TEST_CASE("CookieSealer values follow the documented format", "[session][cookie-store]") {
  const CookieSealer s = sealer({kSecret, kOther});
  const std::string v1 = times(1'700'000'000'000, 1'700'000'000'000, 1'700'000'123'456) +
                         str16("zoë@example.org") + u16(3) + str16("staff") + str16("ops") +
                         str16("ünïcødé") + u16(4) + field("cart", "3") + field("empty", "") +
                         field("lang", "de") + field("note", "naïve ☃ \xf0\x9f\x8d\xaa");
  const std::string expected = v1 + login("Nonce_of-22-characters", "password", "2001:db8::7",
                                          "Mozilla/5.0 (X11; Linux x86_64) “quoted”");

  SECTION("seal writes it, under the first secret and the cookie name") {
    const std::string value = s.seal(fullSession()).value();
    CHECK(unb64(value)->at(0) == '\x02');
    CHECK(specOpen(kSecret, kName, value) == expected);
    CHECK_FALSE(specOpen(kOther, kName, value));
    CHECK_FALSE(specOpen(kSecret, "sesame", value));
  }

  SECTION("open reads it, under any secret") {
    for (const std::string& secret : {kSecret, kOther}) {
      const auto back = s.open(specSeal(secret, kName, expected));
      REQUIRE(back);
      CHECK(same(*back, fullSession()));
    }
    CHECK_FALSE(s.open(specSeal(std::string(32, 'x'), kName, expected)));
    CHECK_FALSE(s.open(specSeal(kSecret, "other-name", expected)));
    CHECK_FALSE(s.open(specSeal(kSecret, kName, expected, 3)));
    CHECK_FALSE(s.open(specSeal(kSecret, kName, expected, 1)));
    CHECK_FALSE(s.open(specSeal(kSecret, kName, expected, 0)));
  }

  SECTION("the handle is not sealed") {
    Session named = fullSession();
    named.handle = "handle-12345";
    CHECK(CookieSealer::sealedSize(named) == CookieSealer::sealedSize(fullSession()));
    CHECK(specOpen(kSecret, kName, s.seal(named).value()) == expected);
    CHECK(s.open(s.seal(named).value())->handle.empty());
  }

  SECTION("version 1 values, from before the login details, still open without them") {
    const auto back = s.open(specSeal(kOther, kName, v1, 1));
    REQUIRE(back);
    Session old = fullSession();
    old.nonce.clear();
    old.method.clear();
    old.address.clear();
    old.agent.clear();
    CHECK(same(*back, old));
    // Sealed again, it is version 2.
    CHECK(specOpen(kSecret, kName, s.seal(*back).value()) == v1 + login());
    // A version 1 value with a version 2 plaintext has trailing bytes.
    CHECK_FALSE(s.open(specSeal(kSecret, kName, v1 + login(), 1)));
    // The AAD names the version: a version 1 plaintext relabelled 2 is refused.
    std::string relabelled = *unb64(specSeal(kSecret, kName, v1 + login(), 1));
    relabelled[0] = 2;
    CHECK_FALSE(s.open(b64(relabelled)));
  }
}

TEST_CASE("CookieSealer parses authenticated plaintext strictly", "[session][cookie-store]") {
  const CookieSealer s = sealer();
  // Both versions share the parts up to the data; version 2 then has the
  // login details, here empty.
  const unsigned char version = GENERATE(1, 2);
  INFO("version " << int{version});
  const auto opens = [&](const std::string& plaintext) {
    const std::string tail = version == 2 ? login() : "";
    return s.open(specSeal(kSecret, kName, plaintext + tail, version)).has_value();
  };
  const std::string user = str16("alice");
  const std::string groups = u16(1) + str16("staff");

  REQUIRE(opens(times() + user + groups + u16(2) + field("a", "1") + field("b", "\x80\xff")));
  REQUIRE(opens(times() + u16(0) + u16(0) + u16(0)));

  SECTION("lengths: trailing, missing and overlong") {
    const std::string ok = times() + user + groups + u16(1) + field("a", "1");
    CHECK_FALSE(opens(ok + "x"));
    CHECK_FALSE(opens(ok.substr(0, ok.size() - 1)));
    CHECK_FALSE(opens(times() + u16(6) + "alice" + u16(0) + u16(0)));
    CHECK_FALSE(opens(times() + user + u16(2) + str16("staff") + u16(0)));
    CHECK_FALSE(opens(times() + user + groups + u16(2) + field("a", "1")));
    CHECK_FALSE(opens(times() + user + groups + u16(1) + u8(1) + "a" + u16(5) + "1"));
    CHECK_FALSE(opens(times().substr(0, 20)));
  }

  SECTION("times must not be negative") {
    CHECK_FALSE(opens(times(UINT64_MAX) + u16(0) + u16(0) + u16(0)));
    CHECK_FALSE(opens(times(5, uint64_t{1} << 63) + u16(0) + u16(0) + u16(0)));
    CHECK_FALSE(opens(times(5, 0, uint64_t{1} << 63) + u16(0) + u16(0) + u16(0)));
  }

  SECTION("no control characters in user, groups or values") {
    for (const std::string& bad :
         std::vector<std::string>{"a\x01", std::string("a\0b", 3), "\x7f", "tab\there", "x\n"}) {
      INFO(b64(bad));
      CHECK_FALSE(opens(times() + str16(bad) + u16(0) + u16(0)));
      CHECK_FALSE(opens(times() + user + u16(1) + str16(bad) + u16(0)));
      CHECK_FALSE(opens(times() + user + groups + u16(1) + field("k", bad)));
    }
    CHECK_FALSE(opens(times() + user + u16(1) + str16("") + u16(0)));
  }

  SECTION("keys canonical, valid and strictly ascending") {
    for (const std::string& bad :
         std::vector<std::string>{"Cart", "a_b", "a.b", "", std::string(65, 'k'), "k\x80"}) {
      INFO(b64(bad));
      CHECK_FALSE(opens(times() + user + groups + u16(1) + field(bad, "v")));
    }
    CHECK(opens(times() + user + groups + u16(1) + field(std::string(64, 'k'), "v")));
    CHECK_FALSE(opens(times() + user + groups + u16(2) + field("b", "1") + field("a", "2")));
    CHECK_FALSE(opens(times() + user + groups + u16(2) + field("a", "1") + field("a", "2")));
  }

  SECTION("version 2's login details") {
    const std::string base = times() + user + groups + u16(0);
    const auto opens2 = [&](const std::string& plaintext) {
      return s.open(specSeal(kSecret, kName, plaintext)).has_value();
    };
    const std::string nonce(22, 'n');
    REQUIRE(opens2(base + login(nonce, "app", "192.0.2.1", std::string(256, 'a'))));
    CHECK_FALSE(opens2(base));
    CHECK_FALSE(opens2(base + login() + "x"));
    CHECK_FALSE(opens2(base + login().substr(1)));
    CHECK_FALSE(opens2(base + login(nonce.substr(1))));
    CHECK_FALSE(opens2(base + login(nonce + "n")));
    CHECK_FALSE(opens2(base + login(std::string(21, 'n') + "=")));
    CHECK_FALSE(opens2(base + login("", std::string(33, 'm'))));
    CHECK_FALSE(opens2(base + login("", "", std::string(65, '1'))));
    CHECK_FALSE(opens2(base + login("", "", "", std::string(257, 'a'))));
    CHECK_FALSE(opens2(base + login("", "a\tb")));
    CHECK_FALSE(opens2(base + login("", "", "1\n")));
    CHECK_FALSE(opens2(base + login("", "", "", "tab\there")));
  }

  SECTION("counts bounded") {
    std::string many_groups;
    for (size_t i = 0; i < CookieSealer::kMaxGroups + 1; ++i) many_groups += str16("g");
    CHECK(opens(times() + user + u16(CookieSealer::kMaxGroups) + many_groups.substr(3) + u16(0)));
    CHECK_FALSE(opens(times() + user + u16(CookieSealer::kMaxGroups + 1) + many_groups + u16(0)));
    std::vector<std::string> keys;
    for (size_t i = 0; i < CookieSealer::kMaxFields + 1; ++i) keys.push_back(std::to_string(i));
    std::sort(keys.begin(), keys.end());
    std::string fields;
    for (const std::string& k : keys) fields += field(k, "");
    CHECK_FALSE(opens(times() + user + groups + u16(keys.size()) + fields));
    const size_t last = fields.rfind(field(keys.back(), ""));
    CHECK(opens(times() + user + groups + u16(keys.size() - 1) + fields.substr(0, last)));
  }
}

TEST_CASE("CookieSealer refuses sessions it cannot carry", "[session][cookie-store]") {
  const CookieSealer s = sealer();
  const auto refused = [&](auto change) {
    Session session = fullSession();
    change(session);
    CHECK_FALSE(CookieSealer::canCarry(session));
    CHECK_FALSE(s.seal(session));
  };
  CHECK(CookieSealer::canCarry(fullSession()));
  refused([](Session& x) { x.user = "bad\nuser"; });
  refused([](Session& x) { x.groups.push_back(""); });
  refused([](Session& x) { x.groups.push_back("a\x7f"); });
  refused([](Session& x) { x.data["Cart"] = "1"; });
  refused([](Session& x) { x.data["a_b"] = "1"; });
  refused([](Session& x) { x.data["ok"] = std::string("\0", 1); });
  refused([](Session& x) { x.created = -1; });
  refused([](Session& x) { x.groups.assign(CookieSealer::kMaxGroups + 1, "g"); });
  refused([](Session& x) { x.nonce = "short"; });
  refused([](Session& x) { x.nonce = std::string(21, 'n') + "+"; });
  refused([](Session& x) { x.method = std::string(33, 'm'); });
  refused([](Session& x) { x.address = std::string(65, '1'); });
  refused([](Session& x) { x.agent = std::string(257, 'a'); });
  refused([](Session& x) { x.agent = "tab\there"; });
}

TEST_CASE("CookieSealer refuses every tampered value", "[session][cookie-store]") {
  const CookieSealer s = sealer();
  const std::string value = s.seal(fullSession()).value();
  REQUIRE(s.open(value));

  SECTION("any one character changed") {
    for (size_t i = 0; i < value.size(); ++i) {
      for (char c : {'A', 'f', '_', '-', '9'}) {
        std::string changed = value;
        changed[i] = c;
        if (changed == value) continue;
        INFO("position " << i << " -> " << c);
        REQUIRE_FALSE(s.open(changed));
      }
    }
  }

  SECTION("truncated or extended") {
    for (size_t n = 0; n < value.size(); ++n) REQUIRE_FALSE(s.open(value.substr(0, n)));
    for (const char* tail : {"A", "AA", "AAA", "AAAA", "=", "==", " ", ";"})
      REQUIRE_FALSE(s.open(value + tail));
    REQUIRE_FALSE(s.open("A" + value));
  }

  SECTION("a fresh nonce every seal, each value opening alone") {
    std::set<std::string> values;
    for (int i = 0; i < 50; ++i) {
      const std::string v = s.seal(fullSession()).value();
      values.insert(v);
      const auto back = s.open(v);
      REQUIRE(back);
      REQUIRE(same(*back, fullSession()));
    }
    CHECK(values.size() == 50);
    std::set<std::string> nonces;
    for (const std::string& v : values) nonces.insert(unb64(v)->substr(1, 24));
    CHECK(nonces.size() == 50);
  }
}

TEST_CASE("CookieSealer secrets: rotation and separation", "[session][cookie-store]") {
  const CookieSealer old_only = sealer({kSecret});
  const CookieSealer rotated = sealer({kOther, kSecret});
  const CookieSealer other_only = sealer({kOther});
  const std::string old_value = old_only.seal(fullSession()).value();
  const std::string new_value = rotated.seal(fullSession()).value();

  // The old secret, now second, still opens; the new one seals.
  REQUIRE(rotated.open(old_value));
  REQUIRE(same(*rotated.open(old_value), fullSession()));
  REQUIRE(other_only.open(new_value));
  REQUIRE_FALSE(old_only.open(new_value));
  // Once the old secret is dropped, its cookies are gone.
  REQUIRE_FALSE(other_only.open(old_value));

  SECTION("unrelated secrets never open each other's values") {
    for (int i = 0; i < 20; ++i) {
      REQUIRE_FALSE(other_only.open(old_only.seal(fullSession()).value()));
      REQUIRE_FALSE(old_only.open(other_only.seal(Session{}).value()));
    }
  }

  SECTION("the same secret under another cookie name opens nothing") {
    const CookieSealer renamed = sealer({kSecret}, 4000, "__Host-other");
    REQUIRE_FALSE(renamed.open(old_value));
    REQUIRE_FALSE(old_only.open(renamed.seal(fullSession()).value()));
  }
}

TEST_CASE("CookieSealer bounds the value size exactly", "[session][cookie-store]") {
  const auto with_value = [](size_t n) {
    Session session;
    session.data["v"] = std::string(n, 'x');
    return session;
  };
  // Every limit a value can end on: each residue of the base64 length mod 4.
  for (size_t max : {size_t{4096}, size_t{4095}, size_t{4094}, size_t{4093}, size_t{3900}}) {
    INFO("max " << max);
    const CookieSealer s = sealer({kSecret}, max);
    size_t n = 0;
    while (CookieSealer::sealedSize(with_value(n + 1)) <= max) ++n;
    const auto largest = s.seal(with_value(n));
    REQUIRE(largest);
    REQUIRE(largest->size() == CookieSealer::sealedSize(with_value(n)));
    REQUIRE(largest->size() <= max);
    REQUIRE(largest->size() + 2 >= max);  // base64 grows by at most 2 per byte
    REQUIRE(s.open(*largest));
    REQUIRE(CookieSealer::sealedSize(with_value(n + 1)) > max);
    REQUIRE_FALSE(s.seal(with_value(n + 1)));
  }

  SECTION("4096 is the ceiling whatever is configured") {
    const CookieSealer wide = sealer({kSecret}, 100'000);
    CHECK(wide.maxValueBytes() == CookieSealer::kMaxCookieBytes);
    CHECK(wide.seal(with_value(2900)));
    CHECK_FALSE(wide.seal(with_value(3100)));
  }

  SECTION("open refuses a value longer than this sealer would issue") {
    const CookieSealer wide = sealer({kSecret}, 4096);
    const CookieSealer narrow = sealer({kSecret}, 1000);
    const std::string big = wide.seal(with_value(1000)).value();
    REQUIRE(wide.open(big));
    REQUIRE_FALSE(narrow.open(big));
  }

  SECTION("below the smallest session nothing is sealed") {
    const CookieSealer tiny = sealer({kSecret}, CookieSealer::kMinValueBytes - 1);
    CHECK_FALSE(tiny.seal(Session{}));
    CHECK(sealer({kSecret}, CookieSealer::kMinValueBytes).seal(Session{}));
  }

  SECTION("the cookie budget helper") {
    CHECK(CookieStore::maxValueBytes(0) == 4096);
    CHECK(CookieStore::maxValueBytes(60) == 4036);
    CHECK(CookieStore::maxValueBytes(4096) == 0);
    CHECK(CookieStore::maxValueBytes(10'000) == 0);
  }
}

TEST_CASE("CookieSealer refuses garbage before any crypto", "[session][cookie-store]") {
  const CookieSealer s = sealer();
  const std::string value = s.seal(Session{}).value();
  REQUIRE(value.size() % 4 != 0);
  // Non-canonical: the last character carries unused bits.
  std::string loose = value;
  loose.back() = kAlphabet[std::string_view(kAlphabet).find(loose.back()) | 1];
  CHECK_FALSE(s.open(loose));
  const size_t n = value.size() - 1;
  for (const std::string& bad : std::vector<std::string>{
           std::string(), std::string("="), std::string(200, 'A'), std::string(201, 'A'),
           std::string(95, '_'), std::string(n + 1, '_'), value.substr(0, n) + "=",
           value.substr(0, n) + "+", value.substr(0, n) + "/",
           value.substr(0, 50) + " " + value.substr(51), std::string(value.size(), '\0'),
           value + "==", std::string(5000, 'A')}) {
    INFO(bad.size());
    CHECK_FALSE(s.open(bad));
  }
  // Well-formed base64url of random bytes with either version byte.
  for (int i = 0; i < 100; ++i) {
    std::string blob(200 + i, '\0');
    REQUIRE(RAND_bytes(reinterpret_cast<unsigned char*>(blob.data()),
                       static_cast<int>(blob.size())) == 1);
    blob[0] = static_cast<char>(1 + i % 2);
    CHECK_FALSE(s.open(b64(blob)));
  }
}

TEST_CASE("CookieSealer is shared by threads", "[session][cookie-store]") {
  const CookieSealer s = sealer({kSecret, kOther});
  const CookieSealer old_only = sealer({kOther});
  const std::string old_value = old_only.seal(fullSession()).value();
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        Session mine = fullSession();
        mine.data["thread"] = std::to_string(t * 1000 + i);
        const auto back = s.open(s.seal(mine).value());
        if (!back || !same(*back, mine)) ++failures[t];
        if (!s.open(old_value)) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(failures == std::vector<int>(8, 0));
}

TEST_CASE("CookieStore gives a version 1 session a nonce at its first load",
          "[session][cookie-store]") {
  const auto shared =
      std::make_shared<const CookieSealer>(std::vector<std::string>{kSecret}, kName, 4000);
  const TimePoint t0 = 1'700'000'000'000;
  sesame::session::Timeouts timeouts;
  const std::string v1 =
      times(t0, t0, t0) + str16("alice") + u16(1) + str16("staff") + u16(1) + field("cart", "3");
  const std::string old_value = specSeal(kSecret, kName, v1, 1);

  CookieStore jar(shared, timeouts);
  jar.adopt("k", old_value);
  std::optional<Session> loaded;
  sesame::session::TicketPtr ticket =
      jar.load("k", t0 + 1, [&](sesame::session::StoreStatus, const Session* session) {
        if (session != nullptr) loaded = *session;
      });
  REQUIRE(loaded);
  CHECK(loaded->user == "alice");
  CHECK(loaded->data.at("cart") == "3");
  CHECK(loaded->nonce.size() == CookieSealer::kNonceChars);
  CHECK(loaded->touched == t0);  // no refresh was due
  CHECK(jar.touchWrites() == 0);
  // Re-sealed as version 2, carrying the nonce.
  const std::string value = jar.sealed("k").value();
  CHECK(unb64(value)->at(0) == '\x02');
  CHECK(shared->open(value)->nonce == loaded->nonce);
}

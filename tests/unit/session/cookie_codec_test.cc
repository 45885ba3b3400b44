#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "sesame/session/cookie_codec.h"

using sesame::session::CookieCodec;
using sesame::session::SessionId;

namespace {

const std::string kOld(40, 'o');
const std::string kNew = "0123456789abcdef0123456789ABCDEF-new";

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

SessionId fixedId() {
  SessionId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<unsigned char>(i * 7 + 3);
  return id;
}

int sextet(char c) {
  return static_cast<int>(std::string_view(kAlphabet).find(c));
}

// Test-side decoder (lenient, for building tampered blobs).
std::vector<unsigned char> decode(const std::string& s) {
  std::vector<unsigned char> out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    acc = (acc << 6) | static_cast<unsigned>(sextet(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  return out;
}

std::string encode(const std::vector<unsigned char>& b) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char c : b) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

}  // namespace

TEST_CASE("cookie value round trip", "[session][codec]") {
  const CookieCodec codec({kNew});
  const SessionId id = fixedId();
  const std::string value = codec.encode(id);
  REQUIRE(value.size() == CookieCodec::kValueLength);
  REQUIRE(value.find_first_not_of(kAlphabet) == std::string::npos);
  REQUIRE(codec.encode(id) == value);

  const auto back = codec.verify(value);
  REQUIRE(back.has_value());
  REQUIRE(*back == id);

  const std::vector<unsigned char> blob = decode(value);
  REQUIRE(blob.size() == 65);
  REQUIRE(blob[0] == 0x01);
  REQUIRE(std::equal(id.bytes.begin(), id.bytes.end(), blob.begin() + 1));
}

TEST_CASE("every flipped bit of the decoded blob is rejected", "[session][codec]") {
  const CookieCodec codec({kNew});
  const std::vector<unsigned char> blob = decode(codec.encode(fixedId()));
  REQUIRE(codec.verify(encode(blob)).has_value());
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<unsigned char> bad = blob;
      bad[i] ^= static_cast<unsigned char>(1u << bit);
      INFO("byte " << i << " bit " << bit);
      REQUIRE_FALSE(codec.verify(encode(bad)).has_value());
    }
  }
}

TEST_CASE("truncated and oversized values are rejected", "[session][codec]") {
  const CookieCodec codec({kNew});
  const std::string value = codec.encode(fixedId());
  for (size_t n = 0; n < value.size(); ++n) {
    INFO("length " << n);
    REQUIRE_FALSE(codec.verify(value.substr(0, n)).has_value());
  }
  REQUIRE_FALSE(codec.verify(value + "A").has_value());
  REQUIRE_FALSE(codec.verify(value + value).has_value());
  REQUIRE_FALSE(codec.verify(std::string(1 << 20, 'A')).has_value());
  // A value with a valid prefix and trailing garbage is not a valid value.
  REQUIRE_FALSE(codec.verify(value + ";").has_value());
}

TEST_CASE("padding, other alphabets and non-canonical encodings are rejected", "[session][codec]") {
  const CookieCodec codec({kNew});
  const std::string value = codec.encode(fixedId());

  SECTION("padding") {
    REQUIRE_FALSE(codec.verify(value + "=").has_value());
    std::string padded = value;
    padded.back() = '=';
    REQUIRE_FALSE(codec.verify(padded).has_value());
  }
  SECTION("standard base64 characters and others at every position") {
    for (char c : std::string("+/=. \t\"\0\xff", 10)) {
      for (size_t i = 0; i < value.size(); ++i) {
        std::string bad = value;
        bad[i] = c;
        INFO("char " << int(c) << " at " << i);
        REQUIRE_FALSE(codec.verify(bad).has_value());
      }
    }
  }
  SECTION("unused low bits of the last character set") {
    const int last = sextet(value.back());
    REQUIRE((last & 3) == 0);
    for (int low = 1; low < 4; ++low) {
      std::string bad = value;
      bad.back() = kAlphabet[last | low];
      REQUIRE_FALSE(codec.verify(bad).has_value());
    }
  }
}

TEST_CASE("unknown versions are rejected even with a valid tag shape", "[session][codec]") {
  const CookieCodec codec({kNew});
  std::vector<unsigned char> blob = decode(codec.encode(fixedId()));
  for (unsigned v : {0x00u, 0x02u, 0xffu}) {
    blob[0] = static_cast<unsigned char>(v);
    REQUIRE_FALSE(codec.verify(encode(blob)).has_value());
  }
}

TEST_CASE("secrets: wrong secret and rotation", "[session][codec]") {
  const SessionId id = SessionId::random();
  const std::string old_cookie = CookieCodec({kOld}).encode(id);

  REQUIRE_FALSE(CookieCodec({kNew}).verify(old_cookie).has_value());

  const CookieCodec rotating({kNew, kOld});
  const auto verified = rotating.verify(old_cookie);
  REQUIRE(verified.has_value());
  REQUIRE(*verified == id);
  // New cookies are signed with the first secret only.
  const std::string new_cookie = rotating.encode(id);
  REQUIRE(new_cookie != old_cookie);
  REQUIRE(CookieCodec({kNew}).verify(new_cookie).has_value());
  REQUIRE_FALSE(CookieCodec({kOld}).verify(new_cookie).has_value());

  // Once the old secret is removed its cookies stop working.
  REQUIRE_FALSE(CookieCodec({kNew}).verify(old_cookie).has_value());

  // Copies verify like the original (the codec is shared by value in configs).
  const CookieCodec copy(rotating);
  REQUIRE(copy.verify(old_cookie) == verified);
}

TEST_CASE("secret validation names secrets by index only", "[session][codec]") {
  REQUIRE(CookieCodec::validateSecrets({kNew}).empty());
  REQUIRE(CookieCodec::validateSecrets({kNew, kOld}).empty());
  REQUIRE(CookieCodec::validateSecrets({std::string(32, 'x')}).empty());

  const std::vector<std::string> none = CookieCodec::validateSecrets({});
  REQUIRE(none.size() == 1);
  REQUIRE(none[0] == "no session secret is configured; at least one is required");

  const std::string short_secret = "tooshort-hunter2-secret";
  const std::vector<std::string> errors =
      CookieCodec::validateSecrets({kNew, short_secret, std::string(31, 'y')});
  REQUIRE(errors.size() == 2);
  REQUIRE(errors[0] == "session secret #2 is 23 bytes long; each secret needs at least 32 bytes");
  REQUIRE(errors[1] == "session secret #3 is 31 bytes long; each secret needs at least 32 bytes");
  for (const std::string& e : errors) {
    REQUIRE(e.find(short_secret) == std::string::npos);
    REQUIRE(e.find("hunter2") == std::string::npos);
    REQUIRE(e.find("yyy") == std::string::npos);
  }
}

TEST_CASE("store key and handle", "[session][codec]") {
  const CookieCodec codec({kNew});
  const SessionId id = fixedId();
  const std::string key = codec.storeKey(id);
  const std::string handle = codec.handle(id);

  SECTION("deterministic and independent of the secrets") {
    REQUIRE(codec.storeKey(id) == key);
    REQUIRE(CookieCodec({kOld}).storeKey(id) == key);
    REQUIRE(CookieCodec({kOld}).handle(id) == handle);
    REQUIRE(codec.handle(id) == handle);
    std::string reused = "an earlier, longer key that must not survive the assignment";
    CookieCodec::storeKey(id, reused);
    REQUIRE(reused == key);
  }
  SECTION("shapes") {
    REQUIRE(key.size() == 43);
    REQUIRE(key.find_first_not_of(kAlphabet) == std::string::npos);
    REQUIRE(handle.size() == 12);
    REQUIRE(handle.find_first_not_of(kAlphabet) == std::string::npos);
  }
  SECTION("reveal neither the ID, the cookie nor each other") {
    const std::string value = codec.encode(id);
    const std::string raw(id.bytes.begin(), id.bytes.end());
    const std::string id_b64 = encode(std::vector<unsigned char>(id.bytes.begin(), id.bytes.end()));
    for (const std::string& s : {key, handle}) {
      REQUIRE(s.find(raw) == std::string::npos);
      REQUIRE(s.find(id_b64.substr(0, 8)) == std::string::npos);
      REQUIRE(value.find(s) == std::string::npos);
    }
    REQUIRE(key.find(handle) == std::string::npos);
    REQUIRE_FALSE(codec.verify(key).has_value());
  }
  SECTION("differ between IDs") {
    SessionId other = id;
    other.bytes[31] ^= 1;
    REQUIRE(codec.storeKey(other) != key);
    REQUIRE(codec.handle(other) != handle);
  }
}

TEST_CASE("random session IDs differ", "[session][codec]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const SessionId id = SessionId::random();
    seen.insert(std::string(id.bytes.begin(), id.bytes.end()));
  }
  REQUIRE(seen.size() == 1000);
  REQUIRE_FALSE(SessionId::random() == SessionId{});
}

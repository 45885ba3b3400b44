// AssertionCache: reuse within validity, re-signing near expiry and on any
// identity change, signer changes, and the entry and byte bounds.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "jws_check.h"
#include "sesame/identity/assertion_cache.h"

using identity_test::decodeJws;
using identity_test::generatePem;
using identity_test::stringMember;
using sesame::identity::AssertionCache;
using sesame::identity::CacheLimits;
using sesame::identity::Claims;
using sesame::identity::KeyText;
using sesame::identity::Signer;
using sesame::identity::SigningKeys;

namespace {

constexpr int64_t kNow = 1'800'000'000;

std::shared_ptr<const Signer> makeSigner(std::chrono::seconds ttl,
                                         const std::string& type = "ED25519",
                                         const std::string& curve = "") {
  const std::vector<KeyText> texts = {{"key.pem", generatePem(type, curve)}};
  auto result = SigningKeys::load(texts);
  REQUIRE(result.keys);
  return std::make_shared<const Signer>(std::move(*result.keys), "https://sesame.example", ttl);
}

int64_t issuedAt(const std::string& token) {
  auto jws = decodeJws(token);
  REQUIRE(jws);
  return json_integer_value(json_object_get(jws->payload.get(), "iat"));
}

}  // namespace

TEST_CASE("identity: the cache reuses a token until max(ttl/4, 5 s) before exp", "[identity]") {
  const std::vector<std::string> groups = {"staff"};
  AssertionCache cache;

  SECTION("ttl 60 s: at least 15 s must remain") {
    auto signer = makeSigner(std::chrono::seconds(60));
    const std::string first = cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow});
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow + 1}) == first);
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow + 45}) == first);
    const std::string second =
        cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow + 46});
    CHECK(second != first);
    CHECK(issuedAt(second) == kNow + 46);
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow + 50}) == second);
    CHECK(cache.size() == 1);
  }
  SECTION("ttl 8 s: the 5 s floor applies") {
    auto signer = makeSigner(std::chrono::seconds(8));
    const std::string first = cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow});
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow + 3}) == first);
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow + 4}) != first);
  }
  SECTION("ttl 4 s: shorter than the floor, every request is signed afresh") {
    auto signer = makeSigner(std::chrono::seconds(4));
    const std::string first = cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow});
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow}) != first);
  }
  SECTION("a wall clock stepped back gets a token not issued in the future") {
    auto signer = makeSigner(std::chrono::seconds(60));
    const std::string first = cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow});
    const std::string second =
        cache.get(signer, "s1", Claims{"app", "alice", groups, "", kNow - 30});
    CHECK(second != first);
    CHECK(issuedAt(second) == kNow - 30);
  }
}

TEST_CASE("identity: a changed identity never gets the old token", "[identity]") {
  auto signer = makeSigner(std::chrono::seconds(60));
  AssertionCache cache;
  const std::vector<std::string> staff = {"staff"};
  const std::vector<std::string> admins = {"staff", "admins"};
  const std::string first = cache.get(signer, "s1", Claims{"app", "alice", staff, "", kNow});

  SECTION("groups change") {
    const std::string token = cache.get(signer, "s1", Claims{"app", "alice", admins, "", kNow});
    CHECK(token != first);
    auto jws = decodeJws(token);
    REQUIRE(jws);
    CHECK(json_array_size(json_object_get(jws->payload.get(), "groups")) == 2);
    // And back: the cache holds one token per (session, audience).
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", staff, "", kNow}) != first);
    CHECK(cache.size() == 1);
  }
  SECTION("group order changes") {
    const std::vector<std::string> reordered = {"admins", "staff"};
    const std::string a = cache.get(signer, "s1", Claims{"app", "alice", admins, "", kNow});
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", reordered, "", kNow}) != a);
  }
  SECTION("user changes (a re-login on the same session)") {
    const std::string token = cache.get(signer, "s1", Claims{"app", "bob", staff, "", kNow});
    CHECK(token != first);
    auto jws = decodeJws(token);
    REQUIRE(jws);
    CHECK(stringMember(jws->payload.get(), "sub") == "bob");
  }
  SECTION("sid changes") {
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", staff, "h2", kNow}) != first);
  }
  SECTION("another audience or session is another entry") {
    const std::string other_app = cache.get(signer, "s1", Claims{"api", "alice", staff, "", kNow});
    CHECK(other_app != first);
    auto jws = decodeJws(other_app);
    REQUIRE(jws);
    CHECK(stringMember(jws->payload.get(), "aud") == "api");
    CHECK(cache.get(signer, "s2", Claims{"app", "alice", staff, "", kNow}) != first);
    CHECK(cache.size() == 3);
    CHECK(cache.get(signer, "s1", Claims{"app", "alice", staff, "", kNow}) == first);
  }
  SECTION("a new signer (reload) empties the cache") {
    auto reloaded = makeSigner(std::chrono::seconds(60));
    const std::string token = cache.get(reloaded, "s1", Claims{"app", "alice", staff, "", kNow});
    CHECK(token != first);
    auto jws = decodeJws(token);
    REQUIRE(jws);
    CHECK(stringMember(jws->header.get(), "kid") == reloaded->keys().signingKey().kid);
    CHECK(cache.size() == 1);
  }
}

TEST_CASE("identity: the cache stays within its entry bound, least recently used first",
          "[identity]") {
  auto signer = makeSigner(std::chrono::seconds(60));
  AssertionCache cache(CacheLimits{3, 1u << 20});
  const std::vector<std::string> groups;
  auto get = [&](const std::string& session) {
    return cache.get(signer, session, Claims{"app", "u", groups, "", kNow});
  };
  const std::string a = get("a");
  const std::string b = get("b");
  get("c");
  CHECK(get("a") == a);  // a is now the most recent; b the least
  get("d");
  CHECK(cache.size() == 3);
  CHECK(get("a") == a);
  CHECK(get("b") != b);  // evicted, signed again
  CHECK(cache.size() == 3);
}

TEST_CASE("identity: the cache stays within its byte bound", "[identity]") {
  auto signer = makeSigner(std::chrono::seconds(60));
  const size_t max_bytes = 16 * 1024;
  AssertionCache cache(CacheLimits{10'000, max_bytes});
  std::vector<std::string> groups;
  for (int i = 0; i < 20; ++i)
    groups.push_back("group-with-a-fairly-long-name-" + std::to_string(i));
  for (int i = 0; i < 200; ++i) {
    const std::string token =
        cache.get(signer, "s" + std::to_string(i), Claims{"app", "alice", groups, "", kNow});
    CHECK(!token.empty());
    REQUIRE(cache.bytes() <= max_bytes);
  }
  CHECK(cache.size() > 1);
  CHECK(cache.size() < 200);

  SECTION("a token bigger than the whole bound is returned but not kept") {
    std::vector<std::string> huge(2000, "another-fairly-long-group-name");
    const size_t before = cache.size();
    const std::string token = cache.get(signer, "s0", Claims{"app", "alice", huge, "", kNow});
    CHECK(token.size() > max_bytes);
    CHECK(identity_test::verifyWithJwks(token, signer->keys().jwksJson()));
    CHECK(cache.bytes() <= max_bytes);
    CHECK(cache.size() <= before);
    CHECK(cache.get(signer, "s0", Claims{"app", "alice", huge, "", kNow}) != token);
  }
}

// CPU time of this thread as well as wall time: on a shared machine the
// wall time mostly measures the other processes.
struct Elapsed {
  int64_t wall_ns = 0;
  int64_t cpu_ns = 0;
};

template <typename F>
Elapsed measure(int n, F&& f) {
  auto cpuNow = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
  };
  const auto wall0 = std::chrono::steady_clock::now();
  const int64_t cpu0 = cpuNow();
  for (int i = 0; i < n; ++i) f();
  const int64_t cpu = cpuNow() - cpu0;
  const auto wall = std::chrono::steady_clock::now() - wall0;
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count() / n, cpu / n};
}

TEST_CASE("identity: cost of signing and of a cache hit", "[.bench]") {
  const std::vector<std::string> groups = {"staff", "admins", "developers"};
  const Claims claims{"app.example.com", "alice@example.com", groups, "", kNow};
  const std::tuple<std::string, std::string, std::string> kinds[] = {{"EC", "P-256", "ES256"},
                                                                     {"ED25519", "", "EdDSA"}};
  for (const auto& [type, curve, alg] : kinds) {
    auto signer = makeSigner(std::chrono::seconds(60), type, curve);
    size_t token_bytes = 0;
    const Elapsed sign = measure(5000, [&] { token_bytes = signer->sign(claims).size(); });
    AssertionCache cache;
    const std::string session = "session-handle-0123456789abcdef";
    size_t hit_bytes = cache.get(signer, session, claims).size();
    const Elapsed hit =
        measure(1'000'000, [&] { hit_bytes = cache.get(signer, session, claims).size(); });
    CHECK(hit_bytes == token_bytes);
    std::printf(
        "identity bench %-5s: sign %lld ns CPU (%lld ns wall), cache hit %lld ns CPU (%lld ns "
        "wall), token %zu bytes\n",
        alg.c_str(), static_cast<long long>(sign.cpu_ns), static_cast<long long>(sign.wall_ns),
        static_cast<long long>(hit.cpu_ns), static_cast<long long>(hit.wall_ns), token_bytes);
  }
}

// CookieStore: the shared Store contract, then the jar a request carries
// (adopt, sealed, replay) and the refusal of sessions that would not fit.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "sesame/session/cookie_sealer.h"
#include "sesame/session/cookie_store.h"
#include "store_contract.h"

using sesame::session::CookieSealer;
using sesame::session::CookieStore;
using sesame::session::LoginInfo;
using sesame::session::Millis;
using sesame::session::Session;
using sesame::session::Store;
using sesame::session::StoreStatus;
using sesame::session::Timeouts;
using sesame::session::TimePoint;
using sesame::session::Update;
using sesame::session::testing::contractLogin;
using sesame::session::testing::contractSession;
using sesame::session::testing::runStoreContract;
using sesame::session::testing::StoreDriver;
using sesame::session::testing::StoreHarness;

namespace {

constexpr TimePoint kT0 = 1'700'000'000'000;
const std::string kSecret = "cookie store test secret, 32+ bytes";

std::shared_ptr<const CookieSealer> makeSealer(size_t max = 4000) {
  return std::make_shared<const CookieSealer>(std::vector<std::string>{kSecret}, "__Host-sesame",
                                              max);
}

StoreHarness cookieHarness(std::shared_ptr<const CookieSealer> sealer = makeSealer()) {
  StoreHarness harness;
  harness.make = [sealer](const Timeouts& timeouts) {
    return std::make_unique<CookieStore>(sealer, timeouts);
  };
  harness.touch_writes = [](Store& store) {
    return static_cast<CookieStore&>(store).touchWrites();
  };
  harness.administers = false;
  return harness;
}

Timeouts shortTimeouts() {
  Timeouts t;
  t.idle = Millis(10'000);
  t.absolute = Millis(60'000);
  t.touch_interval = Millis(1'000);
  return t;
}

// Everything written to stderr (the log) while `body` runs; stderr is
// restored even when an assertion inside `body` fails.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()), saved_(dup(STDERR_FILENO)) {
    std::fflush(stderr);
    dup2(fileno(file_), STDERR_FILENO);
  }
  ~StderrCapture() {
    restore();
    std::fclose(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string text() {
    restore();
    std::string out;
    std::rewind(file_);
    for (int c; (c = std::fgetc(file_)) != EOF;) out += static_cast<char>(c);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }

  std::FILE* file_;
  int saved_;
};

template <typename Body>
std::string capturedLog(Body body) {
  StderrCapture capture;
  body();
  return capture.text();
}

}  // namespace

TEST_CASE("CookieStore meets the Store contract", "[session][store][cookie-store]") {
  runStoreContract(cookieHarness());
}

TEST_CASE("CookieStore carries a session from request to request", "[session][cookie-store]") {
  const auto sealer = makeSealer();
  const StoreHarness harness = cookieHarness(sealer);
  CookieStore first(sealer, shortTimeouts());
  StoreDriver s1(harness, first);
  REQUIRE(s1.create("k", contractSession("alice"), kT0) == StoreStatus::kOk);
  REQUIRE(s1.update("k", Update{{{"theme", "dark"}}, {"cart"}}, kT0 + 1) == StoreStatus::kOk);
  const std::optional<std::string> value = first.sealed("k");
  REQUIRE(value);
  REQUIRE_FALSE(first.sealed("other"));

  SECTION("the next request's jar loads the same session") {
    CookieStore next(sealer, shortTimeouts());
    next.adopt("k", *value);
    auto loaded = StoreDriver(harness, next).load("k", kT0 + 2);
    REQUIRE(loaded.status == StoreStatus::kOk);
    CHECK(loaded.session->user == "alice");
    CHECK(loaded.session->data ==
          std::map<std::string, std::string>{{"lang", "de"}, {"theme", "dark"}});
    // Within touch_interval nothing changes, so no Set-Cookie is needed.
    CHECK(next.sealed("k") == value);
    CHECK(next.touchWrites() == 0);
  }

  SECTION("a refresh re-seals, and the new value carries the new time") {
    CookieStore next(sealer, shortTimeouts());
    next.adopt("k", *value);
    REQUIRE(StoreDriver(harness, next).load("k", kT0 + 1'000).session->touched == kT0 + 1'000);
    REQUIRE(next.touchWrites() == 1);
    const auto refreshed = next.sealed("k");
    REQUIRE(refreshed);
    REQUIRE(refreshed != value);
    REQUIRE(sealer->open(*refreshed)->touched == kT0 + 1'000);
  }

  SECTION("a value that does not open is dropped, so the cookie is cleared") {
    for (const std::string& bad :
         std::vector<std::string>{std::string("garbage"), value->substr(1), *value + "A",
                                  std::string(value->size(), 'A')}) {
      CookieStore next(sealer, shortTimeouts());
      next.adopt("k", bad);
      REQUIRE(next.sealed("k") == bad);
      REQUIRE(StoreDriver(harness, next).load("k", kT0 + 2).status == StoreStatus::kMissing);
      REQUIRE_FALSE(next.sealed("k"));
    }
  }

  SECTION("another secret or cookie name opens nothing") {
    for (const auto& other :
         {std::make_shared<const CookieSealer>(std::vector<std::string>{std::string(32, 'x')},
                                               "__Host-sesame", 4000),
          std::make_shared<const CookieSealer>(std::vector<std::string>{kSecret}, "other", 4000)}) {
      CookieStore next(other, shortTimeouts());
      next.adopt("k", *value);
      REQUIRE(StoreDriver(harness, next).load("k", kT0 + 2).status == StoreStatus::kMissing);
    }
  }

  SECTION("an expired value is dropped") {
    CookieStore next(sealer, shortTimeouts());
    next.adopt("k", *value);
    REQUIRE(StoreDriver(harness, next).load("k", kT0 + 10'000).status == StoreStatus::kMissing);
    REQUIRE_FALSE(next.sealed("k"));
  }

  SECTION("logout reaches only this jar: a copy replays until it times out") {
    CookieStore here(sealer, shortTimeouts());
    here.adopt("k", *value);
    StoreDriver s(harness, here);
    REQUIRE(s.destroyUser("alice") == StoreStatus::kOk);
    REQUIRE_FALSE(here.sealed("k"));
    CookieStore elsewhere(sealer, shortTimeouts());
    elsewhere.adopt("k", *value);
    StoreDriver e(harness, elsewhere);
    REQUIRE(e.alive("k", kT0 + 9'000));
    REQUIRE_FALSE(e.alive("k", kT0 + 19'001));
  }

  SECTION("rotation re-seals: the new key's value differs from the old one") {
    REQUIRE(s1.rotate("k", "k2", kT0 + 2) == StoreStatus::kOk);
    REQUIRE_FALSE(first.sealed("k"));
    const auto rotated = first.sealed("k2");
    REQUIRE(rotated);
    REQUIRE(rotated != value);
    REQUIRE(sealer->open(*rotated)->user == "alice");
  }
}

TEST_CASE("CookieStore refuses what would not fit, with a warning and no values",
          "[session][cookie-store]") {
  const auto sealer = makeSealer(1000);
  const StoreHarness harness = cookieHarness(sealer);
  CookieStore store(sealer, shortTimeouts());
  StoreDriver s(harness, store);
  const std::string secret_value = "SECRET-VALUE-";
  const auto with_value = [&](size_t n) {
    Session session;
    session.data["v"] = (secret_value + std::string(n, 'x')).substr(0, n);
    session.nonce = std::string(CookieSealer::kNonceChars, 'n');  // what create() adds
    return session;
  };
  size_t fit = 0;
  while (CookieSealer::sealedSize(with_value(fit + 1)) <= 1000) ++fit;

  SECTION("create: the largest session fits exactly, one byte more is refused") {
    REQUIRE(s.create("k", with_value(fit), kT0) == StoreStatus::kOk);
    REQUIRE(store.sealed("k")->size() <= 1000);
    REQUIRE(store.sealed("k")->size() + 2 >= 1000);
    std::string log;
    log = capturedLog(
        [&] { REQUIRE(s.create("big", with_value(fit + 1), kT0) == StoreStatus::kRejected); });
    REQUIRE_FALSE(store.sealed("big"));
    REQUIRE_FALSE(s.alive("big", kT0));
    CHECK(log.find("sesame[warn]: cookie store:") != std::string::npos);
    CHECK(log.find("refusing the change") != std::string::npos);
    CHECK(log.find("use store = \"memory\" or \"redis\"") != std::string::npos);
    CHECK(log.find(secret_value) == std::string::npos);
  }

  SECTION("update: refused whole, the session and its cookie unchanged") {
    REQUIRE(s.create("k", with_value(fit - 10), kT0) == StoreStatus::kOk);
    const auto before = store.sealed("k");
    std::string log = capturedLog([&] {
      REQUIRE(s.update("k", Update{{{"w", "SECRET-VALUE-more"}}, {}}, kT0 + 1) ==
              StoreStatus::kRejected);
    });
    CHECK(log.find("SECRET") == std::string::npos);
    CHECK(log.find("refusing the change") != std::string::npos);
    REQUIRE(store.sealed("k") == before);
    REQUIRE(s.load("k", kT0 + 2).session->data == with_value(fit - 10).data);
    // Freeing room makes the same change fit.
    REQUIRE(s.update("k", Update{{{"w", "SECRET-VALUE-more"}}, {"v"}}, kT0 + 3) ==
            StoreStatus::kOk);
  }

  SECTION("setIdentity with too many groups") {
    REQUIRE(s.create("k", Session{}, kT0) == StoreStatus::kOk);
    const std::vector<std::string> groups(200, "group-name");
    (void)capturedLog(
        [&] { REQUIRE(s.setIdentity("k", "bob", groups, kT0 + 1) == StoreStatus::kRejected); });
    REQUIRE(s.load("k", kT0 + 2).session->user.empty());
    REQUIRE(s.setIdentity("k", "bob", {"one"}, kT0 + 3) == StoreStatus::kOk);
  }

  SECTION("the memory store's data bounds hold even when the bytes would fit") {
    const auto roomy = makeSealer(4096);
    CookieStore wide(roomy, shortTimeouts());
    StoreDriver w(harness, wide);
    Update fill;
    for (size_t i = 0; i < 257; ++i) fill.set.emplace_back(std::to_string(i), "");
    REQUIRE(w.create("k", Session{}, kT0) == StoreStatus::kOk);
    (void)capturedLog([&] { REQUIRE(w.update("k", fill, kT0) == StoreStatus::kRejected); });
    fill.set.pop_back();
    REQUIRE(w.update("k", fill, kT0) == StoreStatus::kOk);
  }

  SECTION("contents the format cannot carry") {
    REQUIRE(s.create("k", Session{}, kT0) == StoreStatus::kOk);
    std::string log = capturedLog([&] {
      REQUIRE(s.update("k", Update{{{"Cart", "1"}}, {}}, kT0) == StoreStatus::kRejected);
      REQUIRE(s.update("k", Update{{{"cart", "a\nb"}}, {}}, kT0) == StoreStatus::kRejected);
      REQUIRE(s.setIdentity("k", "eve\r\n", {}, kT0) == StoreStatus::kRejected);
    });
    CHECK(log.find("eve") == std::string::npos);
    CHECK(log.find("control character") != std::string::npos);
    REQUIRE(s.load("k", kT0 + 1).session->data.empty());
  }
}

TEST_CASE("CookieStore seals a nonce and the login details", "[session][cookie-store]") {
  const auto sealer = makeSealer();
  const StoreHarness harness = cookieHarness(sealer);
  CookieStore jar(sealer, shortTimeouts());
  StoreDriver s(harness, jar);
  const auto nonce = [&](std::string_view key, TimePoint now) {
    return s.load(key, now).session.value().nonce;
  };
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  REQUIRE(s.create("a", contractSession(), kT0) == StoreStatus::kOk);
  REQUIRE(s.create("b", contractSession(), kT0) == StoreStatus::kOk);
  const std::string first = nonce("a", kT0);
  CHECK(first.size() == CookieSealer::kNonceChars);
  CHECK(first.find_first_not_of(kAlphabet) == std::string::npos);
  CHECK(nonce("b", kT0) != first);
  // It travels with the cookie, unchanged by updates and refreshes.
  CookieStore next(sealer, shortTimeouts());
  next.adopt("a", *jar.sealed("a"));
  CHECK(StoreDriver(harness, next).load("a", kT0 + 1).session->nonce == first);
  REQUIRE(s.update("a", Update{{{"theme", "dark"}}, {}}, kT0 + 1) == StoreStatus::kOk);
  CHECK(nonce("a", kT0 + 1'500) == first);

  SECTION("a login records the details, without a handle; the rotation renews the nonce") {
    REQUIRE(s.rotate("a", "login", kT0 + 2'000) == StoreStatus::kOk);
    const std::string renewed = nonce("login", kT0 + 2'000);
    CHECK(renewed.size() == CookieSealer::kNonceChars);
    CHECK(renewed != first);
    LoginInfo login = contractLogin("alice", '1');
    login.agent = "tab\there";
    REQUIRE(s.setIdentity("login", login, kT0 + 2'001) == StoreStatus::kOk);
    CookieStore later(sealer, shortTimeouts());
    later.adopt("login", *jar.sealed("login"));
    const auto loaded = StoreDriver(harness, later).load("login", kT0 + 2'002);
    REQUIRE(loaded.status == StoreStatus::kOk);
    CHECK(loaded.session->user == "alice");
    CHECK(loaded.session->method == "password");
    CHECK(loaded.session->address == "192.0.2.7");
    CHECK(loaded.session->agent == "tab?here");
    CHECK(loaded.session->handle.empty());
    CHECK(loaded.session->nonce == renewed);
  }

  SECTION("address and agent give way when the cookie would not fit with them") {
    const auto narrow = makeSealer(1000);
    CookieStore small(narrow, shortTimeouts());
    StoreDriver n(harness, small);
    Session full;
    size_t fill = 0;
    const auto with = [&](size_t bytes) {
      full.data["v"] = std::string(bytes, 'x');
      full.nonce = std::string(CookieSealer::kNonceChars, 'n');
      full.user = "alice";
      full.groups = {"staff"};
      full.method = "password";
      return CookieSealer::sealedSize(full);
    };
    while (with(fill + 1) <= 1000) ++fill;
    REQUIRE(n.create("k", Session{}, kT0) == StoreStatus::kOk);
    REQUIRE(n.update("k", Update{{{"v", std::string(fill, 'x')}}, {}}, kT0) == StoreStatus::kOk);
    LoginInfo login = contractLogin("alice", '1');
    login.agent = std::string(300, 'a');
    REQUIRE(n.setIdentity("k", login, kT0 + 1) == StoreStatus::kOk);
    const auto loaded = n.load("k", kT0 + 2);
    CHECK(loaded.session->user == "alice");
    CHECK(loaded.session->method == "password");
    CHECK(loaded.session->address.empty());
    CHECK(loaded.session->agent.empty());
  }
}

// Control headers: login, groups, logout, set and unset, with their limits.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <utility>

#include "sesame/session/control_headers.h"
#include "sesame/session/store.h"

using sesame::http::HeaderList;
using sesame::session::canonicalDataKey;
using sesame::session::ControlActions;
using sesame::session::ControlLimits;
using sesame::session::DataField;
using sesame::session::isValidDataKey;
using sesame::session::Logout;
using sesame::session::parseControlHeaders;
using sesame::session::stripControlHeaders;

namespace {

using Fields = std::initializer_list<std::pair<const char*, std::string>>;

HeaderList list(Fields fields) {
  HeaderList h;
  for (const auto& [name, value] : fields) h.add(name, value);
  return h;
}

ControlActions parse(Fields fields, std::vector<std::string>* warnings = nullptr,
                     ControlLimits limits = {}) {
  return parseControlHeaders(list(fields), limits, warnings);
}

bool mentions(const std::vector<std::string>& warnings, std::string_view text) {
  for (const auto& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("no control headers means no actions", "[session][control]") {
  std::vector<std::string> w;
  const auto a = parse({{"Content-Type", "text/html"}, {"Set-Cookie", "a=b"}}, &w);
  REQUIRE(a.empty());
  REQUIRE(w.empty());
}

TEST_CASE("login with groups", "[session][control]") {
  std::vector<std::string> w;
  const auto a = parse({{"x-sesame-login", "alice@example.com"},
                        {"X-SESAME-GROUPS", " admins ,ops,, admins"},
                        {"X-Sesame-Groups", "dev"}},
                       &w);
  REQUIRE(a.login == "alice@example.com");
  REQUIRE(a.groups == std::vector<std::string>{"admins", "ops", "dev"});
  REQUIRE(a.logout == Logout::kNone);
  REQUIRE(w.empty());
}

TEST_CASE("login user validation", "[session][control]") {
  std::vector<std::string> w;
  SECTION("spaces and UTF-8 are allowed") {
    REQUIRE(parse({{"X-Sesame-Login", "Jos\xc3\xa9 Smith"}}).login == "Jos\xc3\xa9 Smith");
  }
  SECTION("control characters are refused, the user is not quoted") {
    REQUIRE_FALSE(parse({{"X-Sesame-Login", std::string("eve\x01x")}}, &w).login);
    REQUIRE(w.size() == 1);
    REQUIRE(w[0].find("eve") == std::string::npos);
  }
  SECTION("DEL is refused") {
    REQUIRE_FALSE(parse({{"X-Sesame-Login", "a\x7f"}}).login);
  }
  SECTION("empty is refused") {
    REQUIRE_FALSE(parse({{"X-Sesame-Login", ""}}, &w).login);
  }
  SECTION("256 bytes pass, 257 do not") {
    REQUIRE(parse({{"X-Sesame-Login", std::string(256, 'u')}}).login);
    REQUIRE_FALSE(parse({{"X-Sesame-Login", std::string(257, 'u')}}, &w).login);
    REQUIRE(mentions(w, "256"));
  }
}

TEST_CASE("several logins are ambiguous", "[session][control]") {
  std::vector<std::string> w;
  const auto a = parse(
      {{"X-Sesame-Login", "alice"}, {"X-Sesame-Login", "alice"}, {"X-Sesame-Groups", "a"}}, &w);
  REQUIRE_FALSE(a.login);
  REQUIRE(a.groups.empty());
  REQUIRE(mentions(w, "ambiguous"));
}

TEST_CASE("groups without login are ignored", "[session][control]") {
  std::vector<std::string> w;
  const auto a = parse({{"X-Sesame-Groups", "admins"}}, &w);
  REQUIRE(a.groups.empty());
  REQUIRE(a.empty());
  REQUIRE(w.size() == 1);
}

TEST_CASE("group validation and limits", "[session][control]") {
  std::vector<std::string> w;
  ControlLimits limits;
  limits.max_groups = 2;
  limits.max_group_bytes = 4;
  const auto a = parse(
      {{"X-Sesame-Login", "bob"}, {"X-Sesame-Groups", "a b, toolong, x\x01, ok, fine, third"}}, &w,
      limits);
  REQUIRE(a.groups == std::vector<std::string>{"ok", "fine"});
  REQUIRE(w.size() == 4);
}

TEST_CASE("logout", "[session][control]") {
  std::vector<std::string> w;
  REQUIRE(parse({{"X-Sesame-Logout", "1"}}).logout == Logout::kSession);
  REQUIRE(parse({{"X-Sesame-Logout", "all"}}).logout == Logout::kAllSessions);
  REQUIRE(parse({{"x-sesame-logout", "ALL"}}).logout == Logout::kAllSessions);
  REQUIRE(parse({{"X-Sesame-Logout", "all"}, {"X-Sesame-Logout", "1"}}).logout ==
          Logout::kAllSessions);
  for (const char* bad : {"0", "true", "yes", "11", "", "all "}) {
    w.clear();
    REQUIRE(parse({{"X-Sesame-Logout", bad}}, &w).logout == Logout::kNone);
    REQUIRE(w.size() == 1);
  }
}

TEST_CASE("logout discards login and data changes", "[session][control]") {
  std::vector<std::string> w;
  const auto a = parse({{"X-Sesame-Login", "alice"},
                        {"X-Sesame-Groups", "a"},
                        {"X-Sesame-Set", "k=v"},
                        {"X-Sesame-Unset", "j"},
                        {"X-Sesame-Logout", "1"}},
                       &w);
  REQUIRE(a.logout == Logout::kSession);
  REQUIRE_FALSE(a.login);
  REQUIRE(a.groups.empty());
  REQUIRE(a.set.empty());
  REQUIRE(a.unset.empty());
  REQUIRE(w.size() == 1);
}

TEST_CASE("set decodes percent-encoding", "[session][control]") {
  std::vector<std::string> w;
  const auto a = parse({{"X-Sesame-Set", "cart=3%20items%2C%20%E2%82%AC9"},
                        {"X-Sesame-Set", "plus=a+b"},
                        {"X-Sesame-Set", "empty="},
                        {"X-Sesame-Set", "eq=a=b"},
                        {"X-Sesame-Set", "  spaced  =  v  "}},
                       &w);
  REQUIRE(w.empty());
  REQUIRE(a.set == std::vector<DataField>{{"cart",
                                           "3 items, \xe2\x82\xac"
                                           "9"},
                                          {"plus", "a+b"},
                                          {"empty", ""},
                                          {"eq", "a=b"},
                                          {"spaced", "v"}});
}

TEST_CASE("set refuses bad input and names only the key", "[session][control]") {
  std::vector<std::string> w;
  SECTION("bad percent-encoding") {
    for (const char* v : {"k=%", "k=%2", "k=%zz", "k=a%g1"}) {
      w.clear();
      REQUIRE(parse({{"X-Sesame-Set", v}}, &w).set.empty());
      REQUIRE(w.size() == 1);
      REQUIRE(mentions(w, "\"k\""));
    }
  }
  SECTION("decoded control characters would split the upstream header") {
    for (const char* v : {"k=a%0D%0AX-Remote-User:%20root", "k=%00", "k=%7F", "k=%09"}) {
      w.clear();
      REQUIRE(parse({{"X-Sesame-Set", v}}, &w).set.empty());
      REQUIRE(w.size() == 1);
      REQUIRE_FALSE(mentions(w, "root"));
    }
  }
  SECTION("missing '='") {
    REQUIRE(parse({{"X-Sesame-Set", "secretvalue"}}, &w).set.empty());
    REQUIRE_FALSE(mentions(w, "secretvalue"));
  }
  SECTION("bad keys") {
    for (const char* v : {"=v", "a.b=v", "a b=v", "k\xc3\xa9=v", "a/b=v"}) {
      w.clear();
      REQUIRE(parse({{"X-Sesame-Set", v}}, &w).set.empty());
      REQUIRE(w.size() == 1);
    }
    REQUIRE(parse({{"X-Sesame-Set", std::string(65, 'k') + "=v"}}).set.empty());
    REQUIRE(parse({{"X-Sesame-Set", std::string(64, 'k') + "=v"}}).set.size() == 1);
  }
}

TEST_CASE("set value limits", "[session][control]") {
  std::vector<std::string> w;
  ControlLimits limits;
  limits.max_value_bytes = 4;
  limits.max_total_bytes = 6;
  SECTION("one value") {
    const auto a =
        parse({{"X-Sesame-Set", "a=%41%41%41%41"}, {"X-Sesame-Set", "b=12345"}}, &w, limits);
    REQUIRE(a.set == std::vector<DataField>{{"a", "AAAA"}});
    REQUIRE(w.size() == 1);
    REQUIRE(mentions(w, "\"b\""));
  }
  SECTION("total, counting a replaced value once") {
    const auto a = parse({{"X-Sesame-Set", "a=1234"},
                          {"X-Sesame-Set", "b=123"},
                          {"X-Sesame-Set", "a=1"},
                          {"X-Sesame-Set", "b=12345"},
                          {"X-Sesame-Set", "c=12"}},
                         &w, limits);
    REQUIRE(a.set == std::vector<DataField>{{"a", "1"}, {"c", "12"}});
    REQUIRE(w.size() == 2);
  }
  SECTION("defaults are 4096 and 16384") {
    const ControlLimits d;
    REQUIRE(d.max_value_bytes == 4096);
    REQUIRE(d.max_total_bytes == 16384);
    std::string big = "k=" + std::string(4096, 'x');
    REQUIRE(parse({{"X-Sesame-Set", big}}).set.size() == 1);
    REQUIRE(parse({{"X-Sesame-Set", big + "x"}}).set.empty());
  }
}

TEST_CASE("key count limit", "[session][control]") {
  std::vector<std::string> w;
  ControlLimits limits;
  limits.max_keys = 2;
  const auto a = parse({{"X-Sesame-Set", "a=1"},
                        {"X-Sesame-Unset", "b"},
                        {"X-Sesame-Set", "c=1"},
                        {"X-Sesame-Unset", "d"},
                        {"X-Sesame-Set", "a=2"}},
                       &w, limits);
  REQUIRE(a.set == std::vector<DataField>{{"a", "2"}});
  REQUIRE(a.unset == std::vector<std::string>{"b"});
  REQUIRE(w.size() == 2);
}

TEST_CASE("keys are canonical and the later header wins", "[session][control]") {
  const auto a = parse({{"X-Sesame-Set", "Cart_Items=1"},
                        {"X-Sesame-Set", "cart-items=2"},
                        {"X-Sesame-Unset", "theme"},
                        {"X-Sesame-Set", "THEME=dark"},
                        {"X-Sesame-Set", "gone=x"},
                        {"X-Sesame-Unset", "GONE, other ,, other"}});
  REQUIRE(a.set == std::vector<DataField>{{"cart-items", "2"}, {"theme", "dark"}});
  REQUIRE(a.unset == std::vector<std::string>{"gone", "other"});
}

TEST_CASE("unset validates keys", "[session][control]") {
  std::vector<std::string> w;
  const auto a = parse({{"X-Sesame-Unset", "ok, bad key, a.b"}}, &w);
  REQUIRE(a.unset == std::vector<std::string>{"ok"});
  REQUIRE(w.size() == 2);
}

TEST_CASE("sesame's own data fields are out of the upstream's reach", "[session][control]") {
  // Keys starting with '.' are internal (session::isInternalDataKey): an
  // application must not forge an OIDC state nor drop a refresh token.
  std::vector<std::string> w;
  const auto a = parse({{"X-Sesame-Set", ".oidc.state=forged"},
                        {"X-Sesame-Set", ".x=1"},
                        {"X-Sesame-Unset", ".oidc.refresh_token"},
                        {"X-Sesame-Unset", "ok, .oidc.access_token"},
                        {"X-Sesame-Set", "cart=3"}},
                       &w);
  CHECK(a.set == std::vector<DataField>{{"cart", "3"}});
  CHECK(a.unset == std::vector<std::string>{"ok"});
  CHECK(w.size() == 4);
  REQUIRE_FALSE(isValidDataKey(".oidc.state"));
  REQUIRE(sesame::session::isInternalDataKey(".oidc.state"));
  REQUIRE_FALSE(sesame::session::isInternalDataKey("oidc.state"));
}

TEST_CASE("unknown control headers warn", "[session][control]") {
  std::vector<std::string> w;
  REQUIRE(parse({{"X-Sesame-Frobnicate", "1"}, {"X-Sesamex", "1"}}, &w).empty());
  REQUIRE(w.size() == 1);
  REQUIRE(mentions(w, "X-Sesame-Frobnicate"));
}

TEST_CASE("warnings may be discarded", "[session][control]") {
  REQUIRE(parse({{"X-Sesame-Logout", "bad"}, {"X-Sesame-Set", "=x"}}, nullptr).empty());
}

TEST_CASE("data keys", "[session][control]") {
  REQUIRE(isValidDataKey("a"));
  REQUIRE(isValidDataKey("A-z_09"));
  REQUIRE(isValidDataKey(std::string(64, 'k')));
  REQUIRE_FALSE(isValidDataKey(""));
  REQUIRE_FALSE(isValidDataKey(std::string(65, 'k')));
  REQUIRE_FALSE(isValidDataKey("a.b"));
  REQUIRE(canonicalDataKey("Cart_Items-X") == "cart-items-x");
}

TEST_CASE("stripControlHeaders removes every X-Sesame- field", "[session][control]") {
  HeaderList h = list({{"Content-Type", "text/html"},
                       {"X-Sesame-Login", "a"},
                       {"x-sesame-set", "k=v"},
                       {"X_SESAME_LOGOUT", "1"},
                       {"x-sesame_groups", "g"},
                       {"X-Sesame-Set", "j=v"},
                       {"X-Sesame", "kept"},
                       {"X-Sesamefoo", "kept"},
                       {"Set-Cookie", "a=b"}});
  REQUIRE(stripControlHeaders(h) == 5);
  std::vector<std::string> left;
  for (const auto& f : h.fields()) left.push_back(f.name);
  REQUIRE(left ==
          std::vector<std::string>{"Content-Type", "X-Sesame", "X-Sesamefoo", "Set-Cookie"});
  REQUIRE(stripControlHeaders(h) == 0);
}

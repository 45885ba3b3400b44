#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sesame/session/cookie_header.h"

using sesame::session::clearCookie;
using sesame::session::CookieAttributes;
using sesame::session::findCookie;
using sesame::session::removeCookie;
using sesame::session::removeSetCookies;
using sesame::session::setCookie;
using sesame::session::setsCookie;
using sesame::session::validateCookieSettings;

TEST_CASE("findCookie parses Cookie header values", "[session][cookie]") {
  SECTION("simple pairs") {
    REQUIRE(findCookie("a=1; sid=abc; b=2", "sid") == "abc");
    REQUIRE(findCookie("sid=abc", "sid") == "abc");
    REQUIRE(findCookie("a=1; b=2", "a") == "1");
    REQUIRE(findCookie("a=1; b=2", "b") == "2");
  }
  SECTION("absent") {
    REQUIRE_FALSE(findCookie("", "sid").has_value());
    REQUIRE_FALSE(findCookie("a=1; b=2", "sid").has_value());
    REQUIRE_FALSE(findCookie("xsid=1; sidx=2; SID=3", "sid").has_value());
    REQUIRE_FALSE(findCookie("a=sid; b=sid=1", "sid").has_value());
  }
  SECTION("whitespace: missing, extra, tabs") {
    REQUIRE(findCookie("a=1;sid=abc;b=2", "sid") == "abc");
    REQUIRE(findCookie("a=1;   sid = abc  ;b=2", "sid") == "abc");
    REQUIRE(findCookie("\tsid=abc\t", "sid") == "abc");
  }
  SECTION("empty values and values containing '='") {
    REQUIRE(findCookie("sid=; a=1", "sid") == "");
    REQUIRE(findCookie("sid=a=b==", "sid") == "a=b==");
  }
  SECTION("quoted values lose their quotes") {
    REQUIRE(findCookie("a=1; sid=\"abc\"", "sid") == "abc");
    REQUIRE(findCookie("sid=\"\"", "sid") == "");
    REQUIRE(findCookie("sid=\"", "sid") == "\"");
  }
  SECTION("malformed pieces are skipped") {
    REQUIRE(findCookie(";;; junk; =x; sid=abc;", "sid") == "abc");
    REQUIRE(findCookie("sid; sid=abc", "sid") == "abc");
  }
  SECTION("the first of several same-named pairs wins") {
    REQUIRE(findCookie("sid=first; sid=second", "sid") == "first");
  }
  SECTION("names are case-sensitive") {
    REQUIRE(findCookie("SID=upper; sid=lower", "sid") == "lower");
  }
  SECTION("the result points into the header") {
    const std::string h = "a=1; sid=abc";
    const auto v = findCookie(h, "sid");
    REQUIRE(v.has_value());
    REQUIRE(v->data() == h.data() + 9);
  }
}

TEST_CASE("removeCookie keeps the other cookies byte for byte", "[session][cookie]") {
  REQUIRE(removeCookie("a=1; sid=abc; b=2", "sid") == "a=1; b=2");
  REQUIRE(removeCookie("sid=abc", "sid") == "");
  REQUIRE(removeCookie("", "sid") == "");
  REQUIRE(removeCookie("sid=1; sid=2;sid=\"3\"", "sid") == "");
  REQUIRE(removeCookie("sid=1; a=1; sid=2", "sid") == "a=1");
  REQUIRE(removeCookie("a=1;b=2", "sid") == "a=1; b=2");
  REQUIRE(removeCookie("SID=x; sidx=y; sid=z", "sid") == "SID=x; sidx=y");
  // Values, quoting and odd pieces of other cookies are not touched.
  REQUIRE(removeCookie("pref=\"a b\"; sid=abc; t=x=y==; flag; e=", "sid") ==
          "pref=\"a b\"; t=x=y==; flag; e=");
  REQUIRE(removeCookie(" ;a=1 ;; sid =abc;", "sid") == "a=1");
  REQUIRE_FALSE(findCookie(removeCookie("sid=1; a=2; sid=3", "sid"), "sid").has_value());
}

TEST_CASE("setCookie and clearCookie produce exact Set-Cookie values", "[session][cookie]") {
  CookieAttributes attrs;
  attrs.name = "__Host-sesame";
  attrs.secure = true;
  attrs.same_site = "Lax";

  SECTION("host-only secure cookie") {
    REQUIRE(setCookie(attrs, "VALUE") ==
            "__Host-sesame=VALUE; Path=/; Secure; HttpOnly; SameSite=Lax");
    REQUIRE(clearCookie(attrs) ==
            "__Host-sesame=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax");
  }
  SECTION("domain, plain HTTP, Strict") {
    attrs.name = "sid";
    attrs.secure = false;
    attrs.same_site = "Strict";
    attrs.domain = "example.com";
    REQUIRE(setCookie(attrs, "v") ==
            "sid=v; Path=/; Domain=example.com; HttpOnly; SameSite=Strict");
    REQUIRE(clearCookie(attrs) ==
            "sid=; Max-Age=0; Path=/; Domain=example.com; HttpOnly; SameSite=Strict");
  }
  SECTION("without HttpOnly, SameSite=None") {
    attrs.http_only = false;
    attrs.same_site = "None";
    REQUIRE(setCookie(attrs, "v") == "__Host-sesame=v; Path=/; Secure; SameSite=None");
  }
  SECTION("session cookies never carry a lifetime") {
    const std::string s = setCookie(attrs, "v");
    REQUIRE(s.find("Max-Age") == std::string::npos);
    REQUIRE(s.find("Expires") == std::string::npos);
  }
}

TEST_CASE("validateCookieSettings", "[session][cookie]") {
  SECTION("consistent settings") {
    REQUIRE(validateCookieSettings("__Host-sesame", true, "Lax", "").empty());
    REQUIRE(validateCookieSettings("__Secure-sid", true, "Strict", "example.com").empty());
    REQUIRE(validateCookieSettings("sid", false, "Lax", ".example.com").empty());
    REQUIRE(validateCookieSettings("sid", true, "None", "").empty());
  }
  SECTION("__Host- needs Secure and no Domain") {
    const auto e = validateCookieSettings("__Host-sesame", false, "Lax", "example.com");
    REQUIRE(e == std::vector<std::string>{
                     "cookie_name \"__Host-sesame\" requires secure = true",
                     "cookie_name \"__Host-sesame\" forbids a domain (\"__Host-\" cookies are "
                     "host-only; RFC 6265bis §4.1.3.2)"});
    REQUIRE(validateCookieSettings("__host-x", true, "Lax", "example.com").size() == 1);
  }
  SECTION("__Secure- needs Secure") {
    REQUIRE(validateCookieSettings("__Secure-sid", false, "Lax", "") ==
            std::vector<std::string>{"cookie_name \"__Secure-sid\" requires secure = true"});
    REQUIRE(validateCookieSettings("__SECURE-sid", false, "Lax", "").size() == 1);
  }
  SECTION("SameSite") {
    REQUIRE(validateCookieSettings("sid", false, "None", "") ==
            std::vector<std::string>{
                "same_site = \"None\" requires secure = true: browsers drop such cookies"});
    REQUIRE(
        validateCookieSettings("sid", true, "lax", "") ==
        std::vector<std::string>{"same_site \"lax\" is not one of \"Lax\", \"Strict\", \"None\""});
    REQUIRE(validateCookieSettings("sid", true, "", "").size() == 1);
  }
  SECTION("names must be tokens") {
    for (const char* bad : {"", "a b", "a;b", "a=b", "a,b", "\"sid\"", "sid\x7f", "s(i)d"}) {
      INFO(bad);
      REQUIRE(validateCookieSettings(bad, true, "Lax", "").size() == 1);
    }
    REQUIRE(validateCookieSettings("a!#$%&'*+-.^_`|~Z9", true, "Lax", "").empty());
  }
  SECTION("domains must be host names: no attribute injection") {
    for (const char* bad : {"example.com; Path=/admin", "exa mple.com", ".", "a/b", "é.com"}) {
      INFO(bad);
      REQUIRE(validateCookieSettings("sid", true, "Lax", bad).size() == 1);
    }
  }
}

TEST_CASE("planted session cookie: setsCookie sees every spelling a browser would send back",
          "[session][cookie]") {
  for (const char* planted : {"sid=evil", "sid=evil; Path=/; HttpOnly", "  sid  =  evil ; Secure",
                              "\tsid=evil", "sid=", "sid=; Max-Age=0", "=sid=evil",
                              "= sid=evil; Path=/", "a=1; Expires=x, sid=evil", "a=1, sid=evil"}) {
    INFO(planted);
    REQUIRE(setsCookie(planted, "sid"));
  }
  for (const char* other : {"SID=evil", "sidx=1", "xsid=1", "a=sid", "a=sid=1", "sid", "=sid",
                            "a=1; sid=evil", "a=1; Path=/sid=x", "", "Sid=evil"}) {
    INFO(other);
    REQUIRE_FALSE(setsCookie(other, "sid"));
  }
  // Prefixed names: exact, whatever their case-insensitive prefix rules.
  REQUIRE(setsCookie("__Host-sesame=x; Secure; Path=/", "__Host-sesame"));
  REQUIRE_FALSE(setsCookie("__host-sesame=x; Secure; Path=/", "__Host-sesame"));
  REQUIRE_FALSE(setsCookie("sesame=x", "__Host-sesame"));
}

TEST_CASE("removeSetCookies removes only the planted fields", "[session][cookie]") {
  sesame::http::HeaderList h;
  h.add("Set-Cookie", "theme=dark; Path=/");
  h.add("set-cookie", "sid=evil; Path=/");
  h.add("Content-Type", "text/html");
  h.add("SET-COOKIE", "=sid=evil");
  h.add("X-Note", "sid=not-a-cookie");
  h.add("Set-Cookie", "lang=en");
  REQUIRE(removeSetCookies(h, "sid") == 2);
  std::vector<std::string> left;
  for (const auto& f : h.fields()) left.push_back(f.name + ": " + f.value);
  REQUIRE(left == std::vector<std::string>{"Set-Cookie: theme=dark; Path=/",
                                           "Content-Type: text/html", "X-Note: sid=not-a-cookie",
                                           "Set-Cookie: lang=en"});
  REQUIRE(removeSetCookies(h, "sid") == 0);
}

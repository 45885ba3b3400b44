// normalizeTarget and routePath: each spelling of a path that a framework
// behind sesame would read as another path (issue 10 §3).
#include <catch2/catch.hpp>
#include <string>

#include "sesame/http/path_normalizer.h"

using sesame::http::EscapedSlashes;
using sesame::http::normalizeTarget;
using sesame::http::routePath;

namespace {

// The normalised target, or "400: reason".
std::string norm(std::string_view target, EscapedSlashes mode = EscapedSlashes::kReject) {
  std::string out = "stale";
  const std::string_view reason = normalizeTarget(target, mode, out);
  if (!reason.empty()) {
    CHECK(out.empty());
    return "400: " + std::string(reason);
  }
  return out;
}

// What the router matches for `target`.
std::string routed(std::string_view target) {
  return routePath(norm(target));
}

}  // namespace

TEST_CASE("paths already in normal form pass unchanged", "[http][path]") {
  for (const char* target :
       {"/", "/admin/x", "/admin/", "/a/b/c.html", "/x?y=1", "/caf%C3%A9", "/a~b-c_d.e", "/a%20b",
        "/a%3Fb?c", "/...", "/.../x", "/.x/..x/x.", "/a:b@c!$&'()*+,=", "/app;jsessionid=1",
        "/app/;jsessionid=1", "/?", "/a?b/../c//d"}) {
    INFO(target);
    CHECK(norm(target) == target);
  }
}

TEST_CASE("route bypass by escaping an unreserved character", "[http][path]") {
  CHECK(norm("/%61dmin/x") == "/admin/x");
  CHECK(norm("/%41%44MIN/x") == "/ADMIN/x");
  CHECK(norm("/%7e%2D%5f%2e%30") == "/~-_.0");
}

TEST_CASE("remaining escapes are upper-cased, never decoded", "[http][path]") {
  CHECK(norm("/caf%c3%a9") == "/caf%C3%A9");
  CHECK(norm("/a%3bb") == "/a%3Bb");
  CHECK(norm("/a%3fb") == "/a%3Fb");
  CHECK(norm("/a%25b") == "/a%25b");
  CHECK(norm("/a%2561dmin") == "/a%2561dmin");  // decoded once, never twice
  CHECK(norm("/a%20b") == "/a%20b");
  CHECK(routed("/admin%3bx/y") == "/admin%3Bx/y");  // an escaped ';' is data
}

TEST_CASE("route bypass by dot-segments", "[http][path]") {
  CHECK(norm("/x/../admin/x") == "/admin/x");
  CHECK(norm("/public/../admin/x") == "/admin/x");
  CHECK(norm("/./admin/x") == "/admin/x");
  CHECK(norm("/a/b/./../c") == "/a/c");
  CHECK(norm("/a/b/c/../../d") == "/a/d");
  CHECK(norm("/a/.") == "/a/");
  CHECK(norm("/a/..") == "/");
  CHECK(norm("/a/b/..") == "/a/");
  CHECK(norm("/a/./") == "/a/");
  CHECK(norm("/.") == "/");
  CHECK(norm("/a/..?q=/../x") == "/?q=/../x");
}

TEST_CASE("route bypass by encoded dot-segments", "[http][path]") {
  CHECK(norm("/public/%2e%2e/admin/x") == "/admin/x");
  CHECK(norm("/public/%2E%2E/admin/x") == "/admin/x");
  CHECK(norm("/public/.%2e/admin/x") == "/admin/x");
  CHECK(norm("/public/%2e./admin/x") == "/admin/x");
  CHECK(norm("/%2e/admin/x") == "/admin/x");
  CHECK(norm("/public/%2e%2e") == "/");
}

TEST_CASE("route bypass by repeated slashes", "[http][path]") {
  CHECK(norm("//admin/x") == "/admin/x");
  CHECK(norm("/admin//x") == "/admin/x");
  CHECK(norm("///admin///x///") == "/admin/x/");
  CHECK(norm("//") == "/");
  CHECK(norm("//?x") == "/?x");
}

TEST_CASE("route bypass by path parameters", "[http][path]") {
  // Forwarded intact for a Java application's session...
  CHECK(norm("/admin;jsessionid=1/x") == "/admin;jsessionid=1/x");
  // ...but routed by segment name.
  CHECK(routed("/admin;jsessionid=1/x") == "/admin/x");
  CHECK(routed("/admin;x/") == "/admin/");
  CHECK(routed("/admin;x") == "/admin");
  CHECK(routed("/a;x=1;y=2/b;z/c?q;r") == "/a/b/c");
  CHECK(routed("/app/;jsessionid=1") == "/app/");
  CHECK(routed("/;jsessionid=1") == "/");
}

TEST_CASE("route bypass by dot-segments with parameters (Tomcat's ..;)", "[http][path]") {
  CHECK(norm("/public/..;/admin/x") == "/admin/x");
  CHECK(norm("/public/..;x=1/admin/x") == "/admin/x");
  CHECK(norm("/public/%2e%2e;/admin/x") == "/admin/x");
  CHECK(norm("/.;x/admin") == "/admin");
  CHECK(norm("/a/b/..;x") == "/a/");
  CHECK(norm("/..;/admin") == "400: path climbs above the root");
}

TEST_CASE("route bypass by empty segments with parameters", "[http][path]") {
  // Tomcat strips ";x" and merges the slashes: "/;x/admin" is its "/admin".
  CHECK(norm("/;x/admin/y") == "/admin/y");
  CHECK(norm("/public/;x/../admin") == "/admin");
  CHECK(routed("/;x/admin/y") == "/admin/y");
}

TEST_CASE("a path above the root is refused", "[http][path]") {
  CHECK(norm("/..") == "400: path climbs above the root");
  CHECK(norm("/../admin") == "400: path climbs above the root");
  CHECK(norm("/a/../../admin") == "400: path climbs above the root");
  CHECK(norm("/%2e%2e/admin") == "400: path climbs above the root");
  CHECK(norm("/a/../..?x") == "400: path climbs above the root");
}

TEST_CASE("escaped slashes are refused by default and kept when asked", "[http][path]") {
  for (const char* target : {"/admin%2Fx", "/admin%2fx", "/a/%5C/b", "/a%5cb", "/..%2fadmin"}) {
    INFO(target);
    CHECK(norm(target) == "400: escaped slash in path");
  }
  const auto keep = EscapedSlashes::kKeep;
  CHECK(norm("/admin%2fx", keep) == "/admin%2Fx");
  CHECK(norm("/a%5cb", keep) == "/a%5Cb");
  CHECK(norm("/public/..%2Fadmin", keep) == "/public/..%2Fadmin");
  CHECK(norm("/public/..%2Fadmin/../x", keep) == "/public/x");
  CHECK(routePath(norm("/a%2F..%2Fb", keep)) == "/a%2F..%2Fb");
}

TEST_CASE("a raw backslash in the path is refused, in the query it is data", "[http][path]") {
  CHECK(norm("/\\admin") == "400: backslash in path");
  CHECK(norm("/a\\..\\admin") == "400: backslash in path");
  CHECK(norm("/a?x=\\") == "/a?x=\\");
}

TEST_CASE("invalid and control escapes are refused", "[http][path]") {
  for (const char* target : {"/%zz", "/%4", "/a%", "/%%41", "/%g0", "/%0g", "/a%2"}) {
    INFO(target);
    CHECK(norm(target) == "400: invalid percent-encoding in path");
  }
  for (const char* target : {"/%00", "/a%0d%0aSet-Cookie:x", "/%1F", "/%7f", "/%09"}) {
    INFO(target);
    CHECK(norm(target) == "400: escaped control character in path");
  }
  // The query is the application's: not checked, not changed.
  CHECK(norm("/a?%zz%00%2F") == "/a?%zz%00%2F");
}

TEST_CASE("route bypass by overlong UTF-8 escapes is refused", "[http][path]") {
  for (const char* target : {"/public/%c0%ae%c0%ae/admin", "/%C0%AF", "/%c1%9c", "/%e0%80%ae",
                             "/%E0%9F%BF", "/%f0%80%80%ae", "/%F0%8F%BF%BF", "/a%C0"}) {
    INFO(target);
    CHECK(norm(target) == "400: overlong UTF-8 escape in path");
  }
  // Shortest forms pass, and so do Latin-1 bytes that start no overlong form.
  CHECK(norm("/%e0%a0%80%f0%90%80%80%c2%a0") == "/%E0%A0%80%F0%90%80%80%C2%A0");
  CHECK(norm("/caf%e9") == "/caf%E9");
  CHECK(norm("/%e0") == "/%E0");
  CHECK(norm("/%e0/%80") == "/%E0/%80");
}

TEST_CASE("bytes that are not visible ASCII are refused", "[http][path]") {
  CHECK(norm(std::string("/a\0b", 4)) == "400: invalid character in path");
  CHECK(norm("/caf\xc3\xa9") == "400: invalid character in path");
  CHECK(norm("/a b") == "400: invalid character in path");
  CHECK(norm("/a#b") == "400: invalid character in path");
}

TEST_CASE("targets that are not origin-form are refused", "[http][path]") {
  CHECK(norm("") == "400: not an origin-form target");
  CHECK(norm("*") == "400: not an origin-form target");
  CHECK(norm("example.com:443") == "400: not an origin-form target");
  CHECK(norm("?x") == "400: not an origin-form target");
}

TEST_CASE("normalising twice changes nothing", "[http][path]") {
  for (const char* target : {"/%61dmin/x", "//a/./b/../c//", "/a;x/..;y/b;z/", "/;j=1", "/a/;j=1",
                             "/a/.%2e/", "/a/b/%2e", "/%7Eu%c3%a9?q=%7e"}) {
    INFO(target);
    const std::string once = norm(target);
    REQUIRE(once.rfind("400", 0) != 0);
    CHECK(norm(once) == once);
    CHECK(routePath(once) == routePath(routePath(once)));
  }
}

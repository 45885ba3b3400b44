// X-Forwarded-*, Forwarded and X-Real-IP: sesame's own unless the peer is a
// trusted proxy (issue 10, section 7).
#include <catch2/catch.hpp>

#include "sesame/proxy/client_address.h"
#include "sesame/proxy/forwarding.h"

using namespace sesame;

namespace {

http::RequestHead parseRequest(std::string_view text) {
  http::RequestParser parser;
  REQUIRE(parser.parse(text) == http::RequestParser::Status::kComplete);
  return parser.head();
}

std::vector<net::Cidr> cidrs(std::initializer_list<const char*> texts) {
  std::vector<net::Cidr> out;
  for (const char* t : texts) {
    auto c = net::parseCidr(t, nullptr);
    REQUIRE(c.has_value());
    out.push_back(*c);
  }
  return out;
}

constexpr std::string_view kForged =
    "GET / HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-For: 1.1.1.1\r\n"
    "X-Forwarded-For: 2.2.2.2, 3.3.3.3\r\nX-Forwarded-Proto: https\r\n"
    "X-Forwarded-Host: evil.example\r\nForwarded: for=1.1.1.1;proto=https\r\n"
    "X-Real-IP: 1.1.1.1\r\nx-real-ip: 4.4.4.4\r\n\r\n";

}  // namespace

TEST_CASE("forged forwarding headers from an untrusted peer are replaced",
          "[forwarding][trusted]") {
  http::RequestHead req = parseRequest(kForged);
  std::string out;
  proxy::RequestForwarding fwd{"192.0.2.7", false, ""};
  proxy::appendUpstreamRequest(out, req, fwd);
  CHECK(out ==
        "GET / HTTP/1.1\r\nHost: app.example\r\n"
        "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
        "X-Forwarded-Host: app.example\r\nX-Real-IP: 192.0.2.7\r\n\r\n");
}

TEST_CASE("a trusted peer's chain is kept and the peer appended; the host is the routed one",
          "[forwarding][trusted]") {
  http::RequestHead req = parseRequest(kForged);
  std::string out;
  proxy::RequestForwarding fwd{"10.0.0.2", true, ""};
  fwd.real_ip = "3.3.3.3";
  fwd.trusted_peer = true;
  proxy::appendUpstreamRequest(out, req, fwd);
  // X-Forwarded-Host and Forwarded (host=) from anyone would let a
  // framework serve another host than the one sesame routed on.
  CHECK(out ==
        "GET / HTTP/1.1\r\nHost: app.example\r\n"
        "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.2\r\n"
        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: app.example\r\nX-Real-IP: 3.3.3.3\r\n\r\n");
}

TEST_CASE("a trusted peer without X-Forwarded-Host gets the Host", "[forwarding][trusted]") {
  http::RequestHead req = parseRequest("GET / HTTP/1.1\r\nHost: app.example\r\n\r\n");
  std::string out;
  proxy::RequestForwarding fwd{"10.0.0.2", false, ""};
  fwd.trusted_peer = true;
  proxy::appendUpstreamRequest(out, req, fwd);
  CHECK(out ==
        "GET / HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-For: 10.0.0.2\r\n"
        "X-Forwarded-Proto: http\r\nX-Forwarded-Host: app.example\r\n"
        "X-Real-IP: 10.0.0.2\r\n\r\n");
}

TEST_CASE("resolveClient ignores an untrusted peer's headers", "[forwarding][trusted]") {
  http::RequestHead req = parseRequest(kForged);
  auto none = proxy::resolveClient({}, "192.0.2.7", false, req.headers);
  CHECK(none.address == "192.0.2.7");
  CHECK_FALSE(none.https);
  CHECK_FALSE(none.trusted_peer);
  auto other = proxy::resolveClient(cidrs({"10.0.0.0/8"}), "192.0.2.7", true, req.headers);
  CHECK(other.address == "192.0.2.7");
  CHECK(other.https);
  CHECK_FALSE(other.trusted_peer);
}

TEST_CASE("resolveClient walks X-Forwarded-For from the right past trusted hops",
          "[forwarding][trusted]") {
  struct Case {
    const char* fields;
    const char* client;
  };
  const Case cases[] = {
      // The right-most untrusted address; what the client wrote left of it is noise.
      {"X-Forwarded-For: 6.6.6.6, 203.0.113.5\r\n", "203.0.113.5"},
      {"X-Forwarded-For: 6.6.6.6, 203.0.113.5, 10.1.1.1\r\n", "203.0.113.5"},
      // Several fields form one list, in order.
      {"X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 203.0.113.5,10.1.1.1\r\n", "203.0.113.5"},
      {"X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-For: 10.1.1.1\r\n", "203.0.113.5"},
      // Every hop trusted: the left-most.
      {"X-Forwarded-For: 10.9.9.9, 10.1.1.1\r\n", "10.9.9.9"},
      // Malformed: stop, keep the last address reached.
      {"X-Forwarded-For: 203.0.113.5, unknown, 10.1.1.1\r\n", "10.1.1.1"},
      {"X-Forwarded-For: 203.0.113.5:4711\r\n", "10.0.0.2"},
      {"X-Forwarded-For: [2001:db8::1]\r\n", "10.0.0.2"},
      {"X-Forwarded-For: 6.6.6.6,,203.0.113.5\r\n", "203.0.113.5"},
      {"X-Forwarded-For: 203.0.113.5,,10.1.1.1\r\n", "10.1.1.1"},
      // Canonical form, IPv6 too.
      {"X-Forwarded-For:  2001:DB8::7 \r\n", "2001:db8::7"},
      {"X-Forwarded-For: ::ffff:203.0.113.5\r\n", "203.0.113.5"},
      // No X-Forwarded-For: the peer.
      {"", "10.0.0.2"},
  };
  auto trusted = cidrs({"10.0.0.0/8", "::1"});
  for (const Case& c : cases) {
    INFO(c.fields);
    http::RequestHead req =
        parseRequest(std::string("GET / HTTP/1.1\r\nHost: h\r\n") + c.fields + "\r\n");
    auto view = proxy::resolveClient(trusted, "10.0.0.2", false, req.headers);
    CHECK(view.trusted_peer);
    CHECK(view.address == c.client);
  }
}

TEST_CASE("resolveClient takes the scheme from a trusted X-Forwarded-Proto",
          "[forwarding][trusted]") {
  struct Case {
    const char* fields;
    bool listener_tls;
    bool https;
  };
  const Case cases[] = {
      {"X-Forwarded-Proto: https\r\n", false, true},
      {"X-Forwarded-Proto: HTTPS\r\n", false, true},
      {"X-Forwarded-Proto: http\r\n", true, false},
      {"", false, false},
      {"", true, true},
      // Anything else leaves the listener's scheme.
      {"X-Forwarded-Proto: https, http\r\n", false, false},
      {"X-Forwarded-Proto: wss\r\n", false, false},
      {"X-Forwarded-Proto: https\r\nX-Forwarded-Proto: https\r\n", false, false},
  };
  auto trusted = cidrs({"::1"});
  for (const Case& c : cases) {
    INFO(c.fields);
    http::RequestHead req =
        parseRequest(std::string("GET / HTTP/1.1\r\nHost: h\r\n") + c.fields + "\r\n");
    auto view = proxy::resolveClient(trusted, "::1", c.listener_tls, req.headers);
    CHECK(view.https == c.https);
  }
}

TEST_CASE("forwarding headers in other spellings, X-Forwarded-Host and Forwarded never pass",
          "[forwarding][trusted]") {
  // CGI and WSGI fold X_Forwarded_For into the same variable as X-Forwarded-For.
  http::RequestHead req = parseRequest(
      "GET / HTTP/1.1\r\nHost: app.example\r\nX_Forwarded_For: 6.6.6.6\r\n"
      "x_real_ip: 6.6.6.6\r\nX_FORWARDED_PROTO: https\r\nX_Forwarded-Host: evil\r\n"
      "X-Forwarded-Host: lb.example\r\nforwarded: for=10.0.0.9\r\n\r\n");
  for (bool trusted : {false, true}) {
    INFO("trusted peer: " << trusted);
    std::string out;
    proxy::RequestForwarding fwd{"10.0.0.2", false, ""};
    fwd.trusted_peer = trusted;
    proxy::appendUpstreamRequest(out, req, fwd);
    CHECK(out.find("6.6.6.6") == std::string::npos);
    CHECK(out.find('_') == std::string::npos);
    CHECK(out.find("evil") == std::string::npos);
    CHECK(out.find("lb.example") == std::string::npos);
    CHECK(out.find("for=10.0.0.9") == std::string::npos);
    CHECK(out.find("X-Forwarded-Host: app.example\r\n") != std::string::npos);
  }
}

TEST_CASE("forwarding neighbours pass from a trusted peer only", "[forwarding][trusted]") {
  http::RequestHead req = parseRequest(
      "GET / HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-Port: 8443\r\nX-Forwarded-Prefix: /x\r\n"
      "X-Forwarded-Ssl: on\r\nX-Forwarded-Scheme: https\r\nX-Url-Scheme: https\r\n"
      "Front-End-Https: on\r\nX-Forwarded-Server: lb\r\nX-Host: evil\r\nClient-IP: 6.6.6.6\r\n"
      "X-Client-IP: 6.6.6.6\r\nTrue-Client-IP: 6.6.6.6\r\nX-Cluster-Client-IP: 6.6.6.6\r\n"
      "x_forwarded_port: 1\r\n\r\n");
  for (bool trusted : {false, true}) {
    INFO("trusted peer: " << trusted);
    std::string out;
    proxy::RequestForwarding fwd{"10.0.0.2", false, ""};
    fwd.trusted_peer = trusted;
    proxy::appendUpstreamRequest(out, req, fwd);
    for (const char* name :
         {"X-Forwarded-Port: 8443", "X-Forwarded-Prefix", "X-Forwarded-Ssl", "X-Forwarded-Scheme",
          "X-Url-Scheme", "Front-End-Https", "X-Forwarded-Server", "X-Host", "Client-IP: 6",
          "X-Client-IP", "True-Client-IP", "X-Cluster-Client-IP", "x_forwarded_port"}) {
      INFO(name);
      CHECK((out.find(name) != std::string::npos) == trusted);
    }
  }
}

// Session tickets: every context from one factory shares the ticket keys,
// so a client resumes on whichever worker accepts its next connection.
#include <openssl/ssl.h>

#include <catch2/catch.hpp>

#include "memory_handshake.h"
#include "sesame/tls/context.h"
#include "test_certs.h"

using namespace sesame::tls;
using namespace sesame::tls::testing;

namespace {

struct Certs {
  TempDir dir;
  CertFiles site =
      makeCertificateFiles(dir, "site", {.common_name = "site.test", .dns_names = {"site.test"}});

  Settings settings() const {
    Settings s;
    s.certificates.push_back({site.cert, site.key});
    return s;
  }
};

const Certs& certs() {
  static const Certs instance;
  return instance;
}

ClientOptions onlyVersion(int version) {
  ClientOptions options;
  options.min_version = version;
  options.max_version = version;
  return options;
}

}  // namespace

TEST_CASE("tls: a ticket from one worker's context resumes on another's", "[tls]") {
  int version = GENERATE(TLS1_2_VERSION, TLS1_3_VERSION);
  INFO("version " << std::hex << version);
  ContextFactory factory(certs().settings());
  REQUIRE(factory.errors().empty());
  auto worker1 = factory.make().context;
  auto worker2 = factory.make().context;
  REQUIRE(worker1 != nullptr);
  REQUIRE(worker2 != nullptr);

  ClientOptions options = onlyVersion(version);
  HandshakeResult first = handshake(worker1->defaultCtx(), options);
  REQUIRE(first.ok);
  CHECK_FALSE(first.reused);
  REQUIRE(first.session != nullptr);
  REQUIRE(SSL_SESSION_is_resumable(first.session.get()) == 1);
  // In TLS 1.2 a session id alone would not resume on worker 2, whose
  // session cache is its own; the ticket must carry the session.
  CHECK(SSL_SESSION_has_ticket(first.session.get()) == 1);

  options.session = first.session.get();
  HandshakeResult second = handshake(worker2->defaultCtx(), options);
  INFO(second.error);
  REQUIRE(second.ok);
  CHECK(second.reused);
}

TEST_CASE("tls: tickets from another factory do not resume", "[tls]") {
  int version = GENERATE(TLS1_2_VERSION, TLS1_3_VERSION);
  INFO("version " << std::hex << version);
  ContextFactory before_reload(certs().settings());
  ContextFactory after_reload(certs().settings());
  auto old_worker = before_reload.make().context;
  auto new_worker = after_reload.make().context;
  REQUIRE(old_worker != nullptr);
  REQUIRE(new_worker != nullptr);

  ClientOptions options = onlyVersion(version);
  HandshakeResult first = handshake(old_worker->defaultCtx(), options);
  REQUIRE(first.ok);
  options.session = first.session.get();
  HandshakeResult second = handshake(new_worker->defaultCtx(), options);
  INFO(second.error);
  REQUIRE(second.ok);
  CHECK_FALSE(second.reused);
}

#include <catch2/catch.hpp>

#include "oidc_keys.h"
#include "temp_config.h"

using namespace sesame;
using config::LoadResult;
using config::OidcProviderConfig;
using config::testing::hasError;
using config::testing::joinErrors;
using config::testing::kMinimal;
using config::testing::TempDir;
using config::testing::writeKey;
using config::testing::writeWithMode;

namespace {

// Lines 10 and 11, after kMinimal's 9.
constexpr std::string_view kSession =
    "[session]\nsecrets = [\"0123456789abcdef0123456789abcdef\"]\n";

// Lines 12 to 15 after kMinimal and kSession; extra keys start at line 16.
constexpr std::string_view kProvider = R"([oidc]
issuer = "https://id.example.com/realms/main"
client_id = "sesame"
client_secret_file = "oidc-secret"
)";

std::string withOidc(std::string_view oidc, std::string_view session = kSession) {
  return std::string(kMinimal) + std::string(session) + std::string(oidc);
}

// A TempDir with the client secret file kProvider names, mode 0600.
struct OidcDir : TempDir {
  OidcDir() { writeWithMode(*this, "oidc-secret", "s3cr3t-from-the-provider\n"); }
};

}  // namespace

TEST_CASE("[oidc] is absent by default", "[config][oidc]") {
  TempDir dir;
  LoadResult r = dir.load(kMinimal);
  REQUIRE(r.config);
  CHECK(r.config->oidc.empty());
}

TEST_CASE("[oidc] alone is the provider \"default\" with documented defaults", "[config][oidc]") {
  OidcDir dir;
  LoadResult r = dir.load(withOidc(kProvider));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->oidc.size() == 1);
  const OidcProviderConfig& p = r.config->oidc[0];
  CHECK(p.name == "default");
  CHECK(p.issuer == "https://id.example.com/realms/main");
  CHECK(p.client_id == "sesame");
  CHECK(p.client_secret == "s3cr3t-from-the-provider");
  CHECK(p.client_secret_file == dir.path() + "/oidc-secret");
  CHECK(p.client_key_pem.empty());
  CHECK(p.scopes == std::vector<std::string>{"openid", "profile", "email"});
  CHECK(p.user_claim == "sub");
  CHECK(p.groups_claim == "groups");
  CHECK(p.allowed_groups.empty());
  CHECK(p.allowed_email_domains.empty());
  CHECK(p.ca_file.empty());
  CHECK_FALSE(p.lazy);
  CHECK_FALSE(p.refresh);
  CHECK(p.clock_skew == config::Duration{60'000});
  CHECK(p.http_timeout == config::Duration{10'000});
  CHECK(p.discovery_interval == config::Duration{3'600'000});
  CHECK(p.display_name == "id.example.com");
  CHECK(p.post_logout_redirect == "/");
  CHECK(p.redirect_url.empty());
  CHECK(p.backchannel_logout);
  // Signing in needs a page to choose or start from, as with [login].
  CHECK(r.config->session->login_url == "/.sesame/login");
}

TEST_CASE("[oidc] keys are read", "[config][oidc]") {
  OidcDir dir;
  auto ca = tls::testing::makeCertificate({.common_name = "Test CA", .is_ca = true});
  dir.write("ca.pem", tls::testing::toPem(ca.cert.get()));
  LoadResult r =
      dir.load(withOidc(std::string(kProvider) + R"(scopes = ["openid", "email", "groups"]
user_claim = "preferred_username"
groups_claim = "roles"
allowed_groups = ["staff", "admins"]
allowed_email_domains = ["Example.COM", "corp.example.org"]
ca_file = "ca.pem"
lazy = true
refresh = true
clock_skew = "10m"
http_timeout = "3s"
discovery_interval = "1m"
display_name = "Example ID"
post_logout_redirect = "https://www.example.com/bye"
redirect_url = "https://app.example.com/.sesame/oidc/callback"
backchannel_logout = false
)"));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  const OidcProviderConfig& p = r.config->oidc.at(0);
  CHECK(p.scopes == std::vector<std::string>{"openid", "email", "groups"});
  CHECK(p.user_claim == "preferred_username");
  CHECK(p.groups_claim == "roles");
  CHECK(p.allowed_groups == std::vector<std::string>{"staff", "admins"});
  CHECK(p.allowed_email_domains == std::vector<std::string>{"example.com", "corp.example.org"});
  CHECK(p.ca_file == dir.path() + "/ca.pem");
  CHECK(p.lazy);
  CHECK(p.refresh);
  CHECK(p.clock_skew == config::Duration{600'000});
  CHECK(p.http_timeout == config::Duration{3'000});
  CHECK(p.discovery_interval == config::Duration{60'000});
  CHECK(p.display_name == "Example ID");
  CHECK(p.post_logout_redirect == "https://www.example.com/bye");
  CHECK(p.redirect_url == "https://app.example.com/.sesame/oidc/callback");
  CHECK_FALSE(p.backchannel_logout);
}

TEST_CASE("[oidc] keeps an explicit login_url and follows [login] after_logout", "[config][oidc]") {
  OidcDir dir;
  writeWithMode(dir, "users", "");
  LoadResult r = dir.load(withOidc(kProvider, std::string(kSession) +
                                                  "login_url = \"/signin\"\n[login]\nusers_file = "
                                                  "\"users\"\nafter_logout = \"/goodbye\"\n"));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  CHECK(r.config->session->login_url == "/signin");
  CHECK(r.config->oidc.at(0).post_logout_redirect == "/goodbye");
}

TEST_CASE("[oidc.NAME] tables are providers in file order", "[config][oidc]") {
  OidcDir dir;
  LoadResult r = dir.load(withOidc(R"([oidc.zeta]
issuer = "https://zeta.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"

[oidc.alpha_1]
issuer = "https://accounts.example.org/"
client_id = "sesame"
client_secret_file = "oidc-secret"
display_name = "Alpha"
)"));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->oidc.size() == 2);
  CHECK(r.config->oidc[0].name == "zeta");
  CHECK(r.config->oidc[0].display_name == "zeta");
  CHECK(r.config->oidc[1].name == "alpha_1");
  CHECK(r.config->oidc[1].issuer == "https://accounts.example.org/");
  CHECK(r.config->oidc[1].display_name == "Alpha");
}

TEST_CASE("[oidc] settings and [oidc.NAME] tables do not mix", "[config][oidc]") {
  OidcDir dir;
  // [oidc.corp] is line 16; a route naming it is not reported as well.
  LoadResult r = dir.load(withOidc(std::string(kProvider) + R"([oidc.corp]
issuer = "https://corp.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"

[[route]]
path = "/corp/"
upstream = "app"
provider = "corp"
)"));
  REQUIRE_FALSE(r.config);
  INFO(joinErrors(r));
  CHECK(hasError(r, "16:7", "oidc.corp", "both settings", "one [oidc.NAME] table per provider"));
  CHECK(r.errors.size() == 1);
}

TEST_CASE("[oidc.NAME] names are checked, duplicates refused", "[config][oidc]") {
  OidcDir dir;
  SECTION("a name with upper case") {
    LoadResult r = dir.load(withOidc(R"([oidc.Corp]
issuer = "https://corp.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
)"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:7", "oidc.Corp: provider names are 1 to 27 of a-z"));
  }
  SECTION("a name too long for the sessions' recorded method (\"oidc:\" + name, 32 bytes)") {
    const std::string name(28, 'a');
    LoadResult r = dir.load(withOidc("[oidc." + name + R"(]
issuer = "https://corp.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
)"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:7", "provider names are 1 to 27 of a-z"));
    CHECK(dir.load(withOidc("[oidc." + name.substr(1) + R"(]
issuer = "https://corp.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
)"))
              .config);
  }
  SECTION("the same issuer and client twice") {
    LoadResult r = dir.load(withOidc(R"([oidc.a]
issuer = "https://id.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
[oidc.b]
issuer = "https://id.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
)"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "16:1", "oidc.b has the same issuer and client_id as oidc.a"));
  }
}

TEST_CASE("[oidc] required keys", "[config][oidc]") {
  OidcDir dir;
  LoadResult r = dir.load(withOidc("[oidc]\nlazy = true\n"));
  REQUIRE_FALSE(r.config);
  INFO(joinErrors(r));
  CHECK(hasError(r, "12:1", "oidc.issuer is missing", "https://"));
  CHECK(hasError(r, "12:1", "oidc.client_id is missing"));
  CHECK(hasError(r, "12:1", "oidc.client_secret_file is missing", "client_key_file"));
  CHECK(r.errors.size() == 3);
}

TEST_CASE("[oidc] issuer must be an https URL without query or fragment", "[config][oidc]") {
  OidcDir dir;
  auto issuer = [&](std::string_view value) {
    return dir.load(withOidc("[oidc]\nissuer = \"" + std::string(value) +
                             "\"\nclient_id = \"sesame\"\nclient_secret_file = \"oidc-secret\"\n"));
  };
  for (std::string_view bad :
       {"http://id.example.com", "https://id.example.com/?x=1", "https://id.example.com#f",
        "https://user@id.example.com", "https://", "https://id.example.com:0",
        "https://id.example.com:99999", "https://id example.com", "id.example.com"}) {
    INFO(bad);
    LoadResult r = issuer(bad);
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "13:10", "oidc.issuer", "\"iss\""));
  }
  for (std::string_view good :
       {"https://id.example.com:8443/realms/main", "https://[::1]:8443", "https://127.0.0.1"}) {
    INFO(good);
    LoadResult r = issuer(good);
    INFO(joinErrors(r));
    CHECK(r.config);
  }
}

TEST_CASE("[oidc] client authentication is exactly one of three", "[config][oidc]") {
  OidcDir dir;
  SECTION("two secrets given") {
    LoadResult r = dir.load(withOidc(std::string(kProvider) + "client_secret = \"inline\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:22", "oidc.client_secret and oidc.client_secret_file are both set"));
    CHECK(r.errors.size() == 1);
  }
  SECTION("an inline secret is accepted and never quoted in messages") {
    LoadResult r = dir.load(
        withOidc("[oidc]\nissuer = \"https://id.example.com\"\nclient_id = \"c\"\nclient_secret = "
                 "\"inline-secret\"\n"));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->oidc[0].client_secret == "inline-secret");
    CHECK(r.config->oidc[0].client_secret_file.empty());
  }
  SECTION("an empty inline secret") {
    LoadResult r = dir.load(withOidc(
        "[oidc]\nissuer = \"https://id.example.com\"\nclient_id = \"c\"\nclient_secret = \"\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:17", "oidc.client_secret must be the non-empty secret"));
  }
  SECTION("client_key_id without client_key_file") {
    LoadResult r = dir.load(withOidc(std::string(kProvider) + "client_key_id = \"k1\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "16:17", "oidc.client_key_id only applies with client_key_file"));
  }
}

TEST_CASE("[oidc] client_secret_file is one private line", "[config][oidc]") {
  TempDir dir;
  SECTION("missing file") {
    LoadResult r = dir.load(withOidc(kProvider));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:22", "oidc.client_secret_file", "oidc-secret\" does not exist"));
  }
  SECTION("a directory") {
    std::filesystem::create_directory(dir.path() + "/oidc-secret");
    LoadResult r = dir.load(withOidc(kProvider));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:22", "is not a regular file"));
  }
  SECTION("readable by others") {
    writeWithMode(dir, "oidc-secret", "s3cr3t\n", 0644);
    LoadResult r = dir.load(withOidc(kProvider));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:22", "has mode 0644: other users may use it", "chmod o-rwx"));
  }
  SECTION("group-readable is fine, CRLF is not part of the secret") {
    writeWithMode(dir, "oidc-secret", "s3cr3t\r\n", 0640);
    LoadResult r = dir.load(withOidc(kProvider));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->oidc[0].client_secret == "s3cr3t");
  }
  SECTION("two lines, and an empty file") {
    writeWithMode(dir, "oidc-secret", "one\ntwo\n");
    LoadResult r = dir.load(withOidc(kProvider));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:22", "holds more than one line"));
    CHECK(r.errors.at(0).find("one") == r.errors.at(0).find("one line"));  // content not shown
    writeWithMode(dir, "oidc-secret", "");
    r = dir.load(withOidc(kProvider));
    REQUIRE_FALSE(r.config);
    CHECK(hasError(r, "15:22", "is empty"));
  }
  SECTION("read again at each load, as a reload does") {
    writeWithMode(dir, "oidc-secret", "first\n");
    LoadResult r = dir.load(withOidc(kProvider));
    REQUIRE(r.config);
    CHECK(r.config->oidc[0].client_secret == "first");
    writeWithMode(dir, "oidc-secret", "second\n");
    r = dir.load(withOidc(kProvider));
    REQUIRE(r.config);
    CHECK(r.config->oidc[0].client_secret == "second");
  }
}

TEST_CASE("[oidc] client_key_file for private_key_jwt", "[config][oidc]") {
  TempDir dir;
  auto load = [&](std::string_view extra = "") {
    return dir.load(withOidc(
        "[oidc]\nissuer = \"https://id.example.com\"\nclient_id = \"c\"\nclient_key_file = "
        "\"client.key\"\n" +
        std::string(extra)));
  };
  SECTION("RSA 2048 signs RS256, with a kid") {
    auto key = config::testing::makeRsaKey(2048);
    std::string pem = tls::testing::toPem(key.get());
    writeKey(dir, "client.key", key.get());
    LoadResult r = load("client_key_id = \"sesame-2026\"\n");
    INFO(joinErrors(r));
    REQUIRE(r.config);
    const OidcProviderConfig& p = r.config->oidc[0];
    CHECK(p.client_key_pem == pem);
    CHECK(p.client_key_alg == "RS256");
    CHECK(p.client_key_id == "sesame-2026");
    CHECK(p.client_key_file == dir.path() + "/client.key");
    CHECK(p.client_secret.empty());
  }
  SECTION("P-256 signs ES256, Ed25519 EdDSA") {
    writeKey(dir, "client.key", config::testing::makeEcKey("P-256").get());
    LoadResult r = load();
    INFO(joinErrors(r));
    REQUIRE(r.config);
    CHECK(r.config->oidc[0].client_key_alg == "ES256");
    writeKey(dir, "client.key", config::testing::makeEd25519Key().get());
    r = load();
    REQUIRE(r.config);
    CHECK(r.config->oidc[0].client_key_alg == "EdDSA");
  }
  SECTION("RSA 1024 is refused") {
    writeKey(dir, "client.key", config::testing::makeRsaKey(1024).get());
    LoadResult r = load();
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:19", "oidc.client_key_file", "is an RSA key of 1024 bits",
                   "use RSA (at least 2048 bits), EC P-256 or Ed25519", "openssl genpkey"));
  }
  SECTION("a key others may read is refused") {
    writeKey(dir, "client.key", config::testing::makeEcKey("P-256").get(), 0604);
    LoadResult r = load();
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:19", "has mode 0604"));
  }
}

TEST_CASE("[oidc] scopes must contain openid", "[config][oidc]") {
  OidcDir dir;
  SECTION("without openid") {
    LoadResult r =
        dir.load(withOidc(std::string(kProvider) + "scopes = [\"profile\", \"email\"]\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "16:10", "oidc.scopes must contain \"openid\""));
  }
  SECTION("a scope twice, a scope with a space") {
    LoadResult r =
        dir.load(withOidc(std::string(kProvider) + "scopes = [\"openid\", \"openid\", \"a b\"]\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "16:21", "oidc.scopes[1] \"openid\" is listed twice"));
    CHECK(hasError(r, "16:31", "oidc.scopes[2] \"a b\" is not a scope"));
  }
}

TEST_CASE("[oidc] value checks", "[config][oidc]") {
  OidcDir dir;
  auto one = [&](std::string_view line) {
    return dir.load(withOidc(std::string(kProvider) + std::string(line) + "\n"));
  };
  struct Case {
    std::string_view line;
    std::string_view position;
    std::string_view message;
  };
  for (const Case& c : {
           Case{"allowed_email_domains = [\"@example.com\"]", "16:26",
                "without \"@\", such as \"example.com\""},
           Case{"allowed_email_domains = [\"exa mple.com\"]", "16:26", "is not a domain name"},
           Case{"allowed_groups = [\"a,b\"]", "16:19", "without \",\""},
           Case{"user_claim = \"\"", "16:14", "oidc.user_claim must be 1 to 1024 bytes"},
           Case{"clock_skew = \"11m\"", "16:14", "oidc.clock_skew must be at most \"10m\""},
           Case{"http_timeout = \"0s\"", "16:16", "oidc.http_timeout must be greater than zero"},
           Case{"http_timeout = \"6m\"", "16:16", "at most \"5m\""},
           Case{"discovery_interval = \"59s\"", "16:22", "at least \"1m\""},
           Case{"display_name = \"a\\tb\"", "16:16", "oidc.display_name must be at most 200 bytes"},
           Case{"post_logout_redirect = \"http://www.example.com/\"", "16:24",
                "a path starting with a single \"/\" or an https:// URL"},
           Case{"post_logout_redirect = \"//evil.example\"", "16:24", "single \"/\""},
           Case{"redirect_url = \"https://app.example.com/callback\"", "16:16",
                "must end with \"/.sesame/oidc/callback\""},
           Case{"redirect_url = \"http://app.example.com/.sesame/oidc/callback\"", "16:16",
                "must start with \"https://\""},
           Case{"ca_file = \"nowhere.pem\"", "16:11", "nowhere.pem\" does not exist"},
           Case{"ca_file = \"oidc-secret\"", "16:11", "holds no PEM certificate"},
           Case{"lazy = \"yes\"", "16:8", "oidc.lazy: expected a boolean"},
           Case{"issuer_url = \"x\"", "16:1", "unknown key oidc.issuer_url"},
       }) {
    INFO(c.line);
    LoadResult r = one(c.line);
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, std::string(c.position), std::string(c.message)));
    CHECK(r.errors.size() == 1);
  }
}

TEST_CASE("[oidc] needs a server-side session store", "[config][oidc]") {
  OidcDir dir;
  SECTION("no [session]") {
    LoadResult r = dir.load(std::string(kMinimal) + std::string(kProvider));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "10:1", "[oidc] needs a [session] table"));
  }
  SECTION("the cookie store") {
    LoadResult r = dir.load(withOidc(kProvider, std::string(kSession) + "store = \"cookie\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:9", "tokens are never put in a cookie",
                   "use store = \"memory\" or \"redis\""));
  }
  SECTION("SameSite=Strict: the provider's redirect back would come without the cookie") {
    LoadResult r =
        dir.load(withOidc(kProvider, std::string(kSession) + "same_site = \"Strict\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "12:13", "same_site = \"Strict\" cannot be used with [oidc]", "use \"Lax\""));
  }
  SECTION("redis is fine") {
    LoadResult r = dir.load(withOidc(kProvider, std::string(kSession) + "store = \"redis\"\n"));
    INFO(joinErrors(r));
    CHECK(r.config);
  }
}

TEST_CASE("[[route]] provider names a configured provider", "[config][oidc]") {
  OidcDir dir;
  const std::string two = R"([oidc.corp]
issuer = "https://corp.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
[oidc.google]
issuer = "https://accounts.google.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
)";  // lines 12 to 19; the route is at 20
  SECTION("resolved to an index; auth defaults to required") {
    LoadResult r = dir.load(
        withOidc(two + "[[route]]\npath = \"/g/\"\nupstream = \"app\"\nprovider = \"google\"\n"));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    const session::RoutePolicy& policy = r.config->routes.at(1).policy;
    CHECK(policy.provider == std::optional<size_t>(1));
    CHECK(policy.auth == session::Auth::kRequired);
    CHECK_FALSE(policy.bearer);
    CHECK_FALSE(r.config->routes.at(0).policy.provider);
  }
  SECTION("unknown provider") {
    LoadResult r = dir.load(
        withOidc(two + "[[route]]\npath = \"/g/\"\nupstream = \"app\"\nprovider = \"okta\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "23:12", "route[1].provider \"okta\" is not defined",
                   "defined: \"corp\", \"google\""));
  }
  SECTION("the lone [oidc] table is \"default\"") {
    LoadResult r = dir.load(withOidc(std::string(kProvider) +
                                     "[[route]]\npath = \"/g/\"\nupstream = \"app\"\nprovider = "
                                     "\"corp\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "19:12", "defined: \"default\", the name of a lone [oidc] table"));
  }
  SECTION("without [oidc]") {
    LoadResult r = dir.load(std::string(kMinimal) + std::string(kSession) +
                            "[[route]]\npath = \"/g/\"\nupstream = \"app\"\nprovider = \"corp\"\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:12", "route[1].provider needs an [oidc] table"));
  }
  SECTION("auth other than required") {
    LoadResult r =
        dir.load(withOidc(two + "[[route]]\npath = \"/g/\"\nupstream = \"app\"\nprovider = "
                                "\"corp\"\nauth = \"session\"\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "24:8", "route[1].auth = \"session\" cannot be used with provider or bearer",
                   "write auth = \"required\""));
  }
}

TEST_CASE("[[route]] bearer tokens", "[config][oidc]") {
  OidcDir dir;
  // The route starts at line 16, its keys from 19.
  const std::string route =
      std::string(kProvider) + "[[route]]\npath = \"/api/\"\nupstream = \"app\"\n";
  SECTION("one provider is the route's; audience as a string or an array") {
    LoadResult r = dir.load(withOidc(
        route + "bearer = true\nbearer_audience = \"api://orders\"\nbearer_only = true\n"));
    INFO(joinErrors(r));
    REQUIRE(r.config);
    const session::RoutePolicy& policy = r.config->routes.at(1).policy;
    CHECK(policy.bearer);
    CHECK(policy.bearer_only);
    CHECK(policy.provider == std::optional<size_t>(0));
    CHECK(policy.auth == session::Auth::kRequired);
    CHECK(policy.bearer_audience == std::vector<std::string>{"api://orders"});
    r = dir.load(withOidc(route + "bearer = true\nbearer_audience = [\"a\", \"b\"]\n"));
    REQUIRE(r.config);
    CHECK(r.config->routes.at(1).policy.bearer_audience == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(r.config->routes.at(1).policy.bearer_only);
  }
  SECTION("bearer without audience") {
    LoadResult r = dir.load(withOidc(route + "bearer = true\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "19:10", "route[1].bearer = true needs bearer_audience", "api://orders"));
  }
  SECTION("an empty audience list, an empty audience") {
    LoadResult r = dir.load(withOidc(route + "bearer = true\nbearer_audience = []\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "20:19", "non-empty array", "got an empty array"));
    r = dir.load(withOidc(route + "bearer = true\nbearer_audience = [\"\"]\n"));
    REQUIRE_FALSE(r.config);
    CHECK(hasError(r, "20:20", "route[1].bearer_audience[0] must be a non-empty string"));
  }
  SECTION("bearer without [oidc]") {
    LoadResult r = dir.load(std::string(kMinimal) + std::string(kSession) +
                            "[[route]]\npath = \"/api/\"\nupstream = \"app\"\nbearer = true\n"
                            "bearer_audience = \"x\"\n");
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "15:10", "route[1].bearer = true needs an [oidc] table"));
  }
  SECTION("audience and bearer_only without bearer") {
    LoadResult r = dir.load(withOidc(route + "bearer_audience = \"x\"\nbearer_only = true\n"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "19:19", "bearer_audience only applies with bearer = true"));
    CHECK(hasError(r, "20:15", "bearer_only = true needs bearer = true"));
  }
  SECTION("several providers: bearer names one") {
    LoadResult r = dir.load(withOidc(R"([oidc.a]
issuer = "https://a.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
[oidc.b]
issuer = "https://b.example.com"
client_id = "sesame"
client_secret_file = "oidc-secret"
[[route]]
path = "/api/"
upstream = "app"
bearer = true
bearer_audience = "x"
)"));
    REQUIRE_FALSE(r.config);
    INFO(joinErrors(r));
    CHECK(hasError(r, "23:10", "several [oidc.NAME] providers", "provider = \"a\""));
  }
}

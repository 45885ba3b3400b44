#include <catch2/catch.hpp>

#include "temp_config.h"

using namespace sesame;
using config::LoadResult;
using config::testing::hasError;
using config::testing::joinErrors;
using config::testing::kMinimal;
using config::testing::TempDir;

namespace {

constexpr std::string_view kSession =
    "[session]\nsecrets = [\"0123456789abcdef0123456789abcdef\"]\n";
// "pw" under yescrypt, made with mkpasswd.
constexpr std::string_view kAliceLine =
    "alice:$y$j9T$abcdefghijklmnop$wRwvHNqzMkHLG74uLLCRVTwaZ.a1aIothEUeYGf9oED:admins\n";

std::string withLogin(std::string_view login, std::string_view session = kSession) {
  return std::string(kMinimal) + std::string(session) + "[login]\n" + std::string(login);
}

}  // namespace

TEST_CASE("[login] reads the users file and sets the defaults", "[config][login]") {
  TempDir dir;
  dir.write("users", kAliceLine);
  LoadResult r = dir.load(withLogin("users_file = \"users\"\n"));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->login);
  const config::LoginConfig& login = *r.config->login;
  CHECK(login.users_file == dir.path() + "/users");
  REQUIRE(login.users);
  REQUIRE(login.users->find("alice") != nullptr);
  CHECK(login.users->find("alice")->groups == std::vector<std::string>{"admins"});
  CHECK(login.max_failures == 5);
  CHECK(login.failure_window == std::chrono::minutes(15));
  CHECK(login.title == "Sign in");
  CHECK(login.page_template.empty());
  CHECK(r.config->session->login_url == "/.sesame/login");
}

TEST_CASE("[login] keeps an explicit login_url and reads every key", "[config][login]") {
  TempDir dir;
  dir.write("users", kAliceLine);
  dir.write("form.html", "<form action=\"{{action}}\"><input name=csrf value=\"{{csrf}}\"></form>");
  LoadResult r = dir.load(withLogin(
      "users_file = \"users\"\nmax_failures = 3\nfailure_window = \"1m\"\ntitle = \"Acme\"\n"
      "template = \"form.html\"\nafter_logout = \"https://www.example.com/\"\n"
      "forward_auth_hosts = [\"App.Example.com\", \"b.example.com:8443\"]\nexpose_data = true\n"
      "hash_threads = 4\nhash_queue = 10\n",
      std::string(kSession) + "login_url = \"/signin\"\nmax_per_user = 3\n"));
  INFO(joinErrors(r));
  REQUIRE(r.config);
  const config::LoginConfig& login = *r.config->login;
  CHECK(r.config->session->login_url == "/signin");
  CHECK(r.config->session->max_per_user == 3);
  CHECK(login.max_failures == 3);
  CHECK(login.failure_window == std::chrono::minutes(1));
  CHECK(login.title == "Acme");
  CHECK(login.page_template.find("{{csrf}}") != std::string::npos);
  CHECK(login.after_logout == "https://www.example.com/");
  CHECK(login.forward_auth_hosts ==
        std::vector<std::string>{"app.example.com", "b.example.com:8443"});
  CHECK(login.expose_data);
  CHECK(login.hash_threads == 4);
  CHECK(login.hash_queue == 10);
}

TEST_CASE("[login] errors tell the operator what to fix", "[config][login]") {
  TempDir dir;
  dir.write("users", kAliceLine);
  SECTION("without [session]") {
    LoadResult r = dir.load(std::string(kMinimal) + "[login]\nusers_file = \"users\"\n");
    CHECK(hasError(r, "10:1", "[login] needs a [session] table"));
  }
  SECTION("no users_file") {
    LoadResult r = dir.load(withLogin("title = \"x\"\n"));
    CHECK(hasError(r, "12:1", "users_file", "hash-password"));
  }
  SECTION("a users file that does not exist") {
    LoadResult r = dir.load(withLogin("users_file = \"nope\"\n"));
    CHECK(hasError(r, "13:14", "does not exist"));
  }
  SECTION("errors inside the users file name its lines, after the configuration's") {
    dir.write("bad",
              "ok:$y$j9T$abcdefghijklmnop$wRwvHNqzMkHLG74uLLCRVTwaZ.a1aIothEUeYGf9oED\n"
              "plain:secret\n");
    LoadResult r = dir.load(withLogin("users_file = \"bad\"\nmax_failures = 0\n"));
    REQUIRE(r.errors.size() == 2);
    CHECK(r.errors[0].find("sesame.toml:14:") != std::string::npos);
    CHECK(r.errors[1].starts_with(dir.path() + "/bad:2: "));
    CHECK(r.errors[1].find("secret") == std::string::npos);
  }
  SECTION("a template without {{csrf}}") {
    dir.write("form.html", "<form></form>");
    LoadResult r = dir.load(withLogin("users_file = \"users\"\ntemplate = \"form.html\"\n"));
    CHECK(hasError(r, "14:12", "login.template", "csrf"));
  }
  SECTION("after_logout that is neither a path nor a URL") {
    LoadResult r = dir.load(withLogin("users_file = \"users\"\nafter_logout = \"//evil\"\n"));
    CHECK(hasError(r, "14:16", "after_logout"));
  }
  SECTION("a forward-auth host with a scheme") {
    LoadResult r =
        dir.load(withLogin("users_file = \"users\"\nforward_auth_hosts = [\"https://a.b\"]\n"));
    CHECK(hasError(r, "14:23", "not a host name"));
  }
  SECTION("max_per_user with the cookie store") {
    LoadResult r = dir.load(std::string(kMinimal) + std::string(kSession) +
                            "store = \"cookie\"\nmax_per_user = 2\n");
    CHECK(hasError(r, "13:16", "max_per_user", "cookie"));
  }
  SECTION("unknown keys") {
    LoadResult r = dir.load(withLogin("users_file = \"users\"\nusers = \"x\"\n"));
    CHECK(hasError(r, "14:1", "users"));
  }
}

TEST_CASE("a route cannot claim sesame's own paths", "[config][login]") {
  TempDir dir;
  for (const char* path : {"/.sesame/", "/.sesame", "/.sesame/login"}) {
    LoadResult r = dir.load(std::string(kMinimal) + "[[route]]\npath = \"" + path +
                            "\"\nupstream = \"app\"\n");
    INFO(joinErrors(r));
    CHECK(hasError(r, "11:8", "sesame's own"));
  }
  LoadResult ok = dir.load(std::string(kMinimal) +
                           "[[route]]\npath = \"/.sesame-docs/\"\nupstream = \"app\"\n");
  INFO(joinErrors(ok));
  CHECK(ok.config);
}

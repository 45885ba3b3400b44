#include "sesame/auth/users.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_hashes.h"

namespace sesame::auth {
namespace {

using namespace testing;

std::string line(std::string_view name, std::string_view hash, std::string_view groups = {}) {
  std::string out = std::string(name) + ":" + std::string(hash);
  if (!groups.empty()) out += ":" + std::string(groups);
  return out + "\n";
}

// The one error of a file that must be refused.
std::string onlyError(std::string_view text) {
  const UsersLoad load = parseUsers(text, "users");
  CHECK(load.users == nullptr);
  REQUIRE(load.errors.size() == 1);
  return load.errors[0];
}

const std::string kHowTo =
    "make a new hash with `sesame hash-password`, `mkpasswd -m yescrypt` or `htpasswd -B`";

TEST_CASE("a users file with every supported kind, groups, comments and blanks", "[auth][users]") {
  const std::string text = "# sesame users\n\n" + line("alice", kYescrypt, "admin,ops") +
                           "   # indented comment\n" + line("bob", kBcrypt2y) + "\t \n" +
                           line("Carol Smith", kSha512Rounds, "staff") + line("dave", kSha256) +
                           line("erin", kBcrypt2b, " a , b,,a ,");
  const UsersLoad load = parseUsers(text, "users");
  REQUIRE(load.errors.empty());
  REQUIRE(load.users);
  const Users& users = *load.users;
  CHECK(users.size() == 5);
  const User* alice = users.find("alice");
  REQUIRE(alice);
  CHECK(alice->name == "alice");
  CHECK(alice->hash == kYescrypt);
  CHECK(alice->kind == HashKind::kYescrypt);
  CHECK(alice->groups == std::vector<std::string>{"admin", "ops"});
  CHECK(users.find("bob")->kind == HashKind::kBcrypt);
  CHECK(users.find("bob")->groups.empty());
  CHECK(users.find("Carol Smith")->kind == HashKind::kSha512);
  CHECK(users.find("dave")->kind == HashKind::kSha256);
  // White space around groups is dropped, empty ones skipped, repeats kept once.
  CHECK(users.find("erin")->groups == std::vector<std::string>{"a", "b"});
}

TEST_CASE("find is exact and case-sensitive", "[auth][users]") {
  const UsersLoad load = parseUsers(line("alice", kYescrypt), "users");
  REQUIRE(load.users);
  CHECK(load.users->find("alice"));
  CHECK_FALSE(load.users->find("Alice"));
  CHECK_FALSE(load.users->find("alice "));
  CHECK_FALSE(load.users->find("alic"));
  CHECK_FALSE(load.users->find(""));
}

TEST_CASE("CRLF line ends, trailing white space, a BOM and no final newline are accepted",
          "[auth][users]") {
  const std::string text = "\xEF\xBB\xBF" + std::string("alice:") + kYescrypt + ":admin \r\n" +
                           "bob:" + kSha256 + "\t\r\n" + "carol:" + kBcrypt2b;
  const UsersLoad load = parseUsers(text, "users");
  REQUIRE(load.errors.empty());
  REQUIRE(load.users);
  CHECK(load.users->size() == 3);
  CHECK(load.users->find("alice")->groups == std::vector<std::string>{"admin"});
  CHECK(load.users->find("bob")->hash == kSha256);
  CHECK(load.users->find("carol")->hash == kBcrypt2b);
}

TEST_CASE("an empty users file is valid and nobody can sign in", "[auth][users]") {
  for (const char* text : {"", "\n", "# nobody yet\n", "  \r\n\t\n"}) {
    const UsersLoad load = parseUsers(text, "users");
    REQUIRE(load.errors.empty());
    REQUIRE(load.users);
    CHECK(load.users->size() == 0);
    // A real yescrypt hash at the default cost, so an unknown name costs a default check.
    CHECK(hashKind(load.users->dummyHash()) == HashKind::kYescrypt);
    CHECK(load.users->dummyHash().starts_with("$y$j9T$"));
    CHECK(load.users->dummyHash().size() == 73);
    CHECK_FALSE(verifyPassword("", load.users->dummyHash()));
  }
}

TEST_CASE("the dummy hash is a real user's hash of the most common kind and cost",
          "[auth][users]") {
  SECTION("bcrypt cost 5 outnumbers the rest") {
    const std::string text = line("a", kYescrypt) + line("b", kBcrypt2y) + line("c", kBcrypt2b) +
                             line("d", kBcryptCost12) + line("e", kSha512);
    const UsersLoad load = parseUsers(text, "users");
    REQUIRE(load.users);
    CHECK(load.users->dummyHash() == kBcrypt2y);  // the first of the two at cost 5
  }
  SECTION("yescrypt costs count apart") {
    const std::string text = line("a", kYescrypt) + line("b", kYescryptCost3) +
                             line("c", kYescryptCost7) + line("d", kYescryptCost3Other);
    const UsersLoad load = parseUsers(text, "users");
    REQUIRE(load.users);
    CHECK(load.users->dummyHash() == kYescryptCost3);
  }
  SECTION("sha512crypt rounds count apart; a tie goes to the first in the file") {
    const std::string text = line("a", kSha512Rounds) + line("b", kSha512) +
                             line("c", kPySha512Rounds) + line("d", kSha256);
    const UsersLoad load = parseUsers(text, "users");
    REQUIRE(load.users);
    CHECK(load.users->dummyHash() == kSha512Rounds);
  }
}

TEST_CASE("unsupported hashes are named, with what to do, and never quoted", "[auth][users]") {
  struct Case {
    std::string hash;
    std::string what;
  };
  const std::vector<Case> cases{
      {kSha1, "{SHA} hashes (htpasswd -s: unsalted SHA-1)"},
      {"{SSHA}c2VjcmV0c2FsdA==", "{SSHA} hashes (salted SHA-1, from LDAP)"},
      {kApr1, "$apr1$ hashes (htpasswd -m: Apache's MD5)"},
      {kMd5crypt, "$1$ hashes (md5crypt)"},
      {kBcrypt2a, "$2a$ and $2x$ hashes (old bcrypt variants)"},
      {kDes, "DES crypt hashes (htpasswd -d)"},
      {"_J9..CCCCXBrJUJV154M", "BSDi DES crypt hashes"},
      {kScrypt, "$7$ hashes (a crypt(3) kind sesame does not check)"},
      {kGostYescrypt, "$gy$ hashes (a crypt(3) kind sesame does not check)"},
      {"!" + std::string(kYescrypt),
       "locked entries ('!' or '*' as in /etc/shadow; delete the line instead)"},
      {"*", "locked entries ('!' or '*' as in /etc/shadow; delete the line instead)"},
      {"correct horse battery staple",
       "plain-text passwords (this is not a hash; store hashes only)"},
      {"hunter2", "plain-text passwords (this is not a hash; store hashes only)"},
      {"$$$", "plain-text passwords (this is not a hash; store hashes only)"},
  };
  for (const Case& c : cases) {
    INFO(c.hash);
    const std::string error = onlyError("# users\n" + line("alice", c.hash, "admin"));
    CHECK(error == "users:2: user \"alice\": " + c.what + " are not supported; " + kHowTo);
    if (c.hash.size() > 3) CHECK(error.find(c.hash.substr(3)) == std::string::npos);
  }
}

TEST_CASE("malformed hashes of supported kinds are refused", "[auth][users]") {
  std::string cut = kYescrypt;
  cut.pop_back();
  std::string bad_char = kSha256;
  bad_char[10] = '!';
  const std::vector<std::pair<std::string, std::string>> cases{
      {cut, "yescrypt"},
      {"$y$j9T$", "yescrypt"},
      {"$y$$salt$" + std::string(43, 'a'), "yescrypt"},
      {std::string(kBcrypt2b) + "x", "bcrypt"},
      {"$2b$03$" + std::string(53, 'a'), "bcrypt"},
      {"$2b$32$" + std::string(53, 'a'), "bcrypt"},
      {"$2y$5$" + std::string(54, 'a'), "bcrypt"},
      {bad_char, "sha256crypt"},
      {"$6$rounds=$salt$" + std::string(86, 'a'), "sha512crypt"},
      {"$6$rounds=5000$" + std::string(86, 'a'), "sha512crypt"},
      {"$6$" + std::string(17, 's') + "$" + std::string(86, 'a'), "sha512crypt"},
      {"$5$salt$" + std::string(86, 'a'), "sha256crypt"},
  };
  for (const auto& [hash, kind] : cases) {
    INFO(hash);
    CHECK(onlyError(line("bob", hash)) == "users:1: user \"bob\": the " + kind +
                                              " hash is malformed (cut short or edited?); " +
                                              kHowTo);
  }
}

TEST_CASE("user name errors", "[auth][users]") {
  const std::string hash = kYescrypt;
  CHECK(onlyError(":" + hash + "\n") ==
        "users:1: no user name before the ':' (lines are user:hash or user:hash:group,group)");
  CHECK(onlyError("alice\n") ==
        "users:1: no ':' after the user name (lines are user:hash or user:hash:group,group)");
  // A line with no ':' may be a password pasted on its own: it is not quoted.
  CHECK(onlyError("hunter2\n").find("hunter2") == std::string::npos);
  CHECK(onlyError(std::string(257, 'u') + ":" + hash) ==
        "users:1: the user name is longer than 256 bytes");
  CHECK(parseUsers(std::string(256, 'u') + ":" + hash, "users").users);
  CHECK(onlyError("al\tice:" + hash) ==
        "users:1: the user name holds a control character (a tab?); use printable characters");
  CHECK(onlyError(std::string("al\x7f") + "ice:" + hash) ==
        "users:1: the user name holds a control character (a tab?); use printable characters");
  CHECK(onlyError(std::string("al\0ice:", 7) + hash) ==
        "users:1: the user name holds a control character (a tab?); use printable characters");
  CHECK(onlyError(" alice:" + hash) ==
        "users:1: user \" alice\" starts or ends with a space; remove it");
  CHECK(onlyError("alice :" + hash) ==
        "users:1: user \"alice \" starts or ends with a space; remove it");
  // Names are bytes: UTF-8 and punctuation are fine.
  const UsersLoad load = parseUsers("jürgen@example.org:" + hash + "\n", "users");
  REQUIRE(load.users);
  CHECK(load.users->find("jürgen@example.org"));
}

TEST_CASE("hash field errors", "[auth][users]") {
  CHECK(onlyError("alice:\n") == "users:1: user \"alice\" has no password hash; " + kHowTo);
  CHECK(onlyError("alice::admin\n") == "users:1: user \"alice\" has no password hash; " + kHowTo);
  CHECK(onlyError("alice: " + std::string(kYescrypt)) ==
        "users:1: user \"alice\": white space around the hash; remove it");
  CHECK(onlyError("alice:" + std::string(kYescrypt) + " :admin") ==
        "users:1: user \"alice\": white space around the hash; remove it");
}

TEST_CASE("group errors", "[auth][users]") {
  const std::string hash = kYescrypt;
  CHECK(onlyError(line("alice", hash, "admin,my group")) ==
        "users:1: user \"alice\": group 2 is not 1-64 visible ASCII characters (no spaces, "
        "control characters or ',')");
  CHECK(onlyError(line("alice", hash, std::string(65, 'g'))) ==
        "users:1: user \"alice\": group 1 is not 1-64 visible ASCII characters (no spaces, "
        "control characters or ',')");
  CHECK(onlyError(line("alice", hash, "admin:ops")) ==
        "users:1: user \"alice\": a ':' after the groups (lines are user:hash:group,group)");
  CHECK(onlyError(line("alice", hash, "gr\xc3\xbcn")) ==
        "users:1: user \"alice\": group 1 is not 1-64 visible ASCII characters (no spaces, "
        "control characters or ',')");
  std::string groups;
  for (int i = 0; i < 64; ++i) groups += "g" + std::to_string(i) + ",";
  const UsersLoad ok = parseUsers(line("alice", hash, groups + "g0"), "users");
  REQUIRE(ok.users);
  CHECK(ok.users->find("alice")->groups.size() == 64);
  CHECK(onlyError(line("alice", hash, groups + "g64")) ==
        "users:1: user \"alice\" has more than 64 groups");
  CHECK(parseUsers(line("alice", hash, std::string(64, 'g')), "users").users);
  CHECK(parseUsers("alice:" + hash + ":\n", "users").users);
}

TEST_CASE("a user listed twice is refused with both lines", "[auth][users]") {
  const std::string text =
      line("alice", kYescrypt) + "# again:\n" + line("bob", kSha256) + line("alice", kBcrypt2b);
  CHECK(onlyError(text) ==
        "users:4: user \"alice\" is listed again (first on line 1); keep one line per user");
}

TEST_CASE("every error is reported with its line; past 20 they are counted", "[auth][users]") {
  const std::string text = line("alice", kApr1) + line("ok", kYescrypt) + "bob\n" +
                           line("carol", "plain") + line("ok", kSha256);
  const UsersLoad load = parseUsers(text, "/etc/sesame/users");
  CHECK(load.users == nullptr);
  REQUIRE(load.errors.size() == 4);
  CHECK(load.errors[0].starts_with("/etc/sesame/users:1: user \"alice\": $apr1$ hashes"));
  CHECK(load.errors[1].starts_with("/etc/sesame/users:3: no ':'"));
  CHECK(load.errors[2].starts_with("/etc/sesame/users:4: user \"carol\": plain-text"));
  CHECK(load.errors[3].starts_with("/etc/sesame/users:5: user \"ok\" is listed again"));

  std::string many;
  for (int i = 0; i < 25; ++i) many += "nohash" + std::to_string(i) + "\n";
  const UsersLoad flood = parseUsers(many, "users");
  REQUIRE(flood.errors.size() == 21);
  CHECK(flood.errors[19].starts_with("users:20: "));
  CHECK(flood.errors[20] == "users: 5 more errors not shown");
}

}  // namespace
}  // namespace sesame::auth

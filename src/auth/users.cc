#include "sesame/auth/users.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "sesame/session/control_headers.h"

namespace sesame::auth {
namespace {

// A yescrypt hash, at libxcrypt's default cost, of a random password nobody knows: what an
// unknown name is checked against when the file has no users to borrow a hash from.
constexpr std::string_view kNobodyHash =
    "$y$j9T$Z0tAu8YoDl7Qr74zRKIPc/$fymxdva920RuTIetXFmm.eW2yPFQGzKOz/5oWT7rCy4";

// Past this many errors a broken file (a wrong path given, a binary) is summed up, not listed.
constexpr size_t kMaxErrors = 20;

constexpr std::string_view kHowToHash =
    "make a new hash with `sesame hash-password`, `mkpasswd -m yescrypt` or `htpasswd -B`";

bool isCrypt64(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' ||
         c == '/';
}

bool allCrypt64(std::string_view s) {
  return std::all_of(s.begin(), s.end(), isCrypt64);
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool isSpace(char c) {
  return c == ' ' || c == '\t';
}

// Splits "a$b$c" at '$' into at most `n` parts (the last one keeps any further '$').
std::vector<std::string_view> splitDollar(std::string_view s, size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    const size_t dollar = s.find('$');
    if (dollar == std::string_view::npos) break;
    parts.push_back(s.substr(0, dollar));
    s.remove_prefix(dollar + 1);
  }
  parts.push_back(s);
  return parts;
}

// The hash's cost as "kind:cost" (hashes with the same key take the same time to check), or
// nullopt when the hash does not have its kind's shape: cut short, or edited by hand.
std::optional<std::string> costKey(HashKind kind, std::string_view hash) {
  switch (kind) {
    case HashKind::kYescrypt: {
      // $y$PARAMS$SALT$HASH, the hash 43 characters.
      const auto p = splitDollar(hash.substr(3), 3);
      if (p.size() != 3 || p[0].empty() || p[1].empty() || p[2].size() != 43) return std::nullopt;
      if (!allCrypt64(p[0]) || !allCrypt64(p[1]) || !allCrypt64(p[2])) return std::nullopt;
      return "yescrypt:" + std::string(p[0]);
    }
    case HashKind::kBcrypt: {
      // $2b$NN$ then 22 characters of salt and 31 of hash.
      const auto p = splitDollar(hash.substr(4), 2);
      if (p.size() != 2 || p[0].size() != 2 || !allDigits(p[0]) || p[1].size() != 53 ||
          !allCrypt64(p[1])) {
        return std::nullopt;
      }
      const int cost = (p[0][0] - '0') * 10 + (p[0][1] - '0');
      if (cost < 4 || cost > 31) return std::nullopt;
      return "bcrypt:" + std::string(p[0]);
    }
    case HashKind::kSha512:
    case HashKind::kSha256: {
      // $6$[rounds=N$]SALT$HASH, salt 1-16 characters, hash 86 (sha512) or 43 (sha256).
      std::string_view rest = hash.substr(3);
      std::string rounds = "default";
      if (rest.starts_with("rounds=")) {
        const size_t dollar = rest.find('$');
        rounds = std::string(rest.substr(7, dollar == std::string_view::npos ? 0 : dollar - 7));
        if (dollar == std::string_view::npos || !allDigits(rounds) || rounds.size() > 9) {
          return std::nullopt;
        }
        rest.remove_prefix(dollar + 1);
      }
      const auto p = splitDollar(rest, 2);
      const size_t length = kind == HashKind::kSha512 ? 86 : 43;
      if (p.size() != 2 || p[0].empty() || p[0].size() > 16 || !allCrypt64(p[0]) ||
          p[1].size() != length || !allCrypt64(p[1])) {
        return std::nullopt;
      }
      return std::string(hashKindName(kind)) + ":" + rounds;
    }
  }
  return std::nullopt;
}

// What an unsupported hash field is, for the operator; never quotes the field itself beyond
// a kind's fixed prefix.
std::string describeUnsupported(std::string_view hash) {
  if (hash.starts_with("{SHA}")) return "{SHA} hashes (htpasswd -s: unsalted SHA-1)";
  if (hash.starts_with("{SSHA}")) return "{SSHA} hashes (salted SHA-1, from LDAP)";
  if (hash.starts_with("$apr1$")) return "$apr1$ hashes (htpasswd -m: Apache's MD5)";
  if (hash.starts_with("$1$")) return "$1$ hashes (md5crypt)";
  if (hash.starts_with("$2a$") || hash.starts_with("$2x$")) {
    return "$2a$ and $2x$ hashes (old bcrypt variants)";
  }
  if (hash.starts_with("!") || hash.starts_with("*")) {
    return "locked entries ('!' or '*' as in /etc/shadow; delete the line instead)";
  }
  if (hash.size() == 13 && allCrypt64(hash)) return "DES crypt hashes (htpasswd -d)";
  if (hash.size() == 20 && hash[0] == '_' && allCrypt64(hash.substr(1))) {
    return "BSDi DES crypt hashes";
  }
  if (hash.size() > 2 && hash[0] == '$') {
    const size_t end = hash.find('$', 1);
    const std::string_view id = hash.substr(1, end == std::string_view::npos ? 0 : end - 1);
    if (!id.empty() && id.size() <= 8 && allCrypt64(id)) {
      return "$" + std::string(id) + "$ hashes (a crypt(3) kind sesame does not check)";
    }
  }
  return "plain-text passwords (this is not a hash; store hashes only)";
}

std::string_view trimTrailing(std::string_view s) {
  while (!s.empty() && (isSpace(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  s = trimTrailing(s);
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}

std::string quoted(std::string_view name) {
  return "user \"" + std::string(name) + "\"";
}

}  // namespace

// Builds a Users line by line (friend of Users, which has no public constructor).
struct UsersBuilder {
  std::string_view file;
  std::unique_ptr<Users> users{new Users()};
  std::unordered_map<std::string_view, size_t> first_line;  // name -> line it appeared on
  std::vector<std::string> errors;
  size_t more_errors = 0;
  // How many users share each cost, and the first such user's hash.
  std::vector<std::pair<std::string, size_t>> costs;
  std::unordered_map<std::string, std::string> first_hash;

  void error(size_t line, std::string_view what) {
    if (errors.size() >= kMaxErrors) {
      ++more_errors;
      return;
    }
    errors.push_back(std::string(file) + ":" + std::to_string(line) + ": " + std::string(what));
  }

  void parseLine(size_t line, std::string_view text);
  [[nodiscard]] bool parseGroups(size_t line, std::string_view name, std::string_view field,
                                 std::vector<std::string>& groups);
  [[nodiscard]] bool checkName(size_t line, std::string_view name);
  UsersLoad finish();
};

bool UsersBuilder::checkName(size_t line, std::string_view name) {
  if (name.empty()) {
    error(line, "no user name before the ':' (lines are user:hash or user:hash:group,group)");
    return false;
  }
  if (name.size() > kMaxUserBytes) {
    error(line, "the user name is longer than " + std::to_string(kMaxUserBytes) + " bytes");
    return false;
  }
  if (!session::isValidUser(name, kMaxUserBytes)) {
    error(line, "the user name holds a control character (a tab?); use printable characters");
    return false;
  }
  if (isSpace(name.front()) || isSpace(name.back())) {
    error(line, quoted(name) + " starts or ends with a space; remove it");
    return false;
  }
  return true;
}

bool UsersBuilder::parseGroups(size_t line, std::string_view name, std::string_view field,
                               std::vector<std::string>& groups) {
  if (field.find(':') != std::string_view::npos) {
    error(line, quoted(name) + ": a ':' after the groups (lines are user:hash:group,group)");
    return false;
  }
  size_t index = 0;
  for (size_t pos = 0; pos <= field.size();) {
    const size_t comma = std::min(field.find(',', pos), field.size());
    const std::string_view group = trim(field.substr(pos, comma - pos));
    pos = comma + 1;
    if (group.empty()) continue;
    ++index;
    if (!session::isValidGroup(group, kMaxGroupBytes)) {
      error(line, quoted(name) + ": group " + std::to_string(index) + " is not 1-" +
                      std::to_string(kMaxGroupBytes) +
                      " visible ASCII characters (no spaces, control characters or ',')");
      return false;
    }
    if (std::find(groups.begin(), groups.end(), group) != groups.end()) continue;
    if (groups.size() == kMaxGroups) {
      error(line, quoted(name) + " has more than " + std::to_string(kMaxGroups) + " groups");
      return false;
    }
    groups.emplace_back(group);
  }
  return true;
}

void UsersBuilder::parseLine(size_t line, std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    error(line, "no ':' after the user name (lines are user:hash or user:hash:group,group)");
    return;
  }
  const std::string_view name = text.substr(0, colon);
  if (!checkName(line, name)) return;
  std::string_view rest = text.substr(colon + 1);
  const size_t second = rest.find(':');
  const std::string_view hash = rest.substr(0, second);
  const std::string_view group_field =
      second == std::string_view::npos ? std::string_view() : rest.substr(second + 1);
  if (hash.empty()) {
    error(line, quoted(name) + " has no password hash; " + std::string(kHowToHash));
    return;
  }
  if (trim(hash).size() != hash.size()) {
    error(line, quoted(name) + ": white space around the hash; remove it");
    return;
  }
  const std::optional<HashKind> kind = hashKind(hash);
  if (!kind) {
    error(line, quoted(name) + ": " + describeUnsupported(hash) + " are not supported; " +
                    std::string(kHowToHash));
    return;
  }
  const std::optional<std::string> cost = costKey(*kind, hash);
  if (!cost) {
    error(line, quoted(name) + ": the " + hashKindName(*kind) +
                    " hash is malformed (cut short or edited?); " + std::string(kHowToHash));
    return;
  }
  User user{std::string(name), std::string(hash), *kind, {}, {}};
  if (!parseGroups(line, name, group_field, user.groups)) return;
  const auto [seen, fresh] = first_line.emplace(name, line);
  if (!fresh) {
    error(line, quoted(name) + " is listed again (first on line " + std::to_string(seen->second) +
                    "); keep one line per user");
    return;
  }
  auto count =
      std::find_if(costs.begin(), costs.end(), [&](const auto& c) { return c.first == *cost; });
  if (count == costs.end()) {
    costs.emplace_back(*cost, 1);
    first_hash.emplace(*cost, user.hash);
  } else {
    ++count->second;
  }
  user.fingerprint = hashFingerprint(user.hash);
  users->users_.emplace(user.name, std::move(user));
}

UsersLoad UsersBuilder::finish() {
  UsersLoad load;
  if (more_errors > 0) {
    errors.push_back(std::string(file) + ": " + std::to_string(more_errors) +
                     " more errors not shown");
  }
  if (!errors.empty()) {
    load.errors = std::move(errors);
    return load;
  }
  // The most common cost; on a tie the one met first in the file.
  const auto most = std::max_element(
      costs.begin(), costs.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  users->dummy_hash_ = most == costs.end() ? std::string(kNobodyHash) : first_hash[most->first];
  load.users = std::move(users);
  return load;
}

const User* Users::find(std::string_view name) const {
  const auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

UsersLoad parseUsers(std::string_view text, std::string_view file_name) {
  UsersBuilder builder;
  builder.file = file_name;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  size_t line = 0;
  while (!text.empty()) {
    ++line;
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const std::string_view content = trimTrailing(raw);
    const std::string_view start = trim(content);
    if (start.empty() || start.front() == '#') continue;
    builder.parseLine(line, content);
  }
  return builder.finish();
}

}  // namespace sesame::auth

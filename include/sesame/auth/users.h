// The users file of the built-in login: who may sign in, with which password hash, in which
// groups. Parsing is pure (text in, users or errors out); the configuration reads the file.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/auth/password.h"

namespace sesame::auth {

// Bounds on one line of the file, the same as an application's X-Sesame-Login and
// X-Sesame-Groups (session::ControlLimits), so a user signs in with what an app could set.
inline constexpr size_t kMaxUserBytes = 256;
inline constexpr size_t kMaxGroupBytes = 64;
inline constexpr size_t kMaxGroups = 64;

struct User {
  std::string name;
  std::string hash;  // crypt(3) form, of `kind`
  HashKind kind = HashKind::kYescrypt;
  std::vector<std::string> groups;  // in file order, without repeats
  // hashFingerprint(hash): recorded with a session signed in with the
  // form, so a new password (or the name given to someone else) ends it.
  std::string fingerprint;
};

// Immutable once parsed: shared by every worker (std::shared_ptr<const Users>).
class Users {
 public:
  // The user named exactly `name` (case-sensitive), or null.
  [[nodiscard]] const User* find(std::string_view name) const;
  [[nodiscard]] size_t size() const { return users_.size(); }
  // The hash an unknown user's password is checked against (and the result ignored), so that an
  // unknown name costs what a known one costs: a real user's hash of the file's most common kind
  // and cost; with no users at all a fixed yescrypt hash at libxcrypt's default cost.
  [[nodiscard]] const std::string& dummyHash() const { return dummy_hash_; }

 private:
  friend struct UsersBuilder;
  Users() = default;

  std::map<std::string, User, std::less<>> users_;
  std::string dummy_hash_;
};

struct UsersLoad {
  std::shared_ptr<const Users> users;  // null when `errors` is not empty
  std::vector<std::string> errors;
};

// Parses a users file's text; `file_name` prefixes every error ("FILE:LINE: what; what to do").
// One user a line:
//   name:hash            or   name:hash:group,group
// name: 1..kMaxUserBytes bytes, no control characters (0x00-0x1F, 0x7F), no ':', no white space
//   at either end; each name once.
// hash: a crypt(3) hash of a kind hashKind() accepts. Others are refused by what they are
//   ({SHA}, $apr1$, $1$, DES, plain text...), with the commands that make a supported one.
// groups: comma-separated, white space around each ignored, empty ones skipped, repeats
//   dropped; each 1..kMaxGroupBytes visible ASCII bytes without ','; at most kMaxGroups.
// Lines starting with '#' (after optional white space) and blank lines are skipped; trailing
// white space, a CR before the LF and a UTF-8 byte order mark are ignored. An empty file is
// valid: no one can sign in. Errors never quote a hash or a password.
[[nodiscard]] UsersLoad parseUsers(std::string_view text, std::string_view file_name);

}  // namespace sesame::auth

// libFuzzer target: the users-file parser over arbitrary bytes. A file it accepts holds only
// valid users, and written back out it parses to the same users.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_body.h"
#include "sesame/auth/password.h"
#include "sesame/auth/users.h"

using sesame::fuzz::check;
namespace auth = sesame::auth;

namespace {

bool validName(std::string_view name) {
  if (name.empty() || name.size() > auth::kMaxUserBytes) return false;
  if (name.front() == ' ' || name.back() == ' ' || name.front() == '#') return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == ':') return false;
  }
  return true;
}

bool validGroup(std::string_view group) {
  if (group.empty() || group.size() > auth::kMaxGroupBytes) return false;
  for (char c : group) {
    if (c <= 0x20 || c >= 0x7f || c == ',') return false;
  }
  return true;
}

// The file that lists `users` as its own entries, in `names` order.
std::string writeBack(const auth::Users& users, const std::vector<std::string>& names) {
  // A comment first: a name may begin with the bytes of a byte order mark
  // (taken as a name on any line but the first), which at the very start of
  // a file is the file's mark, not part of the name.
  std::string out = "# written back\n";
  for (const std::string& name : names) {
    const auth::User* u = users.find(name);
    out += u->name + ":" + u->hash;
    for (size_t i = 0; i < u->groups.size(); ++i) out += (i == 0 ? ":" : ",") + u->groups[i];
    out += "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auth::UsersLoad load = auth::parseUsers(text, "fuzz");
  check((load.users == nullptr) == !load.errors.empty());
  check(load.errors.size() <= 21);
  for (const std::string& e : load.errors) check(e.starts_with("fuzz:"));
  if (!load.users) return 0;

  // Every name the file could have given, found or not, by walking its lines again.
  std::vector<std::string> names;
  size_t groups_seen = 0;
  std::string_view rest = text;
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    const auth::User* u = load.users->find(name);
    if (u == nullptr) continue;
    check(u->name == name && validName(name));
    check(auth::hashKind(u->hash) == u->kind);
    check(u->groups.size() <= auth::kMaxGroups);
    for (size_t i = 0; i < u->groups.size(); ++i) {
      check(validGroup(u->groups[i]));
      for (size_t j = 0; j < i; ++j) check(u->groups[i] != u->groups[j]);
    }
    groups_seen += u->groups.size();
    names.push_back(std::move(name));
  }
  check(names.size() == load.users->size());

  const std::string& dummy = load.users->dummyHash();
  check(auth::hashKind(dummy).has_value());
  bool dummy_is_a_users = load.users->size() == 0;
  for (const std::string& name : names) {
    dummy_is_a_users = dummy_is_a_users || load.users->find(name)->hash == dummy;
  }
  check(dummy_is_a_users);

  const auth::UsersLoad again = auth::parseUsers(writeBack(*load.users, names), "again");
  check(again.users != nullptr && again.users->size() == names.size());
  size_t groups_again = 0;
  for (const std::string& name : names) {
    const auth::User* a = load.users->find(name);
    const auth::User* b = again.users->find(name);
    check(b != nullptr && a->hash == b->hash && a->kind == b->kind && a->groups == b->groups);
    groups_again += b->groups.size();
  }
  check(groups_again == groups_seen);
  check(again.users->dummyHash() == dummy);
  return 0;
}

// [admin]: the address of the metrics and health listener, what /readyz
// checks, and the session API's bearer token.
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "reader.h"

namespace sesame::config {
namespace {

bool isWildcard(const net::Address& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a.family() == AF_INET6) {
    const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr;
    return std::memcmp(&v6, &in6addr_any, sizeof v6) == 0;
  }
  return false;
}

uint16_t portOf(const net::Address& a) {
  if (a.family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(a.sa())->sin_port);
  if (a.family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_port);
  }
  return 0;
}

// The same socket address, or one side a wildcard on the same port and
// family: either way one of the two binds would fail with EADDRINUSE, and
// /metrics must never be answered on a public listener by accident.
bool overlaps(const net::Address& a, const net::Address& b) {
  if (a.family() != b.family() || portOf(a) != portOf(b)) return false;
  return a.toString() == b.toString() || isWildcard(a) || isWildcard(b);
}

// ready_requires: a subset of the three names, each at most once.
ReadyRequires readReadyRequires(TableReader& admin) {
  ReadyRequires ready;
  const toml::array* items = admin.array("ready_requires", "an array of names");
  if (items == nullptr) return ready;
  ready = ReadyRequires{false, false, false};
  static constexpr std::string_view kKnown = "\"listeners\", \"store\" or \"upstreams\"";
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    const std::string key = admin.path("ready_requires") + "[" + std::to_string(i) + "]";
    const auto* text = item.as_string();
    if (text == nullptr) {
      admin.diag().error(
          item, key + ": expected " + std::string(kKnown) + ", got " + std::string(typeName(item)));
      continue;
    }
    const std::string& name = text->get();
    bool* flag = name == "listeners"   ? &ready.listeners
                 : name == "store"     ? &ready.store
                 : name == "upstreams" ? &ready.upstreams
                                       : nullptr;
    if (flag == nullptr) {
      admin.diag().error(item, key + " " + quote(name) + " is not something /readyz checks: use " +
                                   std::string(kKnown));
    } else if (*flag) {
      admin.diag().error(item, key + " " + quote(name) + " is listed twice");
    }
    if (flag != nullptr) *flag = true;
  }
  return ready;
}

// token_file: one line holding the token. The file is a credential (it
// lets its reader list and end anyone's sessions): see checkNotOthers.
std::optional<std::string> readToken(TableReader& admin, const std::string& config_path,
                                     std::string* file) {
  std::optional<std::string> name = admin.string("token_file");
  if (!name) return std::nullopt;
  const toml::node& at = *admin.find("token_file");
  const std::string key = admin.path("token_file");
  if (name->empty()) {
    admin.diag().error(at, key + " is empty (expected the path of a file holding the token)");
    return std::nullopt;
  }
  *file = resolvePath(config_path, *name);
  std::optional<std::string> text =
      readSmallFile(admin, "token_file", *file, "one token", 64 * 1024);
  if (!text) return std::nullopt;
  if (!checkNotOthers(admin.diag(), at, key, *file,
                      "the token lets its reader list and end sessions")) {
    return std::nullopt;
  }
  std::string token = std::move(*text);
  if (token.ends_with('\n')) token.pop_back();
  if (token.ends_with('\r')) token.pop_back();
  const std::string where = key + ": " + quote(*file);
  if (token.find('\n') != std::string::npos) {
    admin.diag().error(at, where + " holds more than one line; it should hold only the token");
    return std::nullopt;
  }
  const bool visible =
      std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (!visible) {
    admin.diag().error(at, where +
                               " holds spaces or bytes outside printable ASCII, which cannot "
                               "travel in an Authorization header (make one with `openssl rand "
                               "-hex 32`)");
    return std::nullopt;
  }
  if (token.size() < kMinAdminToken) {
    admin.diag().error(at, where + " holds a token of " + std::to_string(token.size()) +
                               " bytes; use at least " + std::to_string(kMinAdminToken) +
                               " (make one with `openssl rand -hex 32`)");
    return std::nullopt;
  }
  return token;
}

}  // namespace

void readAdmin(TableReader& root, const LoadOptions& options, Config& config) {
  const toml::table* table = root.subtable("admin", "a table ([admin])");
  if (table == nullptr) return;
  TableReader admin(*table, "admin", root.diag());
  admin.rejectUnknown({"address", "ready_requires", "token_file"});
  const ReadyRequires ready = readReadyRequires(admin);
  std::string token_file;
  std::optional<std::string> token = readToken(admin, config.path, &token_file);
  std::optional<std::string> address = admin.string("address");
  if (!address) {
    if (admin.find("address") == nullptr) admin.missing("address", "\"host:port\"");
    return;
  }
  const toml::node& at = *admin.find("address");
  std::optional<net::Address> addr =
      readAddress(root.diag(), at, "admin.address", *address, options);
  if (!addr) return;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    if (!overlaps(*addr, config.listeners[i].addr)) continue;
    root.diag().error(at, "admin.address " + quote(*address) + " overlaps listen[" +
                              std::to_string(i) + "].address " +
                              quote(config.listeners[i].address) +
                              "; the admin endpoints need an address of their own (for "
                              "example \"127.0.0.1:9901\")");
  }
  config.admin =
      AdminConfig{*address, *addr, ready, token.value_or(""), token ? token_file : std::string()};
}

}  // namespace sesame::config

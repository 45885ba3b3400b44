// [session], [redis] and the session policy keys of each [[route]].
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reader.h"
#include "sesame/base/log.h"
#include "sesame/session/cookie_codec.h"
#include "sesame/session/cookie_header.h"
#include "sesame/session/csrf.h"

namespace sesame::config {
namespace {

namespace fs = std::filesystem;

// A secrets file is a few lines; anything larger is the wrong file.
constexpr uintmax_t kMaxSecretsFileBytes = 64 * 1024;
// Prefixes every key of every session; longer is a mistake, not a namespace.
constexpr size_t kMaxKeyPrefixBytes = 256;

// The session module's messages are already sentences about one key, but
// they quote operator values verbatim; escaping control bytes keeps a
// hostile file from forging log lines, as quote() does for ours.
std::string sanitized(std::string_view message) {
  std::string out;
  for (char c : message) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// One secret per line; blank lines and '#' comments are skipped.
std::optional<std::vector<std::string>> readSecretsFile(TableReader& s, const std::string& file) {
  std::optional<std::string> text =
      readSmallFile(s, "secrets_file", file, "one secret per line", kMaxSecretsFileBytes);
  if (!text) return std::nullopt;
  std::vector<std::string> secrets;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    std::string_view secret = trimmed(line);
    if (secret.empty() || secret.front() == '#') continue;
    secrets.emplace_back(secret);
  }
  return secrets;
}

void readSecrets(TableReader& s, const Config& config, session::Settings& settings) {
  const toml::node* list = s.find("secrets");
  const toml::node* file = s.find("secrets_file");
  const toml::node* at = list != nullptr ? list : file;
  std::string key = s.path(list != nullptr ? "secrets" : "secrets_file");
  if (list != nullptr && file != nullptr) {
    s.diag().error(*file, s.path("secrets_file") + " and " + s.path("secrets") +
                              " are both set; keep only one");
    return;
  }
  if (list != nullptr) {
    const toml::array* items = s.array("secrets", "an array of strings");
    if (items == nullptr) return;
    for (size_t i = 0; i < items->size(); ++i) {
      const toml::node& item = *items->get(i);
      if (const auto* text = item.as_string()) {
        settings.secrets.push_back(text->get());
      } else {
        s.diag().error(item, key + "[" + std::to_string(i) + "]: expected a string, got " +
                                 std::string(typeName(item)));
        return;
      }
    }
  } else if (file != nullptr) {
    std::optional<std::string> name = s.string("secrets_file");
    if (!name) return;
    if (name->empty()) {
      s.diag().error(*file,
                     key + " is empty (expected the path of a file with one secret per line)");
      return;
    }
    std::optional<std::vector<std::string>> secrets =
        readSecretsFile(s, resolvePath(config.path, *name));
    if (!secrets) return;
    settings.secrets = std::move(*secrets);
  }
  for (const std::string& problem : session::CookieCodec::validateSecrets(settings.secrets)) {
    if (at == nullptr) {
      s.diag().error(s.table(), s.path("secrets") + ": " + problem +
                                    " (set secrets = [\"...\"] or secrets_file = \"FILE\")");
    } else {
      s.diag().error(*at, key + ": " + problem);
    }
  }
}

// Reports each session-module message about cookie_name, same_site or
// domain at the key it names (at the table when the key is absent).
void validateCookie(TableReader& s, const session::Settings& settings) {
  for (const std::string& problem : session::validateCookieSettings(
           settings.cookie_name, settings.secure, settings.same_site, settings.domain)) {
    const toml::node* at = nullptr;
    for (std::string_view key : {"cookie_name", "same_site", "domain"}) {
      if (problem.starts_with(key)) at = s.find(key);
    }
    // The fix is at the other key when it was written: "requires secure =
    // true", "forbids a domain".
    for (auto [hint, key] :
         {std::pair{"requires secure", "secure"}, std::pair{"forbids a domain", "domain"}}) {
      if (problem.find(hint) != std::string::npos && s.find(key) != nullptr) at = s.find(key);
    }
    std::string message = "session." + sanitized(problem);
    if (at != nullptr) {
      s.diag().error(*at, message);
    } else {
      s.diag().error(s.table(), message);
    }
  }
}

void readSessionTimeouts(TableReader& s, session::Settings& settings) {
  session::Timeouts& t = settings.timeouts;
  if (auto d = s.duration("idle_timeout", false)) t.idle = *d;
  if (auto d = s.duration("absolute_timeout", false)) t.absolute = *d;
  if (auto d = s.duration("touch_interval", true)) t.touch_interval = *d;
  auto at = [&](std::string_view first, std::string_view second) -> const toml::node& {
    if (const toml::node* n = s.find(first)) return *n;
    if (const toml::node* n = s.find(second)) return *n;
    return s.table();
  };
  if (t.idle > t.absolute) {
    s.diag().error(at("idle_timeout", "absolute_timeout"),
                   "session.idle_timeout must not be longer than session.absolute_timeout ("
                   "the absolute limit would always end the session first)");
  }
  if (t.touch_interval >= t.idle) {
    s.diag().error(at("touch_interval", "idle_timeout"),
                   "session.touch_interval must be shorter than session.idle_timeout, or active "
                   "sessions would expire between two refreshes");
  }
}

void readLoginUrl(TableReader& s, session::Settings& settings) {
  std::optional<std::string> url = s.string("login_url");
  if (!url) return;
  bool clean = std::none_of(url->begin(), url->end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
  });
  // "//host/..." is a network-path reference (RFC 3986 §4.2): browsers would
  // follow it to another site, an open redirect.
  if (url->empty() || url->front() != '/' || url->starts_with("//") || !clean) {
    s.diag().error(*s.find("login_url"),
                   "session.login_url " + quote(*url) +
                       " must be a path on this site starting with a single \"/\" (no spaces or "
                       "control characters), e.g. \"/login\"");
    return;
  }
  settings.login_url = *url;
}

void readCsrfOrigins(TableReader& s, session::Settings& settings) {
  const toml::array* items = s.array("csrf_origins", "an array of origin strings");
  if (items == nullptr) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    std::string key = s.path("csrf_origins") + "[" + std::to_string(i) + "]";
    const auto* text = item.as_string();
    if (text == nullptr) {
      s.diag().error(item, key + ": expected a string such as \"https://app.example.com\", got " +
                               std::string(typeName(item)));
      continue;
    }
    std::optional<std::string> origin = session::normalizeOrigin(text->get());
    if (!origin) {
      s.diag().error(item, key + " " + quote(text->get()) +
                               " is not an origin (expected \"http://\" or \"https://\", a host "
                               "and an optional port, without a path, not even \"/\")");
      continue;
    }
    settings.csrf_origins.push_back(std::move(*origin));
  }
}

void readStore(TableReader& s, session::Settings& settings) {
  std::optional<std::string> store = s.string("store");
  if (!store || *store == "memory") return;
  if (*store == "redis") {
    settings.store = session::StoreKind::kRedis;
    return;
  }
  if (*store == "cookie") {
    settings.store = session::StoreKind::kCookie;
    return;
  }
  s.diag().error(*s.find("store"), "session.store " + quote(*store) +
                                       " is not a store (expected \"memory\", \"redis\" or "
                                       "\"cookie\")");
  settings.store = session::StoreKind::kMemory;
}

// The first line of `file`, without its line ending.
std::optional<std::string> readPasswordFile(TableReader& r, const std::string& file) {
  std::optional<std::string> text =
      readSmallFile(r, "password_file", file, "the password on one line", kMaxSecretsFileBytes);
  if (!text) return std::nullopt;
  std::string line = text->substr(0, text->find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    r.diag().error(*r.find("password_file"), r.path("password_file") + ": " + quote(file) +
                                                 " has an empty first line (expected the "
                                                 "password there)");
    return std::nullopt;
  }
  return line;
}

void readRedisAuth(TableReader& r, const Config& config, session::RedisSettings& redis) {
  if (auto v = r.string("username")) redis.username = *v;
  const toml::node* password = r.find("password");
  const toml::node* file = r.find("password_file");
  if (password != nullptr && file != nullptr) {
    r.diag().error(*file, "redis.password_file and redis.password are both set; keep only one");
  } else if (password != nullptr) {
    // Only the type is checked: the value never appears in a message.
    if (const auto* text = password->as_string()) {
      redis.password = text->get();
    } else {
      r.diag().error(*password,
                     "redis.password: expected a string, got " + std::string(typeName(*password)));
    }
  } else if (file != nullptr) {
    std::optional<std::string> name = r.string("password_file");
    if (name && name->empty()) {
      r.diag().error(*file,
                     "redis.password_file is empty (expected the path of a file whose "
                     "first line is the password)");
    } else if (name) {
      if (auto secret = readPasswordFile(r, resolvePath(config.path, *name))) {
        redis.password = std::move(*secret);
      }
    }
  }
}

// [redis]: read and checked whether or not the store uses it, so `sesame -t`
// finds its mistakes before the store is switched to "redis".
void readRedis(TableReader& root, const LoadOptions& options, Config& config) {
  session::RedisSettings redis;
  redis.addr = *session::parseRedisAddress(redis.address, nullptr);
  const toml::table* table = root.subtable("redis", "a table ([redis])");
  if (table != nullptr) {
    TableReader r(*table, "redis", root.diag());
    r.rejectUnknown({"address", "username", "password", "password_file", "database", "key_prefix",
                     "connect_timeout", "command_timeout", "cache"});
    if (auto v = r.string("address")) {
      std::string why;
      if (auto addr = session::parseRedisAddress(*v, &why, options.resolve_names)) {
        redis.address = *v;
        redis.addr = *addr;
      } else {
        r.diag().error(*r.find("address"),
                       "redis.address " + quote(*v) + " is not usable: " + sanitized(why));
      }
    }
    readRedisAuth(r, config, redis);
    if (auto v = r.integer("database", 0, INT32_MAX)) redis.database = *v;
    if (auto v = r.string("key_prefix")) {
      if (v->size() > kMaxKeyPrefixBytes) {
        r.diag().error(*r.find("key_prefix"), "redis.key_prefix is longer than " +
                                                  std::to_string(kMaxKeyPrefixBytes) +
                                                  " bytes; it prefixes every key");
      } else {
        redis.key_prefix = *v;
      }
    }
    if (auto d = r.duration("connect_timeout", false)) redis.connect_timeout = *d;
    if (auto d = r.duration("command_timeout", false)) redis.command_timeout = *d;
    if (auto d = r.duration("cache", true)) {
      if (*d > session::RedisSettings::kMaxCache) {
        r.diag().error(*r.find("cache"),
                       "redis.cache is longer than 10s: a logout on another worker or instance "
                       "would take that long to reach this one (keep it short, like \"1s\", or "
                       "\"0s\" for none)");
      } else {
        redis.cache = *d;
      }
    }
  }
  if (config.session && config.session->store == session::StoreKind::kRedis) {
    config.session->redis = std::move(redis);
  } else if (table != nullptr) {
    // A warning, not an error: keeping [redis] while switching stores back
    // and forth is legitimate, but the operator should know it is idle.
    const toml::source_position at = table->source().begin;
    LOG_WARN("%s:%u:%u: [redis] is not used: session.store is not \"redis\"",
             root.diag().file().c_str(), at.line, at.column);
  }
}

}  // namespace

void readSession(TableReader& root, const LoadOptions& options, Config& config) {
  if (const toml::table* table = root.subtable("session", "a table ([session])")) {
    TableReader s(*table, "session", root.diag());
    s.rejectUnknown({"store", "cookie_name", "same_site", "secure", "domain", "secrets",
                     "secrets_file", "idle_timeout", "absolute_timeout", "touch_interval",
                     "login_url", "csrf_origins", "max_sessions", "max_per_user"});
    session::Settings settings;
    readStore(s, settings);
    if (auto v = s.string("cookie_name")) settings.cookie_name = *v;
    if (auto v = s.string("same_site")) settings.same_site = *v;
    if (auto v = s.boolean("secure")) settings.secure = *v;
    if (auto v = s.string("domain")) settings.domain = *v;
    validateCookie(s, settings);
    readSecrets(s, config, settings);
    readSessionTimeouts(s, settings);
    readLoginUrl(s, settings);
    readCsrfOrigins(s, settings);
    if (auto v = s.integer("max_sessions", 1, 100'000'000)) {
      settings.max_sessions = static_cast<size_t>(*v);
    }
    if (auto v = s.integer("max_per_user", 0, 1'000'000)) {
      settings.max_per_user = static_cast<size_t>(*v);
      if (settings.max_per_user != 0 && settings.store == session::StoreKind::kCookie) {
        s.diag().error(*s.find("max_per_user"),
                       "session.max_per_user needs a store that can find a user's sessions "
                       "(\"memory\" or \"redis\"); with store = \"cookie\" sessions live only in "
                       "browsers");
      }
    }
    config.session = std::move(settings);
  }
  readRedis(root, options, config);
  readIdentity(root, config);
}

void readRoutePolicy(TableReader& entry, const Config& config, session::RoutePolicy& policy) {
  policy.auth = config.session ? session::Auth::kSession : session::Auth::kPublic;
  // Signing in through a provider or with a token only makes sense where a
  // user is required, so that is the default there.
  const bool oidc = readRouteOidc(entry, config, policy);
  if (oidc) policy.auth = session::Auth::kRequired;
  if (auto auth = entry.string("auth")) {
    const toml::node& at = *entry.find("auth");
    if (*auth == "public") {
      policy.auth = session::Auth::kPublic;
    } else if (*auth == "session" || *auth == "required") {
      policy.auth = *auth == "session" ? session::Auth::kSession : session::Auth::kRequired;
      if (!config.session) {
        entry.diag().error(at, entry.path("auth") + " = " + quote(*auth) +
                                   " needs a [session] table: add [session] with secrets = "
                                   "[\"...\"] or secrets_file = \"FILE\"");
      }
    } else {
      entry.diag().error(at, entry.path("auth") + " " + quote(*auth) +
                                 " is not one of \"public\", \"session\", \"required\"");
    }
    if (oidc && policy.auth != session::Auth::kRequired) {
      entry.diag().error(at, entry.path("auth") + " = " + quote(*auth) +
                                 " cannot be used with provider or bearer, which sign a user in: "
                                 "write auth = \"required\" or leave auth out (it then defaults "
                                 "to \"required\")");
      policy.auth = session::Auth::kRequired;
    }
  }
  if (const toml::array* groups = entry.array("groups", "an array of group names")) {
    if (policy.auth != session::Auth::kRequired) {
      entry.diag().error(*groups, entry.path("groups") +
                                      " only applies with auth = \"required\"; set it or "
                                      "remove groups");
    }
    for (size_t i = 0; i < groups->size(); ++i) {
      const toml::node& item = *groups->get(i);
      std::string key = entry.path("groups") + "[" + std::to_string(i) + "]";
      const auto* name = item.as_string();
      if (name == nullptr) {
        entry.diag().error(item, key + ": expected a string, got " + std::string(typeName(item)));
      } else if (name->get().empty() || name->get().find(',') != std::string::npos) {
        // Groups travel comma-separated (X-Sesame-Groups, the groups header).
        entry.diag().error(
            item, key + " " + quote(name->get()) + " must be a non-empty name without \",\"");
      } else {
        policy.groups.push_back(name->get());
      }
    }
  }
  if (auto v = entry.boolean("accept_control")) policy.accept_control = *v;
  if (auto v = entry.boolean("csrf")) policy.csrf = *v;
}

}  // namespace sesame::config

// [oidc] and [oidc.NAME]: the OpenID Connect providers users sign in with,
// and the provider and bearer-token keys of each [[route]] (issue 12).
#include <algorithm>

#include "reader.h"
#include "sesame/base/log.h"

namespace sesame::config {
namespace {

// Sessions record "oidc:NAME" as their sign-in method, which stores keep to
// LoginInfo::kMaxMethodBytes (32).
constexpr size_t kMaxProviderName = 27;
// A client secret is a line; a larger file is the wrong file.
constexpr uintmax_t kMaxSecretFileBytes = 64 * 1024;
// The system bundle is a few hundred KiB.
constexpr uintmax_t kMaxCaFileBytes = 16ull * 1024 * 1024;
// client_id, claim names, kid, audiences: identifiers, not documents.
constexpr size_t kMaxValueBytes = 1024;
constexpr size_t kMaxDisplayName = 200;
constexpr Duration kMaxClockSkew{600'000};
constexpr Duration kMaxHttpTimeout{300'000};
constexpr Duration kMinDiscoveryInterval{60'000};

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool validProviderName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxProviderName &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

// "" when `url` is an https URL sesame can use as written (no userinfo, no
// query or fragment, printable ASCII), else what is wrong. `host` receives
// its host, lower-cased.
std::string httpsUrlProblem(std::string_view url, std::string* host) {
  if (!url.starts_with("https://")) return "must start with \"https://\"";
  bool printable = std::all_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (!printable) return "must not contain spaces, control characters or non-ASCII bytes";
  if (url.find_first_of("?#") != std::string_view::npos) {
    return "must not have a query (\"?\") or a fragment (\"#\")";
  }
  std::string_view authority = url.substr(8);
  authority = authority.substr(0, authority.find('/'));
  if (authority.find('@') != std::string_view::npos) {
    return "must not hold a user name or password (\"@\")";
  }
  size_t host_end = authority.starts_with('[') ? authority.find(']') : authority.rfind(':');
  if (authority.starts_with('[')) {
    if (host_end == std::string_view::npos) return "has an unclosed \"[\" in its host";
    ++host_end;
  }
  std::string_view name = authority.substr(0, host_end);
  std::string_view port = host_end == std::string_view::npos ? "" : authority.substr(host_end);
  if (name.empty() || name == "[]") return "has no host";
  bool name_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '[' || c == ']' || c == ':';
  });
  if (!name_ok) return "has a host with characters a host name cannot hold";
  if (!port.empty()) {
    std::string_view digits = port.substr(1);
    bool numeric =
        port.front() == ':' && !digits.empty() && digits.size() <= 5 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric || std::stoul(std::string(digits)) == 0 ||
        std::stoul(std::string(digits)) > 65535) {
      return "has a port that is not a number from 1 to 65535";
    }
  }
  if (host != nullptr) {
    host->clear();
    for (char c : name) *host += lower(c);
  }
  return {};
}

// An identifier-like string: non-empty, at most kMaxValueBytes, no control
// characters. Reported and nullopt otherwise.
std::optional<std::string> readName(TableReader& t, std::string_view key,
                                    std::string_view example) {
  std::optional<std::string> value = t.string(key);
  if (!value) return std::nullopt;
  if (value->empty() || value->size() > kMaxValueBytes || hasControl(*value)) {
    t.diag().error(*t.find(key), t.path(key) + " must be 1 to " + std::to_string(kMaxValueBytes) +
                                     " bytes without control characters, such as " +
                                     std::string(example));
    return std::nullopt;
  }
  return value;
}

void readIssuer(TableReader& t, OidcProviderConfig& p, std::string* host) {
  std::optional<std::string> issuer = t.string("issuer");
  if (!issuer) {
    if (t.find("issuer") == nullptr) {
      t.missing("issuer",
                "the provider's issuer URL, such as \"https://id.example.com/realms/main\"");
    }
    return;
  }
  if (std::string problem = httpsUrlProblem(*issuer, host); !problem.empty()) {
    // OpenID Connect Discovery 1.0 §2 and §4.3: an https URL with no query
    // or fragment, compared exactly with the tokens' "iss".
    t.diag().error(*t.find("issuer"), t.path("issuer") + " " + quote(*issuer) + " " + problem +
                                          " (the issuer is an https URL, written exactly as the "
                                          "provider's tokens carry it in \"iss\")");
    return;
  }
  p.issuer = *issuer;
}

// One line; a final line ending is not part of the secret.
std::optional<std::string> readSecretLine(TableReader& t, const std::string& file) {
  const toml::node& at = *t.find("client_secret_file");
  const std::string key = t.path("client_secret_file");
  std::optional<std::string> text = readSmallFile(
      t, "client_secret_file", file, "the client secret on one line", kMaxSecretFileBytes);
  if (!text) return std::nullopt;
  if (!checkNotOthers(t.diag(), at, key, file,
                      "the secret lets its reader sign users in as this client")) {
    return std::nullopt;
  }
  std::string secret = std::move(*text);
  if (secret.ends_with('\n')) secret.pop_back();
  if (secret.ends_with('\r')) secret.pop_back();
  const std::string where = key + ": " + quote(file);
  if (secret.find('\n') != std::string::npos) {
    t.diag().error(at, where + " holds more than one line; it should hold only the client secret");
    return std::nullopt;
  }
  if (secret.empty() || hasControl(secret)) {
    t.diag().error(at, where + (secret.empty() ? " is empty" : " holds control characters") +
                           "; it should hold the client secret the provider issued, on one line");
    return std::nullopt;
  }
  return secret;
}

// Exactly one of client_secret, client_secret_file and client_key_file.
void readClientAuth(TableReader& t, const Config& config, OidcProviderConfig& p) {
  std::vector<std::string_view> given;
  for (std::string_view key : {"client_secret", "client_secret_file", "client_key_file"}) {
    if (t.find(key) != nullptr) given.push_back(key);
  }
  if (given.empty()) {
    t.missing("client_secret_file",
              "the path of a file holding the client secret the provider issued; or "
              "client_key_file for private_key_jwt");
  } else if (given.size() > 1) {
    t.diag().error(*t.find(given[1]), t.path(given[0]) + " and " + t.path(given[1]) +
                                          " are both set; keep only one (the client "
                                          "authenticates one way)");
  } else if (given[0] == "client_secret") {
    std::optional<std::string> secret = t.string("client_secret");
    const toml::node& at = *t.find("client_secret");
    if (secret && (secret->empty() || hasControl(*secret))) {
      // The value itself never appears in a message.
      t.diag().error(at, t.path("client_secret") +
                             " must be the non-empty secret the provider "
                             "issued, without control characters");
    } else if (secret) {
      p.client_secret = std::move(*secret);
      const toml::source_position pos = at.source().begin;
      LOG_WARN(
          "%s:%u:%u: %s is written in the configuration file, where everyone who can read "
          "it sees the secret; prefer client_secret_file (mode 0640, owner root, group "
          "sesame)",
          t.diag().file().c_str(), pos.line, pos.column, t.path("client_secret").c_str());
    }
  } else {
    std::string_view key = given[0];
    std::optional<std::string> name = t.string(key);
    if (name && name->empty()) {
      t.diag().error(*t.find(key), t.path(key) + " is empty (expected the path of a file)");
    } else if (name && key == "client_secret_file") {
      p.client_secret_file = resolvePath(config.path, *name);
      if (auto secret = readSecretLine(t, p.client_secret_file))
        p.client_secret = std::move(*secret);
    } else if (name) {
      p.client_key_file = resolvePath(config.path, *name);
      if (auto k = readPrivateKey(t.diag(), *t.find(key), t.path(key), p.client_key_file,
                                  KeyUse::kClientAuth)) {
        p.client_key_pem = std::move(k->pem);
        p.client_key_alg = std::move(k->alg);
      }
    }
  }
  if (t.find("client_key_id") != nullptr) {
    if (t.find("client_key_file") == nullptr) {
      t.diag().error(*t.find("client_key_id"), t.path("client_key_id") +
                                                   " only applies with client_key_file; set it "
                                                   "or remove client_key_id");
    } else if (auto kid = readName(t, "client_key_id", "\"sesame-2026\"")) {
      p.client_key_id = std::move(*kid);
    }
  }
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
bool scopeToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
  });
}

void readScopes(TableReader& t, OidcProviderConfig& p) {
  const toml::array* items = t.array("scopes", "an array of scope names");
  if (items == nullptr) return;
  std::vector<std::string> scopes;
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    const std::string key = t.path("scopes") + "[" + std::to_string(i) + "]";
    const auto* text = item.as_string();
    if (text == nullptr) {
      t.diag().error(
          item, key + ": expected a string such as \"email\", got " + std::string(typeName(item)));
    } else if (!scopeToken(text->get())) {
      t.diag().error(item, key + " " + quote(text->get()) +
                               " is not a scope (printable ASCII without spaces, '\"' or '\\')");
    } else if (std::find(scopes.begin(), scopes.end(), text->get()) != scopes.end()) {
      t.diag().error(item, key + " " + quote(text->get()) + " is listed twice");
    } else {
      scopes.push_back(text->get());
    }
  }
  if (std::find(scopes.begin(), scopes.end(), "openid") == scopes.end()) {
    t.diag().error(*items, t.path("scopes") +
                               " must contain \"openid\" (without it the provider answers with "
                               "plain OAuth 2.0 and sends no ID token)");
  }
  p.scopes = std::move(scopes);
}

void readAllowedGroups(TableReader& t, OidcProviderConfig& p) {
  const toml::array* items = t.array("allowed_groups", "an array of group names");
  if (items == nullptr) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    const std::string key = t.path("allowed_groups") + "[" + std::to_string(i) + "]";
    const auto* name = item.as_string();
    if (name == nullptr) {
      t.diag().error(item, key + ": expected a string, got " + std::string(typeName(item)));
    } else if (name->get().empty() || name->get().find(',') != std::string::npos ||
               hasControl(name->get())) {
      // Groups travel comma-separated (the groups header).
      t.diag().error(item, key + " " + quote(name->get()) +
                               " must be a non-empty name without \",\" or control characters");
    } else {
      p.allowed_groups.push_back(name->get());
    }
  }
}

void readEmailDomains(TableReader& t, OidcProviderConfig& p) {
  const toml::array* items = t.array("allowed_email_domains", "an array of domain names");
  if (items == nullptr) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    const std::string key = t.path("allowed_email_domains") + "[" + std::to_string(i) + "]";
    const auto* text = item.as_string();
    if (text == nullptr) {
      t.diag().error(item, key + ": expected a string such as \"example.com\", got " +
                               std::string(typeName(item)));
      continue;
    }
    std::string domain;
    for (char c : text->get()) domain += lower(c);
    bool ok = !domain.empty() && domain.size() <= 253 && domain.front() != '.' &&
              domain.back() != '.' && domain.find("..") == std::string::npos &&
              std::all_of(domain.begin(), domain.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
              });
    if (!ok) {
      std::string hint = domain.find('@') != std::string::npos
                             ? "; write the domain alone, without \"@\", such as \"example.com\""
                             : " (letters, digits, '.' and '-', such as \"example.com\")";
      t.diag().error(item, key + " " + quote(text->get()) + " is not a domain name" + hint);
      continue;
    }
    p.allowed_email_domains.push_back(std::move(domain));
  }
}

void readCaFile(TableReader& t, const Config& config, OidcProviderConfig& p) {
  std::optional<std::string> name = t.string("ca_file");
  if (!name || name->empty()) return;
  std::string file = resolvePath(config.path, *name);
  std::optional<std::string> text =
      readSmallFile(t, "ca_file", file, "PEM CA certificates", kMaxCaFileBytes);
  if (!text || !holdsCertificates(t.diag(), *t.find("ca_file"), t.path("ca_file"), file, *text)) {
    return;
  }
  p.ca_file = std::move(file);
}

// `key` within [min, max]; `range` says so in the message.
void readBoundedDuration(TableReader& t, std::string_view key, Duration min, Duration max,
                         std::string_view range, Duration& field) {
  std::optional<Duration> d = t.duration(key, min.count() == 0);
  if (!d) return;
  if (*d < min || *d > max) {
    t.diag().error(*t.find(key), t.path(key) + " must be " + std::string(range));
    return;
  }
  field = *d;
}

// A path on this site, or an absolute https URL.
void readPostLogout(TableReader& t, OidcProviderConfig& p) {
  std::optional<std::string> url = t.string("post_logout_redirect");
  if (!url || url->empty()) return;
  bool path = url->front() == '/' && !url->starts_with("//") &&
              std::none_of(url->begin(), url->end(), [](char c) {
                return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
              });
  if (!path && !httpsUrlProblem(*url, nullptr).empty()) {
    t.diag().error(*t.find("post_logout_redirect"),
                   t.path("post_logout_redirect") + " " + quote(*url) +
                       " must be a path starting with a single \"/\" or an https:// URL without "
                       "query or fragment, without spaces or control characters");
    return;
  }
  p.post_logout_redirect = *url;
}

void readRedirectUrl(TableReader& t, OidcProviderConfig& p) {
  std::optional<std::string> url = t.string("redirect_url");
  if (!url || url->empty()) return;
  std::string problem = httpsUrlProblem(*url, nullptr);
  if (problem.empty() && !url->ends_with(kOidcCallbackPath)) {
    problem = "must end with \"" + std::string(kOidcCallbackPath) +
              "\", where sesame receives "
              "the provider's answer";
  }
  if (!problem.empty()) {
    t.diag().error(*t.find("redirect_url"), t.path("redirect_url") + " " + quote(*url) + " " +
                                                problem + ", such as \"https://app.example.com" +
                                                std::string(kOidcCallbackPath) + "\"");
    return;
  }
  p.redirect_url = *url;
}

OidcProviderConfig readProvider(TableReader& t, const Config& config, std::string name,
                                bool named) {
  t.rejectUnknown({"issuer",
                   "client_id",
                   "client_secret",
                   "client_secret_file",
                   "client_key_file",
                   "client_key_id",
                   "scopes",
                   "user_claim",
                   "groups_claim",
                   "allowed_groups",
                   "allowed_email_domains",
                   "ca_file",
                   "lazy",
                   "refresh",
                   "clock_skew",
                   "http_timeout",
                   "discovery_interval",
                   "display_name",
                   "post_logout_redirect",
                   "redirect_url",
                   "backchannel_logout"});
  OidcProviderConfig p;
  p.name = std::move(name);
  std::string host;
  readIssuer(t, p, &host);
  if (auto id = readName(t, "client_id", "\"sesame\"")) {
    p.client_id = std::move(*id);
  } else if (t.find("client_id") == nullptr) {
    t.missing("client_id", "the client ID the provider issued to sesame, such as \"sesame\"");
  }
  readClientAuth(t, config, p);
  readScopes(t, p);
  if (auto claim = readName(t, "user_claim", "\"preferred_username\", \"email\" or \"sub\"")) {
    p.user_claim = std::move(*claim);
  }
  if (auto claim = readName(t, "groups_claim", "\"groups\"")) p.groups_claim = std::move(*claim);
  readAllowedGroups(t, p);
  readEmailDomains(t, p);
  readCaFile(t, config, p);
  if (auto v = t.boolean("lazy")) p.lazy = *v;
  if (auto v = t.boolean("refresh")) p.refresh = *v;
  readBoundedDuration(t, "clock_skew", Duration{0}, kMaxClockSkew,
                      "at most \"10m\" (a larger skew accepts expired tokens that long)",
                      p.clock_skew);
  readBoundedDuration(t, "http_timeout", Duration{1}, kMaxHttpTimeout,
                      "at most \"5m\" (users wait that long for a provider that does not answer)",
                      p.http_timeout);
  readBoundedDuration(t, "discovery_interval", kMinDiscoveryInterval, kMaxDuration,
                      "at least \"1m\" (the provider's metadata rarely changes)",
                      p.discovery_interval);
  if (auto v = t.string("display_name")) {
    if (v->size() > kMaxDisplayName || hasControl(*v)) {
      t.diag().error(*t.find("display_name"), t.path("display_name") + " must be at most " +
                                                  std::to_string(kMaxDisplayName) +
                                                  " bytes without control characters (\"\": "
                                                  "the default)");
    } else {
      p.display_name = *v;
    }
  }
  if (p.display_name.empty()) p.display_name = named || host.empty() ? p.name : host;
  readPostLogout(t, p);
  if (p.post_logout_redirect.empty()) {
    bool after = config.login && !config.login->after_logout.empty();
    p.post_logout_redirect = after ? config.login->after_logout : "/";
  }
  readRedirectUrl(t, p);
  if (auto v = t.boolean("backchannel_logout")) p.backchannel_logout = *v;
  return p;
}

// [oidc] as a whole: the session store it needs, and the default login page.
void checkSession(TableReader& root, const toml::table& oidc, Config& config) {
  if (!config.session) {
    root.diag().error(oidc,
                      "[oidc] needs a [session] table (signing in creates a session): add "
                      "[session] with secrets_file = \"FILE\" and store = \"memory\" or "
                      "\"redis\"");
    return;
  }
  if (config.session->store == session::StoreKind::kCookie) {
    const toml::node* store = root.table().at_path("session.store").node();
    root.diag().error(store != nullptr ? *store : static_cast<const toml::node&>(oidc),
                      "session.store = \"cookie\" cannot be used with [oidc]: tokens are never "
                      "put in a cookie: use store = \"memory\" or \"redis\"");
  }
  if (config.session->same_site == "Strict") {
    const toml::node* same_site = root.table().at_path("session.same_site").node();
    root.diag().error(same_site != nullptr ? *same_site : static_cast<const toml::node&>(oidc),
                      "session.same_site = \"Strict\" cannot be used with [oidc]: the browser "
                      "comes back from the provider without the session cookie, so no sign-in "
                      "could finish: use \"Lax\" (the default)");
  }
  const toml::table* session = root.table().get_as<toml::table>("session");
  if (session != nullptr && !session->contains("login_url")) {
    config.session->login_url = "/.sesame/login";
  }
}

}  // namespace

void readOidc(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("oidc", "a table ([oidc] or [oidc.NAME])");
  if (table == nullptr) return;
  // toml++ orders keys by name; the operator reads the file in its order.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, value] : *table) entries.emplace_back(&key, &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  auto subtable = std::find_if(entries.begin(), entries.end(),
                               [](const auto& e) { return e.second->is_table(); });
  auto setting = std::find_if(entries.begin(), entries.end(),
                              [](const auto& e) { return !e.second->is_table(); });
  checkSession(root, *table, config);
  if (subtable != entries.end() && setting != entries.end()) {
    root.diag().error(subtable->first->source(),
                      "oidc." + keyPart(subtable->first->str()) +
                          ": [oidc] holds both settings (such as " +
                          keyPart(setting->first->str()) +
                          ") and [oidc.NAME] tables; write either one [oidc] table with the "
                          "settings of the only provider, or one [oidc.NAME] table per provider");
    // Routes naming these providers are not also reported.
    for (auto [key, value] : entries) {
      if (!value->is_table()) continue;
      config.oidc.emplace_back().name = std::string(key->str());
    }
    return;
  }
  if (subtable == entries.end()) {
    TableReader t(*table, "oidc", root.diag());
    config.oidc.push_back(readProvider(t, config, "default", false));
    return;
  }
  for (auto [key, value] : entries) {
    std::string label = "oidc." + keyPart(key->str());
    if (!validProviderName(key->str())) {
      root.diag().error(key->source(), label + ": provider names are 1 to " +
                                           std::to_string(kMaxProviderName) +
                                           " of a-z, 0-9, \"_\" and \"-\" (they appear in "
                                           "URLs and in session tags)");
      continue;
    }
    TableReader t(*value->as_table(), label, root.diag());
    OidcProviderConfig p = readProvider(t, config, std::string(key->str()), true);
    for (const OidcProviderConfig& other : config.oidc) {
      if (p.issuer.empty() || other.issuer != p.issuer || other.client_id != p.client_id) continue;
      // Back-channel logout tokens name the provider by iss and aud only.
      root.diag().error(*value, label + " has the same issuer and client_id as oidc." +
                                    keyPart(other.name) +
                                    "; a logout token could not tell them apart: keep one");
    }
    config.oidc.push_back(std::move(p));
  }
}

bool readRouteOidc(TableReader& entry, const Config& config, session::RoutePolicy& policy) {
  bool uses = false;
  if (auto name = entry.string("provider")) {
    uses = true;
    const toml::node& at = *entry.find("provider");
    auto found = std::find_if(config.oidc.begin(), config.oidc.end(),
                              [&](const OidcProviderConfig& p) { return p.name == *name; });
    if (config.oidc.empty()) {
      entry.diag().error(at, entry.path("provider") +
                                 " needs an [oidc] table: the provider's issuer, client_id and "
                                 "client_secret_file");
    } else if (found == config.oidc.end()) {
      std::string defined;
      for (const OidcProviderConfig& p : config.oidc) {
        defined += (defined.empty() ? "" : ", ") + quote(p.name);
      }
      entry.diag().error(at, entry.path("provider") + " " + quote(*name) +
                                 " is not defined (defined: " + defined +
                                 (config.oidc.size() == 1 && config.oidc[0].name == "default"
                                      ? ", the name of a lone [oidc] table)"
                                      : ")"));
    } else {
      policy.provider = static_cast<size_t>(found - config.oidc.begin());
    }
  }
  const std::optional<bool> bearer = entry.boolean("bearer");
  if (bearer.value_or(false)) {
    uses = true;
    policy.bearer = true;
    const toml::node& at = *entry.find("bearer");
    if (config.oidc.empty()) {
      entry.diag().error(at, entry.path("bearer") +
                                 " = true needs an [oidc] table: the provider whose access "
                                 "tokens this route accepts");
    } else if (entry.find("provider") == nullptr) {
      if (config.oidc.size() == 1) {
        policy.provider = 0;
      } else {
        entry.diag().error(at, entry.path("bearer") +
                                   " = true with several [oidc.NAME] providers: name the one "
                                   "whose tokens this route accepts, such as provider = " +
                                   quote(config.oidc[0].name));
      }
    }
  }
  if (const toml::node* audience = entry.find("bearer_audience")) {
    const std::string key = entry.path("bearer_audience");
    std::vector<std::pair<const toml::node*, std::string>> items;
    if (audience->is_string()) {
      items.emplace_back(audience, key);
    } else if (const auto* list = audience->as_array(); list != nullptr && !list->empty()) {
      for (size_t i = 0; i < list->size(); ++i) {
        items.emplace_back(list->get(i), key + "[" + std::to_string(i) + "]");
      }
    } else {
      entry.diag().error(*audience, key +
                                        ": expected a string or a non-empty array of strings "
                                        "such as \"api://orders\", got " +
                                        (audience->is_array() ? std::string("an empty array")
                                                              : std::string(typeName(*audience))));
    }
    for (auto& [item, label] : items) {
      const auto* text = item->as_string();
      if (text == nullptr || text->get().empty() || text->get().size() > kMaxValueBytes ||
          hasControl(text->get())) {
        entry.diag().error(*item, label +
                                      " must be a non-empty string without control "
                                      "characters, such as \"api://orders\"");
      } else {
        policy.bearer_audience.push_back(text->get());
      }
    }
    if (!policy.bearer) {
      entry.diag().error(*audience, key +
                                        " only applies with bearer = true; set it or remove "
                                        "bearer_audience");
    }
    if (policy.bearer && policy.provider && *policy.provider < config.oidc.size()) {
      const std::string& client_id = config.oidc[*policy.provider].client_id;
      if (std::find(policy.bearer_audience.begin(), policy.bearer_audience.end(), client_id) !=
          policy.bearer_audience.end()) {
        entry.diag().error(*audience,
                           key + " names sesame's own client_id " + quote(client_id) +
                               ": the provider's ID tokens for sesame carry that audience and "
                               "would pass as access tokens; use the API's own audience");
      }
    }
  } else if (policy.bearer) {
    // RFC 9068 §4: without an audience check, a token the provider issued
    // for any other client would be accepted here.
    entry.diag().error(*entry.find("bearer"),
                       entry.path("bearer") +
                           " = true needs bearer_audience: the audience (\"aud\") the provider "
                           "puts in access tokens for this API, such as bearer_audience = "
                           "\"api://orders\"");
  }
  if (auto only = entry.boolean("bearer_only")) {
    if (*only && !policy.bearer) {
      entry.diag().error(*entry.find("bearer_only"), entry.path("bearer_only") +
                                                         " = true needs bearer = true (the "
                                                         "route then accepts only tokens)");
    } else {
      policy.bearer_only = *only;
    }
  }
  return uses;
}

}  // namespace sesame::config

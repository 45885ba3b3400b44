// [login]: the users file, brute-force limits, the form's look, forward-auth hosts.
#include <algorithm>
#include <cctype>

#include "reader.h"
#include "sesame/auth/pages.h"

namespace sesame::config {
namespace {

// A users file of a million lines is about 100 MiB; more is the wrong file.
constexpr uintmax_t kMaxUsersFileBytes = 128ull * 1024 * 1024;
constexpr uintmax_t kMaxTemplateBytes = 64 * 1024;
constexpr size_t kMaxTitleBytes = 200;

bool visible(std::string_view s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

void readUsers(TableReader& t, const Config& config, LoginConfig& login) {
  std::optional<std::string> name = t.string("users_file");
  if (!name) {
    if (t.find("users_file") == nullptr) {
      t.missing("users_file",
                "the path of a file of \"user:hash\" lines (make hashes with `sesame "
                "hash-password`)");
    }
    return;
  }
  if (name->empty()) {
    t.diag().error(*t.find("users_file"),
                   "login.users_file is empty (expected the path of a "
                   "file of \"user:hash[:group,group]\" lines)");
    return;
  }
  login.users_file = resolvePath(config.path, *name);
  std::optional<std::string> text =
      readSmallFile(t, "users_file", login.users_file,
                    "one \"user:hash[:group,group]\" line per user", kMaxUsersFileBytes);
  if (!text) return;
  auth::UsersLoad loaded = auth::parseUsers(*text, login.users_file);
  for (std::string& error : loaded.errors) t.diag().external(std::move(error));
  login.users = std::move(loaded.users);
}

void readTemplate(TableReader& t, const Config& config, LoginConfig& login) {
  std::optional<std::string> name = t.string("template");
  if (!name || name->empty()) return;
  std::string file = resolvePath(config.path, *name);
  std::optional<std::string> html =
      readSmallFile(t, "template", file, "an HTML sign-in form", kMaxTemplateBytes);
  if (!html) return;
  if (std::optional<std::string> problem = auth::checkTemplate(*html)) {
    t.diag().error(*t.find("template"), "login.template " + quote(file) + ": " + *problem);
    return;
  }
  login.page_template = std::move(*html);
}

// An operator's URL: a path on this site, or an absolute http(s) URL (the
// site a forward-auth proxy protects).
void readAfterLogout(TableReader& t, LoginConfig& login) {
  std::optional<std::string> url = t.string("after_logout");
  if (!url || url->empty()) return;
  bool path = url->front() == '/' && !url->starts_with("//");
  bool absolute = url->starts_with("https://") || url->starts_with("http://");
  if (!visible(*url) || !(path || absolute)) {
    t.diag().error(*t.find("after_logout"),
                   "login.after_logout " + quote(*url) +
                       " must be a path starting with a single \"/\" or an http:// or https:// "
                       "URL, without spaces or control characters");
    return;
  }
  login.after_logout = *url;
}

void readForwardAuthHosts(TableReader& t, LoginConfig& login) {
  const toml::array* items = t.array("forward_auth_hosts", "an array of host names");
  if (items == nullptr) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    std::string key = t.path("forward_auth_hosts") + "[" + std::to_string(i) + "]";
    const auto* text = item.as_string();
    if (text == nullptr) {
      t.diag().error(item, key + ": expected a string such as \"app.example.com\", got " +
                               std::string(typeName(item)));
      continue;
    }
    std::string host = text->get();
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    bool ok =
        !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
                 c == '[' || c == ']';
        });
    if (!ok) {
      t.diag().error(item, key + " " + quote(text->get()) +
                               " is not a host name (letters, digits, '.', '-', and an optional "
                               "\":port\"; no scheme, no path)");
      continue;
    }
    login.forward_auth_hosts.push_back(std::move(host));
  }
}

}  // namespace

void readLogin(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("login", "a table ([login])");
  if (table == nullptr) return;
  TableReader t(*table, "login", root.diag());
  t.rejectUnknown({"users_file", "max_failures", "failure_window", "title", "template",
                   "after_logout", "forward_auth_hosts", "expose_data", "hash_threads",
                   "hash_queue"});
  if (!config.session) {
    root.diag().error(*table,
                      "[login] needs a [session] table (sign-in creates sessions): add "
                      "[session] with secrets_file = \"FILE\"");
    return;
  }
  LoginConfig login;
  readUsers(t, config, login);
  if (auto v = t.integer("max_failures", 1, 1'000'000)) login.max_failures = *v;
  if (auto d = t.duration("failure_window", false)) login.failure_window = *d;
  if (auto v = t.string("title")) {
    if (v->empty() || v->size() > kMaxTitleBytes) {
      t.diag().error(*t.find("title"),
                     "login.title must be 1 to " + std::to_string(kMaxTitleBytes) + " bytes");
    } else {
      login.title = *v;
    }
  }
  readTemplate(t, config, login);
  readAfterLogout(t, login);
  readForwardAuthHosts(t, login);
  if (!login.forward_auth_hosts.empty() && config.server.trusted_proxies.empty()) {
    // Not an error (a test set-up may want it), but forward-auth cannot
    // work: the front proxy's X-Forwarded-* are believed from nobody.
    const toml::source_position at = t.find("forward_auth_hosts")->source().begin;
    LOG_WARN(
        "%s:%u:%u: login.forward_auth_hosts is set but server.trusted_proxies is empty: the "
        "front proxy's X-Forwarded-* fields will be ignored, browsers get 401 instead of the "
        "sign-in page, and every client counts as the proxy's address for the brute-force "
        "limit; list the front proxy's address in server.trusted_proxies",
        t.diag().file().c_str(), at.line, at.column);
  }
  if (auto v = t.boolean("expose_data")) login.expose_data = *v;
  if (auto v = t.integer("hash_threads", 1, 64)) login.hash_threads = static_cast<unsigned>(*v);
  if (auto v = t.integer("hash_queue", 1, 100'000)) login.hash_queue = static_cast<size_t>(*v);
  // The form is the login page unless the operator named another.
  const toml::table* session = root.table().get_as<toml::table>("session");
  if (session != nullptr && !session->contains("login_url")) {
    config.session->login_url = "/.sesame/login";
  }
  config.login = std::move(login);
}

}  // namespace sesame::config

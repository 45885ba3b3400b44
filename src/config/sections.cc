// [server], [tls], [[listen]], [limits], [timeouts] and [log].
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "reader.h"

namespace sesame::config {
namespace {

namespace fs = std::filesystem;

// Only existence and readability: the tls module parses the PEM, and a
// missing file found now is an error at `sesame -t` time, not at first
// handshake.
void checkReadable(TableReader& entry, std::string_view key, const toml::node& at,
                   const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    entry.diag().error(at, entry.path(key) + ": " + quote(file) + " does not exist");
  } else if (!fs::is_regular_file(file, ec)) {
    entry.diag().error(at, entry.path(key) + ": " + quote(file) + " is not a regular file");
  } else if (::access(file.c_str(), R_OK) != 0) {
    entry.diag().error(
        at, entry.path(key) + ": cannot read " + quote(file) + ": " + std::strerror(errno));
  }
}

void readCertificate(TableReader& entry, Config& config) {
  entry.rejectUnknown({"cert", "key"});
  tls::CertificateSettings cert;
  bool complete = true;
  for (auto [key, field, what] : {std::tuple{"cert", &cert.cert, "a PEM certificate chain file"},
                                  std::tuple{"key", &cert.key, "a PEM private key file"}}) {
    std::optional<std::string> value = entry.string(key);
    if (!value) {
      if (entry.find(key) == nullptr) entry.missing(key, what);
      complete = false;
    } else if (value->empty()) {
      entry.diag().error(*entry.find(key), entry.path(key) + " is empty (expected " + what + ")");
      complete = false;
    } else {
      *field = resolvePath(config.path, *value);
      checkReadable(entry, key, *entry.find(key), *field);
    }
  }
  if (complete) config.tls.certificates.push_back(std::move(cert));
}

// Resolved now rather than at the switch, so `sesame -t` catches a typo and a
// start fails before it binds anything.
void readUser(TableReader& server, const std::string& name, ServerConfig& out) {
  const toml::node& at = *server.find("user");
  if (name.empty()) {
    server.diag().error(at, "server.user is empty (expected a user name, or leave it out)");
    return;
  }
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int err = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    server.diag().error(at, "server.user " + quote(name) + " is not a user on this system" +
                                (err != 0 ? std::string(" (") + std::strerror(err) + ")" : ""));
    return;
  }
  if (found->pw_uid == 0) {
    server.diag().error(at, "server.user " + quote(name) +
                                " has uid 0: switching to it would keep every privilege "
                                "(name an unprivileged user such as \"sesame\")");
    return;
  }
  out.user = name;
  out.uid = found->pw_uid;
  out.gid = found->pw_gid;
}

void readTrustedProxies(TableReader& server, ServerConfig& out) {
  const toml::array* items =
      server.array("trusted_proxies", "an array of CIDR strings such as \"10.0.0.0/8\"");
  if (items == nullptr) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    std::string key = server.path("trusted_proxies") + "[" + std::to_string(i) + "]";
    const auto* text = item.as_string();
    if (text == nullptr) {
      server.diag().error(item, key +
                                    ": expected a string such as \"10.0.0.0/8\" or \"::1\", got " +
                                    std::string(typeName(item)));
      continue;
    }
    std::string why;
    std::optional<net::Cidr> cidr = net::parseCidr(text->get(), &why);
    if (!cidr) {
      server.diag().error(
          item, key + " " + quote(text->get()) + " is not an address or CIDR block: " + why);
      continue;
    }
    out.trusted_proxies.push_back(*cidr);
  }
}

}  // namespace

std::string resolvePath(const std::string& config_path, const std::string& value) {
  fs::path p(value);
  if (p.is_relative()) {
    fs::path dir = fs::path(config_path).parent_path();
    p = (dir.empty() ? fs::path(".") : dir) / p;
  }
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  return (ec ? p : absolute).lexically_normal().string();
}

namespace {

// RFC 9110 §5.6.2 token characters.
bool isToken(std::string_view s) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

void readUpgradeProtocols(TableReader& server, const toml::array& list, ServerConfig& out) {
  out.upgrade_protocols.clear();
  for (size_t i = 0; i < list.size(); ++i) {
    const toml::node& item = *list.get(i);
    std::string key = server.path("upgrade_protocols") + "[" + std::to_string(i) + "]";
    const auto* name = item.as_string();
    if (name == nullptr) {
      server.diag().error(item, key + ": expected a string, got " + std::string(typeName(item)));
    } else if (!isToken(name->get()) || name->get().find('/') != std::string::npos) {
      server.diag().error(item, key + " " + quote(name->get()) +
                                    " is not a protocol name (a token such as \"websocket\")");
    } else if (http::equalsIgnoreCase(name->get(), "h2c")) {
      // An h2c tunnel would carry HTTP/2 requests that sesame never parses
      // past the session gate and the header filters.
      server.diag().error(item, key + " " + quote(name->get()) +
                                    " cannot be tunnelled: sesame would not see the HTTP/2 "
                                    "requests inside it; remove it");
    } else {
      out.upgrade_protocols.push_back(name->get());
    }
  }
}

}  // namespace

void readServer(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("server", "a table ([server])");
  if (table == nullptr) return;
  TableReader server(*table, "server", root.diag());
  server.rejectUnknown({"workers", "user", "shutdown_timeout", "upgrade_protocols",
                        "trusted_proxies", "escaped_slashes"});
  if (auto workers = server.integer("workers", 0, 256)) {
    config.server.workers = static_cast<unsigned>(*workers);
    if (config.server.workers == 0) {
      config.server.workers = std::max(1u, std::thread::hardware_concurrency());
    }
  }
  if (auto user = server.string("user")) readUser(server, *user, config.server);
  if (auto timeout = server.duration("shutdown_timeout", true)) {
    config.server.shutdown_timeout = *timeout;
  }
  if (const toml::array* list = server.array("upgrade_protocols", "an array of protocol names")) {
    readUpgradeProtocols(server, *list, config.server);
  }
  readTrustedProxies(server, config.server);
  if (auto slashes = server.string("escaped_slashes")) {
    if (*slashes == "reject" || *slashes == "keep") {
      config.server.escaped_slashes =
          *slashes == "keep" ? http::EscapedSlashes::kKeep : http::EscapedSlashes::kReject;
    } else {
      server.diag().error(*server.find("escaped_slashes"),
                          "server.escaped_slashes " + quote(*slashes) +
                              " is not supported (expected \"reject\" or \"keep\")");
    }
  }
}

void readTls(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("tls", "a table ([tls])");
  if (table == nullptr) return;
  TableReader tls(*table, "tls", root.diag());
  tls.rejectUnknown({"min_version", "hsts", "ciphers", "ciphersuites", "certificate"});
  if (auto version = tls.string("min_version")) {
    if (*version == "1.2" || *version == "1.3") {
      config.tls.min_version = *version;
    } else {
      tls.diag().error(*tls.find("min_version"), "tls.min_version " + quote(*version) +
                                                     " is not supported (expected \"1.2\" or "
                                                     "\"1.3\")");
    }
  }
  if (auto hsts = tls.duration("hsts", true)) {
    // RFC 6797 §6.1.1: max-age is whole seconds; 0 tells browsers to forget.
    if (hsts->count() % 1000 != 0) {
      tls.diag().error(*tls.find("hsts"), "tls.hsts must be a whole number of seconds");
    } else {
      config.tls.hsts = *hsts;
    }
  }
  if (auto ciphers = tls.string("ciphers")) config.tls.ciphers = *ciphers;
  if (auto suites = tls.string("ciphersuites")) config.tls.ciphersuites = *suites;
  for (auto [i, t] : tls.tableArray("certificate", "an array of tables ([[tls.certificate]])")) {
    TableReader entry(*t, "tls.certificate[" + std::to_string(i) + "]", root.diag());
    readCertificate(entry, config);
  }
}

void readListeners(TableReader& root, const LoadOptions& options, Config& config) {
  auto entries = root.tableArray("listen", "an array of tables ([[listen]])");
  const toml::node* listen = root.find("listen");
  if (listen == nullptr || (listen->is_array() && listen->as_array()->empty())) {
    root.diag().error(root.table(),
                      "no [[listen]] table: add at least one, e.g. [[listen]] "
                      "with address = \"127.0.0.1:8080\"");
  }
  // Counted as written, so a certificate with its own error does not also
  // make every TLS listener an error.
  const toml::array* certificates = root.table().at_path("tls.certificate").as_array();
  bool has_certificate = certificates != nullptr && !certificates->empty();
  for (auto [i, t] : entries) {
    std::string name = "listen[" + std::to_string(i) + "]";
    TableReader entry(*t, name, root.diag());
    entry.rejectUnknown({"address", "tls", "redirect_https", "proxy_protocol"});
    ListenConfig listen;
    listen.tls = entry.boolean("tls").value_or(false);
    listen.redirect_https = entry.boolean("redirect_https").value_or(false);
    listen.proxy_protocol = entry.boolean("proxy_protocol").value_or(false);
    // Without a trusted peer every connection would be refused: a listener
    // that can never serve is a configuration mistake, said at -t time.
    // Counted as written, so a bad entry is reported once, by itself.
    const toml::array* trusted = root.table().at_path("server.trusted_proxies").as_array();
    if (listen.proxy_protocol && (trusted == nullptr || trusted->empty())) {
      entry.diag().error(*entry.find("proxy_protocol"),
                         name +
                             ".proxy_protocol = true needs server.trusted_proxies: list the "
                             "addresses of the load balancers that send the PROXY header "
                             "(connections from any other peer are refused)");
    }
    if (listen.tls && !has_certificate) {
      entry.diag().error(
          *entry.find("tls"),
          name + ".tls = true needs at least one [[tls.certificate]] (cert and key)");
    }
    if (listen.tls && listen.redirect_https) {
      entry.diag().error(*entry.find("redirect_https"),
                         name +
                             ".redirect_https is only for plain listeners (this one has tls = "
                             "true); set it on a plain HTTP listener");
    }
    std::optional<std::string> address = entry.string("address");
    if (!address) {
      if (entry.find("address") == nullptr) entry.missing("address", "\"host:port\"");
      continue;
    }
    const toml::node& at = *entry.find("address");
    std::optional<net::Address> addr =
        readAddress(root.diag(), at, name + ".address", *address, options);
    if (!addr) continue;
    listen.address = *address;
    listen.addr = *addr;
    for (size_t j = 0; j < config.listeners.size(); ++j) {
      if (config.listeners[j].addr.toString() != addr->toString()) continue;
      root.diag().error(at, name + ".address " + quote(*address) + " is the same as listen[" +
                                std::to_string(j) + "].address " +
                                quote(config.listeners[j].address) + "; remove one of them");
    }
    config.listeners.push_back(std::move(listen));
  }
}

void readLimits(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("limits", "a table ([limits])");
  if (table == nullptr) return;
  TableReader limits(*table, "limits", root.diag());
  limits.rejectUnknown({"header_bytes", "header_count", "body_bytes"});
  if (auto v = limits.integer("header_bytes", 1024, 1048576)) {
    config.limits.head.header_bytes = static_cast<size_t>(*v);
  }
  if (auto v = limits.integer("header_count", 1, 10000)) {
    config.limits.head.header_count = static_cast<size_t>(*v);
  }
  if (auto v = limits.integer("body_bytes", 0, INT64_MAX)) {
    config.limits.body_bytes = static_cast<uint64_t>(*v);
  }
}

void readTimeouts(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("timeouts", "a table ([timeouts])");
  if (table == nullptr) return;
  TableReader timeouts(*table, "timeouts", root.diag());
  timeouts.rejectUnknown(
      {"header", "idle", "upstream_connect", "upstream_read", "tunnel_idle", "client_send"});
  TimeoutsConfig& t = config.timeouts;
  for (auto [key, field] :
       {std::pair{"header", &t.header}, std::pair{"idle", &t.idle},
        std::pair{"upstream_connect", &t.upstream_connect},
        std::pair{"upstream_read", &t.upstream_read}, std::pair{"tunnel_idle", &t.tunnel_idle},
        std::pair{"client_send", &t.client_send}}) {
    if (auto d = timeouts.duration(key, false)) *field = *d;
  }
}

void readLog(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("log", "a table ([log])");
  if (table == nullptr) return;
  TableReader section(*table, "log", root.diag());
  section.rejectUnknown({"access", "format", "level"});
  LogConfig& out = config.log;
  if (auto access = section.string("access")) {
    const toml::node& at = *section.find("access");
    const toml::source_position& pos = at.source().begin;
    out.access_origin =
        root.diag().file() + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
    if (*access == "off") {
      out.access = LogConfig::Access::kOff;
    } else if (*access == "stderr") {
      out.access = LogConfig::Access::kStderr;
    } else if (access->empty()) {
      section.diag().error(at, "log.access is empty (expected \"stderr\", \"off\" or a file path)");
    } else {
      // The file itself is opened at start (and by `sesame -t`), as the
      // user sesame starts as: the configuration only names it.
      out.access = LogConfig::Access::kFile;
      out.access_path = resolvePath(config.path, *access);
    }
  }
  if (auto format = section.string("format")) {
    if (*format == "combined") {
      out.format = LogConfig::Format::kCombined;
    } else if (*format == "json") {
      out.format = LogConfig::Format::kJson;
    } else {
      section.diag().error(*section.find("format"),
                           "log.format " + quote(*format) +
                               " is not supported (expected \"combined\" or "
                               "\"json\")");
    }
  }
  if (auto level = section.string("level")) {
    static constexpr std::pair<std::string_view, log::Level> kLevels[] = {
        {"debug", log::Level::kDebug},
        {"info", log::Level::kInfo},
        {"warn", log::Level::kWarn},
        {"error", log::Level::kError}};
    auto found = std::find_if(std::begin(kLevels), std::end(kLevels),
                              [&](const auto& entry) { return entry.first == *level; });
    if (found != std::end(kLevels)) {
      out.level = found->second;
    } else {
      section.diag().error(*section.find("level"),
                           "log.level " + quote(*level) +
                               " is not a level (expected \"debug\", \"info\", "
                               "\"warn\" or \"error\")");
    }
  }
}

}  // namespace sesame::config

// [upstream.NAME] and [[route]]: where requests go.
#include <algorithm>

#include "reader.h"
#include "sesame/http/path_normalizer.h"

namespace sesame::config {
namespace {

bool hostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

// A DNS name (no empty label, no port), or "*." and one; already lower-cased
// because the router compares against the lower-cased request host.
bool validRouteHost(std::string_view host) {
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (host.empty() || host.front() == '.' || host.back() == '.') return false;
  if (host.find("..") != std::string_view::npos) return false;
  return std::all_of(host.begin(), host.end(), hostChar);
}

// Requests are routed on their normalised path with path parameters
// removed (http/path_normalizer.h), so a prefix in any other spelling would
// never match: say so, and how to write it. "" when the path is fine.
std::string routePathProblem(const std::string& path) {
  std::string normal;
  const std::string_view reason = http::normalizeTarget(path, http::EscapedSlashes::kKeep, normal);
  if (!reason.empty()) return "can never match a request (" + std::string(reason) + ")";
  if (path.find_first_of("?;") != std::string::npos) {
    return "contains '?' or ';', which routes never see: requests are matched on their path "
           "without query and without ;parameters";
  }
  if (normal != path) {
    return "is not in normal form and would never match (requests are matched after "
           "normalisation); write " +
           quote(normal);
  }
  return {};
}

void readServers(TableReader& entry, const LoadOptions& options, UpstreamConfig& upstream) {
  const toml::array* servers = entry.array("servers", "an array of \"host:port\" strings");
  if (servers == nullptr) {
    if (entry.find("servers") == nullptr) {
      entry.missing("servers", "an array of \"host:port\" strings, e.g. [\"127.0.0.1:9000\"]");
    }
    return;
  }
  if (servers->empty()) {
    entry.diag().error(*servers,
                       entry.path("servers") + " is empty (expected at least one \"host:port\")");
  }
  for (size_t i = 0; i < servers->size(); ++i) {
    const toml::node& item = *servers->get(i);
    std::string key = entry.path("servers") + "[" + std::to_string(i) + "]";
    const auto* text = item.as_string();
    if (text == nullptr) {
      entry.diag().error(
          item, key + ": expected a string \"host:port\", got " + std::string(typeName(item)));
      continue;
    }
    if (auto addr = readAddress(entry.diag(), item, key, text->get(), options)) {
      upstream.servers.push_back(UpstreamServer{text->get(), *addr});
    }
  }
}

void readRoute(TableReader& entry, const std::string& name, Config& config) {
  entry.rejectUnknown({"host", "path", "upstream", "auth", "groups", "accept_control", "csrf",
                       "provider", "bearer", "bearer_audience", "bearer_only"});
  RouteConfig route;
  readRoutePolicy(entry, config, route.policy);
  if (auto host = entry.string("host")) {
    std::transform(host->begin(), host->end(), host->begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    if (validRouteHost(*host)) {
      route.host = *host;
    } else {
      entry.diag().error(*entry.find("host"),
                         name + ".host " + quote(*host) +
                             " is not a host name or a \"*.example.com\" pattern (without "
                             "port; omit host to match any)");
    }
  }
  if (auto path = entry.string("path")) {
    bool clean = std::none_of(path->begin(), path->end(), [](char c) {
      return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
    });
    if (path->empty() || path->front() != '/') {
      entry.diag().error(*entry.find("path"),
                         name + ".path " + quote(*path) + " must start with \"/\"");
    } else if (!clean) {
      entry.diag().error(*entry.find("path"), name + ".path " + quote(*path) +
                                                  " contains a space or control character, "
                                                  "which no request path can match");
    } else if (std::string problem = routePathProblem(*path); !problem.empty()) {
      entry.diag().error(*entry.find("path"), name + ".path " + quote(*path) + " " + problem);
    } else if (path->starts_with("/.sesame") && (path->size() == 8 || (*path)[8] == '/')) {
      // sesame answers these itself, before any route (sesame(8)).
      entry.diag().error(*entry.find("path"),
                         name + ".path " + quote(*path) +
                             " is sesame's own (sign-in, forward-auth, /.sesame/session) and no "
                             "request would reach this route; choose another path");
    } else {
      route.path = *path;
    }
  }
  std::optional<std::string> upstream = entry.string("upstream");
  if (!upstream) {
    if (entry.find("upstream") == nullptr)
      entry.missing("upstream", "the name of an [upstream.NAME]");
    return;
  }
  route.upstream = *upstream;
  auto found = std::find_if(config.upstreams.begin(), config.upstreams.end(),
                            [&](const UpstreamConfig& u) { return u.name == *upstream; });
  if (found == config.upstreams.end()) {
    std::string defined;
    for (const UpstreamConfig& u : config.upstreams) {
      defined += (defined.empty() ? "" : ", ") + quote(u.name);
    }
    entry.diag().error(
        *entry.find("upstream"),
        name + ".upstream " + quote(*upstream) + " is not defined (" +
            (defined.empty() ? "no [upstream.NAME] table is defined" : "defined: " + defined) +
            ")");
    return;
  }
  route.upstream_index = static_cast<size_t>(found - config.upstreams.begin());
  for (size_t j = 0; j < config.routes.size(); ++j) {
    const RouteConfig& other = config.routes[j];
    if (other.host != route.host || other.path != route.path) continue;
    entry.diag().error(entry.table(), name + " has the same host " + quote(route.host) +
                                          " and path " + quote(route.path) + " as route[" +
                                          std::to_string(j) + "]; it would never be used");
  }
  config.routes.push_back(std::move(route));
}

}  // namespace

void readUpstreams(TableReader& root, const LoadOptions& options, Config& config) {
  const toml::table* table = root.subtable("upstream", "a table of [upstream.NAME] tables");
  if (table == nullptr) return;
  // toml++ keeps table keys ordered by name; the file order is the order the
  // operator reads, so sort by position.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, value] : *table) entries.emplace_back(&key, &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  for (auto [key, value] : entries) {
    std::string name = "upstream." + keyPart(key->str());
    const toml::table* t = value->as_table();
    if (t == nullptr) {
      root.diag().error(*value, name + ": expected a table ([" + name + "]), got " +
                                    std::string(typeName(*value)));
      continue;
    }
    if (key->str().empty()) {
      root.diag().error(key->source(), "upstream names must not be empty");
      continue;
    }
    TableReader entry(*t, name, root.diag());
    entry.rejectUnknown({"servers", "keepalive"});
    UpstreamConfig upstream;
    upstream.name = std::string(key->str());
    if (auto keepalive = entry.integer("keepalive", 0, 4096)) {
      upstream.keepalive = static_cast<unsigned>(*keepalive);
    }
    readServers(entry, options, upstream);
    config.upstreams.push_back(std::move(upstream));
  }
}

void readRoutes(TableReader& root, Config& config) {
  auto entries = root.tableArray("route", "an array of tables ([[route]])");
  const toml::node* routes = root.find("route");
  if (routes == nullptr || (routes->is_array() && routes->as_array()->empty())) {
    root.diag().error(root.table(),
                      "no [[route]] table: add at least one, e.g. [[route]] with "
                      "path = \"/\" and upstream = \"app\"");
  }
  for (auto [i, t] : entries) {
    std::string name = "route[" + std::to_string(i) + "]";
    TableReader entry(*t, name, root.diag());
    readRoute(entry, name, config);
  }
}

}  // namespace sesame::config

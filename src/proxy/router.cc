#include "sesame/proxy/router.h"

#include <algorithm>
#include <optional>

#include "sesame/http/path_normalizer.h"

namespace sesame::proxy {
std::string_view stripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

std::string_view routeHost(std::string_view host) {
  host = stripPort(host);
  if (host.ends_with('.')) host.remove_suffix(1);
  return host;
}

bool atLeastAsStrict(const session::RoutePolicy& a, const session::RoutePolicy& b) {
  if (a.auth < b.auth) return false;
  if (b.auth == session::Auth::kPublic) return true;  // nothing else applies to public routes
  if (!a.csrf && b.csrf) return false;
  if (b.auth == session::Auth::kRequired && !b.groups.empty()) {
    // Fewer groups let fewer users in; none lets every user in.
    if (a.groups.empty()) return false;
    for (const std::string& group : a.groups) {
      if (std::find(b.groups.begin(), b.groups.end(), group) == b.groups.end()) return false;
    }
  }
  return true;
}

namespace {

bool hostMatches(const config::RouteConfig& route, std::string_view host) {
  if (route.host.starts_with("*.")) {
    std::string_view suffix = std::string_view(route.host).substr(1);  // ".example.com"
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return host == route.host;
}

// How much of `target` the route `prefix` covers: its length when
// pathMatches, or, for a prefix "P/", |P| when the target is "P" itself
// (with or without a query). Frameworks serve an application mounted at
// "/admin/" at "/admin" too (Express mounts, Spring's trailing-slash
// matching), so "/admin" must not fall through to a weaker catch-all;
// nginx answers it with a redirect into "location /admin/".
std::optional<size_t> coverage(std::string_view prefix, std::string_view target) {
  if (pathMatches(prefix, target)) return prefix.size();
  if (prefix.size() < 2 || !prefix.ends_with('/')) return std::nullopt;
  std::string_view bare = prefix.substr(0, prefix.size() - 1);
  if (!target.starts_with(bare)) return std::nullopt;
  if (target.size() != bare.size() && target[bare.size()] != '?') return std::nullopt;
  return bare.size();
}

// The route covering most of the path; on a tie an exact "P" route beats a
// "P/" route reached through its bare form (the operator named "P").
const config::RouteConfig* bestPath(const std::vector<const config::RouteConfig*>& routes,
                                    std::string_view host, std::string_view target, bool check_host,
                                    std::string_view only_host = {}) {
  const config::RouteConfig* best = nullptr;
  size_t best_length = 0;
  bool best_exact = false;
  for (const config::RouteConfig* route : routes) {
    if (check_host && !hostMatches(*route, host)) continue;
    if (!only_host.empty() && route->host != only_host) continue;
    std::optional<size_t> length = coverage(route->path, target);
    if (!length) continue;
    bool exact = *length == route->path.size();
    if (best == nullptr || *length > best_length ||
        (*length == best_length && exact && !best_exact)) {
      best = route;
      best_length = *length;
      best_exact = exact;
    }
  }
  return best;
}

}  // namespace

bool pathMatches(std::string_view prefix, std::string_view target) {
  if (!target.starts_with(prefix)) return false;
  if (prefix.ends_with('/') || target.size() == prefix.size()) return true;
  char next = target[prefix.size()];
  return next == '/' || next == '?';
}

Router::Router(const std::vector<config::RouteConfig>& routes) {
  for (const config::RouteConfig& route : routes) {
    if (route.host.empty()) {
      any_.push_back(&route);
    } else if (route.host.starts_with("*.")) {
      wildcard_.push_back(&route);
    } else {
      exact_.push_back(&route);
    }
  }
  auto longer_path = [](const config::RouteConfig* a, const config::RouteConfig* b) {
    return a->path.size() > b->path.size();
  };
  std::stable_sort(exact_.begin(), exact_.end(), longer_path);
  std::stable_sort(any_.begin(), any_.end(), longer_path);
  // Wildcards: the longest (most specific) suffix first, then the longest path.
  std::stable_sort(wildcard_.begin(), wildcard_.end(),
                   [](const config::RouteConfig* a, const config::RouteConfig* b) {
                     if (a->host.size() != b->host.size()) return a->host.size() > b->host.size();
                     return a->path.size() > b->path.size();
                   });
}

const config::RouteConfig* Router::match(std::string_view host, std::string_view target) const {
  host = routeHost(host);
  bool host_known = false;
  for (const config::RouteConfig* route : exact_) host_known |= hostMatches(*route, host);
  if (host_known) return bestPath(exact_, host, target, true);
  // Among wildcards, only routes of the most specific matching suffix count.
  const config::RouteConfig* first_wild = nullptr;
  for (const config::RouteConfig* route : wildcard_) {
    if (hostMatches(*route, host)) {
      first_wild = route;
      break;
    }
  }
  if (first_wild != nullptr) return bestPath(wildcard_, host, target, false, first_wild->host);
  return bestPath(any_, host, target, false);
}

Router::TargetMatch Router::matchTarget(std::string_view host,
                                        std::string_view normalized_target) const {
  const std::string_view path = normalized_target.substr(0, normalized_target.find('?'));
  // Without ';' the route path is the path itself: no copy (most requests).
  if (path.find(';') == std::string_view::npos) return {match(host, path), false};
  const config::RouteConfig* first = match(host, http::routePath(normalized_target));
  const config::RouteConfig* second = match(host, path);
  if (second == nullptr || second == first) return {first, false};
  // A route that matches the path with its parameters also matches it
  // without them (route paths hold no ';'), so `first` is not null here.
  if (atLeastAsStrict(first->policy, second->policy)) return {first, false};
  if (atLeastAsStrict(second->policy, first->policy)) return {second, false};
  return {nullptr, true};
}

}  // namespace sesame::proxy

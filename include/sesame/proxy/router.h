// Route selection: request host and path -> the configured route.
#pragma once

#include <string_view>
#include <vector>

#include "sesame/config/config.h"

namespace sesame::proxy {

class Router {
 public:
  explicit Router(const std::vector<config::RouteConfig>& routes);

  // The host class decides first, as in nginx server selection: routes with
  // an exact host beat "*.suffix" routes (longer suffix first), which beat
  // host-less routes. Within the chosen class the longest matching path
  // prefix wins. A prefix ending in '/' matches everything below it; any
  // other prefix matches the path itself or at a '/' or '?' boundary, so
  // "/api" matches "/api/x" and "/api?q" but not "/apis". A prefix "P/"
  // also matches the path "P" itself (an application mounted at "/admin/"
  // answers "/admin" too), unless a route names "P". `host` is
  // lower-case (the request parser lowers it) and is matched as routeHost()
  // gives it; `target` is the route path of a normalised target
  // (http::routePath). Returns null when nothing matches (404).
  [[nodiscard]] const config::RouteConfig* match(std::string_view host,
                                                 std::string_view target) const;

  struct TargetMatch {
    const config::RouteConfig* route = nullptr;  // null: 404, unless ambiguous
    bool ambiguous = false;                      // 400: the readings disagree
  };
  // The route for a normalised origin-form target (http::normalizeTarget),
  // or an asterisk- or authority-form one as received. Path parameters give
  // a path two readings: an application that knows them (Tomcat, Jetty)
  // reads "/admin;x/y" as "/admin/y", one that does not (most others) as a
  // path whose first segment is "admin;x". Routes match the first reading
  // (http::routePath). When the second one selects a different route, the
  // route whose policy is at least as strict (atLeastAsStrict) wins, so
  // that neither kind of application serves a path under a weaker policy
  // than its own reading deserves ("/public;x/secret" is not under a public
  // "/public/" route to Express); when neither policy is, the target is
  // ambiguous. Equally strict routes: the first reading's.
  [[nodiscard]] TargetMatch matchTarget(std::string_view host,
                                        std::string_view normalized_target) const;

 private:
  std::vector<const config::RouteConfig*> exact_;
  std::vector<const config::RouteConfig*> wildcard_;
  std::vector<const config::RouteConfig*> any_;
};

// "host:port" -> "host", "[v6]:port" -> "[v6]"; a host without port unchanged.
[[nodiscard]] std::string_view stripPort(std::string_view host);

// The host that routes match: without port and without the one trailing
// dot of a fully qualified name, so "app.example.com.:443" is
// "app.example.com" and no spelling of a protected host falls through to a
// catch-all route.
[[nodiscard]] std::string_view routeHost(std::string_view host);

// True when policy `a` asks of a client at least what `b` does: auth
// (public < session < required), then, unless `b` is public (where they do
// not apply), csrf (on over off) and groups (when `b` requires some: `a`
// requires a subset of them). accept_control is no check on the client
// and is not compared.
[[nodiscard]] bool atLeastAsStrict(const session::RoutePolicy& a, const session::RoutePolicy& b);

// True when `prefix` matches `target` under the rules above.
[[nodiscard]] bool pathMatches(std::string_view prefix, std::string_view target);

}  // namespace sesame::proxy

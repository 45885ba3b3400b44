#include "sesame/admin/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <utility>

namespace sesame::admin {
namespace {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

constexpr std::string_view kStatusClasses[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::string_view kUpstreamErrorNames[kUpstreamErrorKinds] = {"connect", "timeout",
                                                                       "reset", "bad_response"};
constexpr std::string_view kLookupNames[kSessionLookupResults] = {"valid", "absent", "forged",
                                                                  "expired", "unavailable"};
constexpr std::string_view kLoginNames[kLoginOutcomes] = {"success", "failure", "locked", "busy",
                                                          "unavailable"};

// Shortest text that reads back as the same double; +Inf and NaN as the
// exposition format spells them.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// Label values escape backslash, double quote and line feed (format 0.0.4);
// route labels come from the configuration, which may hold any of them.
void appendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, Labels labels, std::string_view value) {
  out.append(name);
  if (labels.size() > 0) {
    out += '{';
    bool first = true;
    for (const auto& [key, v] : labels) {
      if (!first) out += ',';
      first = false;
      out.append(key).append("=\"");
      appendEscaped(out, v);
      out += '"';
    }
    out += '}';
  }
  out.append(" ").append(value).append("\n");
}

void sample(std::string& out, std::string_view name, Labels labels, uint64_t value) {
  sample(out, name, labels, std::to_string(value));
}

template <const auto& Bounds>
void histogram(std::string& out, std::string_view name, std::string_view label,
               std::string_view value, const Histogram<Bounds>& h) {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    const std::string le =
        i < Bounds.size() ? number(static_cast<double>(Bounds[i]) / 1e9) : "+Inf";
    if (label.empty()) {
      sample(out, bucket, {{"le", le}}, cumulative);
    } else {
      sample(out, bucket, {{label, value}, {"le", le}}, cumulative);
    }
  }
  if (label.empty()) {
    sample(out, std::string(name) + "_sum", {}, number(h.sum_seconds));
    sample(out, std::string(name) + "_count", {}, cumulative);
  } else {
    sample(out, std::string(name) + "_sum", {{label, value}}, number(h.sum_seconds));
    sample(out, std::string(name) + "_count", {{label, value}}, cumulative);
  }
}

void renderProcess(std::string& out, const ProcessMetrics& p) {
  family(out, "sesame_build_info", "gauge", "Always 1; the version label says which sesame runs.");
  sample(out, "sesame_build_info", {{"version", p.version}}, "1");
  family(out, "sesame_start_time_seconds", "gauge", "Unix time the process started.");
  sample(out, "sesame_start_time_seconds", {}, number(p.start_time_seconds));
  family(out, "sesame_workers", "gauge", "Worker threads running.");
  sample(out, "sesame_workers", {}, p.workers);
  family(out, "sesame_listeners", "gauge",
         "Listen addresses accepting connections (0 while starting or draining).");
  sample(out, "sesame_listeners", {}, p.listeners);
  family(out, "sesame_reloads_total", "counter", "Configuration reloads, by outcome.");
  sample(out, "sesame_reloads_total", {{"outcome", "success"}}, p.reloads_succeeded);
  sample(out, "sesame_reloads_total", {{"outcome", "failure"}}, p.reloads_failed);
  family(out, "sesame_config_last_reload_successful", "gauge",
         "1 if the last reload applied its configuration (or none was tried), 0 if it failed.");
  sample(out, "sesame_config_last_reload_successful", {}, p.last_reload_ok ? "1" : "0");
  family(out, "sesame_config_last_load_timestamp_seconds", "gauge",
         "Unix time the running configuration was loaded.");
  sample(out, "sesame_config_last_load_timestamp_seconds", {}, number(p.last_config_load_seconds));
}

void renderTraffic(std::string& out, const MetricsSnapshot& m) {
  family(out, "sesame_connections_active", "gauge", "Client connections open now.");
  sample(out, "sesame_connections_active", {},
         m.connections_opened - std::min(m.connections_closed, m.connections_opened));
  family(out, "sesame_connections_total", "counter", "Client connections accepted.");
  sample(out, "sesame_connections_total", {}, m.connections_opened);
  family(out, "sesame_tls_handshakes_total", "counter", "TLS handshakes with clients, by result.");
  sample(out, "sesame_tls_handshakes_total", {{"result", "success"}}, m.tls_handshakes_ok);
  sample(out, "sesame_tls_handshakes_total", {{"result", "failure"}}, m.tls_handshakes_failed);

  family(out, "sesame_requests_total", "counter", "Responses sent, by route and status class.");
  for (const auto& [route, c] : m.routes) {
    for (size_t i = 0; i < c.by_class.size(); ++i) {
      sample(out, "sesame_requests_total", {{"route", route}, {"status_class", kStatusClasses[i]}},
             c.by_class[i]);
    }
  }
  family(out, "sesame_request_duration_seconds", "histogram",
         "Time from a request's first byte to its response's last byte, by route.");
  for (const auto& [route, c] : m.routes) {
    histogram(out, "sesame_request_duration_seconds", "route", route, c.duration);
  }
  family(out, "sesame_upstream_duration_seconds", "histogram",
         "Time from sending a request upstream to its response head, by upstream.");
  for (const auto& [name, c] : m.upstreams) {
    histogram(out, "sesame_upstream_duration_seconds", "upstream", name, c.duration);
  }
  family(out, "sesame_upstream_errors_total", "counter",
         "Failed upstream exchanges, by upstream and kind.");
  for (const auto& [name, c] : m.upstreams) {
    for (size_t i = 0; i < kUpstreamErrorKinds; ++i) {
      sample(out, "sesame_upstream_errors_total",
             {{"upstream", name}, {"kind", kUpstreamErrorNames[i]}}, c.errors[i]);
    }
  }
}

void renderSessions(std::string& out, const MetricsSnapshot& m) {
  family(out, "sesame_session_lookups_total", "counter", "Session cookie lookups, by result.");
  for (size_t i = 0; i < kSessionLookupResults; ++i) {
    sample(out, "sesame_session_lookups_total", {{"result", kLookupNames[i]}},
           m.session_lookups[i]);
  }
  family(out, "sesame_logins_total", "counter",
         "Sign-in attempts at /.sesame/login, by outcome (locked: too many failures; busy: the "
         "hashing queue was full; unavailable: the store did not answer).");
  for (size_t i = 0; i < kLoginOutcomes; ++i) {
    sample(out, "sesame_logins_total", {{"outcome", kLoginNames[i]}}, m.logins[i]);
  }
  family(out, "sesame_sessions_created_total", "counter", "Sessions created.");
  sample(out, "sesame_sessions_created_total", {}, m.sessions_created);
  family(out, "sesame_sessions_rotated_total", "counter",
         "Session IDs rotated (login, privilege change).");
  sample(out, "sesame_sessions_rotated_total", {}, m.sessions_rotated);
  family(out, "sesame_sessions_destroyed_total", "counter",
         "Sessions destroyed (logout, or a login as another user).");
  sample(out, "sesame_sessions_destroyed_total", {}, m.sessions_destroyed);
  family(out, "sesame_sessions_evicted_total", "counter",
         "Sessions the memory store evicted to stay within max_sessions, by kind (logged-in "
         "ones only ever make room for a login).");
  sample(out, "sesame_sessions_evicted_total", {{"kind", "anonymous"}},
         m.sessions_evicted_anonymous);
  sample(out, "sesame_sessions_evicted_total", {{"kind", "logged_in"}},
         m.sessions_evicted_logged_in);
  family(out, "sesame_store_command_duration_seconds", "histogram",
         "Session store command latency, failed commands included.");
  histogram(out, "sesame_store_command_duration_seconds", "", "", m.store_duration);
  family(out, "sesame_store_command_errors_total", "counter",
         "Session store commands that failed (no connection, timeout, error reply).");
  sample(out, "sesame_store_command_errors_total", {}, m.store_errors);
}

}  // namespace

std::string renderPrometheus(const MetricsSnapshot& metrics, const ProcessMetrics& process) {
  std::string out;
  out.reserve(8192 + 2048 * (metrics.routes.size() + metrics.upstreams.size()));
  renderProcess(out, process);
  renderTraffic(out, metrics);
  renderSessions(out, metrics);
  return out;
}

}  // namespace sesame::admin

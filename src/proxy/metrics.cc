#include "sesame/proxy/metrics.h"

namespace sesame::proxy {

void RouteCounters::add(const RouteCounters& other) {
  for (size_t i = 0; i < by_class.size(); ++i) by_class[i] += other.by_class[i];
  duration.add(other.duration);
}

void UpstreamCounters::add(const UpstreamCounters& other) {
  duration.add(other.duration);
  for (size_t i = 0; i < errors.size(); ++i) errors[i] += other.errors[i];
}

void MetricsSnapshot::add(const MetricsSnapshot& other) {
  for (const auto& [name, c] : other.routes) routes[name].add(c);
  for (const auto& [name, c] : other.upstreams) upstreams[name].add(c);
  connections_opened += other.connections_opened;
  connections_closed += other.connections_closed;
  tls_handshakes_ok += other.tls_handshakes_ok;
  tls_handshakes_failed += other.tls_handshakes_failed;
  for (size_t i = 0; i < session_lookups.size(); ++i)
    session_lookups[i] += other.session_lookups[i];
  for (size_t i = 0; i < logins.size(); ++i) logins[i] += other.logins[i];
  sessions_created += other.sessions_created;
  sessions_rotated += other.sessions_rotated;
  sessions_destroyed += other.sessions_destroyed;
  store_duration.add(other.store_duration);
  store_errors += other.store_errors;
  sessions_evicted_anonymous += other.sessions_evicted_anonymous;
  sessions_evicted_logged_in += other.sessions_evicted_logged_in;
}

RouteCounters* WorkerMetrics::route(std::string_view label) {
  auto it = data_.routes.find(label);
  if (it == data_.routes.end())
    it = data_.routes.emplace(std::string(label), RouteCounters{}).first;
  return &it->second;
}

UpstreamCounters* WorkerMetrics::upstream(std::string_view name) {
  auto it = data_.upstreams.find(name);
  if (it == data_.upstreams.end()) {
    it = data_.upstreams.emplace(std::string(name), UpstreamCounters{}).first;
  }
  return &it->second;
}

}  // namespace sesame::proxy

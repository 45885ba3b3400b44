#include "sesame/admin/metrics.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

using namespace sesame::admin;
using namespace std::chrono_literals;

namespace {

// The lines of `text` that start with `prefix`, joined by newlines.
std::string linesStarting(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0) out += line + "\n";
    pos = end + 1;
  }
  return out;
}

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("histogram buckets are inclusive upper bounds", "[admin][metrics]") {
  RequestHistogram h;
  h.observe(1ms);     // exactly on the first bound: le="0.001"
  h.observe(1001us);  // just above: le="0.0025"
  h.observe(11s);     // above every bound: +Inf only
  h.observe(-5ms);    // a stepped clock counts as zero
  CHECK(h.counts[0] == 2);
  CHECK(h.counts[1] == 1);
  CHECK(h.counts[12] == 1);
  CHECK(h.count() == 4);
  CHECK(h.sum_seconds == Approx(0.001 + 0.001001 + 11));
}

TEST_CASE("status classes, with anything odd counted as 5xx", "[admin][metrics]") {
  WorkerMetrics m;
  RouteCounters* r = m.route("/");
  m.onRequest(*r, 101, 1ms);
  m.onRequest(*r, 200, 1ms);
  m.onRequest(*r, 304, 1ms);
  m.onRequest(*r, 499, 1ms);
  m.onRequest(*r, 503, 1ms);
  m.onRequest(*r, 999, 1ms);
  CHECK(r->by_class == std::array<uint64_t, 5>{1, 1, 1, 1, 2});
  CHECK(r->duration.count() == 6);
}

TEST_CASE("route and upstream slots are stable and shared by name", "[admin][metrics]") {
  WorkerMetrics m;
  RouteCounters* a = m.route("app.example.com/");
  UpstreamCounters* u = m.upstream("app");
  // Many more names: std::map nodes never move.
  for (int i = 0; i < 1000; ++i) {
    (void)m.route("r" + std::to_string(i));
    (void)m.upstream("u" + std::to_string(i));
  }
  CHECK(m.route("app.example.com/") == a);
  CHECK(m.upstream("app") == u);
  m.onUpstreamError(*u, UpstreamError::kTimeout);
  m.onUpstream(*u, 3ms);
  MetricsSnapshot s;
  m.addTo(s);
  CHECK(s.upstreams.at("app").errors[1] == 1);
  CHECK(s.upstreams.at("app").duration.count() == 1);
  CHECK(s.routes.size() == 1001);
}

TEST_CASE("an empty snapshot renders exactly", "[admin][metrics]") {
  ProcessMetrics p;
  p.version = "1.2.3";
  p.start_time_seconds = 1700000000.5;
  p.workers = 2;
  p.listeners = 1;
  p.reloads_succeeded = 3;
  p.reloads_failed = 1;
  p.last_reload_ok = false;
  p.last_config_load_seconds = 1700000100;
  const std::string text = renderPrometheus(MetricsSnapshot{}, p);
  const std::string head = text.substr(0, text.find("# HELP sesame_connections_active"));
  CHECK(head ==
        "# HELP sesame_build_info Always 1; the version label says which sesame runs.\n"
        "# TYPE sesame_build_info gauge\n"
        "sesame_build_info{version=\"1.2.3\"} 1\n"
        "# HELP sesame_start_time_seconds Unix time the process started.\n"
        "# TYPE sesame_start_time_seconds gauge\n"
        "sesame_start_time_seconds 1700000000.5\n"
        "# HELP sesame_workers Worker threads running.\n"
        "# TYPE sesame_workers gauge\n"
        "sesame_workers 2\n"
        "# HELP sesame_listeners Listen addresses accepting connections (0 while starting or "
        "draining).\n"
        "# TYPE sesame_listeners gauge\n"
        "sesame_listeners 1\n"
        "# HELP sesame_reloads_total Configuration reloads, by outcome.\n"
        "# TYPE sesame_reloads_total counter\n"
        "sesame_reloads_total{outcome=\"success\"} 3\n"
        "sesame_reloads_total{outcome=\"failure\"} 1\n"
        "# HELP sesame_config_last_reload_successful 1 if the last reload applied its "
        "configuration (or none was tried), 0 if it failed.\n"
        "# TYPE sesame_config_last_reload_successful gauge\n"
        "sesame_config_last_reload_successful 0\n"
        "# HELP sesame_config_last_load_timestamp_seconds Unix time the running configuration "
        "was loaded.\n"
        "# TYPE sesame_config_last_load_timestamp_seconds gauge\n"
        "sesame_config_last_load_timestamp_seconds 1700000100\n");
  // Families without routes or upstreams still announce themselves, once.
  CHECK(countOf(text, "# TYPE sesame_requests_total counter\n") == 1);
  CHECK(countOf(text, "sesame_requests_total{") == 0);
  CHECK(linesStarting(text, "sesame_store_command_duration_seconds_bucket{le=\"+Inf\"}") ==
        "sesame_store_command_duration_seconds_bucket{le=\"+Inf\"} 0\n");
  CHECK(text.back() == '\n');
}

TEST_CASE("histograms render cumulative buckets, +Inf, sum and count", "[admin][metrics]") {
  WorkerMetrics m;
  RouteCounters* r = m.route("/api");
  m.onRequest(*r, 200, 2ms);
  m.onRequest(*r, 200, 4ms);
  m.onRequest(*r, 502, 20s);
  MetricsSnapshot s;
  m.addTo(s);
  const std::string text = renderPrometheus(s, ProcessMetrics{});
  CHECK(linesStarting(text, "sesame_request_duration_seconds") ==
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.001\"} 0\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.0025\"} 1\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.005\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.01\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.025\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.05\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.1\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.25\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"0.5\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"1\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"2.5\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"10\"} 2\n"
        "sesame_request_duration_seconds_bucket{route=\"/api\",le=\"+Inf\"} 3\n"
        "sesame_request_duration_seconds_sum{route=\"/api\"} 20.006\n"
        "sesame_request_duration_seconds_count{route=\"/api\"} 3\n");
  CHECK(linesStarting(text, "sesame_requests_total{") ==
        "sesame_requests_total{route=\"/api\",status_class=\"1xx\"} 0\n"
        "sesame_requests_total{route=\"/api\",status_class=\"2xx\"} 2\n"
        "sesame_requests_total{route=\"/api\",status_class=\"3xx\"} 0\n"
        "sesame_requests_total{route=\"/api\",status_class=\"4xx\"} 0\n"
        "sesame_requests_total{route=\"/api\",status_class=\"5xx\"} 1\n");
}

TEST_CASE("label values escape backslash, quote and newline", "[admin][metrics]") {
  WorkerMetrics m;
  (void)m.upstream("a\\b\"c\nd");
  MetricsSnapshot s;
  m.addTo(s);
  const std::string text = renderPrometheus(s, ProcessMetrics{"v\"1\n", 0, 0, 0, 0, 0, true, 0});
  CHECK(countOf(text, "sesame_build_info{version=\"v\\\"1\\n\"} 1\n") == 1);
  CHECK(countOf(text,
                "sesame_upstream_errors_total{upstream=\"a\\\\b\\\"c\\nd\",kind=\"reset\"} 0\n") ==
        1);
  // The raw newline never reaches the output: no line starts with the
  // label's tail.
  CHECK(text.find("\nd\\\"") == std::string::npos);
  CHECK(text.find("\nd\"") == std::string::npos);
}

TEST_CASE("two workers merge into one snapshot", "[admin][metrics]") {
  WorkerMetrics w1;
  WorkerMetrics w2;
  w1.onConnectionOpened();
  w1.onConnectionOpened();
  w1.onConnectionClosed();
  w2.onConnectionOpened();
  w1.onTlsHandshake(true);
  w2.onTlsHandshake(false);
  w1.onRequest(*w1.route("/"), 200, 1ms);
  w2.onRequest(*w2.route("/"), 404, 1ms);
  w2.onRequest(*w2.route("/admin"), 302, 1ms);
  w1.onSessionLookup(SessionLookup::kValid);
  w2.onSessionLookup(SessionLookup::kForged);
  w2.onSessionLookup(SessionLookup::kForged);
  w1.onSessionLookup(SessionLookup::kUnavailable);
  w1.onSessionCreated();
  w2.onSessionRotated();
  w2.onSessionDestroyed();
  w1.onStoreCommand(200us, true);
  w2.onStoreCommand(2s, false);
  w1.onUpstreamError(*w1.upstream("app"), UpstreamError::kConnect);
  w2.onUpstreamError(*w2.upstream("app"), UpstreamError::kConnect);

  MetricsSnapshot sum;
  w1.addTo(sum);
  w2.addTo(sum);
  CHECK(sum.connections_opened == 3);
  CHECK(sum.connections_closed == 1);
  CHECK(sum.routes.at("/").by_class[1] == 1);
  CHECK(sum.routes.at("/").by_class[3] == 1);
  CHECK(sum.routes.at("/admin").by_class[2] == 1);
  CHECK(sum.upstreams.at("app").errors[0] == 2);
  CHECK(sum.store_duration.count() == 2);
  CHECK(sum.store_errors == 1);

  const std::string text = renderPrometheus(sum, ProcessMetrics{});
  CHECK(countOf(text, "\nsesame_connections_active 2\n") == 1);
  CHECK(countOf(text, "\nsesame_connections_total 3\n") == 1);
  CHECK(countOf(text, "sesame_tls_handshakes_total{result=\"success\"} 1\n") == 1);
  CHECK(countOf(text, "sesame_tls_handshakes_total{result=\"failure\"} 1\n") == 1);
  CHECK(countOf(text, "sesame_session_lookups_total{result=\"forged\"} 2\n") == 1);
  CHECK(countOf(text, "sesame_session_lookups_total{result=\"valid\"} 1\n") == 1);
  CHECK(countOf(text, "sesame_session_lookups_total{result=\"unavailable\"} 1\n") == 1);
  CHECK(countOf(text, "sesame_session_lookups_total{result=\"expired\"} 0\n") == 1);
  CHECK(countOf(text, "\nsesame_sessions_created_total 1\n") == 1);
  CHECK(countOf(text, "\nsesame_sessions_rotated_total 1\n") == 1);
  CHECK(countOf(text, "\nsesame_sessions_destroyed_total 1\n") == 1);
  CHECK(countOf(text, "\nsesame_store_command_errors_total 1\n") == 1);
  CHECK(countOf(text, "sesame_sessions_evicted_total{kind=\"anonymous\"} 0\n") == 1);
  CHECK(countOf(text, "sesame_sessions_evicted_total{kind=\"logged_in\"} 0\n") == 1);
  sum.sessions_evicted_anonymous = 7;  // the memory store's own count, set by the collector
  CHECK(countOf(renderPrometheus(sum, ProcessMetrics{}),
                "sesame_sessions_evicted_total{kind=\"anonymous\"} 7\n") == 1);
  CHECK(countOf(text, "sesame_store_command_duration_seconds_bucket{le=\"0.00025\"} 1\n") == 1);
  CHECK(countOf(text, "sesame_store_command_duration_seconds_bucket{le=\"1\"} 1\n") == 1);
  CHECK(countOf(text, "sesame_store_command_duration_seconds_bucket{le=\"+Inf\"} 2\n") == 1);
  CHECK(countOf(text, "sesame_upstream_errors_total{upstream=\"app\",kind=\"connect\"} 2\n") == 1);
  // Routes render sorted, whatever worker saw them first.
  CHECK(text.find("route=\"/\",status_class") < text.find("route=\"/admin\",status_class"));
  // Summing again doubles, so addTo adds rather than overwrites.
  w1.addTo(sum);
  CHECK(sum.connections_opened == 5);
}

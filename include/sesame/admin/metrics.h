// Prometheus text rendering of the proxy's metrics, served on the admin
// listener's /metrics, with the process-wide values it adds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sesame/proxy/metrics.h"

namespace sesame::admin {

// The counters are the proxy's (recorded by each worker); admin reads them.
using proxy::Histogram;
using proxy::kLoginOutcomes;
using proxy::kNoRouteLabel;
using proxy::kSessionLookupResults;
using proxy::kUpstreamErrorKinds;
using proxy::MetricsSnapshot;
using proxy::Nanos;
using proxy::RequestHistogram;
using proxy::RouteCounters;
using proxy::SessionLookup;
using proxy::StoreHistogram;
using proxy::UpstreamCounters;
using proxy::UpstreamError;
using proxy::WorkerMetrics;

// Whole-process values, filled by the caller (the main thread's view).
struct ProcessMetrics {
  std::string version;
  double start_time_seconds = 0;  // Unix time the process started
  unsigned workers = 0;
  unsigned listeners = 0;  // [[listen]] addresses accepting now (0 while starting or draining)
  uint64_t reloads_succeeded = 0;
  uint64_t reloads_failed = 0;
  bool last_reload_ok = true;
  double last_config_load_seconds = 0;  // Unix time the running configuration was loaded
};

// Prometheus text exposition format 0.0.4; every name starts with sesame_,
// durations are in seconds, counters end in _total.
[[nodiscard]] std::string renderPrometheus(const MetricsSnapshot& metrics,
                                           const ProcessMetrics& process);

// The Content-Type of renderPrometheus's output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace sesame::admin

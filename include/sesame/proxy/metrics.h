// Metrics: per-worker counters, written on the request path without locks
// or atomics, and their sum. The admin module renders them (/metrics).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace sesame::proxy {

using Nanos = std::chrono::nanoseconds;

// Bucket upper bounds (inclusive, Prometheus `le`), in nanoseconds so that
// recording compares integers. 12 bounds: a recording is an increment and a
// scan over at most 12 values.
// Requests and upstream exchanges: 1 ms to 10 s.
inline constexpr std::array<int64_t, 12> kRequestBounds = {
    1'000'000,   2'500'000,   5'000'000,     10'000'000,    25'000'000,    50'000'000,
    100'000'000, 250'000'000, 500'000'000LL, 1'000'000'000, 2'500'000'000, 10'000'000'000};
// Store commands (a Redis round trip is ~0.1 ms on loopback): 50 us to 1 s.
inline constexpr std::array<int64_t, 12> kStoreBounds = {
    50'000,    100'000,    250'000,    500'000,     1'000'000,   2'500'000,
    5'000'000, 10'000'000, 25'000'000, 100'000'000, 250'000'000, 1'000'000'000};

template <const auto& Bounds>
struct Histogram {
  static constexpr const auto& kBounds = Bounds;
  // Per bucket, not cumulative (rendering accumulates); the last one holds
  // what is above every bound.
  std::array<uint64_t, Bounds.size() + 1> counts{};
  double sum_seconds = 0;

  void observe(Nanos d) {
    const int64_t ns = d.count() < 0 ? 0 : d.count();  // a stepped clock must not poison the sum
    size_t i = 0;
    while (i < Bounds.size() && ns > Bounds[i]) ++i;
    ++counts[i];
    sum_seconds += static_cast<double>(ns) / 1e9;
  }
  void add(const Histogram& other) {
    for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
    sum_seconds += other.sum_seconds;
  }
  [[nodiscard]] uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t c : counts) n += c;
    return n;
  }
};

using RequestHistogram = Histogram<kRequestBounds>;
using StoreHistogram = Histogram<kStoreBounds>;

enum class UpstreamError : uint8_t {
  kConnect,      // connect refused, unreachable, or not within upstream_connect
  kTimeout,      // no response (or no more of it) within upstream_read
  kReset,        // the connection closed or reset before the response ended
  kBadResponse,  // the response head or framing was unparsable
};
inline constexpr size_t kUpstreamErrorKinds = 4;

enum class SessionLookup : uint8_t {
  kValid,        // a cookie whose session the store returned
  kAbsent,       // no session cookie, or the store no longer knows the session
  kForged,       // the cookie's tag did not verify (never reaches a store)
  kExpired,      // the store found the session past its idle or absolute timeout
  kUnavailable,  // the store did not answer (the request failed closed)
};
inline constexpr size_t kSessionLookupResults = 5;

enum class LoginOutcome : uint8_t {
  kSuccess,      // signed in
  kFailure,      // wrong user name or password
  kLocked,       // refused (429): too many failures for the name or the address
  kBusy,         // refused (503): the hashing queue was full
  kUnavailable,  // refused (503): the store did not answer
};
inline constexpr size_t kLoginOutcomes = 5;

struct RouteCounters {
  std::array<uint64_t, 5> by_class{};  // responses by status class, 1xx..5xx
  RequestHistogram duration;           // first request byte to last response byte queued

  void add(const RouteCounters& other);
};

struct UpstreamCounters {
  RequestHistogram duration;  // request sent upstream to response head received
  std::array<uint64_t, kUpstreamErrorKinds> errors{};

  void add(const UpstreamCounters& other);
};

// Route labels are the route's host and path prefix as configured
// ("app.example.com/api/", "/static/" for any host); requests that match
// no route or fail before routing count under this one.
inline constexpr std::string_view kNoRouteLabel = "(none)";

// Plain data: one worker's counters, or the sum over all workers.
struct MetricsSnapshot {
  // By route label and upstream name; std::map keeps the rendering sorted
  // and its nodes never move, so WorkerMetrics hands out stable pointers.
  std::map<std::string, RouteCounters, std::less<>> routes;
  std::map<std::string, UpstreamCounters, std::less<>> upstreams;
  uint64_t connections_opened = 0;
  uint64_t connections_closed = 0;  // active = opened - closed, exact once summed
  uint64_t tls_handshakes_ok = 0;
  uint64_t tls_handshakes_failed = 0;
  std::array<uint64_t, kSessionLookupResults> session_lookups{};
  uint64_t sessions_created = 0;
  uint64_t sessions_rotated = 0;
  uint64_t sessions_destroyed = 0;
  StoreHistogram store_duration;                  // every store command, failed ones included
  uint64_t store_errors = 0;                      // no reply, deadline passed, error reply
  std::array<uint64_t, kLoginOutcomes> logins{};  // POST /.sesame/login, by outcome
  // Process-wide (the memory store's own counters, filled by the collector,
  // not by workers): sessions evicted to respect max_sessions.
  uint64_t sessions_evicted_anonymous = 0;
  uint64_t sessions_evicted_logged_in = 0;

  // Adds `other` in, creating the routes and upstreams it has and this lacks.
  void add(const MetricsSnapshot& other);
};

// One worker's counters. Single writer, no locks, no atomics: every method,
// addTo included, must run on the owning worker's loop thread. To read
// them from elsewhere, post a task to that loop which calls addTo.
class WorkerMetrics {
 public:
  // The counters for a route or an upstream, created on first use. The
  // pointer stays valid for this object's life, across reloads: a worker's
  // per-configuration context resolves its slots once, and a route that
  // disappears in a reload keeps its totals (counters never go back).
  [[nodiscard]] RouteCounters* route(std::string_view label);
  [[nodiscard]] UpstreamCounters* upstream(std::string_view name);

  void onConnectionOpened() { ++data_.connections_opened; }
  void onConnectionClosed() { ++data_.connections_closed; }
  void onTlsHandshake(bool ok) { ++(ok ? data_.tls_handshakes_ok : data_.tls_handshakes_failed); }
  // `status` outside 100..599 counts as 5xx (sesame never sends one).
  void onRequest(RouteCounters& route, int status, Nanos duration) {
    const int cls = status >= 100 && status < 600 ? status / 100 : 5;
    ++route.by_class[static_cast<size_t>(cls - 1)];
    route.duration.observe(duration);
  }
  void onUpstream(UpstreamCounters& upstream, Nanos duration) {
    upstream.duration.observe(duration);
  }
  void onUpstreamError(UpstreamCounters& upstream, UpstreamError kind) {
    ++upstream.errors[static_cast<size_t>(kind)];
  }
  void onSessionLookup(SessionLookup result) {
    ++data_.session_lookups[static_cast<size_t>(result)];
  }
  void onSessionCreated() { ++data_.sessions_created; }
  void onSessionRotated() { ++data_.sessions_rotated; }
  void onSessionDestroyed() { ++data_.sessions_destroyed; }
  void onLogin(LoginOutcome outcome) { ++data_.logins[static_cast<size_t>(outcome)]; }
  void onStoreCommand(Nanos duration, bool ok) {
    data_.store_duration.observe(duration);
    if (!ok) ++data_.store_errors;
  }

  // Adds these counters into `out` (the collector sums all workers).
  void addTo(MetricsSnapshot& out) const { out.add(data_); }

 private:
  MetricsSnapshot data_;
};

}  // namespace sesame::proxy

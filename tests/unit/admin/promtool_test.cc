// A realistic full exposition, every family populated, through Prometheus's
// own linter (`promtool check metrics`, Debian package prometheus).
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "sesame/admin/metrics.h"

using namespace sesame::admin;
using namespace std::chrono_literals;

namespace {

MetricsSnapshot fullSnapshot() {
  WorkerMetrics w1;
  WorkerMetrics w2;
  for (WorkerMetrics* w : {&w1, &w2}) {
    RouteCounters* app = w->route("app.example.com/");
    RouteCounters* api = w->route("*.example.com/api/\"v1\"");
    UpstreamCounters* backend = w->upstream("app");
    UpstreamCounters* other = w->upstream("api");
    for (int i = 0; i < 50; ++i) {
      w->onConnectionOpened();
      w->onTlsHandshake(i % 10 != 0);
      w->onRequest(*app, i % 7 == 0 ? 302 : 200, std::chrono::microseconds(300 * i));
      w->onRequest(*api, i % 9 == 0 ? 503 : 201, std::chrono::milliseconds(40 * i));
      w->onUpstream(*backend, std::chrono::microseconds(250 * i));
      w->onUpstream(*other, std::chrono::milliseconds(30 * i));
      w->onSessionLookup(static_cast<SessionLookup>(i % kSessionLookupResults));
      w->onStoreCommand(std::chrono::microseconds(80 * i), i % 25 != 0);
      if (i % 5 == 0) w->onConnectionClosed();
    }
    w->onUpstreamError(*backend, UpstreamError::kConnect);
    w->onUpstreamError(*other, UpstreamError::kTimeout);
    w->onUpstreamError(*other, UpstreamError::kReset);
    w->onUpstreamError(*other, UpstreamError::kBadResponse);
    w->onSessionCreated();
    w->onSessionRotated();
    w->onSessionDestroyed();
  }
  MetricsSnapshot sum;
  w1.addTo(sum);
  w2.addTo(sum);
  sum.sessions_evicted_anonymous = 250;  // the memory store's, added by the collector
  sum.sessions_evicted_logged_in = 3;
  return sum;
}

ProcessMetrics fullProcess() {
  ProcessMetrics p;
  p.version = "0.1.0";
  p.start_time_seconds = 1.7e9;
  p.workers = 2;
  p.listeners = 2;
  p.reloads_succeeded = 4;
  p.reloads_failed = 1;
  p.last_reload_ok = true;
  p.last_config_load_seconds = 1.7e9 + 60;
  return p;
}

bool havePromtool() {
  return std::system("command -v promtool >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("promtool check metrics accepts a full exposition", "[admin][metrics][promtool]") {
  if (!havePromtool()) {
    WARN("promtool is not installed (Debian package prometheus; scripts/deps.sh installs it)");
    return;
  }
  const std::string text = renderPrometheus(fullSnapshot(), fullProcess());
  char dir_template[] = "/tmp/sesame-promtool-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  std::ofstream(dir + "/metrics.txt") << text;
  const int status = std::system(
      ("promtool check metrics < " + dir + "/metrics.txt > " + dir + "/out.txt 2>&1").c_str());
  std::stringstream output;
  output << std::ifstream(dir + "/out.txt").rdbuf();
  std::filesystem::remove_all(dir);
  INFO("promtool said:\n" << output.str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(output.str().empty());  // no lint warning either

  // The same check fails on a broken exposition, so the assertion above can fail.
  const std::string broken = text + "sesame_bogus_total{route=\"x} 1\n";
  std::ofstream(dir + ".bad") << broken;
  const int bad = std::system(("promtool check metrics < " + dir + ".bad >/dev/null 2>&1").c_str());
  ::unlink((dir + ".bad").c_str());
  CHECK(WEXITSTATUS(bad) != 0);
}

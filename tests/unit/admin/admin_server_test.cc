// The admin server on a real loopback socket and its own thread, driven by
// real HTTP requests; only the data sources are a test double.
#include "sesame/admin/admin_server.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>

#include "../net/loop_helpers.h"
#include "admin_helpers.h"

using namespace sesame;
using admin::AdminServer;
using admin::AdminSources;
using admin::MetricsSnapshot;
using admin::ProcessMetrics;
using admin::testing::get;
using admin::testing::HttpResponse;
using admin::testing::roundTrip;
using admin::testing::upstreamConfig;
using net::testing::listenLoopback;
using namespace std::chrono_literals;

namespace {

uint16_t portOf(const net::Address& a) {
  return ntohs(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port);
}

class FakeSources final : public AdminSources {
 public:
  MetricsSnapshot collect() override {
    ++collects;
    std::lock_guard<std::mutex> lock(mutex_);
    return metrics_;
  }
  ProcessMetrics process() override {
    ProcessMetrics p;
    p.version = "9.9.9-test";
    p.workers = 3;
    return p;
  }
  bool listening() override { return listening_; }
  std::shared_ptr<const config::Config> config() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return config_;
  }
  admin::SessionSources sessions() override { return {config(), nullptr}; }

  void setMetrics(MetricsSnapshot m) {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_ = std::move(m);
  }
  void setConfig(std::shared_ptr<const config::Config> c) {
    std::lock_guard<std::mutex> lock(mutex_);
    config_ = std::move(c);
  }

  std::atomic<bool> listening_{true};
  std::atomic<int> collects{0};

 private:
  std::mutex mutex_;
  MetricsSnapshot metrics_;
  std::shared_ptr<const config::Config> config_ = upstreamConfig({});
};

std::unique_ptr<AdminServer> startServer(FakeSources& sources, AdminServer::Options options = {}) {
  std::string error;
  auto server = AdminServer::create(admin::testing::loopback(0), sources, &error, options);
  INFO(error);
  REQUIRE(server);
  CHECK(portOf(server->address()) != 0);
  server->start();
  return server;
}

bool hasField(const HttpResponse& r, const std::string& field) {
  return (r.head + "\r\n").find("\r\n" + field + "\r\n") != std::string::npos;
}

}  // namespace

TEST_CASE("admin: /healthz, HEAD and the response framing", "[admin][server]") {
  FakeSources sources;
  auto server = startServer(sources);

  HttpResponse r = roundTrip(server->address(), get("/healthz"));
  CHECK(r.status == 200);
  CHECK(r.body == "ok\n");
  CHECK(r.closed);
  CHECK(hasField(r, "Content-Length: 3"));
  CHECK(hasField(r, "Connection: close"));
  CHECK(hasField(r, "Content-Type: text/plain; charset=utf-8"));
  CHECK(hasField(r, "Cache-Control: no-store"));

  r = roundTrip(server->address(), get("/healthz", "HEAD"));
  CHECK(r.status == 200);
  CHECK(hasField(r, "Content-Length: 3"));
  CHECK(r.body.empty());

  // A client that half-closes after its request still gets the answer.
  r = roundTrip(server->address(), get("/healthz"), true);
  CHECK(r.status == 200);
  CHECK(r.body == "ok\n");
}

TEST_CASE("admin: /metrics renders what the sources collect", "[admin][server]") {
  FakeSources sources;
  admin::WorkerMetrics worker;
  worker.onRequest(*worker.route("/"), 200, 3ms);
  worker.onConnectionOpened();
  MetricsSnapshot snapshot;
  worker.addTo(snapshot);
  sources.setMetrics(snapshot);
  auto server = startServer(sources);

  HttpResponse r = roundTrip(server->address(), get("/metrics?name[]=x"));  // query ignored
  CHECK(r.status == 200);
  CHECK(hasField(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  CHECK(r.body == admin::renderPrometheus(snapshot, sources.process()));
  CHECK_THAT(r.body, Catch::Contains("sesame_build_info{version=\"9.9.9-test\"} 1\n"));
  CHECK_THAT(r.body,
             Catch::Contains("sesame_requests_total{route=\"/\",status_class=\"2xx\"} 1\n"));
  CHECK(hasField(r, "Content-Length: " + std::to_string(r.body.size())));
  CHECK(sources.collects == 1);
}

TEST_CASE("admin: /readyz", "[admin][server]") {
  FakeSources sources;
  AdminServer::Options options;
  options.readiness_cache = 0ms;
  auto server = startServer(sources, options);
  auto live = listenLoopback();
  auto closed = listenLoopback(-1);
  const uint16_t live_port = portOf(live.addr);
  const uint16_t closed_port = portOf(closed.addr);

  sources.setConfig(upstreamConfig({{"app", {live_port}}}));
  HttpResponse r = roundTrip(server->address(), get("/readyz"));
  CHECK(r.status == 200);
  CHECK(r.body == "ready\n");

  sources.setConfig(upstreamConfig({{"app", {live_port}}, {"api", {closed_port}}}));
  r = roundTrip(server->address(), get("/readyz"));
  CHECK(r.status == 503);
  CHECK(r.body == "upstream api: no server reachable (127.0.0.1:" + std::to_string(closed_port) +
                      ": Connection refused)\n");

  sources.listening_ = false;
  r = roundTrip(server->address(), get("/readyz"));
  CHECK(r.status == 503);
  CHECK(r.body == "not listening: sesame is starting or draining\n");

  // ready_requires = ["store"]: neither the listeners nor the upstreams count.
  auto store_only = upstreamConfig({{"api", {closed_port}}});
  store_only->admin = config::AdminConfig{"127.0.0.1:9901", admin::testing::loopback(9901),
                                          config::ReadyRequires{false, true, false}, "", ""};
  sources.setConfig(store_only);
  r = roundTrip(server->address(), get("/readyz"));
  CHECK(r.status == 200);
  CHECK(r.body == "ready\n");
}

TEST_CASE("admin: errors", "[admin][server]") {
  FakeSources sources;
  auto server = startServer(sources);

  HttpResponse r = roundTrip(server->address(), get("/"));
  CHECK(r.status == 404);
  CHECK_THAT(r.body, Catch::Contains("/metrics, /healthz and /readyz"));

  r = roundTrip(server->address(), get("/metrics", "POST"));
  CHECK(r.status == 405);
  CHECK(hasField(r, "Allow: GET, HEAD"));
  CHECK(sources.collects == 0);

  r = roundTrip(server->address(), "\x16\x03\x01 this is not HTTP\r\n\r\n");
  CHECK(r.status == 400);
  CHECK(r.closed);

  std::string big =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n";
  r = roundTrip(server->address(), big);
  CHECK(r.status == 431);
  CHECK(sources.collects == 0);

  r = roundTrip(server->address(), "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n");
  CHECK((r.status == 414 || r.status == 431));
}

TEST_CASE("admin: slow and surplus clients are bounded", "[admin][server]") {
  FakeSources sources;
  AdminServer::Options options;
  options.max_connections = 2;
  options.request_timeout = 300ms;
  auto server = startServer(sources, options);

  SECTION("a client that sends nothing is closed after request_timeout") {
    auto start = std::chrono::steady_clock::now();
    HttpResponse r = roundTrip(server->address(), "GET /healthz HTTP/1.1\r\n");
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.status == 0);
    CHECK(r.closed);
    CHECK(took >= 250ms);
    CHECK(took < 3s);
  }
  SECTION("past max_connections a new connection is closed at once") {
    std::vector<net::testing::UniqueFd> idle;
    for (int i = 0; i < 2; ++i) {
      idle.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      REQUIRE(::connect(idle.back().get(), server->address().sa(), server->address().length) == 0);
    }
    // The accept queue is first in, first out: this one is accepted after
    // both idle ones.
    HttpResponse r = roundTrip(server->address(), get("/healthz"), false, 1000ms);
    CHECK(r.status == 0);
    CHECK(r.closed);
    idle.clear();
    // Answered again once the admin thread has read the two closes (in
    // whichever order its loop sees them and the next accept).
    const auto until = std::chrono::steady_clock::now() + 2s;
    int status = 0;
    while (status != 200 && std::chrono::steady_clock::now() < until) {
      status = roundTrip(server->address(), get("/healthz")).status;
    }
    CHECK(status == 200);
  }
}

TEST_CASE("admin: bind errors and a clean stop", "[admin][server]") {
  FakeSources sources;
  SECTION("an address in use fails at create, with the address and the reason") {
    auto taken = listenLoopback();
    std::string error;
    auto server = AdminServer::create(taken.addr, sources, &error);
    CHECK_FALSE(server);
    CHECK(error == "admin address " + taken.addr.toString() + ": Address already in use");
  }
  SECTION("stop ends the thread; destruction closes the socket") {
    auto server = startServer(sources);
    const net::Address addr = server->address();
    CHECK(roundTrip(addr, get("/healthz")).status == 200);
    // An idle client is still connected when the server stops.
    net::testing::UniqueFd idle(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(idle.get(), addr.sa(), addr.length) == 0);
    // Accepted after the idle one (first in, first out): both are open.
    CHECK(roundTrip(addr, get("/healthz")).status == 200);
    server->stop();
    server->stop();  // idempotent
    server.reset();
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(::connect(fd, addr.sa(), addr.length) != 0);
    CHECK(errno == ECONNREFUSED);
    ::close(fd);
  }
  SECTION("a server never started is destroyed cleanly") {
    std::string error;
    auto server = AdminServer::create(admin::testing::loopback(0), sources, &error);
    REQUIRE(server);
  }
}

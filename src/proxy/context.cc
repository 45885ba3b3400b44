#include "sesame/proxy/context.h"

#include <chrono>

namespace sesame::proxy {

Context::Context(event_base* loop, std::shared_ptr<const config::Config> cfg, ssl_ctx_st* tls)
    : base(loop), config(std::move(cfg)), router(config->routes), graveyard(loop), ssl_ctx(tls) {
  for (const config::UpstreamConfig& upstream : config->upstreams) {
    pools.push_back(std::make_unique<UpstreamPool>(base, graveyard, upstream, config->timeouts));
  }
  for (const config::ListenConfig& listen : config->listeners) {
    if (!listen.tls) continue;
    std::string port = listen.addr.toString().substr(listen.addr.toString().rfind(':') + 1);
    if (port != "443") https_port_suffix = ":" + port;
    break;
  }
  if (config->tls.hsts) {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*config->tls.hsts).count();
    hsts_field = "Strict-Transport-Security: max-age=" + std::to_string(seconds) + "\r\n";
  }
}

Context::~Context() {
  for (Disposable* conn : live_) delete conn;
}

void Context::adopt(std::unique_ptr<Disposable> conn) {
  live_.insert(conn.release());
}

std::unique_ptr<Disposable> Context::release(Disposable* conn) {
  live_.erase(conn);
  return std::unique_ptr<Disposable>(conn);
}

}  // namespace sesame::proxy

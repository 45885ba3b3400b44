// Test helpers for the outbound client: a CA and server certificates made with the OpenSSL API,
// a scripted HTTP/1.1 server (TLS or plain) on 127.0.0.1 running on threads of its own, and an
// event loop to run the client on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../tls/test_certs.h"
#include "sesame/base/c_handle.h"
#include "sesame/base/loop_mailbox.h"

namespace sesame::outbound::testing {

// A CA, and a server certificate it signed for `san` (an X.509v3 subjectAltName value such as
// "DNS:localhost,IP:127.0.0.1"). ca_file holds the CA in PEM.
struct Pki {
  explicit Pki(const std::string& san = "DNS:localhost,IP:127.0.0.1");
  tls::testing::TempDir dir;
  tls::testing::KeyPair ca;
  tls::testing::KeyPair server;
  std::string ca_file;
  // A server context presenting `server`, chain included.
  [[nodiscard]] SslCtxPtr serverContext() const;
};

struct Reply {
  enum class Then {
    kKeepAlive,    // read the next request on this connection
    kClose,        // close the socket (TLS: without close_notify)
    kCloseNotify,  // TLS close_notify, then close
    kHang,         // never answer again; wait for the client to go
  };
  std::string bytes;
  Then then = Then::kKeepAlive;
};

// `request` is the raw head and body; `index` counts requests on this connection from 0.
using Handler = std::function<Reply(const std::string& request, int index)>;

// Accepts on 127.0.0.1 (a free port); each connection is served by a thread of its own with
// blocking I/O: the client under test runs on its own loop and must never wait for it.
class TestServer {
 public:
  // `ctx` null: plain HTTP.
  TestServer(SslCtxPtr ctx, Handler handler);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] int accepted() const { return accepted_; }
  [[nodiscard]] std::vector<std::string> requests() const;

 private:
  void acceptLoop();
  void serve(int fd);

  SslCtxPtr ctx_;
  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;  // guarded by mutex_
  std::vector<std::thread> workers_;   // accept thread only
  std::thread acceptor_;
};

// "HTTP/1.1 200 OK" with Content-Length.
[[nodiscard]] std::string okResponse(const std::string& body);

// A port on 127.0.0.1 where nothing listens.
[[nodiscard]] uint16_t closedPort();

// An event loop with its mailbox, for one test.
class Loop {
 public:
  Loop();
  ~Loop();
  [[nodiscard]] event_base* base() const { return base_.get(); }
  [[nodiscard]] const std::shared_ptr<LoopMailbox>& mailbox() const { return mailbox_; }
  // Runs the loop until `done()` holds or `limit` passes; returns done().
  bool runUntil(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Runs the loop for `span`.
  void runFor(std::chrono::milliseconds span);

 private:
  EventBasePtr base_;
  std::shared_ptr<LoopMailbox> mailbox_;
  EventPtr tick_;  // keeps the loop waking up
};

}  // namespace sesame::outbound::testing

#include "test_server.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>

namespace sesame::outbound::testing {
namespace {

using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, CFree<X509_EXTENSION_free>>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("outbound test_server: ") + what);
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  require(ext && X509_add_ext(cert, ext.get(), -1) == 1, "add extension");
}

tls::testing::KeyPair makeLeaf(const tls::testing::KeyPair& ca, const std::string& san) {
  tls::testing::KeyPair leaf{tls::testing::makeKey(tls::testing::KeyType::kEcdsaP256),
                             X509Ptr(X509_new())};
  X509* cert = leaf.cert.get();
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  require(X509_set_pubkey(cert, leaf.key.get()) == 1, "set public key");
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("outbound test"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(ca.cert.get()));
  addExtension(cert, ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  addExtension(cert, ca.cert.get(), NID_subject_alt_name, san);
  require(X509_sign(cert, ca.key.get(), EVP_sha256()) > 0, "sign certificate");
  return leaf;
}

// Waits until `fd` is readable (or TLS holds decrypted bytes); false when the server stops.
bool waitReadable(int fd, SSL* ssl, const std::atomic<bool>& stop) {
  while (!stop) {
    if (ssl != nullptr && SSL_pending(ssl) > 0) return true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) return true;
  }
  return false;
}

// >0 bytes, 0 closed or stopped.
ssize_t readSome(int fd, SSL* ssl, char* buf, size_t len, const std::atomic<bool>& stop) {
  if (!waitReadable(fd, ssl, stop)) return 0;
  if (ssl == nullptr) return std::max<ssize_t>(::read(fd, buf, len), 0);
  const int n = SSL_read(ssl, buf, static_cast<int>(len));
  ERR_clear_error();
  return std::max(n, 0);
}

void writeAll(int fd, SSL* ssl, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ssl != nullptr
                          ? SSL_write(ssl, bytes.data() + off, static_cast<int>(bytes.size() - off))
                          : ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

size_t contentLength(const std::string& head) {
  std::string lower;
  for (char c : head) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t at = lower.find("\r\ncontent-length:");
  return at == std::string::npos ? 0 : std::stoul(head.substr(at + 17));
}

}  // namespace

Pki::Pki(const std::string& san) {
  tls::testing::CertOptions ca_options;
  static std::atomic<int> count{0};
  ca_options.common_name = "outbound test CA " + std::to_string(++count);
  ca_options.is_ca = true;
  ca = tls::testing::makeCertificate(ca_options);
  server = makeLeaf(ca, san);
  ca_file = dir.write("ca.pem", tls::testing::toPem(ca.cert.get()));
}

SslCtxPtr Pki::serverContext() const {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  require(ctx && SSL_CTX_use_certificate(ctx.get(), server.cert.get()) == 1 &&
              SSL_CTX_use_PrivateKey(ctx.get(), server.key.get()) == 1,
          "server context");
  return ctx;
}

TestServer::TestServer(SslCtxPtr ctx, Handler handler)
    : ctx_(std::move(ctx)), handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  require(listen_fd_ >= 0 && ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
              ::listen(listen_fd_, 16) == 0 &&
              ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0,
          "listen");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TestServer::~TestServer() {
  stop_ = true;
  acceptor_.join();
  for (std::thread& t : workers_) t.join();
  ::close(listen_fd_);
}

std::vector<std::string> TestServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void TestServer::acceptLoop() {
  while (waitReadable(listen_fd_, nullptr, stop_)) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void TestServer::serve(int fd) {
  SslPtr ssl;
  if (ctx_ != nullptr) {
    ssl.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) != 1) {
      ERR_clear_error();
      ::close(fd);
      return;
    }
  }
  std::string buffered;
  char chunk[16384];
  for (int index = 0;; ++index) {
    size_t head_end;
    while ((head_end = buffered.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = readSome(fd, ssl.get(), chunk, sizeof chunk, stop_);
      if (n == 0) {
        ::close(fd);
        return;
      }
      buffered.append(chunk, static_cast<size_t>(n));
    }
    const size_t total = head_end + 4 + contentLength(buffered.substr(0, head_end + 2));
    while (buffered.size() < total) {
      const ssize_t n = readSome(fd, ssl.get(), chunk, sizeof chunk, stop_);
      if (n == 0) break;
      buffered.append(chunk, static_cast<size_t>(n));
    }
    const std::string request = buffered.substr(0, total);
    buffered.erase(0, total);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    const Reply reply = handler_(request, index);
    writeAll(fd, ssl.get(), reply.bytes);
    if (reply.then == Reply::Then::kKeepAlive) continue;
    if (reply.then == Reply::Then::kCloseNotify && ssl != nullptr) SSL_shutdown(ssl.get());
    if (reply.then == Reply::Then::kHang) {
      while (readSome(fd, ssl.get(), chunk, sizeof chunk, stop_) > 0) {
      }
    }
    ::close(fd);
    return;
  }
}

std::string okResponse(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

uint16_t closedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  require(fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
              ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0,
          "bind");
  ::close(fd);  // bound but never listening: a connect is refused
  return ntohs(addr.sin_port);
}

Loop::Loop()
    : base_(event_base_new()),
      mailbox_(std::make_shared<LoopMailbox>(base_.get())),
      tick_(event_new(
          base_.get(), -1, EV_PERSIST, [](int, short, void*) {}, nullptr)) {
  const timeval tv{0, 5000};
  event_add(tick_.get(), &tv);
}

Loop::~Loop() {
  tick_.reset();
  mailbox_->close();
}

bool Loop::runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    event_base_loop(base_.get(), EVLOOP_ONCE);
  }
  return done();
}

void Loop::runFor(std::chrono::milliseconds span) {
  const auto end = std::chrono::steady_clock::now() + span;
  runUntil([end] { return std::chrono::steady_clock::now() >= end; }, span * 2);
}

}  // namespace sesame::outbound::testing

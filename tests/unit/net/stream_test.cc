// net::Stream over real sockets on a real loop: reads, writes, watermarks,
// end of stream, timeouts, outgoing connects and a TLS server handshake.
// Timeouts run on a ManualClock: the tests advance it instead of waiting.
#include "sesame/net/stream.h"

#include <event2/buffer.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>

#include "../tls/test_certs.h"
#include "loop_helpers.h"
#include "sesame/base/clock.h"
#include "sesame/tls/context.h"

using namespace sesame;
using namespace sesame::net;
using namespace sesame::net::testing;

namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

struct Accepted {
  FdPair fds;
  RecordingHandler handler;
  std::unique_ptr<Stream> stream;
};

// A plain Stream on one end of a fresh pair; the test drives the other end.
// Timeouts run on `clock` when given, else on the loop's real clock.
std::unique_ptr<Accepted> acceptPlain(Loop& loop, bool tcp = false,
                                      sesame::Clock* clock = nullptr) {
  auto a = std::make_unique<Accepted>();
  a->fds = tcp ? tcpPair() : socketPair();
  REQUIRE(a->fds.mine.get() >= 0);
  REQUIRE(a->fds.peer.get() >= 0);
  a->stream = Stream::accept(loop.base(), clock != nullptr ? *clock : loop.clock(),
                             a->fds.mine.release(), nullptr);
  a->stream->setHandler(&a->handler);
  return a;
}

// Waits (bounded) until a non-blocking connect on `fd` has completed.
bool connected(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 1000) == 1 && (p.revents & POLLOUT) != 0;
}

}  // namespace

TEST_CASE("stream: bytes from the peer reach input() and onStreamRead", "[net][stream]") {
  Loop loop;
  auto a = acceptPlain(loop);
  REQUIRE(writeSome(a->fds.peer.get(), "hello") == 5);
  REQUIRE(loop.runUntil([&] { return evbuffer_get_length(a->stream->input()) == 5; }));
  CHECK(a->handler.reads >= 1);
  CHECK(drain(a->stream->input()) == "hello");
  CHECK(a->handler.events.empty());
}

TEST_CASE("stream: a head and a body queued separately arrive intact", "[net][stream]") {
  Loop loop;
  auto a = acceptPlain(loop);
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n";
  std::string body = pattern(70000);
  add(a->stream->output(), head);
  add(a->stream->output(), body);
  std::string got;
  REQUIRE(loop.runUntil([&] {
    readAvailable(a->fds.peer.get(), got);
    return got.size() >= head.size() + body.size();
  }));
  CHECK(got == head + body);
  CHECK(evbuffer_get_length(a->stream->output()) == 0);
}

TEST_CASE("stream: output queued from onStreamRead is written (echo)", "[net][stream]") {
  Loop loop;
  auto a = acceptPlain(loop);
  a->handler.on_read = [](Stream& s) { evbuffer_add_buffer(s.output(), s.input()); };
  std::string data = pattern(300 * kKiB);
  size_t sent = 0;
  std::string got;
  REQUIRE(loop.runUntil([&] {
    sent += writeSome(a->fds.peer.get(), std::string_view(data).substr(sent));
    readAvailable(a->fds.peer.get(), got);
    return got.size() >= data.size();
  }));
  CHECK(got == data);
}

TEST_CASE("stream: reading pauses at the high watermark and resumes when drained",
          "[net][stream]") {
  constexpr size_t kHigh = 256 * kKiB;
  constexpr size_t kOneRead = 64 * kKiB;
  constexpr size_t kTotal = 4 * kMiB;
  Loop loop;
  auto a = acceptPlain(loop);
  a->stream->setReadHighWater(kHigh);
  std::string data = pattern(kTotal);
  size_t sent = 0;
  size_t max_input = 0;
  bool consuming = false;
  std::string received;
  a->handler.on_read = [&](Stream& s) {
    max_input = std::max(max_input, evbuffer_get_length(s.input()));
    if (consuming) received += drain(s.input());
  };
  auto feed = [&] { sent += writeSome(a->fds.peer.get(), std::string_view(data).substr(sent)); };

  // Feed until nothing moves: the socket pair is full and the stream has
  // stopped reading (an AF_UNIX send is in the peer's queue when it returns,
  // so settle() sees every byte the stream could read).
  for (int pass = 0; pass < 10'000; ++pass) {
    const size_t sent_before = sent;
    const size_t held_before = evbuffer_get_length(a->stream->input());
    feed();
    loop.settle();
    if (sent == sent_before && evbuffer_get_length(a->stream->input()) == held_before) break;
  }
  size_t held = evbuffer_get_length(a->stream->input());
  CHECK(held >= kHigh);
  CHECK(held <= kHigh + kOneRead);
  CHECK(max_input <= kHigh + kOneRead);
  CHECK(held < sent);  // bytes wait in the socket: the stream stopped reading
  feed();
  loop.settle();
  CHECK(evbuffer_get_length(a->stream->input()) == held);

  consuming = true;
  received = drain(a->stream->input());
  REQUIRE(loop.runUntil(
      [&] {
        feed();
        return received.size() >= kTotal;
      },
      1500ms));
  CHECK(max_input <= kHigh + kOneRead);
  CHECK(received.size() == kTotal);
  CHECK(received == data);
}

TEST_CASE("stream: onStreamWrite fires once output drains to the low watermark", "[net][stream]") {
  constexpr size_t kLow = 16 * kKiB;
  Loop loop;
  auto a = acceptPlain(loop);
  a->stream->setWriteLowWater(kLow);
  std::vector<size_t> output_at_write;
  a->handler.on_write = [&](Stream& s) {
    output_at_write.push_back(evbuffer_get_length(s.output()));
  };
  std::string data = pattern(2 * kMiB);
  add(a->stream->output(), data);

  // The peer does not read: the socket buffer fills far above the watermark.
  loop.settle();
  CHECK(a->handler.writes == 0);
  CHECK(evbuffer_get_length(a->stream->output()) > kLow);

  std::string got;
  REQUIRE(loop.runUntil([&] {
    readAvailable(a->fds.peer.get(), got);
    return got.size() >= data.size();
  }));
  CHECK(got == data);
  REQUIRE(!output_at_write.empty());
  CHECK(*std::max_element(output_at_write.begin(), output_at_write.end()) <= kLow);
}

TEST_CASE("stream: a peer close gives kEof after every byte was delivered", "[net][stream]") {
  bool tcp = GENERATE(false, true);
  size_t size = GENERATE(size_t{0}, size_t{5}, 60 * kKiB);
  bool close_at_once = GENERATE(true, false);
  INFO("tcp " << tcp << ", " << size << " bytes, close at once " << close_at_once);
  Loop loop;
  auto a = acceptPlain(loop, tcp);
  std::string data = pattern(size);
  REQUIRE(writeSome(a->fds.peer.get(), data) == size);
  if (!close_at_once) {
    REQUIRE(loop.runUntil([&] { return evbuffer_get_length(a->stream->input()) == size; }));
    loop.settle();
  }
  a->fds.peer.reset();
  REQUIRE(loop.runUntil([&] { return !a->handler.events.empty(); }));
  loop.settle();
  REQUIRE(a->handler.events.size() == 1);
  CHECK(a->handler.events[0] == StreamEvent::kEof);
  CHECK(a->handler.input_at_event[0] == size);
  CHECK(a->handler.log.back() == "event " + std::to_string(static_cast<int>(StreamEvent::kEof)));
  CHECK(drain(a->stream->input()) == data);
}

TEST_CASE("stream: setReadEnabled(false) stops reads until enabled again", "[net][stream]") {
  Loop loop;
  auto a = acceptPlain(loop);
  a->stream->setReadEnabled(false);
  REQUIRE(writeSome(a->fds.peer.get(), "paused") == 6);
  loop.settle();
  CHECK(a->handler.reads == 0);
  CHECK(evbuffer_get_length(a->stream->input()) == 0);

  a->stream->setReadEnabled(true);
  REQUIRE(loop.runUntil([&] { return evbuffer_get_length(a->stream->input()) == 6; }));
  CHECK(drain(a->stream->input()) == "paused");
}

TEST_CASE("stream: no byte for the read timeout gives kReadTimeout", "[net][stream]") {
  ManualClock clock;
  Loop loop;
  auto a = acceptPlain(loop, false, &clock);
  a->stream->setTimeouts(200ms, 0ms);
  clock.advance(199ms);
  CHECK(a->handler.events.empty());
  clock.advance(1ms);
  REQUIRE(a->handler.events.size() == 1);
  CHECK(a->handler.events[0] == StreamEvent::kReadTimeout);
  // A handler that ignores it hears again one timeout later.
  clock.advance(200ms);
  CHECK(a->handler.events.size() == 2);
}

TEST_CASE("stream: bytes arriving postpone the read timeout; paused reading has none",
          "[net][stream]") {
  ManualClock clock;
  Loop loop;
  auto a = acceptPlain(loop, false, &clock);
  a->stream->setTimeouts(200ms, 0ms);
  clock.advance(120ms);
  REQUIRE(writeSome(a->fds.peer.get(), "x") == 1);
  REQUIRE(loop.runUntil([&] { return a->handler.reads == 1; }));
  clock.advance(150ms);  // 270 ms after the start, 150 ms after the byte
  CHECK(a->handler.events.empty());
  clock.advance(49ms);
  CHECK(a->handler.events.empty());
  clock.advance(1ms);  // 200 ms after the byte
  REQUIRE(a->handler.events.size() == 1);
  CHECK(a->handler.events[0] == StreamEvent::kReadTimeout);

  a->stream->setReadEnabled(false);
  clock.advance(std::chrono::hours(1));
  CHECK(a->handler.events.size() == 1);
}

TEST_CASE("stream: reading paused at the high watermark has no read timeout; resuming restarts it",
          "[net][stream]") {
  constexpr size_t kHigh = 16 * kKiB;
  ManualClock clock;
  Loop loop;
  auto a = acceptPlain(loop, false, &clock);
  a->stream->setReadHighWater(kHigh);
  a->stream->setTimeouts(200ms, 0ms);
  REQUIRE(writeSome(a->fds.peer.get(), pattern(kHigh)) == kHigh);
  REQUIRE(loop.runUntil([&] { return evbuffer_get_length(a->stream->input()) >= kHigh; }));
  // Paused: the consumer is slow, not the peer.
  clock.advance(std::chrono::hours(1));
  CHECK(a->handler.events.empty());
  // The consumer catches up: reading resumes and its clock starts now.
  drain(a->stream->input());
  clock.advance(199ms);
  CHECK(a->handler.events.empty());
  clock.advance(1ms);
  REQUIRE(a->handler.events.size() == 1);
  CHECK(a->handler.events[0] == StreamEvent::kReadTimeout);
}

TEST_CASE("stream: a peer that never reads gives kWriteTimeout", "[net][stream]") {
  ManualClock clock;
  Loop loop;
  auto a = acceptPlain(loop, false, &clock);
  a->stream->setTimeouts(0ms, 200ms);
  add(a->stream->output(), pattern(4 * kMiB));
  loop.settle();  // writes what the socket takes
  REQUIRE(evbuffer_get_length(a->stream->output()) > 0);
  clock.advance(199ms);
  CHECK(a->handler.events.empty());
  clock.advance(1ms);
  REQUIRE(a->handler.events.size() == 1);
  CHECK(a->handler.events[0] == StreamEvent::kWriteTimeout);
  CHECK(evbuffer_get_length(a->stream->output()) > 0);
}

TEST_CASE("stream: idle output does not time out a write", "[net][stream]") {
  ManualClock clock;
  Loop loop;
  auto a = acceptPlain(loop, false, &clock);
  a->stream->setTimeouts(0ms, 100ms);
  add(a->stream->output(), "sent at once");
  loop.settle();
  clock.advance(300ms);
  CHECK(a->handler.events.empty());
  std::string got;
  readAvailable(a->fds.peer.get(), got);
  CHECK(got == "sent at once");
}

TEST_CASE("stream: a deadline fires once, whatever the traffic; zero cancels it", "[net][stream]") {
  ManualClock clock;
  Loop loop;
  auto a = acceptPlain(loop, false, &clock);
  a->stream->setDeadline(300ms);
  clock.advance(200ms);
  REQUIRE(writeSome(a->fds.peer.get(), "busy") == 4);
  REQUIRE(loop.runUntil([&] { return a->handler.reads == 1; }));
  clock.advance(99ms);
  CHECK(a->handler.events.empty());
  clock.advance(1ms);
  REQUIRE(a->handler.events.size() == 1);
  CHECK(a->handler.events[0] == StreamEvent::kDeadline);
  clock.advance(std::chrono::hours(1));
  CHECK(a->handler.events.size() == 1);

  a->stream->setDeadline(100ms);
  a->stream->setDeadline(0ms);
  clock.advance(std::chrono::hours(1));
  CHECK(a->handler.events.size() == 1);
  CHECK(clock.armedTimers() == 0);
}

TEST_CASE("stream: disable() stops every callback", "[net][stream]") {
  ManualClock clock;
  Loop loop;
  auto a = acceptPlain(loop, false, &clock);
  a->stream->setTimeouts(100ms, 100ms);
  a->stream->disable();
  REQUIRE(writeSome(a->fds.peer.get(), "ignored") == 7);
  add(a->stream->output(), "never sent");
  loop.settle();
  a->fds.peer.reset();
  loop.settle();
  clock.advance(std::chrono::hours(1));
  CHECK(a->handler.log.empty());
  CHECK(evbuffer_get_length(a->stream->input()) == 0);
}

TEST_CASE("stream: connect to a listening port gives kConnected, then data flows",
          "[net][stream][connect]") {
  Loop loop;
  Listener listener = listenLoopback();
  REQUIRE(listener.fd.get() >= 0);
  std::string error;
  auto stream = Stream::connect(loop.base(), loop.clock(), listener.addr, &error);
  REQUIRE(stream != nullptr);
  RecordingHandler handler;
  stream->setHandler(&handler);
  REQUIRE(loop.runUntil([&] { return !handler.events.empty(); }));
  CHECK(handler.events[0] == StreamEvent::kConnected);
  CHECK_FALSE(stream->isTls());

  UniqueFd server = acceptOne(listener, loop);
  REQUIRE(server.get() >= 0);
  add(stream->output(), "ping");
  REQUIRE(writeSome(server.get(), "pong") == 4);
  std::string got;
  REQUIRE(loop.runUntil([&] {
    readAvailable(server.get(), got);
    return got.size() >= 4 && evbuffer_get_length(stream->input()) >= 4;
  }));
  CHECK(got == "ping");
  CHECK(drain(stream->input()) == "pong");
  CHECK(handler.events.size() == 1);
}

TEST_CASE("stream: connect to a closed port fails", "[net][stream][connect]") {
  Loop loop;
  Listener closed = listenLoopback(-1);  // bound, not listening: refused
  REQUIRE(closed.fd.get() >= 0);
  std::string error;
  auto stream = Stream::connect(loop.base(), loop.clock(), closed.addr, &error);
  if (stream == nullptr) {
    CHECK_FALSE(error.empty());
    return;
  }
  RecordingHandler handler;
  stream->setHandler(&handler);
  REQUIRE(loop.runUntil([&] { return !handler.events.empty(); }));
  REQUIRE(handler.events.size() == 1);
  CHECK(handler.events[0] == StreamEvent::kError);
}

// Linux drops a SYN while the listener's accept queue is full, so the
// connect stays pending: the write timeout is the connect timeout.
TEST_CASE("stream: a connect that never completes gives kWriteTimeout", "[net][stream][connect]") {
  ManualClock clock;
  Loop loop;
  Listener full = listenLoopback(0);
  REQUIRE(full.fd.get() >= 0);
  std::vector<UniqueFd> fillers;
  for (int i = 0; i < 3; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    (void)::connect(fd.get(), full.addr.sa(), full.addr.length);
    fillers.push_back(std::move(fd));
  }
  REQUIRE(connected(fillers[0].get()));  // the one the accept queue holds
  std::string error;
  auto stream = Stream::connect(loop.base(), clock, full.addr, &error);
  REQUIRE(stream != nullptr);
  RecordingHandler handler;
  stream->setHandler(&handler);
  stream->setTimeouts(0ms, 200ms);
  loop.settle();  // a connect that completed would be reported here
  REQUIRE(handler.events.empty());
  clock.advance(199ms);
  CHECK(handler.events.empty());
  clock.advance(1ms);
  REQUIRE(handler.events.size() == 1);
  CHECK(handler.events[0] == StreamEvent::kWriteTimeout);
}

namespace {

struct TlsServer {
  tls::testing::TempDir dir;
  tls::testing::CertFiles files = tls::testing::makeCertificateFiles(
      dir, "stream", {.common_name = "stream.test", .dns_names = {"stream.test"}});
  std::unique_ptr<tls::ServerContext> context;

  TlsServer() {
    tls::Settings settings;
    settings.certificates.push_back({files.cert, files.key});
    tls::ContextFactory factory(settings);
    if (factory.errors().empty()) context = factory.make().context;
  }
};

const TlsServer& tlsServer() {
  static const TlsServer instance;
  return instance;
}

struct ClientResult {
  bool handshake = false;
  std::string error;
  std::string echoed;
  int final_read = -1;  // SSL_read after our close_notify: 0 when the server sent its own
};

// A blocking OpenSSL client on its own thread: sends `data`, reads the echo,
// sends close_notify, then waits for the server's close.
void runClient(int fd, const std::string& data, ClientResult& result) {
  UniqueFd owned(fd);
  setNonBlocking(fd, false);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "stream.test");
  if (SSL_connect(ssl.get()) != 1) {
    result.error = "handshake failed";
    return;
  }
  result.handshake = true;
  size_t sent = 0;
  while (sent < data.size()) {
    int n = SSL_write(ssl.get(), data.data() + sent, static_cast<int>(data.size() - sent));
    if (n <= 0) {
      result.error = "write failed";
      return;
    }
    sent += static_cast<size_t>(n);
  }
  char buf[16384];
  while (result.echoed.size() < data.size()) {
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n <= 0) {
      result.error = "read failed";
      return;
    }
    result.echoed.append(buf, static_cast<size_t>(n));
  }
  SSL_shutdown(ssl.get());
  result.final_read = SSL_read(ssl.get(), buf, sizeof buf);
}

}  // namespace

TEST_CASE("stream: TLS server handshake, echo both ways, close_notify gives kEof",
          "[net][stream][tls]") {
  REQUIRE(tlsServer().context != nullptr);
  Loop loop;
  FdPair fds = socketPair();
  std::string data = pattern(100 * kKiB);
  ClientResult client_result;
  std::jthread client;  // declared before the stream: joined after it closes
  auto stream = Stream::accept(loop.base(), loop.clock(), fds.mine.release(),
                               SslPtr(SSL_new(tlsServer().context->defaultCtx())));
  REQUIRE(stream->isTls());
  RecordingHandler handler;
  size_t echoed = 0;
  handler.on_read = [&](Stream& s) {
    echoed += evbuffer_get_length(s.input());
    evbuffer_add_buffer(s.output(), s.input());
  };
  stream->setHandler(&handler);
  client = std::jthread(runClient, fds.peer.release(), std::cref(data), std::ref(client_result));

  REQUIRE(loop.runUntil([&] { return !handler.events.empty(); }, 1500ms));
  CHECK(handler.events[0] == StreamEvent::kEof);
  CHECK(echoed == data.size());
  CHECK(handler.reads >= 1);
  stream.reset();  // sends the server's close_notify
  client.join();
  CHECK(client_result.error.empty());
  CHECK(client_result.handshake);
  CHECK(client_result.echoed == data);
  CHECK(client_result.final_read == 0);
}

TEST_CASE("stream: plaintext sent to a TLS stream gives kError", "[net][stream][tls]") {
  REQUIRE(tlsServer().context != nullptr);
  Loop loop;
  FdPair fds = socketPair();
  auto stream = Stream::accept(loop.base(), loop.clock(), fds.mine.release(),
                               SslPtr(SSL_new(tlsServer().context->defaultCtx())));
  RecordingHandler handler;
  stream->setHandler(&handler);
  REQUIRE(writeSome(fds.peer.get(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n") > 0);
  REQUIRE(loop.runUntil([&] { return !handler.events.empty(); }));
  CHECK(handler.events[0] == StreamEvent::kError);
  CHECK(handler.reads == 0);
}

TEST_CASE("stream: over TCP, input stays within high water plus one 64 KiB read", "[net][stream]") {
  constexpr size_t kHigh = 256 * kKiB;
  constexpr size_t kOneRead = 64 * kKiB;
  constexpr size_t kTotal = 4 * kMiB;
  Loop loop;
  auto a = acceptPlain(loop, true);
  a->stream->setReadHighWater(kHigh);
  std::string data = pattern(kTotal);
  size_t sent = 0;
  size_t max_input = 0;
  std::string received;
  a->handler.on_read = [&](Stream& s) {
    max_input = std::max(max_input, evbuffer_get_length(s.input()));
    received += drain(s.input());
  };
  REQUIRE(loop.runUntil(
      [&] {
        sent += writeSome(a->fds.peer.get(), std::string_view(data).substr(sent));
        return received.size() >= kTotal;
      },
      1500ms));
  CHECK(received == data);
  CHECK(max_input <= kHigh + kOneRead);
}

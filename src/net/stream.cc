#include "sesame/net/stream.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace sesame::net {
namespace {

// One TLS record carries at most 16 KiB of plaintext (RFC 8446 §5.1); a
// contiguous write of that size becomes one record and one syscall.
constexpr size_t kTlsWriteChunk = 16384;
constexpr size_t kSmallRead = 16384;
constexpr size_t kLargeRead = 65536;

}  // namespace

Stream::Stream(event_base* base, Clock& clock, int fd, SslPtr ssl)
    : base_(base),
      clock_(clock),
      fd_(fd),
      ssl_(std::move(ssl)),
      input_(evbuffer_new()),
      output_(evbuffer_new()),
      timer_(clock.timer([this] { onTimer(); })) {
  evbuffer_add_cb(output_.get(), onOutputChanged, this);
  last_read_ = clock_.now();
  last_write_ = last_read_;
}

std::unique_ptr<Stream> Stream::accept(event_base* base, Clock& clock, int fd, SslPtr owned) {
  ssl_st* ssl = owned.get();
  std::unique_ptr<Stream> s(new Stream(base, clock, fd, std::move(owned)));
  if (ssl != nullptr) {
    SSL_set_fd(ssl, fd);
    SSL_set_accept_state(ssl);
    // A client closing TCP without close_notify ends the stream; HTTP framing
    // (not TLS) decides whether the message it carried was complete.
    SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    s->handshaking_ = true;
  }
  s->register_();
  return s;
}

std::unique_ptr<Stream> Stream::connect(event_base* base, Clock& clock, const Address& addr,
                                        std::string* error) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("cannot create a socket: ") + std::strerror(errno);
    return nullptr;
  }
  int one = 1;
  // Heads and small bodies go out in one segment; Nagle would delay them.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, addr.sa(), addr.length) != 0 && errno != EINPROGRESS) {
    *error = std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<Stream> s(new Stream(base, clock, fd, nullptr));
  s->connecting_ = true;
  s->writable_ = false;
  s->register_();
  return s;
}

Stream::~Stream() {
  disable();
  if (ssl_ != nullptr) {
    // Best effort close_notify; never wait for the peer's.
    if (!handshaking_ && !dead_) SSL_shutdown(ssl_.get());
    ssl_.reset();
    ERR_clear_error();
  }
  if (fd_ >= 0) ::close(fd_);
}

void Stream::register_() {
  // One registration for the stream's life: edge-triggered read, write and
  // peer-close interest, so no epoll_ctl is needed as buffers fill and drain.
  io_.reset(
      event_new(base_, fd_, EV_READ | EV_WRITE | EV_CLOSED | EV_PERSIST | EV_ET, onIoThunk, this));
  event_add(io_.get(), nullptr);
}

void Stream::disable() {
  dead_ = true;
  handler_ = nullptr;
  io_.reset();
  timer_.reset();
}

void Stream::setReadHighWater(size_t bytes) {
  read_high_ = bytes;
  kick();
}

void Stream::setReadEnabled(bool enabled) {
  if (enabled && !read_enabled_) last_read_ = clock_.now();
  read_enabled_ = enabled;
  if (enabled) kick();
  armTimer();
}

void Stream::setTimeouts(Duration read, Duration write) {
  read_timeout_ = read;
  write_timeout_ = write;
  last_read_ = clock_.now();
  last_write_ = last_read_;
  armTimer();
}

void Stream::onIoThunk(int, short what, void* arg) {
  auto* self = static_cast<Stream*>(arg);
  // EV_TIMEOUT alone is a kick() (see there), not readiness.
  self->kicked_ = false;
  if (what & EV_CLOSED) self->peer_closed_ = true;
  if (what & (EV_READ | EV_CLOSED)) self->readable_ = true;
  if (what & EV_WRITE) self->writable_ = true;
  self->run();
}

void Stream::onOutputChanged(evbuffer*, const ::evbuffer_cb_info* info, void* arg) {
  // Queued output is written once the current callbacks return, so a head
  // and a body added separately still leave in one writev.
  if (info->n_added > 0) static_cast<Stream*>(arg)->kick();
}

void Stream::onInputChanged(evbuffer*, const ::evbuffer_cb_info* info, void* arg) {
  auto* self = static_cast<Stream*>(arg);
  if (info->n_deleted > 0 && self->read_high_ != 0 && info->orig_size >= self->read_high_) {
    if (evbuffer_get_length(self->input_.get()) < self->read_high_) {
      // Reading resumes. The pause was the consumer's doing: a peer that
      // sent nothing meanwhile was not silent, so its read clock starts now.
      self->last_read_ = self->clock_.now();
      self->armTimer();
    }
    self->kick();  // the consumer made room: resume reading
  }
}

void Stream::kick() {
  if (dead_ || kicked_ || in_run_ || !io_) return;
  kicked_ = true;
  // Activating the socket's own event with a flag that readiness never
  // carries runs it on this loop pass without a syscall or a second event.
  event_active(io_.get(), EV_TIMEOUT, 0);
}

void Stream::run() {
  if (dead_) return;
  in_run_ = true;
  if (connecting_) {
    in_run_ = false;
    if (writable_) finishConnect();
    return;
  }
  if (handshaking_ && !handshake()) {
    in_run_ = false;
    return;
  }
  if (writable_ && evbuffer_get_length(output_.get()) > 0) doWrite();
  // Bytes OpenSSL already holds (read-ahead) never raise another edge.
  if (ssl_ != nullptr && SSL_has_pending(ssl_.get()) == 1) readable_ = true;
  if (!dead_ && readable_ && read_enabled_ && !eof_) doRead();
  in_run_ = false;
  if (dead_) return;
  // Output queued, or input consumed, by callbacks during this pass.
  bool room = read_high_ == 0 || evbuffer_get_length(input_.get()) < read_high_;
  if ((writable_ && evbuffer_get_length(output_.get()) > 0) ||
      (readable_ && read_enabled_ && !eof_ && room)) {
    kick();
  }
}

void Stream::finishConnect() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) {
    writable_ = false;
    return;
  }
  connecting_ = false;
  if (err != 0) {
    errno = err;
    return fail();
  }
  last_write_ = clock_.now();
  if (handler_ != nullptr) handler_->onStreamEvent(*this, StreamEvent::kConnected);
  run();
}

bool Stream::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    handshaking_ = false;
    // With read-ahead the handshake may have pulled the first request into
    // OpenSSL's buffer along with the client's Finished: no socket edge
    // will announce it, so read now.
    readable_ = true;
    return true;
  }
  switch (SSL_get_error(ssl_.get(), r)) {
    case SSL_ERROR_WANT_READ:
      readable_ = false;
      return false;
    case SSL_ERROR_WANT_WRITE:
      writable_ = false;
      return false;
    default:
      // A failed handshake (wrong version, no shared cipher, a scanner) is
      // the client's problem, not an operator's: no log line per attempt.
      ERR_clear_error();
      fail();
      return false;
  }
}

void Stream::doRead() {
  size_t total = 0;
  bool failed = false;
  while (readable_ && read_enabled_ && !eof_) {
    if (read_high_ != 0 && evbuffer_get_length(input_.get()) >= read_high_) break;
    size_t requested = 0;
    ssize_t n = ssl_ != nullptr ? readTls() : readPlain(&requested);
    if (n > 0) {
      total += static_cast<size_t>(n);
      // A short read drained the socket; the next edge says when more comes.
      // After a peer close there is no further edge, so read on to EOF.
      if (ssl_ == nullptr && static_cast<size_t>(n) < requested && !peer_closed_) {
        readable_ = false;
      }
      continue;
    }
    if (n == 0) {
      eof_ = true;
    } else if (n == -2) {
      failed = true;
    }
    break;
  }
  if (read_high_ != 0 && !watching_input_ && evbuffer_get_length(input_.get()) >= read_high_) {
    // Paused (also when a short read just reached the mark): hear when the
    // consumer drains, to resume reading and restart the read clock.
    // Registered on the first pause only, so the many connections that
    // never fill up carry no entry.
    evbuffer_add_cb(input_.get(), onInputChanged, this);
    watching_input_ = true;
  }
  if (total > 0) {
    last_read_ = clock_.now();
    if (handler_ != nullptr) handler_->onStreamRead(*this);
  }
  if (dead_) return;
  if (failed) return fail();
  if (eof_ && handler_ != nullptr) {
    armTimer();
    handler_->onStreamEvent(*this, StreamEvent::kEof);
  }
}

// >0 bytes read, 0 end of stream, -1 would block, -2 error.
ssize_t Stream::readPlain(size_t* requested) {
  size_t want = read_size_;
  size_t have = evbuffer_get_length(input_.get());
  if (read_high_ != 0 && read_high_ > have) want = std::min(want, read_high_ - have);
  evbuffer_iovec vec[2];
  int n = evbuffer_reserve_space(input_.get(), static_cast<ssize_t>(want), vec, 2);
  if (n <= 0) return -2;
  // libevent may offer a whole free chain (up to 128 KiB): read no more than
  // asked, so input never passes the high watermark by more than one read.
  *requested = 0;
  for (int i = 0; i < n; ++i) {
    vec[i].iov_len = std::min(vec[i].iov_len, want - *requested);
    *requested += vec[i].iov_len;
  }
  ssize_t r;
  do {
    r = ::readv(fd_, vec, n);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      readable_ = false;
      return -1;
    }
    return -2;
  }
  if (r == 0) return 0;
  size_t left = static_cast<size_t>(r);
  for (int i = 0; i < n; ++i) {
    vec[i].iov_len = std::min(vec[i].iov_len, left);
    left -= vec[i].iov_len;
  }
  evbuffer_commit_space(input_.get(), vec, n);
  // Grow reads for bulk transfers; small requests keep small buffers.
  read_size_ = static_cast<size_t>(r) == *requested ? kLargeRead : kSmallRead;
  return r;
}

ssize_t Stream::readTls() {
  evbuffer_iovec vec;
  if (evbuffer_reserve_space(input_.get(), static_cast<ssize_t>(read_size_), &vec, 1) != 1) {
    return -2;
  }
  ERR_clear_error();
  int r = SSL_read(ssl_.get(), vec.iov_base, static_cast<int>(vec.iov_len));
  if (r > 0) {
    vec.iov_len = static_cast<size_t>(r);
    evbuffer_commit_space(input_.get(), &vec, 1);
    return r;
  }
  switch (SSL_get_error(ssl_.get(), r)) {
    case SSL_ERROR_WANT_READ:
      readable_ = false;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      writable_ = false;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      // A TCP close without close_notify: treat as end of stream, as HTTP
      // framing (not TLS) decides whether a message was complete.
      ERR_clear_error();
      return errno == 0 || errno == ECONNRESET ? 0 : -2;
    default:
      ERR_clear_error();
      return -2;
  }
}

void Stream::doWrite() {
  bool progress = false;
  while (writable_ && evbuffer_get_length(output_.get()) > 0) {
    ssize_t n = ssl_ != nullptr ? writeTls() : writePlain();
    if (n > 0) {
      progress = true;
      continue;
    }
    if (n == -2) return fail();
    break;
  }
  if (!progress) return;
  last_write_ = clock_.now();
  if (evbuffer_get_length(output_.get()) <= write_low_ && handler_ != nullptr) {
    handler_->onStreamWrite(*this);
  }
}

ssize_t Stream::writePlain() {
  int n = evbuffer_write(output_.get(), fd_);
  if (n >= 0) {
    if (evbuffer_get_length(output_.get()) > 0) writable_ = false;  // socket buffer full
    return n;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    writable_ = errno == EINTR;
    return -1;
  }
  return -2;
}

ssize_t Stream::writeTls() {
  size_t len = std::min(evbuffer_get_length(output_.get()), kTlsWriteChunk);
  unsigned char* data = evbuffer_pullup(output_.get(), static_cast<ssize_t>(len));
  ERR_clear_error();
  int r = SSL_write(ssl_.get(), data, static_cast<int>(len));
  if (r > 0) {
    evbuffer_drain(output_.get(), static_cast<size_t>(r));
    return r;
  }
  switch (SSL_get_error(ssl_.get(), r)) {
    case SSL_ERROR_WANT_WRITE:
      writable_ = false;
      return -1;
    case SSL_ERROR_WANT_READ:
      readable_ = false;
      return -1;
    default:
      ERR_clear_error();
      return -2;
  }
}

void Stream::fail() {
  StreamHandler* handler = handler_;
  io_.reset();  // no more readiness callbacks for a dead socket
  dead_ = true;
  if (handler != nullptr) handler->onStreamEvent(*this, StreamEvent::kError);
}

void Stream::setDeadline(Duration after) {
  has_deadline_ = after.count() > 0;
  if (has_deadline_) deadline_ = clock_.now() + after;
  armTimer();
}

bool Stream::readPaused() const {
  return !read_enabled_ || (read_high_ != 0 && evbuffer_get_length(input_.get()) >= read_high_);
}

Stream::Duration Stream::untilNextCheck(Clock::TimePoint now) const {
  auto atLeastOne = [](Clock::TimePoint::duration d) {
    return std::max(Duration{1}, std::chrono::duration_cast<Duration>(d));
  };
  Duration next{0};
  auto consider = [&next](Duration d) {
    if (next.count() == 0 || d < next) next = d;
  };
  if (read_timeout_.count() > 0 && !eof_ && !readPaused())
    consider(atLeastOne(last_read_ + read_timeout_ - now));
  if (write_timeout_.count() > 0) consider(atLeastOne(last_write_ + write_timeout_ - now));
  if (has_deadline_) consider(atLeastOne(deadline_ - now));
  return next;
}

void Stream::armTimer() {
  if (dead_) return;
  const Clock::TimePoint now = clock_.now();
  Duration next = untilNextCheck(now);
  if (next.count() == 0) {
    if (timer_armed_) timer_->cancel();
    timer_armed_ = false;
    return;
  }
  // Activity only records a time; the timer checks it when it fires, so a
  // busy stream costs no timer updates per read or write. Likewise a timer
  // that fires no later than the next check stays as it is: a keep-alive
  // connection moves its deadline later with every request (the head
  // timeout, then the idle one), and re-arming cost a libevent timer-heap
  // update (about 1k instructions per request, callgrind). Firing early
  // costs one wake-up that finds nothing due and arms for the rest.
  const Clock::TimePoint due = now + next;
  if (timer_armed_ && timer_due_ <= due) return;
  timer_->arm(next);
  timer_armed_ = true;
  timer_due_ = due;
}

void Stream::onTimer() {
  timer_armed_ = false;
  const Clock::TimePoint now = clock_.now();
  auto reached = [&now](Clock::TimePoint since, Duration timeout) {
    return now - since >= timeout;
  };
  StreamEvent event;
  bool pending_write = connecting_ || evbuffer_get_length(output_.get()) > 0;
  if (!pending_write) last_write_ = now;  // the write clock runs only while output waits
  if (has_deadline_ && now >= deadline_) {
    has_deadline_ = false;
    event = StreamEvent::kDeadline;
  } else if (write_timeout_.count() > 0 && pending_write && reached(last_write_, write_timeout_)) {
    event = StreamEvent::kWriteTimeout;
    last_write_ = now;  // a handler that ignores it hears again one timeout later
  } else if (read_timeout_.count() > 0 && !eof_ && !readPaused() &&
             reached(last_read_, read_timeout_)) {
    event = StreamEvent::kReadTimeout;
    last_read_ = now;
  } else {
    return armTimer();
  }
  armTimer();
  if (handler_ != nullptr) handler_->onStreamEvent(*this, event);
}

}  // namespace sesame::net

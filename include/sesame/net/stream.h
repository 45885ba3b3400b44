// The transport seam: a non-blocking byte stream over a socket, plain or TLS,
// with input/output evbuffers, flow-control watermarks and timeouts.
//
// Why not libevent's bufferevent: on this path syscalls dominate the cost of
// a proxied request, and a bufferevent re-registers interest with epoll
// (epoll_ctl) whenever its output fills or empties and asks FIONREAD before
// every read: about six extra syscalls per proxied request, measured with
// strace -c. A Stream registers its socket once, edge-triggered, writes as
// soon as output is queued (coalesced to one writev per loop pass) and reads
// into reserved buffer space directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "sesame/base/c_handle.h"
#include "sesame/base/clock.h"
#include "sesame/net/address.h"

struct evbuffer_cb_info;

namespace sesame::net {

class Stream;

enum class StreamEvent {
  kConnected,     // an outgoing connect completed
  kEof,           // the peer closed its side; every byte before it was delivered
  kError,         // socket or TLS error; the stream is dead
  kReadTimeout,   // reading (not paused) and no byte for the read timeout
  kWriteTimeout,  // output (or a connect) pending with no progress for the write timeout
  kDeadline,      // the deadline set with setDeadline() passed
};

// Implemented by the owner of a stream. Callbacks may change the stream's
// settings, queue output or hand the stream to another handler, but must
// not destroy it (defer destruction to the loop).
class StreamHandler {
 public:
  // New bytes were appended to input().
  virtual void onStreamRead(Stream& stream) = 0;
  // A write made progress and output() holds no more than the low watermark.
  virtual void onStreamWrite(Stream& stream) = 0;
  virtual void onStreamEvent(Stream& stream, StreamEvent event) = 0;

 protected:
  ~StreamHandler() = default;
};

class Stream {
 public:
  using Duration = std::chrono::milliseconds;

  // Wraps an accepted socket (the stream owns `fd`); with `ssl` the stream
  // runs the server side of a TLS handshake first. Socket readiness comes
  // from `base`, timeouts and deadlines from `clock`; both outlive the stream.
  static std::unique_ptr<Stream> accept(event_base* base, Clock& clock, int fd, SslPtr ssl);
  // Starts a non-blocking connect; the handler gets kConnected or kError /
  // kWriteTimeout. Null with `error` set when no socket could be made.
  static std::unique_ptr<Stream> connect(event_base* base, Clock& clock, const Address& addr,
                                         std::string* error);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void setHandler(StreamHandler* handler) { handler_ = handler; }
  [[nodiscard]] evbuffer* input() const { return input_.get(); }
  [[nodiscard]] evbuffer* output() const { return output_.get(); }

  // Reading pauses while input() holds at least `bytes` (0: no limit).
  void setReadHighWater(size_t bytes);
  // onStreamWrite fires when output() drains to `bytes` or less.
  void setWriteLowWater(size_t bytes) { write_low_ = bytes; }
  // Zero disables a timeout. The read clock runs only while the stream
  // reads: not while reading is disabled or paused at the high watermark
  // (the consumer, not the peer, is slow then), and it restarts when
  // reading resumes.
  void setTimeouts(Duration read, Duration write);
  // A one-shot kDeadline `after` from now, whatever the traffic (the owner's
  // "whole request head within N" clock); zero cancels it. Shares the
  // stream's one timer, so an idle connection holds a single timer event.
  void setDeadline(Duration after);
  void setReadEnabled(bool enabled);
  // Stops all callbacks for good (before handing the stream to a graveyard).
  void disable();

  [[nodiscard]] bool isTls() const { return ssl_ != nullptr; }
  // A TLS stream whose handshake has not completed (yet, or ever).
  [[nodiscard]] bool handshaking() const { return handshaking_; }
  [[nodiscard]] ssl_st* ssl() const { return ssl_.get(); }

 private:
  Stream(event_base* base, Clock& clock, int fd, SslPtr ssl);

  static void onIoThunk(int fd, short what, void* arg);
  static void onOutputChanged(evbuffer* buf, const ::evbuffer_cb_info* info, void* arg);
  static void onInputChanged(evbuffer* buf, const ::evbuffer_cb_info* info, void* arg);

  void register_();
  void run();
  void kick();
  bool handshake();
  void finishConnect();
  void doRead();
  void doWrite();
  ssize_t readPlain(size_t* requested);
  ssize_t readTls();
  ssize_t writePlain();
  ssize_t writeTls();
  void fail();
  [[nodiscard]] bool readPaused() const;
  [[nodiscard]] Duration untilNextCheck(Clock::TimePoint now) const;
  void armTimer();
  void onTimer();

  event_base* base_;
  Clock& clock_;
  int fd_;
  SslPtr ssl_;
  StreamHandler* handler_ = nullptr;
  EvBufferPtr input_;
  EvBufferPtr output_;
  EventPtr io_;
  std::unique_ptr<Timer> timer_;
  // When the timer is armed, the time it fires (see armTimer()).
  bool timer_armed_ = false;
  Clock::TimePoint timer_due_{};

  size_t read_high_ = 0;
  size_t write_low_ = 0;
  size_t read_size_ = 16384;
  Duration read_timeout_{0};
  Duration write_timeout_{0};
  Clock::TimePoint last_read_{};
  Clock::TimePoint last_write_{};
  Clock::TimePoint deadline_{};
  bool has_deadline_ = false;

  bool readable_ = true;  // edge-triggered: assume ready until EAGAIN
  bool writable_ = true;
  bool peer_closed_ = false;  // EPOLLRDHUP seen: read to EOF
  bool read_enabled_ = true;
  bool connecting_ = false;
  bool handshaking_ = false;
  bool eof_ = false;
  bool dead_ = false;
  bool kicked_ = false;
  bool watching_input_ = false;
  bool in_run_ = false;
};

}  // namespace sesame::net

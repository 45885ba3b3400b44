// Private to session/: one pipelined Redis connection on one worker's loop.
// hiredis only parses replies (redisReader) and formats commands
// (redisFormatCommandArgv); the bytes travel over sesame's own net::Stream,
// so TLS to Redis, Sentinel and Cluster can come later without a second
// client, on the same edge-triggered transport as everything else. hiredis's
// async API and its libevent adapter are deliberately not used.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis_reply_reader.h"
#include "redis_scripts.h"
#include "sesame/base/c_handle.h"
#include "sesame/base/clock.h"
#include "sesame/net/stream.h"
#include "sesame/session/settings.h"

namespace sesame::session::redis {

// Runs once per command: with the reply, or with null when the command got
// none (connection lost, deadline passed, queue full, not connected).
using ReplyHandler = std::function<void(const redisReply*)>;

// Connects at construction and after every failure, with exponential backoff
// (kFirstBackoff doubling to kMaxBackoff). Each connection starts with AUTH,
// SELECT and SCRIPT LOAD, pipelined; commands issued meanwhile wait for them.
// Every command has a deadline (command_timeout): the first one missed, like
// any connection error, fails every waiting command and reconnects, since a
// pipeline cannot skip a reply. While no connection is up, commands fail at
// once. Handlers never run inside the call that issued the command: failures
// are delivered from a zero-timeout event, replies from the stream's read.
class Connection final : private net::StreamHandler {
 public:
  static constexpr std::chrono::milliseconds kFirstBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{5000};

  // kQuiet is for short-lived probes (the admin /readyz check), which report
  // their outcome themselves and would otherwise log each attempt.
  enum class Logging { kStateChanges, kQuiet };

  // Sockets are watched on `loop`; deadlines and backoff run on `clock`.
  // `clock`, `settings` and `scripts` must outlive the connection.
  Connection(event_base* loop, Clock& clock, const RedisSettings& settings,
             const std::vector<Script>& scripts, size_t max_pending,
             Logging logging = Logging::kStateChanges);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The handshake finished and no failure has happened since.
  [[nodiscard]] bool ready() const { return state_ == State::kReady; }
  // Room for another call's commands (under max_pending); logs the first
  // refusal of each overload.
  [[nodiscard]] bool admit();

  // The arguments are formatted (copied) before the call returns.
  void command(std::initializer_list<std::string_view> args, ReplyHandler handler);
  void command(const std::vector<std::string>& args, ReplyHandler handler);
  // EVALSHA `script` with `keys` then `args`; on NOSCRIPT (the server's
  // script cache was flushed) the same call is sent once more as EVAL.
  void script(const Script& script, std::vector<std::string> keys_and_args, size_t numkeys,
              ReplyHandler handler);
  // Runs `fn` from the loop, soon; for answers that need no round trip.
  void defer(std::function<void()> fn);
  // Why the last connection failed ("AUTH failed: WRONGPASS ..."); set
  // before the failed commands' handlers run, cleared once ready.
  [[nodiscard]] const std::string& lastFailure() const { return last_reason_; }

 private:
  using TimePoint = Clock::TimePoint;
  enum class State {
    kWaiting,     // no connection; the backoff timer will start one
    kConnecting,  // connect and handshake in flight
    kReady,
  };
  struct Entry {
    ReplyHandler handler;
    TimePoint deadline;
    const Script* script = nullptr;  // set for EVALSHA: kept to resend as EVAL
    size_t numkeys = 0;
    std::vector<std::string> args;  // EVALSHA's keys and args, for that resend
  };

  void connect();
  // Fails `entry` (no connection), holds it (connecting) or writes `argv`.
  void dispatch(std::span<const std::string_view> argv, Entry&& entry);
  // `entry` is written: its reply is due within command_timeout.
  void await(Entry&& entry);
  // Queues the command's bytes; on failure the connection is abandoned.
  void write(std::span<const std::string_view> argv);
  // Stops reading and fails the connection from the loop (see there).
  void abandon(const std::string& reason);
  void handshake();
  void onHandshakeReply(std::string_view step, const redisReply* reply);
  void becomeReady();
  // Fails everything waiting, drops the connection and schedules the next.
  void fail(const std::string& reason);
  void armDeadline();
  void onDeadline();
  void onBackoff();
  void runDeferred();
  void evalInstead(Entry&& entry);

  void onStreamRead(net::Stream& stream) override;
  void onStreamWrite(net::Stream&) override {}
  void onStreamEvent(net::Stream& stream, net::StreamEvent event) override;

  event_base* const loop_;
  Clock& clock_;
  const RedisSettings& settings_;
  const std::vector<Script>& scripts_;
  const size_t max_pending_;
  const bool quiet_;

  State state_ = State::kWaiting;
  std::unique_ptr<net::Stream> stream_;
  std::unique_ptr<net::Stream> retired_;  // failed inside its own callback; freed later
  // Replaced by connect(); fail() leaves it, since it may hold the reply
  // whose handler is running.
  std::unique_ptr<ReplyReader> reader_;
  std::deque<Entry> pending_;  // written, awaiting replies, in order
  std::deque<Entry> held_;     // issued while connecting, written once ready
  std::string held_bytes_;     // their commands, formatted
  size_t handshake_left_ = 0;
  uint64_t generation_ = 0;  // bumped by fail(): stale reply loops stop
  std::chrono::milliseconds backoff_ = kFirstBackoff;

  std::vector<std::function<void()>> deferred_;
  EventPtr deferred_event_;
  std::unique_ptr<Timer> deadline_timer_;
  TimePoint armed_for_;
  std::unique_ptr<Timer> backoff_timer_;

  // Logging: the state changes, not each refused request.
  bool was_ready_ = false;
  bool reported_down_ = false;
  std::string last_reason_;
  bool reported_full_ = false;
  TimePoint down_since_;
};

}  // namespace sesame::session::redis

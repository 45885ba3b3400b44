#include "redis_connection.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "redis_command.h"
#include "sesame/base/log.h"

namespace sesame::session::redis {
namespace {

// Redis error text for a log line: bounded, without control bytes.
std::string printable(std::string_view text) {
  constexpr size_t kMax = 200;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? '?' : c;
  }
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace

Connection::Connection(event_base* loop, Clock& clock, const RedisSettings& settings,
                       const std::vector<Script>& scripts, size_t max_pending, Logging logging)
    : loop_(loop),
      clock_(clock),
      settings_(settings),
      scripts_(scripts),
      max_pending_(max_pending),
      quiet_(logging == Logging::kQuiet) {
  deferred_event_.reset(event_new(
      loop, -1, 0, [](int, short, void* self) { static_cast<Connection*>(self)->runDeferred(); },
      this));
  deadline_timer_ = clock_.timer([this] { onDeadline(); });
  backoff_timer_ = clock_.timer([this] { onBackoff(); });
  down_since_ = clock_.now();
  connect();
}

Connection::~Connection() = default;

void Connection::connect() {
  state_ = State::kConnecting;
  reader_ = std::make_unique<ReplyReader>();
  std::string error;
  stream_ = net::Stream::connect(loop_, clock_, settings_.addr, &error);
  if (!stream_) return fail("cannot connect: " + error);
  stream_->setHandler(this);
  handshake();
}

void Connection::handshake() {
  const TimePoint deadline = clock_.now() + settings_.connect_timeout;
  auto step = [this, deadline](std::string_view name,
                               std::initializer_list<std::string_view> argv) {
    write(argv);
    Entry entry;
    entry.handler = [this, name](const redisReply* r) { onHandshakeReply(name, r); };
    entry.deadline = deadline;
    pending_.push_back(std::move(entry));
    ++handshake_left_;
  };
  // A username alone is an ACL user with nopass: AUTH still names it.
  if (!settings_.password.empty() || !settings_.username.empty()) {
    if (settings_.username.empty()) {
      step("AUTH", {"AUTH", settings_.password});
    } else {
      step("AUTH", {"AUTH", settings_.username, settings_.password});
    }
  }
  if (settings_.database != 0) step("SELECT", {"SELECT", std::to_string(settings_.database)});
  for (const Script& s : scripts_) step("SCRIPT LOAD", {"SCRIPT", "LOAD", s.body});
  // Readiness needs a reply: with nothing else to send, a PING proves the
  // server answers within connect_timeout.
  if (handshake_left_ == 0) step("PING", {"PING"});
  armDeadline();
}

void Connection::onHandshakeReply(std::string_view step, const redisReply* reply) {
  if (reply == nullptr) return;  // fail() is already reporting why
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string error = printable(std::string_view(reply->str, reply->len));
    std::string hint;
    if (error.starts_with("NOAUTH")) {
      hint = "; the server requires a password: set [redis] password or password_file";
    } else if (step == "AUTH") {
      hint = "; check [redis] username and password (or password_file)";
    } else if (step == "SELECT") {
      hint = "; check [redis] database against the server's `databases` setting";
    } else if (error.starts_with("NOPERM")) {
      hint = "; the [redis] username needs the EVALSHA, EVAL, SCRIPT and hash/set commands";
    }
    return fail(std::string(step) + " failed: " + error + hint);
  }
  if (--handshake_left_ == 0) becomeReady();
}

void Connection::becomeReady() {
  state_ = State::kReady;
  backoff_ = kFirstBackoff;
  if (reported_down_ && !quiet_) {
    auto down = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - down_since_);
    LOG_WARN("redis %s: connection back after %.1f s", settings_.address.c_str(),
             static_cast<double>(down.count()) / 1000);
  } else if (!was_ready_ && !quiet_) {
    LOG_INFO("redis %s: connected", settings_.address.c_str());
  }
  was_ready_ = true;
  reported_down_ = false;
  last_reason_.clear();
  const std::string bytes = std::exchange(held_bytes_, {});
  if (evbuffer_add(stream_->output(), bytes.data(), bytes.size()) != 0) {
    abandon("out of memory for the held commands");
  }
  std::deque<Entry> held = std::exchange(held_, {});
  for (Entry& entry : held) await(std::move(entry));
}

bool Connection::admit() {
  if (pending_.size() + held_.size() < max_pending_) return true;
  if (!reported_full_) {
    LOG_WARN("redis %s: %zu commands await replies; refusing more until the server catches up",
             settings_.address.c_str(), pending_.size() + held_.size());
    reported_full_ = true;
  }
  return false;
}

void Connection::command(std::initializer_list<std::string_view> args, ReplyHandler handler) {
  Entry entry;
  entry.handler = std::move(handler);
  dispatch(args, std::move(entry));
}

void Connection::command(const std::vector<std::string>& args, ReplyHandler handler) {
  const std::vector<std::string_view> views(args.begin(), args.end());
  Entry entry;
  entry.handler = std::move(handler);
  dispatch(views, std::move(entry));
}

namespace {

// EVALSHA or EVAL `first`, then the key count and the entry's arguments.
// `count` holds the digits.
std::vector<std::string_view> scriptCall(std::string_view command, std::string_view first,
                                         size_t numkeys, const std::vector<std::string>& args,
                                         char (&count)[24]) {
  const char* end = std::to_chars(count, count + sizeof count, numkeys).ptr;
  std::vector<std::string_view> argv{command, first,
                                     std::string_view(count, static_cast<size_t>(end - count))};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

void Connection::script(const Script& script, std::vector<std::string> keys_and_args,
                        size_t numkeys, ReplyHandler handler) {
  Entry entry{std::move(handler), {}, &script, numkeys, std::move(keys_and_args)};
  char count[24];
  const std::vector<std::string_view> argv =
      scriptCall("EVALSHA", script.sha, numkeys, entry.args, count);
  dispatch(argv, std::move(entry));
}

void Connection::dispatch(std::span<const std::string_view> argv, Entry&& entry) {
  switch (state_) {
    case State::kWaiting:
      defer([handler = std::move(entry.handler)] { handler(nullptr); });
      return;
    case State::kConnecting: {
      const size_t at = held_bytes_.size();
      held_bytes_.resize(at + commandSize(argv));
      formatCommand(argv, held_bytes_.data() + at);
      held_.push_back(std::move(entry));
      return;
    }
    case State::kReady:
      write(argv);
      await(std::move(entry));
      return;
  }
}

void Connection::await(Entry&& entry) {
  entry.deadline = clock_.now() + settings_.command_timeout;
  pending_.push_back(std::move(entry));
  armDeadline();
}

void Connection::evalInstead(Entry&& entry) {
  LOG_INFO("redis %s: script %.*s was missing from the server's cache; sent it in full",
           settings_.address.c_str(), static_cast<int>(entry.script->name.size()),
           entry.script->name.data());
  char count[24];
  const std::vector<std::string_view> argv =
      scriptCall("EVAL", entry.script->body, entry.numkeys, entry.args, count);
  write(argv);
  entry.script = nullptr;
  entry.args = {};
  await(std::move(entry));
}

void Connection::write(std::span<const std::string_view> argv) {
  const size_t size = commandSize(argv);
  evbuffer* out = stream_->output();
  evbuffer_iovec space;
  if (evbuffer_reserve_space(out, static_cast<ev_ssize_t>(size), &space, 1) != 1) {
    return abandon("out of memory for a command");
  }
  formatCommand(argv, static_cast<char*>(space.iov_base));
  space.iov_len = size;
  evbuffer_commit_space(out, &space, 1);
}

void Connection::abandon(const std::string& reason) {
  // A command that never left would pair every later reply with the wrong
  // command (one request's session handed to another). Nothing more is
  // read on this connection; it fails from the loop, since handlers never
  // run inside the call that issued a command, and the command still
  // queued by the caller fails with the others.
  ++generation_;
  if (stream_) stream_->disable();
  defer([this, reason] { fail(reason); });
}

void Connection::defer(std::function<void()> fn) {
  deferred_.push_back(std::move(fn));
  if (deferred_.size() == 1) event_active(deferred_event_.get(), 0, 0);
}

void Connection::runDeferred() {
  std::vector<std::function<void()>> now = std::exchange(deferred_, {});
  for (auto& fn : now) fn();
}

void Connection::onStreamRead(net::Stream& stream) {
  evbuffer* in = stream.input();
  while (evbuffer_get_length(in) > 0) {
    evbuffer_iovec chunk;
    evbuffer_peek(in, -1, nullptr, &chunk, 1);
    if (!reader_->feed(std::string_view(static_cast<const char*>(chunk.iov_base), chunk.iov_len))) {
      return fail("out of memory reading a reply");
    }
    evbuffer_drain(in, chunk.iov_len);
  }
  const uint64_t generation = generation_;
  while (generation == generation_) {
    const redisReply* reply = nullptr;
    const ReplyReader::Status status = reader_->next(reply);
    if (status == ReplyReader::Status::kError) {
      return fail("unreadable reply (" + printable(reader_->error()) + ")");
    }
    if (status == ReplyReader::Status::kIncomplete) break;
    if (pending_.empty()) return fail("a reply to no command (is this a Redis server?)");
    Entry entry = std::move(pending_.front());
    pending_.pop_front();
    if (entry.script != nullptr && reply->type == REDIS_REPLY_ERROR &&
        std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
      evalInstead(std::move(entry));
      continue;
    }
    entry.handler(reply);
  }
  if (pending_.empty() && held_.empty()) reported_full_ = false;
}

void Connection::onStreamEvent(net::Stream&, net::StreamEvent event) {
  switch (event) {
    case net::StreamEvent::kConnected:
      return;
    case net::StreamEvent::kEof:
      return fail("the server closed the connection");
    case net::StreamEvent::kError:
      return fail(std::string(state_ == State::kConnecting ? "cannot connect: " : "I/O error: ") +
                  std::strerror(errno != 0 ? errno : EIO));
    default:
      return;  // no stream timeouts are set: deadlines are per command
  }
}

void Connection::fail(const std::string& reason) {
  ++generation_;
  const bool was_ready = state_ == State::kReady;
  state_ = State::kWaiting;
  handshake_left_ = 0;
  if (stream_) {
    // Possibly inside this stream's own callback: stop it now, free it later.
    stream_->disable();
    retired_ = std::move(stream_);
  }
  deadline_timer_->cancel();
  if (was_ready) {
    down_since_ = clock_.now();
    reported_down_ = true;
    if (!quiet_) {
      LOG_WARN("redis %s: connection lost: %s; session requests fail closed until it is back",
               settings_.address.c_str(), reason.c_str());
    }
  } else if (reason != last_reason_ && !quiet_) {
    LOG_WARN("redis %s: %s; retrying (every %lld ms at most), session requests fail closed",
             settings_.address.c_str(), reason.c_str(),
             static_cast<long long>(kMaxBackoff.count()));
  }
  last_reason_ = reason;
  backoff_timer_->arm(backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  std::deque<Entry> failed = std::exchange(pending_, {});
  for (Entry& entry : held_) failed.push_back(std::move(entry));
  held_.clear();
  held_bytes_.clear();
  reported_full_ = false;
  for (Entry& entry : failed) entry.handler(nullptr);
}

void Connection::armDeadline() {
  if (pending_.empty()) return;
  // A timer set for a later deadline (the handshake's connect_timeout)
  // would fire too late for this one.
  const TimePoint next = pending_.front().deadline;
  if (deadline_timer_->armed() && armed_for_ <= next) return;
  armed_for_ = next;
  deadline_timer_->arm(next - clock_.now());
}

void Connection::onDeadline() {
  if (pending_.empty()) return;
  if (pending_.front().deadline > clock_.now()) return armDeadline();
  if (state_ == State::kConnecting) {
    return fail("no connection within connect_timeout (" +
                std::to_string(settings_.connect_timeout.count()) + " ms)");
  }
  fail("no reply within command_timeout (" + std::to_string(settings_.command_timeout.count()) +
       " ms)");
}

void Connection::onBackoff() {
  retired_.reset();
  connect();
}

}  // namespace sesame::session::redis

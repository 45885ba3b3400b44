#include "sesame/session/redis_probe.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "redis_connection.h"

namespace sesame::session {

RedisProbe::RedisProbe(event_base* loop, Clock& clock, const RedisSettings& settings, Done done)
    : done_(std::move(done)) {
  static const std::vector<redis::Script> kNoScripts;
  connection_ = std::make_unique<redis::Connection>(loop, clock, settings, kNoScripts, 1,
                                                    redis::Connection::Logging::kQuiet);
  // Held until the handshake (AUTH, SELECT) succeeds; failed with it otherwise.
  connection_->command({"PING"}, [this](const redisReply* reply) {
    if (reply == nullptr) {
      const std::string& why = connection_->lastFailure();
      return finish(why.empty() ? "no reply to PING" : why);
    }
    if (reply->type == REDIS_REPLY_STATUS && std::string_view(reply->str, reply->len) == "PONG") {
      return finish("");
    }
    std::string text = reply->type == REDIS_REPLY_ERROR || reply->type == REDIS_REPLY_STATUS
                           ? std::string(reply->str, std::min<size_t>(reply->len, 200))
                           : "a reply of type " + std::to_string(reply->type);
    for (char& c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    finish("PING answered " + text);
  });
}

RedisProbe::~RedisProbe() = default;

void RedisProbe::finish(const std::string& error) {
  // The connection keeps reconnecting after a failure; only the first
  // outcome is this probe's.
  if (!done_) return;
  Done done = std::exchange(done_, nullptr);
  done(error);
}

}  // namespace sesame::session

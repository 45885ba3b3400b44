#include "sesame/auth/session_json.h"

#include <algorithm>

#include "sesame/base/json.h"

namespace sesame::auth {

std::string renderSessionJson(const session::Session* session, const session::Timeouts& timeouts,
                              bool expose_data) {
  bool user = session != nullptr && !session->user.empty();
  std::string out = "{\"authenticated\":";
  out += user ? "true" : "false";
  out += ",\"user\":";
  out += user ? jsonString(session->user) : "null";
  out += ",\"groups\":[";
  if (user) {
    for (size_t i = 0; i < session->groups.size(); ++i) {
      if (i != 0) out += ',';
      out += jsonString(session->groups[i]);
    }
  }
  out += "],\"created\":";
  if (session != nullptr) {
    session::TimePoint expires = std::min(session->touched + timeouts.idle.count(),
                                          session->created + timeouts.absolute.count());
    out += jsonString(rfc3339(session->created));
    out += ",\"expires\":";
    out += jsonString(rfc3339(expires));
  } else {
    out += "null,\"expires\":null";
  }
  if (expose_data) {
    out += ",\"data\":{";
    bool first = true;
    if (session != nullptr) {
      for (const auto& [key, value] : session->data) {
        // sesame's own (provider tokens): front-end code must not read them.
        if (session::isInternalDataKey(key)) continue;
        if (!first) out += ',';
        first = false;
        out += jsonString(key) + ":" + jsonString(value);
      }
    }
    out += '}';
  }
  out += "}\n";
  return out;
}

}  // namespace sesame::auth

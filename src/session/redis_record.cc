#include "redis_record.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "login_text.h"
#include "sesame/session/control_headers.h"
#include "sesame/session/cookie_codec.h"
#include "sesame/session/cookie_sealer.h"
#include "sesame/session/memory_store.h"

namespace sesame::session::redis {
namespace {

bool decodeGroups(std::string_view text, std::vector<std::string>& groups) {
  while (!text.empty()) {
    size_t len = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), len);
    if (ec != std::errc() || end == text.data() + text.size() || *end != ':') return false;
    text.remove_prefix(static_cast<size_t>(end - text.data()) + 1);
    if (len > text.size()) return false;
    groups.emplace_back(text.substr(0, len));
    text.remove_prefix(len);
  }
  return true;
}

bool parseTime(std::string_view text, TimePoint& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Which of the times a hash must hold it has shown so far.
struct Seen {
  bool created = false;
  bool touched = false;
};

// One field of a session hash into `session`; false if its value does not
// parse. Unknown fields are ignored.
bool parseField(std::string_view name, std::string_view value, Session& session, Seen& seen) {
  if (name.starts_with(kDataPrefix)) {
    session.data.emplace(name.substr(kDataPrefix.size()), value);
  } else if (name.starts_with(kTagPrefix)) {
    session.tags.emplace_back(name.substr(kTagPrefix.size()));
    return value == kTagValue;
  } else if (name == "user") {
    session.user = value;
  } else if (name == "groups") {
    return decodeGroups(value, session.groups);
  } else if (name == "created") {
    return seen.created = parseTime(value, session.created);
  } else if (name == "touched") {
    return seen.touched = parseTime(value, session.touched);
  } else if (name == "login") {
    return parseTime(value, session.login);
  } else if (name == "method") {
    session.method = value;
  } else if (name == "handle") {
    session.handle = value;
  } else if (name == "address") {
    session.address = value;
  } else if (name == "agent") {
    session.agent = value;
  }
  return true;
}

}  // namespace

std::string encodeGroups(const std::vector<std::string>& groups) {
  std::string out;
  for (const std::string& g : groups) out += std::to_string(g.size()) + ":" + g;
  return out;
}

std::string_view str(const redisReply* reply) {
  return std::string_view(reply->str, reply->len);
}

bool parseSession(const redisReply* fields, Session& session) {
  if (fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0) return false;
  Seen seen;
  for (size_t i = 0; i < fields->elements; i += 2) {
    const redisReply* f = fields->element[i];
    const redisReply* v = fields->element[i + 1];
    if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) return false;
    if (!parseField(str(f), str(v), session, seen)) return false;
  }
  std::sort(session.tags.begin(), session.tags.end());  // HGETALL has no order
  return seen.created && seen.touched;
}

bool parseListed(const redisReply* values, Session& session, bool& gone) {
  gone = false;
  if (values->type != REDIS_REPLY_ARRAY || values->elements != kListedFields.size()) return false;
  Seen seen;
  size_t present = 0;
  for (size_t i = 0; i < values->elements; ++i) {
    const redisReply* v = values->element[i];
    if (v->type == REDIS_REPLY_NIL) continue;
    if (v->type != REDIS_REPLY_STRING) return false;
    ++present;
    if (!parseField(kListedFields[i], str(v), session, seen)) return false;
  }
  gone = present == 0;
  return !gone && seen.created && seen.touched;
}

// Other Redis clients can write the hash, and its values become header
// values upstream, JSON and log text: the rules are those of the control
// headers that fill a session (a CR LF in a user would split the request
// head, a ',' in a group would make two groups in X-Remote-Groups), then
// the cookie store's (CookieSealer::canCarry: also the login details'
// bounds) and the stores' common bounds.
const char* unacceptable(const Session& session) {
  const ControlLimits limits;
  if (!session.user.empty() && !isValidUser(session.user, limits.max_user_bytes)) {
    return "a user name that X-Sesame-Login refuses (control character or too long)";
  }
  if (session.groups.size() > limits.max_groups) return "more groups than a login may set";
  for (const std::string& group : session.groups) {
    if (!isValidGroup(group, limits.max_group_bytes)) {
      return "a group that X-Sesame-Groups refuses (',', a control character, or too long)";
    }
  }
  bool internal = false;
  for (const auto& field : session.data) {
    // sesame's own fields never leave it (not a header, not JSON, not a
    // log line): only their total size is bounded.
    if (isInternalDataKey(field.first)) {
      internal = true;
    } else if (!isValidDataKey(field.first) || canonicalDataKey(field.first) != field.first) {
      return "a data field name outside [a-z0-9-]{1,64}";
    }
  }
  if (!withinDataBounds(session.data)) return "more data than a session may hold";
  if (!tagsWithinBounds(session.tags)) return "more or longer tags than a login may record";
  if (!session.handle.empty() && !CookieCodec::isHandle(session.handle)) {
    return "a handle that sesame never issues";
  }
  const char* const uncarried =
      "a control character in a data value or login detail, a login detail over its bound, or a "
      "negative time";
  if (!internal) return CookieSealer::canCarry(session) ? nullptr : uncarried;
  // The rules of what goes upstream, applied to what goes upstream (only
  // OpenID Connect sessions pay for the copy).
  Session outward = session;
  std::erase_if(outward.data, [](const auto& field) { return isInternalDataKey(field.first); });
  return CookieSealer::canCarry(outward) ? nullptr : uncarried;
}

void appendFields(std::vector<std::string>& args, const Session& session) {
  for (auto [name, value] : {std::pair<std::string, std::string>{"user", session.user},
                             {"groups", encodeGroups(session.groups)},
                             {"created", std::to_string(session.created)},
                             {"login", std::to_string(session.login)},
                             {"touched", std::to_string(session.touched)}}) {
    args.push_back(std::move(name));
    args.push_back(std::move(value));
  }
  // Anonymous sessions, most of them, stay as small as before logins had details.
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"method", &session.method},
                             {"handle", &session.handle},
                             {"address", &session.address},
                             {"agent", &session.agent}}) {
    if (value->empty()) continue;
    args.emplace_back(name);
    args.push_back(*value);
  }
  for (const auto& [name, value] : session.data) {
    args.push_back(std::string(kDataPrefix) + name);
    args.push_back(value);
  }
  for (const std::string& tag : session.tags) {
    args.push_back(std::string(kTagPrefix) + tag);
    args.emplace_back(kTagValue);
  }
}

}  // namespace sesame::session::redis

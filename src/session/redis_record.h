// Private to session/: the Redis store's session hash, as sesame writes it
// and as it checks what it reads back (other clients of the same Redis can
// write these hashes too).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/session/store.h"

struct redisReply;

namespace sesame::session::redis {

inline constexpr std::string_view kDataPrefix = "d:";
// A tag of the session (LoginInfo::tags) is the field kTagPrefix + tag with
// the value kTagValue: the destroy-if script can test one tag like any field.
inline constexpr std::string_view kTagPrefix = "t:";
inline constexpr std::string_view kTagValue = "1";

// The fields listUser and trimUser read with HMGET, in this order.
inline constexpr std::array<std::string_view, 8> kListedFields{
    "user", "handle", "created", "login", "touched", "method", "address", "agent"};

// Groups as length-prefixed strings ("5:staff3:ops"): any byte may appear
// in a group without an escaping rule.
[[nodiscard]] std::string encodeGroups(const std::vector<std::string>& groups);

// A string reply's bytes.
[[nodiscard]] std::string_view str(const redisReply* reply);

// HGETALL's flat field/value array -> Session; false if it is not one of ours.
[[nodiscard]] bool parseSession(const redisReply* fields, Session& session);
// HMGET of kListedFields -> Session without groups or data. False if it is
// not one of ours; `gone` when the hash does not exist (every value nil).
[[nodiscard]] bool parseListed(const redisReply* values, Session& session, bool& gone);

// Why a session read back from Redis is not one sesame could have written,
// or null when it is.
[[nodiscard]] const char* unacceptable(const Session& session);

// HSET's field, value pairs for `session` (login details only when set;
// data fields and tags).
void appendFields(std::vector<std::string>& args, const Session& session);

}  // namespace sesame::session::redis

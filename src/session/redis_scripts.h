// Private to session/: the Lua scripts of the Redis store. Each touches one
// key only (Redis Cluster runs a script on the node owning its key), reads
// and writes in one atomic step, and judges expiry by the stored times and
// the caller's `now` (sesame instances share wall-clock time, not Redis's).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sesame::session::redis {

struct Script {
  std::string_view name;  // for log lines
  std::string_view body;
  std::string sha;  // SHA-1 hex of body, what EVALSHA names
};

// The store's scripts, by their index in RedisStore's list (makeScripts).
enum ScriptId : size_t {
  kLoad,
  kPut,
  kTake,
  kUpdate,
  kIdentity,
  kDestroyIf,
  kFailures,
  kAddFailure,
  kForgiveFailure
};

// Shared prologue: `now`, and whether created/touched put the hash past the
// idle (ARGV[2]) or absolute (ARGV[3]) timeout.
#define SESAME_REDIS_EXPIRED                                                       \
  "local now = tonumber(ARGV[1])\n"                                                \
  "local function expired(created, touched)\n"                                     \
  "  return not created or not touched or now - touched >= tonumber(ARGV[2]) or\n" \
  "    now - created >= tonumber(ARGV[3])\n"                                       \
  "end\n"

// KEYS[1] session; ARGV now, idle, absolute, touch_interval.
// 0 when missing or expired (then deleted); else {touched_written, HGETALL}
// with the written touch already in the fields.
inline constexpr std::string_view kLoadBody = SESAME_REDIS_EXPIRED R"lua(
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return 0 end
local created, touched, at
for i = 1, #h, 2 do
  if h[i] == 'created' then created = tonumber(h[i + 1])
  elseif h[i] == 'touched' then touched = tonumber(h[i + 1]); at = i + 1 end
end
if expired(created, touched) then
  redis.call('DEL', KEYS[1])
  return 0
end
if now - touched < tonumber(ARGV[4]) then return {0, h} end
redis.call('HSET', KEYS[1], 'touched', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), created + tonumber(ARGV[3]) - now))
h[at] = ARGV[1]
return {1, h}
)lua";

// KEYS[1] session; ARGV ttl_ms, then field, value pairs: replaces the hash.
inline constexpr std::string_view kPutBody = R"lua(
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
)lua";

// KEYS[1] session; ARGV now, idle, absolute. Deletes the hash and returns
// its fields (0 when missing or expired): the first half of a rotation.
inline constexpr std::string_view kTakeBody = SESAME_REDIS_EXPIRED R"lua(
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return 0 end
redis.call('DEL', KEYS[1])
local created, touched
for i = 1, #h, 2 do
  if h[i] == 'created' then created = tonumber(h[i + 1])
  elseif h[i] == 'touched' then touched = tonumber(h[i + 1]) end
end
if expired(created, touched) then return 0 end
return h
)lua";

// KEYS[1] session; ARGV now, idle, absolute, max_fields, max_bytes,
// max_internal_fields, max_internal_bytes, nset, nset field/value pairs,
// then fields to delete. 1 done, 0 missing or expired, -1 the result would
// pass the bounds (nothing written): the application's fields and
// sesame's own ("d:." ...) each within theirs. Only the named fields are
// written, so parallel updates of other fields survive.
inline constexpr std::string_view kUpdateBody = SESAME_REDIS_EXPIRED R"lua(
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return 0 end
local data, created, touched = {}, nil, nil
for i = 1, #h, 2 do
  local f = h[i]
  if string.sub(f, 1, 2) == 'd:' then data[f] = h[i + 1]
  elseif f == 'created' then created = tonumber(h[i + 1])
  elseif f == 'touched' then touched = tonumber(h[i + 1]) end
end
if expired(created, touched) then
  redis.call('DEL', KEYS[1])
  return 0
end
local last = 8 + 2 * tonumber(ARGV[8])
for i = 9, last, 2 do data[ARGV[i]] = ARGV[i + 1] end
for i = last + 1, #ARGV do data[ARGV[i]] = nil end
local fields, bytes, ifields, ibytes = 0, 0, 0, 0
for f, v in pairs(data) do
  if string.sub(f, 3, 3) == '.' then
    ifields = ifields + 1
    ibytes = ibytes + #f - 2 + #v
  else
    fields = fields + 1
    bytes = bytes + #f - 2 + #v
  end
end
if fields > tonumber(ARGV[4]) or bytes > tonumber(ARGV[5]) or
   ifields > tonumber(ARGV[6]) or ibytes > tonumber(ARGV[7]) then
  return -1
end
if last > 8 then redis.call('HSET', KEYS[1], unpack(ARGV, 9, last)) end
if #ARGV > last then redis.call('HDEL', KEYS[1], unpack(ARGV, last + 1)) end
return 1
)lua";

// A session's tags are its fields "t:" tag (value "1"); this appends the
// tag of each to `out`, and the field names to `fields` when given.
#define SESAME_REDIS_TAGS                                   \
  "local function tags(out, fields)\n"                      \
  "  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do\n" \
  "    if string.sub(f, 1, 2) == 't:' then\n"               \
  "      out[#out + 1] = string.sub(f, 3)\n"                \
  "      if fields then fields[#fields + 1] = f end\n"      \
  "    end\n"                                               \
  "  end\n"                                                 \
  "end\n"

// KEYS[1] session; ARGV now, idle, absolute, user, encoded groups, method,
// handle, address, agent, then the tags. 0 when missing or expired; else
// {1, previous user, previous handle, previous tags...}; the previous
// tags' fields are replaced by the new ones.
inline constexpr std::string_view kIdentityBody = SESAME_REDIS_EXPIRED SESAME_REDIS_TAGS R"lua(
local h = redis.call('HMGET', KEYS[1], 'user', 'created', 'touched', 'handle')
if expired(tonumber(h[2]), tonumber(h[3])) then
  redis.call('DEL', KEYS[1])
  return 0
end
local reply, old = {1, h[1] or '', h[4] or ''}, {}
tags(reply, old)
if #old > 0 then redis.call('HDEL', KEYS[1], unpack(old)) end
redis.call('HSET', KEYS[1], 'user', ARGV[4], 'groups', ARGV[5], 'login', ARGV[1],
           'created', ARGV[1], 'touched', ARGV[1], 'method', ARGV[6], 'handle', ARGV[7],
           'address', ARGV[8], 'agent', ARGV[9])
for i = 10, #ARGV do redis.call('HSET', KEYS[1], 't:' .. ARGV[i], '1') end
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), tonumber(ARGV[3])))
return reply
)lua";

// KEYS[1] session; ARGV field, value pairs (none: unconditional). Deletes
// the session only while every named field holds its value (a missing
// field counts as ''), so that a session which logged in again, or as
// someone else, since the caller looked keeps living. 0 when nothing was
// deleted; else {user, handle, tags...} of what was, for the index entries.
inline constexpr std::string_view kDestroyIfBody = SESAME_REDIS_TAGS R"lua(
for i = 1, #ARGV, 2 do
  if (redis.call('HGET', KEYS[1], ARGV[i]) or '') ~= ARGV[i + 1] then return 0 end
end
local h = redis.call('HMGET', KEYS[1], 'user', 'handle')
local reply = {h[1] or '', h[2] or ''}
tags(reply)
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
return reply
)lua";

// Brute-force counters: a string holding the count, whose TTL is the rest
// of the window that began at its first failure. What is not such a
// counter (another client's value, a key without a TTL) counts as none.
#define SESAME_REDIS_COUNTER                                                          \
  "local function counter()\n"                                                        \
  "  local ttl = redis.call('PTTL', KEYS[1])\n"                                       \
  "  if ttl <= 0 or redis.call('TYPE', KEYS[1]).ok ~= 'string' then return nil end\n" \
  "  local v = redis.call('GET', KEYS[1])\n"                                          \
  "  if #v > 15 or not string.match(v, '^[1-9]%d*$') then return nil end\n"           \
  "  return tonumber(v), ttl\n"                                                       \
  "end\n"

// KEYS[1] counter. {count, ms left of its window}; {0, 0} when none.
inline constexpr std::string_view kFailuresBody = SESAME_REDIS_COUNTER R"lua(
local n, ttl = counter()
if not n then return {0, 0} end
return {n, ttl}
)lua";

// KEYS[1] counter; ARGV[1] window (ms). Counts one failure, starting a
// window when none runs; {count, ms left of its window}.
inline constexpr std::string_view kAddFailureBody = SESAME_REDIS_COUNTER R"lua(
local n, ttl = counter()
if not n then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[1])
  return {1, tonumber(ARGV[1])}
end
return {redis.call('INCR', KEYS[1]), ttl}
)lua";

// KEYS[1] counter. Takes one failure back (the counter goes at one);
// {count, ms left of its window}.
inline constexpr std::string_view kForgiveFailureBody = SESAME_REDIS_COUNTER R"lua(
local n, ttl = counter()
if not n then return {0, 0} end
if n <= 1 then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end
return {redis.call('DECR', KEYS[1]), ttl}
)lua";

#undef SESAME_REDIS_EXPIRED
#undef SESAME_REDIS_TAGS
#undef SESAME_REDIS_COUNTER

}  // namespace sesame::session::redis

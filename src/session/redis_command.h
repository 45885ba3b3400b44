// Private to session/: Redis commands as RESP2 bytes, written straight
// into the connection's output without a temporary.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace sesame::session::redis {

// The size of the RESP2 request for `args`: "*N\r\n", then "$len\r\n" arg
// "\r\n" for each argument (any bytes, empty too). These are the bytes
// redisFormatCommandArgv writes; ours because hiredis formats each length
// with sprintf (2.2k of its 2.4k instructions per request on the bench's
// Redis row) and returns a malloc'ed copy.
[[nodiscard]] size_t commandSize(std::span<const std::string_view> args);
// Writes that request at `out`, which has room for commandSize(args)
// bytes; returns the end of what it wrote.
char* formatCommand(std::span<const std::string_view> args, char* out);

}  // namespace sesame::session::redis

// Lexing shared by the request, response and trailer parsers (RFC 9112 §2, §5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sesame::http::detail {

enum class LineResult {
  kLine,      // `line` holds one line without its CRLF
  kNeedMore,  // no LF yet below the limit
  kLimit,     // the line does not end below `limit_end`
  kBareLf,    // LF not preceded by CR (RFC 9112 §2.2: strict, no bare LF)
  kBareCr,    // CR followed by something other than LF, found before the LF
};

// Finds the line that starts at `line_start`, resuming the LF search at
// `scanned` so that bytes are looked at once however they trickle in. Never
// reads at or past `limit_end`. On kLine both offsets move past the LF.
LineResult nextLine(std::string_view buf, size_t limit_end, size_t& line_start, size_t& scanned,
                    std::string_view& line);

// Splits a field line (RFC 9112 §5) into a token name and an OWS-trimmed
// value. Returns an empty view on success, else a static reason: obs-fold,
// whitespace before the colon, empty or non-token name, control bytes.
std::string_view parseFieldLine(std::string_view line, std::string_view& name,
                                std::string_view& value);

// Fields whose semantics the parsers act on.
enum class FieldId : uint8_t {
  kOther,
  kHost,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kExpect,
  kUpgrade
};
FieldId classifyField(std::string_view name);

// Content-Length (RFC 9110 §8.6): 1*DIGIT and at most 2^63-1. A list, even
// of equal values, is refused: several lengths are a smuggling vector.
bool parseContentLength(std::string_view value, uint64_t& out);

// Adds one Transfer-Encoding field line to the codings seen so far. Returns a
// static reason when the list is empty, holds a non-token, applies chunked
// twice or puts anything after chunked (RFC 9112 §6.1); `unknown` is set for
// any coding other than chunked.
std::string_view addTransferCodings(std::string_view value, bool& chunked, bool& unknown);

enum ConnectionOption : uint8_t { kConnClose = 1, kConnKeepAlive = 2, kConnUpgrade = 4 };
// ORs the options a Connection field lists into `options`; false when an
// element is not a token.
bool addConnectionOptions(std::string_view value, uint8_t& options);

// "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3) -> minor version when the major is
// 1; -1 for a syntax error; -2 for a well-formed but other version.
int parseHttpVersion(std::string_view s);

}  // namespace sesame::http::detail

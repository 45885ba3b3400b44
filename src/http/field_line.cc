#include "field_line.h"

#include <algorithm>
#include <cstring>

#include "chars.h"
#include "sesame/http/header_list.h"

namespace sesame::http::detail {

LineResult nextLine(std::string_view buf, size_t limit_end, size_t& line_start, size_t& scanned,
                    std::string_view& line) {
  const size_t end = std::min(buf.size(), limit_end);
  const void* lf = nullptr;
  if (scanned < end) lf = std::memchr(buf.data() + scanned, '\n', end - scanned);
  if (lf == nullptr) {
    // Every CR before the last visible byte has a non-LF follower. Bytes up
    // to the previous end minus one were checked by the previous call.
    const size_t from = std::max(line_start, scanned == 0 ? 0 : scanned - 1);
    if (end > from + 1 && std::memchr(buf.data() + from, '\r', end - 1 - from) != nullptr)
      return LineResult::kBareCr;
    if (scanned < end) scanned = end;
    return buf.size() >= limit_end ? LineResult::kLimit : LineResult::kNeedMore;
  }
  const size_t lf_pos = static_cast<size_t>(static_cast<const char*>(lf) - buf.data());
  line = buf.substr(line_start, lf_pos - line_start);
  line_start = scanned = lf_pos + 1;
  // Checked before anything else about the line so that the verdict does
  // not depend on how the bytes were split into reads.
  if (line.size() > 1 && std::memchr(line.data(), '\r', line.size() - 1) != nullptr)
    return LineResult::kBareCr;
  if (line.empty() || line.back() != '\r') return LineResult::kBareLf;
  line.remove_suffix(1);
  return LineResult::kLine;
}

std::string_view parseFieldLine(std::string_view line, std::string_view& name,
                                std::string_view& value) {
  // RFC 9112 §5.2: obs-fold is obsolete; a proxy that unfolded it could
  // disagree with its upstream about where fields end.
  if (!line.empty() && chars::isOws(line.front())) return "obsolete line folding";
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return "field line without colon";
  name = line.substr(0, colon);
  if (name.empty()) return "empty field name";
  // RFC 9112 §5.1: whitespace before the colon must be rejected ("Host : x").
  if (chars::isOws(name.back())) return "whitespace before colon";
  if (!chars::all(name, chars::kTchar)) return "invalid field name";
  value = chars::trimOws(line.substr(colon + 1));
  for (char c : value) {
    if (!chars::is(c, chars::kFieldChar))
      return c == '\r' ? "bare CR" : "control byte in field value";
  }
  return {};
}

FieldId classifyField(std::string_view name) {
  switch (name.size()) {
    case 4:
      if (equalsIgnoreCase(name, "host")) return FieldId::kHost;
      break;
    case 6:
      if (equalsIgnoreCase(name, "expect")) return FieldId::kExpect;
      break;
    case 7:
      if (equalsIgnoreCase(name, "upgrade")) return FieldId::kUpgrade;
      break;
    case 10:
      if (equalsIgnoreCase(name, "connection")) return FieldId::kConnection;
      break;
    case 14:
      if (equalsIgnoreCase(name, "content-length")) return FieldId::kContentLength;
      break;
    case 17:
      if (equalsIgnoreCase(name, "transfer-encoding")) return FieldId::kTransferEncoding;
      break;
    default:
      break;
  }
  return FieldId::kOther;
}

bool parseContentLength(std::string_view value, uint64_t& out) {
  constexpr uint64_t kMax = (uint64_t{1} << 63) - 1;
  if (value.empty()) return false;
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (kMax - digit) / 10) return false;
    n = n * 10 + digit;
  }
  out = n;
  return true;
}

std::string_view addTransferCodings(std::string_view value, bool& chunked, bool& unknown) {
  chars::ListCursor list(value);
  std::string_view coding;
  bool any = false;
  while (list.next(coding)) {
    any = true;
    // Parameters (";q=...") are not allowed on chunked and we know no other
    // coding, so anything but a bare token is malformed.
    if (!chars::isToken(coding)) return "malformed Transfer-Encoding";
    const bool is_chunked = equalsIgnoreCase(coding, "chunked");
    if (chunked) return is_chunked ? "chunked applied twice" : "chunked is not the final coding";
    if (is_chunked) {
      chunked = true;
    } else {
      unknown = true;
    }
  }
  return any ? std::string_view() : "empty Transfer-Encoding";
}

bool addConnectionOptions(std::string_view value, uint8_t& options) {
  chars::ListCursor list(value);
  std::string_view option;
  while (list.next(option)) {
    if (!chars::isToken(option)) return false;
    if (equalsIgnoreCase(option, "close")) {
      options |= kConnClose;
    } else if (equalsIgnoreCase(option, "keep-alive")) {
      options |= kConnKeepAlive;
    } else if (equalsIgnoreCase(option, "upgrade")) {
      options |= kConnUpgrade;
    }
  }
  return true;
}

int parseHttpVersion(std::string_view s) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || !digit(s[5]) || s[6] != '.' || !digit(s[7]))
    return -1;
  if (s[5] != '1' || s[7] > '1') return -2;
  return s[7] - '0';
}

}  // namespace sesame::http::detail

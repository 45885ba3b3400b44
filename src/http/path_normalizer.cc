#include "sesame/http/path_normalizer.h"

#include "chars.h"

namespace sesame::http {
namespace {

constexpr char kUpperHex[] = "0123456789ABCDEF";

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.3: the characters whose escapes are equivalent to themselves.
bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool isDotName(std::string_view name) {
  return name == "." || name == "..";
}

// The byte escaped at `at` ("%XY"), or -1 when there is no valid escape.
int escapedByte(std::string_view path, size_t at) {
  if (at + 2 >= path.size() || path[at] != '%') return -1;
  const int high = hexValue(path[at + 1]);
  const int low = hexValue(path[at + 2]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

// An escaped UTF-8 lead byte that starts an overlong form, which can only
// spell a character that has a shorter one: "%C0%AE" is '.' and "%C0%AF"
// '/' to a decoder that does not check (the IIS traversal of 2000).
// RFC 3629 §3 forbids them; `next` is the byte escaped after it, or -1.
bool overlongLead(int lead, int next) {
  if (lead == 0xC0 || lead == 0xC1) return true;
  if (lead == 0xE0) return next >= 0x80 && next < 0xA0;
  if (lead == 0xF0) return next >= 0x80 && next < 0x90;
  return false;
}

// Appends the path's escape at `at` ('%' and two more bytes) in its one
// spelling; returns "" or the reason for refusing it.
std::string_view appendEscape(std::string_view path, size_t at, EscapedSlashes escaped_slashes,
                              std::string& out) {
  const int value = escapedByte(path, at);
  if (value < 0) return "invalid percent-encoding in path";
  const auto byte = static_cast<unsigned char>(value);
  // A NUL or line break that an application decodes ends strings and
  // splits log lines; no legitimate path needs one.
  if (byte < 0x20 || byte == 0x7f) return "escaped control character in path";
  if (overlongLead(byte, escapedByte(path, at + 3))) return "overlong UTF-8 escape in path";
  if (byte == '/' || byte == '\\') {
    // Many frameworks decode these before routing, and the segment then
    // splits in two behind sesame's back.
    if (escaped_slashes == EscapedSlashes::kReject) return "escaped slash in path";
  } else if (unreserved(byte)) {
    out.push_back(static_cast<char>(byte));
    return {};
  }
  out.push_back('%');
  out.push_back(kUpperHex[byte >> 4]);
  out.push_back(kUpperHex[byte & 0xF]);
  return {};
}

}  // namespace

std::string_view normalizeTarget(std::string_view target, EscapedSlashes escaped_slashes,
                                 std::string& out) {
  out.clear();
  if (target.empty() || target.front() != '/') return "not an origin-form target";
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  out.reserve(target.size());
  auto fail = [&out](std::string_view reason) {
    out.clear();
    return reason;
  };
  bool dot_last = false;  // the last segment was a dot-segment: keep a trailing '/'
  size_t i = 0;           // always at a '/' of `path` when a segment starts
  while (i < path.size()) {
    const size_t segment_start = out.size();
    out.push_back('/');
    size_t name_end = std::string::npos;  // the segment's first raw ';' in `out`
    for (++i; i < path.size() && path[i] != '/'; ++i) {
      const char c = path[i];
      if (c == '%') {
        const std::string_view reason = appendEscape(path, i, escaped_slashes, out);
        if (!reason.empty()) return fail(reason);
        i += 2;
        continue;
      }
      if (c == '\\') return fail("backslash in path");
      if (!chars::is(c, chars::kTargetChar)) return fail("invalid character in path");
      if (c == ';' && name_end == std::string::npos) name_end = out.size();
      out.push_back(c);
    }
    const bool last = i == path.size();
    const size_t name_stop = name_end == std::string::npos ? out.size() : name_end;
    const std::string_view name =
        std::string_view(out).substr(segment_start + 1, name_stop - segment_start - 1);
    dot_last = false;
    if (isDotName(name)) {
      const bool up = name.size() == 2;
      out.resize(segment_start);
      if (up) {
        if (out.empty()) return fail("path climbs above the root");
        out.resize(out.rfind('/'));
      }
      dot_last = last;
    } else if (name.empty() && !last) {
      out.resize(segment_start);
    }
  }
  if (dot_last || out.empty()) out.push_back('/');
  if (question != std::string_view::npos) out.append(target.substr(question));
  return {};
}

std::string routePath(std::string_view normalized_target) {
  const std::string_view path = normalized_target.substr(0, normalized_target.find('?'));
  std::string out;
  out.reserve(path.size());
  bool in_parameters = false;
  for (char c : path) {
    if (c == '/') {
      in_parameters = false;
    } else if (c == ';') {
      in_parameters = true;
    }
    if (!in_parameters) out.push_back(c);
  }
  return out;
}

}  // namespace sesame::http

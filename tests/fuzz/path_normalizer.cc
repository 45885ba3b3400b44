// libFuzzer target: request-target normalisation over arbitrary client
// bytes. What is accepted is a fixed point with no dot-segment and no empty
// segment but the last, and its route path has the same segments.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/http/path_normalizer.h"

using sesame::fuzz::check;
using sesame::http::EscapedSlashes;
using sesame::http::normalizeTarget;
using sesame::http::routePath;

namespace {

size_t countSegments(std::string_view path) {
  size_t n = 0;
  for (char c : path) n += c == '/' ? 1 : 0;
  return n;
}

// The shape every normalised path (and route path) has.
void checkPath(std::string_view path) {
  check(!path.empty() && path.front() == '/');
  check(path.find("//") == std::string_view::npos);
  check(path.find("/./") == std::string_view::npos);
  check(path.find("/../") == std::string_view::npos);
  check(!path.ends_with("/.") && !path.ends_with("/.."));
  check(path.find('\\') == std::string_view::npos);
  check(path.find('?') == std::string_view::npos);
}

void checkMode(std::string_view target, EscapedSlashes mode, std::string& out) {
  const std::string_view reason = normalizeTarget(target, mode, out);
  if (!reason.empty()) {
    check(out.empty());
    return;
  }
  check(out.size() <= target.size());
  const std::string_view path = std::string_view(out).substr(0, out.find('?'));
  checkPath(path);
  // The query is passed through byte for byte.
  const size_t question = target.find('?');
  check(std::string_view(out).substr(path.size()) ==
        (question == std::string_view::npos ? std::string_view() : target.substr(question)));
  // Escapes are canonical: '%' then two upper-case hex digits.
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') continue;
    check(i + 2 < path.size());
    for (char c : path.substr(i + 1, 2)) check((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
  }
  std::string again;
  check(normalizeTarget(out, mode, again).empty());
  check(again == out);

  const std::string routed = routePath(out);
  checkPath(routed);
  check(routed.find(';') == std::string::npos);
  check(countSegments(routed) == countSegments(path));
  check(routePath(routed) == routed);
  if (path.find(';') == std::string_view::npos) check(routed == path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string rejected;
  std::string kept;
  checkMode(input, EscapedSlashes::kReject, rejected);
  checkMode(input, EscapedSlashes::kKeep, kept);
  // Keeping escaped slashes only ever accepts more, never changes an answer.
  if (!rejected.empty()) check(kept == rejected);
  return 0;
}

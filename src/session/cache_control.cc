#include "sesame/session/cache_control.h"

#include <string>
#include <vector>

namespace sesame::session {
namespace {

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool endsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         http::equalsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

// Fields a cache reads instead of Cache-Control.
bool isTargetedCacheControl(std::string_view name) {
  return endsWithIgnoreCase(name, "CDN-Cache-Control") ||
         http::equalsIgnoreCase(name, "Surrogate-Control");
}

// Calls `f` with each trimmed element of a Cache-Control list; a comma
// inside a quoted-string argument (RFC 9110 §5.6.4) does not end one, so
// `private="a, no-store"` is one element, not a no-store.
template <typename F>
void forEachDirective(std::string_view list, F f) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size()) {
      const char c = list[i];
      if (quoted && c == '\\') {
        ++i;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c != ',' || quoted) continue;
    }
    f(trimOws(list.substr(start, i - start)));
    start = i + 1;
  }
}

}  // namespace

bool isPrivateNoStore(const http::HeaderList& headers) {
  bool no_store = false;
  bool is_private = false;
  for (const http::Header& h : headers.fields()) {
    if (!http::equalsIgnoreCase(h.name, "Cache-Control")) continue;
    forEachDirective(h.value, [&](std::string_view directive) {
      if (http::equalsIgnoreCase(directive, "no-store")) no_store = true;
      if (http::equalsIgnoreCase(directive, "private")) is_private = true;
    });
  }
  return no_store && is_private;
}

void forbidCaching(http::HeaderList& headers) {
  std::vector<std::string> targeted;
  for (const http::Header& h : headers.fields()) {
    if (isTargetedCacheControl(h.name)) targeted.push_back(h.name);
  }
  for (const std::string& name : targeted) headers.remove(name);
  if (isPrivateNoStore(headers)) return;
  headers.remove("Cache-Control");
  headers.add("Cache-Control", kPrivateNoStore);
}

}  // namespace sesame::session

#include "sesame/session/access.h"

#include <algorithm>

namespace sesame::session {
namespace {

bool inAnyGroup(const std::vector<std::string>& have, const std::vector<std::string>& wanted) {
  return std::any_of(wanted.begin(), wanted.end(), [&have](const std::string& g) {
    return std::find(have.begin(), have.end(), g) != have.end();
  });
}

// RFC 3986 §2.3 unreserved characters pass; everything else is %XX.
bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// "%" `high` `low` at the start of `s`, an upper-case `low` matching in
// either case; a `low` of '\0' stands for any character.
bool escapeAt(std::string_view s, char high, char low) {
  if (s.size() < 3 || s[0] != '%' || s[1] != high) return false;
  auto upper = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; };
  return low == '\0' || upper(s[2]) == low;
}

// Does any comma-separated element of an Accept value name text/html?
bool acceptsHtml(std::string_view accept) {
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    size_t start = item.find_first_not_of(" \t");
    if (start == std::string_view::npos) continue;
    item = item.substr(start);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (http::equalsIgnoreCase(item, "text/html")) return true;
  }
  return false;
}

}  // namespace

Access decide(const RoutePolicy& policy, const Lookup& lookup, bool browser_navigation) {
  bool have_session = lookup.status == StoreStatus::kOk && lookup.session != nullptr;
  if (policy.auth != Auth::kRequired) {
    return have_session ? Access::kForward : Access::kForwardAnonymous;
  }
  // Fail closed: a store that does not answer never lets a request through.
  if (lookup.status == StoreStatus::kUnavailable) return Access::kUnavailable;
  if (!have_session || lookup.session->user.empty()) {
    return browser_navigation ? Access::kLoginRedirect : Access::kUnauthorized;
  }
  if (!policy.groups.empty() && !inAnyGroup(lookup.session->groups, policy.groups)) {
    return Access::kForbidden;
  }
  return Access::kForward;
}

bool isBrowserNavigation(std::string_view method, const http::HeaderList& headers) {
  if (method != "GET" && method != "HEAD") return false;
  // Script calls announce themselves (jQuery, Angular, most fetch wrappers):
  // they want a 401 they can act on, not a sign-in page they cannot show.
  if (headers.find("X-Requested-With") != nullptr) return false;
  for (const http::Header& h : headers.fields()) {
    if (http::equalsIgnoreCase(h.name, "Accept") && acceptsHtml(h.value)) return true;
  }
  return false;
}

bool safeReturnPath(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  const std::string_view after = path.substr(1);
  if (after.starts_with('/') || after.starts_with('\\')) return false;
  if (escapeAt(after, '2', 'F') || escapeAt(after, '5', 'C')) return false;
  const size_t query = path.find('?');
  for (size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c < 0x20 || c == 0x7f || (c == '\\' && i < query)) return false;
    const std::string_view rest = path.substr(i);
    if (escapeAt(rest, '0', '\0') || escapeAt(rest, '1', '\0') || escapeAt(rest, '7', 'F'))
      return false;
  }
  return true;
}

std::string percentEncode(std::string_view text, std::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (unreserved(c) || keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string loginLocation(std::string_view login_url, std::string_view target) {
  if (!safeReturnPath(target)) target = "/";
  std::string out(login_url);
  out.append(login_url.find('?') == std::string_view::npos ? "?" : "&");
  out.append("return_to=");
  out.append(percentEncode(target, "/"));
  return out;
}

}  // namespace sesame::session

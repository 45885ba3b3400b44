#include "sesame/auth/forward_auth.h"

#include <algorithm>
#include <cctype>

#include "sesame/http/header_list.h"
#include "sesame/session/access.h"

namespace sesame::auth {
namespace {

constexpr size_t kMaxUrlBytes = 4096;

bool clean(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '\\';
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The single value of `name`; nullopt when absent or repeated (two values
// would let one party say one thing and another a different one).
std::optional<std::string_view> single(const http::HeaderList& headers, std::string_view name) {
  std::optional<std::string_view> found;
  for (const http::Header& h : headers.fields()) {
    if (!http::equalsIgnoreCase(h.name, name)) continue;
    if (found) return std::nullopt;
    found = h.value;
  }
  return found;
}

bool validMethod(std::string_view m) {
  return !m.empty() && m.size() <= 32 &&
         std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// "scheme://authority" + rest split; nullopt unless http(s) and clean.
struct Parts {
  std::string scheme;
  std::string authority;  // lower-cased
  std::string_view rest;  // path and query
};
std::optional<Parts> split(std::string_view url) {
  if (url.size() > kMaxUrlBytes || !clean(url)) return std::nullopt;
  Parts p;
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  p.scheme = lower(url.substr(0, colon));
  if (p.scheme != "http" && p.scheme != "https") return std::nullopt;
  std::string_view after = url.substr(colon + 3);
  size_t end = after.find_first_of("/?#");
  std::string_view authority = after.substr(0, end);
  // Userinfo ("https://app@evil") names another host to some readers.
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  p.authority = lower(authority);
  p.rest = end == std::string_view::npos ? std::string_view() : after.substr(end);
  if (!p.rest.empty() && p.rest.front() != '/' && p.rest.front() != '?') return std::nullopt;
  return p;
}

std::string_view hostOf(std::string_view authority) {
  if (authority.starts_with('[')) return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.rfind(':'));
}

}  // namespace

std::optional<OriginalRequest> originalRequest(const http::HeaderList& headers,
                                               std::string_view original_url) {
  OriginalRequest out;
  std::optional<std::string_view> proto = single(headers, "X-Forwarded-Proto");
  std::optional<std::string_view> host = single(headers, "X-Forwarded-Host");
  std::optional<std::string_view> uri = single(headers, "X-Forwarded-Uri");
  std::optional<std::string_view> method = single(headers, "X-Forwarded-Method");
  if (proto && host && uri) {
    if (uri->empty() || uri->front() != '/') return std::nullopt;
    out.url = lower(*proto) + "://" + std::string(*host) + std::string(*uri);
  } else if (!original_url.empty()) {
    out.url = original_url;
    out.from_original_url = true;
    method = single(headers, "X-Original-Method");
  } else {
    return std::nullopt;
  }
  if (!split(out.url)) return std::nullopt;
  out.method = method ? std::string(*method) : "GET";
  if (!validMethod(out.method)) return std::nullopt;
  return out;
}

bool allowedReturnUrl(std::string_view url, const std::vector<std::string>& hosts) {
  std::optional<Parts> p = split(url);
  if (!p) return false;
  std::string_view host = hostOf(p->authority);
  return std::any_of(hosts.begin(), hosts.end(), [&](const std::string& allowed) {
    return allowed == p->authority || allowed == host;
  });
}

std::string chooseReturnTo(std::string_view requested, const std::vector<std::string>& hosts) {
  if (session::safeReturnPath(requested) || allowedReturnUrl(requested, hosts)) {
    return std::string(requested);
  }
  return "/";
}

}  // namespace sesame::auth

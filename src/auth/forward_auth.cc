#include "sesame/auth/forward_auth.h"

#include <algorithm>
#include <cctype>

#include "sesame/auth/form.h"
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

// host[:port]: a name of letters, digits, '.', '-' (or an IPv6 literal in
// brackets), then at most one ':' and 1-5 digits. Anything else some
// reader would split differently ("a.example:evil.example").
bool validAuthority(std::string_view authority) {
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view literal = authority.substr(1, close - 1);
    if (literal.empty() || !std::all_of(literal.begin(), literal.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return false;
    }
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
    if (!rest.empty() && port.empty()) return false;
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
        })) {
      return false;
    }
  }
  return port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c));
         });
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
  if (!validAuthority(authority)) return std::nullopt;
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
  // nginx's X-Original-URL first: its recipe sets it on every auth
  // request, while a client's own X-Forwarded-Uri may pass through nginx.
  if (!original_url.empty()) {
    out.url = original_url;
    out.from_original_url = true;
    method = single(headers, "X-Original-Method");
  } else if (proto && host && uri) {
    if (uri->empty() || uri->front() != '/') return std::nullopt;
    out.url = lower(*proto) + "://" + std::string(*host) + std::string(*uri);
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
  // Longer than the form posts back would make the sign-in itself fail.
  if (requested.size() > kMaxFormReturnToBytes) return "/";
  if (session::safeReturnPath(requested) || allowedReturnUrl(requested, hosts)) {
    return std::string(requested);
  }
  return "/";
}

}  // namespace sesame::auth

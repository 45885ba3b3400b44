#include "sesame/session/csrf.h"

#include <algorithm>
#include <string>

namespace sesame::session {
namespace {

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '.' || c == '-' ||
         c == '_';
}

bool isIpv6Char(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

// Port digits without leading zeros, "" for an empty port; nullopt when not
// a port in 1..65535.
std::optional<std::string> normalizePort(std::string_view port) {
  if (port.empty()) return std::string();
  if (!std::all_of(port.begin(), port.end(), isDigit)) return std::nullopt;
  while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
  if (port.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : port) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value == 0 || value > 65535) return std::nullopt;
  return std::string(port);
}

// Splits "host[:port]" or "[v6][:port]"; nullopt when the host is invalid.
std::optional<std::pair<std::string_view, std::string_view>> splitAuthority(
    std::string_view authority) {
  std::string_view host;
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos || close < 2) return std::nullopt;
    host = authority.substr(0, close + 1);
    if (!std::all_of(host.begin() + 1, host.end() - 1, isIpv6Char)) return std::nullopt;
    rest = authority.substr(close + 1);
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    if (host.empty() || !std::all_of(host.begin(), host.end(), isHostChar)) return std::nullopt;
  }
  if (!rest.empty() && rest.front() != ':') return std::nullopt;
  return std::make_pair(host, rest.empty() ? rest : rest.substr(1));
}

bool originAllowed(const std::string& claimed, std::string_view request_origin,
                   const std::vector<std::string>& allowed_origins) {
  if (normalizeOrigin(request_origin) == claimed) return true;
  return std::any_of(allowed_origins.begin(), allowed_origins.end(),
                     [&](const std::string& o) { return normalizeOrigin(o) == claimed; });
}

}  // namespace

bool isSafeMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

std::optional<std::string> normalizeOrigin(std::string_view origin) {
  const size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  const std::string scheme = lowered(origin.substr(0, sep));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const auto parts = splitAuthority(origin.substr(sep + 3));
  if (!parts) return std::nullopt;
  std::optional<std::string> port = normalizePort(parts->second);
  if (!port) return std::nullopt;
  if ((scheme == "https" && *port == "443") || (scheme == "http" && *port == "80")) port->clear();
  std::string out = scheme + "://" + lowered(parts->first);
  if (!port->empty()) out += ":" + *port;
  return out;
}

std::optional<std::string> originOfUrl(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  const size_t end = url.find_first_of("/?#", sep + 3);
  return normalizeOrigin(url.substr(0, end));
}

CsrfVerdict checkCrossSite(const http::HeaderList& headers, std::string_view request_origin,
                           const std::vector<std::string>& allowed_origins) {
  const http::Header* site = headers.find("Sec-Fetch-Site");
  for (const http::Header& h : headers.fields()) {
    if (http::equalsIgnoreCase(h.name, "Sec-Fetch-Site") &&
        http::equalsIgnoreCase(h.value, "cross-site")) {
      return {false, "Sec-Fetch-Site", h.value, "says so"};
    }
  }
  if (site != nullptr && (http::equalsIgnoreCase(site->value, "same-origin") ||
                          http::equalsIgnoreCase(site->value, "none"))) {
    return {true, "Sec-Fetch-Site", site->value, {}};
  }
  static constexpr std::string_view kForeign = "is not this site's origin nor in csrf_origins";
  if (const http::Header* origin = headers.find("Origin"); origin != nullptr) {
    // Two Origin fields cannot come from a browser; take neither.
    if (headers.count("Origin") > 1) return {false, "Origin", origin->value, "is sent twice"};
    std::optional<std::string> claimed = normalizeOrigin(origin->value);
    const bool ok = claimed && originAllowed(*claimed, request_origin, allowed_origins);
    return {ok, "Origin", origin->value, ok ? std::string_view() : kForeign};
  }
  if (const http::Header* referer = headers.find("Referer"); referer != nullptr) {
    std::string_view shown = referer->value;
    const size_t sep = shown.find("://");
    shown = sep == std::string_view::npos ? std::string_view()
                                          : shown.substr(0, shown.find_first_of("/?#", sep + 3));
    if (shown.find('@') != std::string_view::npos) shown = shown.substr(0, sep + 3);
    std::optional<std::string> claimed = originOfUrl(referer->value);
    const bool ok = claimed && originAllowed(*claimed, request_origin, allowed_origins);
    return {ok, "Referer", shown, ok ? std::string_view() : kForeign};
  }
  if (site != nullptr) {
    return {false, "Sec-Fetch-Site", site->value, "comes without Origin or Referer"};
  }
  return {};
}

CsrfVerdict checkUnsafeRequest(std::string_view method, const http::HeaderList& headers,
                               std::string_view request_origin,
                               const std::vector<std::string>& allowed_origins) {
  if (isSafeMethod(method)) return {};
  return checkCrossSite(headers, request_origin, allowed_origins);
}

bool allowUnsafeRequest(std::string_view method, const http::HeaderList& headers,
                        std::string_view request_origin,
                        const std::vector<std::string>& allowed_origins) {
  return checkUnsafeRequest(method, headers, request_origin, allowed_origins).allowed;
}

bool allowUpgradeRequest(const http::HeaderList& headers, std::string_view request_origin,
                         const std::vector<std::string>& allowed_origins) {
  return checkCrossSite(headers, request_origin, allowed_origins).allowed;
}

}  // namespace sesame::session

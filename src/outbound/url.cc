#include "sesame/outbound/url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace sesame::outbound {
namespace {

constexpr size_t kMaxHostBytes = 253;  // RFC 1035 §2.3.4, without the trailing dot
constexpr size_t kMaxLabelBytes = 63;

bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char toLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), toLower);
  return out;
}

// RFC 3986 §3.3 pchar without pct-encoded (checked apart), plus '/' and '?' (§3.4).
bool isTargetChar(char c) {
  // unreserved, sub-delims, ':', '@', '/', '?'
  return isAlpha(c) || isDigit(c) ||
         std::string_view("-._~!$&'()*+,;=:@/?").find(c) != std::string_view::npos;
}

std::optional<Url> fail(std::string* error, std::string reason) {
  if (error != nullptr) *error = std::move(reason);
  return std::nullopt;
}

// A DNS name (letters, digits, '-' in dot-separated labels) or a dotted IPv4 literal.
bool parseRegHost(std::string_view host, Url& url, std::string* error) {
  if (host.size() > kMaxHostBytes) {
    fail(error, "host name longer than 253 bytes");
    return false;
  }
  std::string_view last_label;
  for (std::string_view rest = host;;) {
    const size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty()) {
      fail(error, "empty label in host name");
      return false;
    }
    if (label.size() > kMaxLabelBytes) {
      fail(error, "host name label longer than 63 bytes");
      return false;
    }
    for (char c : label) {
      if (!isAlpha(c) && !isDigit(c) && c != '-') {
        fail(error, "character not allowed in a host name");
        return false;
      }
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  const bool numeric_tail = std::all_of(last_label.begin(), last_label.end(), isDigit);
  url.host = lower(host);
  if (numeric_tail) {
    // WHATWG URL treats such a host as IPv4, getaddrinfo may parse "1.2.3" or octal: only the
    // unambiguous dotted-decimal form is accepted.
    in_addr v4{};
    if (inet_pton(AF_INET, url.host.c_str(), &v4) != 1) {
      fail(error, "host is neither a DNS name nor a dotted-decimal IPv4 address");
      return false;
    }
    url.ip_literal = true;
  }
  return true;
}

bool parseAuthority(std::string_view authority, Url& url, std::string* error) {
  if (authority.find('@') != std::string_view::npos) {
    fail(error, "user information (user@host) is not allowed in the URL");
    return false;
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      fail(error, "unbalanced '[' in host");
      return false;
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        fail(error, "unexpected characters after ']'");
        return false;
      }
      port = after.substr(1);
      if (port.empty()) {
        fail(error, "empty port");
        return false;
      }
    }
    // Checked before inet_pton, which stops at a NUL and would accept "::\0junk". Zone
    // identifiers ("%eth0") are refused with the '%'.
    const bool v6_chars = std::all_of(host.begin(), host.end(),
                                      [](char c) { return isHex(c) || c == ':' || c == '.'; });
    in6_addr v6{};
    const std::string text(host);
    if (!v6_chars || inet_pton(AF_INET6, text.c_str(), &v6) != 1) {
      fail(error, "invalid IPv6 address in brackets");
      return false;
    }
    url.host = lower(host);
    url.ip_literal = true;
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) {
        fail(error, "empty port");
        return false;
      }
    }
    if (host.empty()) {
      fail(error, "no host");
      return false;
    }
    if (!parseRegHost(host, url, error)) return false;
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), isDigit)) {
      fail(error, "port is not a number from 1 to 65535");
      return false;
    }
    unsigned value = 0;
    for (char c : port) value = value * 10 + static_cast<unsigned>(c - '0');
    if (value == 0 || value > 65535) {
      fail(error, "port is not a number from 1 to 65535");
      return false;
    }
    url.port = static_cast<uint16_t>(value);
  }
  return true;
}

bool parseTarget(std::string_view target, Url& url, std::string* error) {
  for (size_t i = 0; i < target.size(); ++i) {
    const char c = target[i];
    if (c == '%') {
      if (i + 2 >= target.size() || !isHex(target[i + 1]) || !isHex(target[i + 2])) {
        fail(error, "'%' not followed by two hex digits in path or query");
        return false;
      }
      i += 2;
      continue;
    }
    if (!isTargetChar(c)) {
      fail(error, "character not allowed in path or query (space, control, non-ASCII or other)");
      return false;
    }
  }
  url.target = target.starts_with('/') ? std::string(target) : "/" + std::string(target);
  return true;
}

}  // namespace

std::string Url::authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (https ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

std::string Url::toString() const {
  return (https ? "https://" : "http://") + authority() + target;
}

std::optional<Url> parseUrl(std::string_view text, bool allow_plain_http, std::string* error) {
  if (text.size() > kMaxUrlBytes) return fail(error, "URL longer than 8192 bytes");
  if (text.find('#') != std::string_view::npos) {
    return fail(error, "a fragment (#...) is not allowed in the URL");
  }
  Url url;
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) return fail(error, "not an absolute URL (scheme://host)");
  const std::string scheme = lower(text.substr(0, sep));
  if (scheme == "https") {
    url.https = true;
    url.port = 443;
  } else if (scheme == "http" && allow_plain_http) {
    url.https = false;
    url.port = 80;
  } else if (scheme == "http") {
    return fail(error, "plain http is not allowed: identity provider URLs must use https");
  } else {
    return fail(error, "scheme is not https");
  }
  std::string_view rest = text.substr(sep + 3);
  const size_t end = rest.find_first_of("/?");
  if (!parseAuthority(rest.substr(0, end), url, error)) return std::nullopt;
  if (!parseTarget(end == std::string_view::npos ? std::string_view() : rest.substr(end), url,
                   error)) {
    return std::nullopt;
  }
  return url;
}

}  // namespace sesame::outbound

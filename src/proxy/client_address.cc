#include "sesame/proxy/client_address.h"

#include <optional>
#include <span>

namespace sesame::proxy {
namespace {

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The right-most element of `list` (a comma-separated field value) and the
// rest to its left; false when the list is used up.
bool popRight(std::string_view& list, std::string_view& element) {
  if (list.empty()) return false;
  size_t comma = list.rfind(',');
  if (comma == std::string_view::npos) {
    element = list;
    list = {};
  } else {
    element = list.substr(comma + 1);
    list = list.substr(0, comma);
  }
  element = trimOws(element);
  return true;
}

// Walks the X-Forwarded-For fields right to left, last field first.
std::string walkForwardedFor(const std::vector<net::Cidr>& trusted, const http::HeaderList& headers,
                             std::string client) {
  const std::span<const http::Header> fields = headers.fields();
  for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
    if (!http::equalsIgnoreCase(it->name, "X-Forwarded-For")) continue;
    std::string_view list = it->value;
    std::string_view element;
    while (popRight(list, element)) {
      std::optional<net::IpAddress> ip = net::parseIp(element);
      if (!ip) return client;
      client = ip->toString();
      if (!net::containsAny(trusted, *ip)) return client;
    }
  }
  return client;
}

bool forwardedHttps(const http::HeaderList& headers, bool listener_tls) {
  if (headers.count("X-Forwarded-Proto") != 1) return listener_tls;
  std::string_view proto = trimOws(headers.find("X-Forwarded-Proto")->value);
  if (http::equalsIgnoreCase(proto, "https")) return true;
  if (http::equalsIgnoreCase(proto, "http")) return false;
  return listener_tls;
}

}  // namespace

ClientView resolveClient(const std::vector<net::Cidr>& trusted, std::string_view peer_ip,
                         bool listener_tls, const http::HeaderList& headers) {
  ClientView view{std::string(peer_ip), listener_tls, false};
  if (trusted.empty()) return view;
  std::optional<net::IpAddress> peer = net::parseIp(peer_ip);
  if (!peer || !net::containsAny(trusted, *peer)) return view;
  view.trusted_peer = true;
  view.address = walkForwardedFor(trusted, headers, std::move(view.address));
  view.https = forwardedHttps(headers, listener_tls);
  return view;
}

}  // namespace sesame::proxy

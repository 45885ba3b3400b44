// Ordered list of HTTP header fields with case-insensitive lookup (RFC 9110 §5.1).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::http {

struct Header {
  std::string name;   // as received; compare with equalsIgnoreCase
  std::string value;  // leading and trailing whitespace already trimmed
};

[[nodiscard]] bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Content-Length, Transfer-Encoding, Host, Cookie, Origin, Referer,
// Sec-Fetch-Site, X-Request-Id, the forwarding fields a trusted balancer
// adds (X-Forwarded-For/-Proto/-Host, X-Real-IP, Forwarded) and Upgrade
// (kept or removed by the upgrade rules alone): fields that a Connection
// option may not remove, in either direction.
[[nodiscard]] bool isProtectedFromConnection(std::string_view name);

class HeaderList {
 public:
  void add(std::string_view name, std::string_view value);
  // Removes every field with this name; returns how many were removed.
  size_t remove(std::string_view name);
  // Removes every field for which `pred(const Header&)` holds, in one pass.
  template <typename Pred>
  size_t removeIf(Pred pred) {
    return std::erase_if(fields_, pred);
  }
  // First field with this name, or nullptr.
  [[nodiscard]] const Header* find(std::string_view name) const;
  [[nodiscard]] size_t count(std::string_view name) const;
  // True when a comma-separated field (any occurrence of `name`) lists
  // `token`, compared case-insensitively (e.g. Connection: keep-alive).
  [[nodiscard]] bool hasToken(std::string_view name, std::string_view token) const;

  // Removes hop-by-hop fields (RFC 9110 §7.6.1): Connection and every field
  // it names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
  // and Upgrade unless `keep_upgrade` (then "Connection: upgrade" is the
  // caller's to add back). A Connection option never removes a field that
  // frames or routes the message or that sesame acts on
  // (isProtectedFromConnection): that option is ignored.
  void removeHopByHop(bool keep_upgrade);

  [[nodiscard]] const std::vector<Header>& fields() const { return fields_; }
  [[nodiscard]] size_t size() const { return fields_.size(); }
  void clear() { fields_.clear(); }

 private:
  std::vector<Header> fields_;
};

// Calls `fn(std::string_view)` with each non-empty element of a
// comma-separated field value, optional whitespace trimmed (RFC 9110 §5.6.1).
template <typename Fn>
void forEachListElement(std::string_view value, Fn&& fn) {
  auto ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view element = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    while (!element.empty() && ows(element.front())) element.remove_prefix(1);
    while (!element.empty() && ows(element.back())) element.remove_suffix(1);
    if (!element.empty()) fn(element);
  }
}

// Appends "Name: value\r\n" for every field.
void appendFields(std::string& out, const HeaderList& headers);

}  // namespace sesame::http

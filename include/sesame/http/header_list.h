// Ordered list of HTTP header fields with case-insensitive lookup (RFC 9110 §5.1).
#pragma once

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

class HeaderList {
 public:
  void add(std::string_view name, std::string_view value);
  // Removes every field with this name; returns how many were removed.
  size_t remove(std::string_view name);
  // First field with this name, or nullptr.
  [[nodiscard]] const Header* find(std::string_view name) const;
  [[nodiscard]] size_t count(std::string_view name) const;
  // True when a comma-separated field (any occurrence of `name`) lists
  // `token`, compared case-insensitively (e.g. Connection: keep-alive).
  [[nodiscard]] bool hasToken(std::string_view name, std::string_view token) const;

  // Removes hop-by-hop fields (RFC 9110 §7.6.1): Connection and every field
  // it names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
  // and Upgrade unless `keep_upgrade` (then "Connection: upgrade" is the
  // caller's to add back).
  void removeHopByHop(bool keep_upgrade);

  [[nodiscard]] const std::vector<Header>& fields() const { return fields_; }
  [[nodiscard]] size_t size() const { return fields_.size(); }
  void clear() { fields_.clear(); }

 private:
  std::vector<Header> fields_;
};

// Appends "Name: value\r\n" for every field.
void appendFields(std::string& out, const HeaderList& headers);

}  // namespace sesame::http

// Ordered list of HTTP header fields with case-insensitive lookup (RFC 9110 §5.1).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::http {

struct Header {
  std::string name;   // as received; compare with equalsIgnoreCase
  std::string value;  // leading and trailing whitespace already trimmed

  void swap(Header& other) noexcept {
    name.swap(other.name);
    value.swap(other.value);
  }
};

[[nodiscard]] bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Content-Length, Transfer-Encoding, Host, Cookie, Origin, Referer,
// Sec-Fetch-Site, X-Request-Id, the forwarding fields a trusted balancer
// adds (X-Forwarded-For/-Proto/-Host, X-Real-IP, Forwarded) and Upgrade
// (kept or removed by the upgrade rules alone): fields that a Connection
// option may not remove, in either direction.
[[nodiscard]] bool isProtectedFromConnection(std::string_view name);

// Fields live in [0, size()); storage is kept across remove() and clear():
// the entries past size() are dead but keep their strings' capacity, so a
// list reused for request after request (a parser's, an Exchange's) stops
// allocating once it has seen its largest head (issue 13: the header
// vector's growth and each field's strings were 9 of 22 allocations per
// request). A copy holds only the live fields; a moved-from list is empty.
// Spans from fields() and mutableFields() are invalidated by add(), and
// their elements by any removal (dead entries are swapped past the end).
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(const HeaderList& other);
  HeaderList& operator=(const HeaderList& other);
  HeaderList(HeaderList&& other) noexcept;
  HeaderList& operator=(HeaderList&& other) noexcept;
  ~HeaderList() = default;

  void add(std::string_view name, std::string_view value);
  // Removes every field with this name; returns how many were removed.
  size_t remove(std::string_view name);
  // Removes every field for which `pred(const Header&)` holds, in one pass;
  // the others keep their order.
  template <typename Pred>
  size_t removeIf(Pred pred) {
    size_t kept = 0;
    for (size_t i = 0; i < size_; ++i) {
      if (pred(static_cast<const Header&>(fields_[i]))) continue;
      if (kept != i) fields_[kept].swap(fields_[i]);
      ++kept;
    }
    const size_t removed = size_ - kept;
    size_ = kept;
    return removed;
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

  [[nodiscard]] std::span<const Header> fields() const { return {fields_.data(), size_}; }
  // For editing a value in place (a Cookie field without the session's
  // pair); a name changed here is a new field name, checked by nobody.
  [[nodiscard]] std::span<Header> mutableFields() { return {fields_.data(), size_}; }
  [[nodiscard]] size_t size() const { return size_; }
  void clear() { size_ = 0; }
  // Heap bytes the list holds, spare storage included: what a reused list
  // pins.
  [[nodiscard]] size_t storageBytes() const;

 private:
  std::vector<Header> fields_;  // [0, size_) live, the rest spare storage
  size_t size_ = 0;
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

// Appends "Name: value\r\n" for every field for which `keep(const Header&)`
// holds: serialising a filtered view instead of filtering a copy of the
// list (which cost the copy's allocations on every request).
template <typename Keep>
void appendFieldsIf(std::string& out, const HeaderList& headers, Keep keep) {
  size_t total = 0;
  for (const Header& h : headers.fields()) total += h.name.size() + h.value.size() + 4;
  out.reserve(out.size() + total);
  for (const Header& h : headers.fields()) {
    if (keep(h)) out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
}

// Appends "Name: value\r\n" for every field.
void appendFields(std::string& out, const HeaderList& headers);

}  // namespace sesame::http

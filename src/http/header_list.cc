#include "sesame/http/header_list.h"

#include <algorithm>
#include <array>

#include "chars.h"

namespace sesame::http {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (chars::toLower(a[i]) != chars::toLower(b[i])) return false;
  }
  return true;
}

void HeaderList::add(std::string_view name, std::string_view value) {
  fields_.push_back(Header{std::string(name), std::string(value)});
}

size_t HeaderList::remove(std::string_view name) {
  return std::erase_if(fields_, [&](const Header& h) { return equalsIgnoreCase(h.name, name); });
}

const Header* HeaderList::find(std::string_view name) const {
  for (const Header& h : fields_) {
    if (equalsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

size_t HeaderList::count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(fields_.begin(), fields_.end(), [&](const Header& h) {
    return equalsIgnoreCase(h.name, name);
  }));
}

bool HeaderList::hasToken(std::string_view name, std::string_view token) const {
  for (const Header& h : fields_) {
    if (!equalsIgnoreCase(h.name, name)) continue;
    chars::ListCursor list(h.value);
    std::string_view element;
    while (list.next(element)) {
      if (equalsIgnoreCase(element, token)) return true;
    }
  }
  return false;
}

bool isProtectedFromConnection(std::string_view name) {
  // RFC 9110 §7.6.1 lets a proxy drop the fields Connection names, but the
  // message it forwards must stay framed and routed as it was received, and
  // sesame must forward the fields it judged the request by: "Connection:
  // close, Content-Length" would otherwise send the body unframed, and the
  // upstream would read it as a second request (smuggling); a client behind
  // a balancer that passes Connection on would remove the balancer's
  // X-Forwarded-For and pass for the balancer itself.
  static constexpr std::array<std::string_view, 14> kProtected = {"content-length",
                                                                  "transfer-encoding",
                                                                  "host",
                                                                  "cookie",
                                                                  "origin",
                                                                  "referer",
                                                                  "sec-fetch-site",
                                                                  "x-request-id",
                                                                  "x-forwarded-for",
                                                                  "x-forwarded-proto",
                                                                  "x-forwarded-host",
                                                                  "x-real-ip",
                                                                  "forwarded",
                                                                  "upgrade"};
  for (std::string_view p : kProtected) {
    if (equalsIgnoreCase(name, p)) return true;
  }
  return false;
}

void HeaderList::removeHopByHop(bool keep_upgrade) {
  // RFC 9110 §7.6.1: fields named by Connection are for this hop only. Copy
  // the names first: erase_if moves strings, so views into them would dangle.
  std::vector<std::string> named;
  for (const Header& h : fields_) {
    if (!equalsIgnoreCase(h.name, "connection")) continue;
    chars::ListCursor list(h.value);
    std::string_view element;
    while (list.next(element)) {
      if (!isProtectedFromConnection(element)) named.emplace_back(element);
    }
  }
  static constexpr std::array<std::string_view, 6> kHopByHop = {
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"};
  std::erase_if(fields_, [&](const Header& h) {
    const bool is_upgrade = equalsIgnoreCase(h.name, "upgrade");
    if (is_upgrade) return !keep_upgrade;
    for (std::string_view hop : kHopByHop) {
      if (equalsIgnoreCase(h.name, hop)) return true;
    }
    for (const std::string& n : named) {
      if (equalsIgnoreCase(h.name, n)) return true;
    }
    return false;
  });
}

void appendFields(std::string& out, const HeaderList& headers) {
  size_t total = 0;
  for (const Header& h : headers.fields()) total += h.name.size() + h.value.size() + 4;
  out.reserve(out.size() + total);
  for (const Header& h : headers.fields()) {
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
}

}  // namespace sesame::http

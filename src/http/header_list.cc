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

HeaderList::HeaderList(const HeaderList& other)
    : fields_(other.fields_.begin(), other.fields_.begin() + static_cast<ptrdiff_t>(other.size_)),
      size_(other.size_) {}

HeaderList& HeaderList::operator=(const HeaderList& other) {
  if (this == &other) return *this;
  clear();
  for (const Header& h : other.fields()) add(h.name, h.value);
  return *this;
}

HeaderList::HeaderList(HeaderList&& other) noexcept
    : fields_(std::move(other.fields_)), size_(other.size_) {
  other.fields_.clear();
  other.size_ = 0;
}

HeaderList& HeaderList::operator=(HeaderList&& other) noexcept {
  if (this == &other) return *this;
  fields_ = std::move(other.fields_);
  size_ = other.size_;
  other.fields_.clear();
  other.size_ = 0;
  return *this;
}

void HeaderList::add(std::string_view name, std::string_view value) {
  if (size_ == fields_.size()) {
    fields_.push_back(Header{std::string(name), std::string(value)});
  } else {
    // assign() reuses the capacity a dead entry kept from an earlier field.
    fields_[size_].name.assign(name);
    fields_[size_].value.assign(value);
  }
  ++size_;
}

size_t HeaderList::storageBytes() const {
  size_t bytes = fields_.capacity() * sizeof(Header);
  for (const Header& h : fields_) bytes += h.name.capacity() + h.value.capacity();
  return bytes;
}

size_t HeaderList::remove(std::string_view name) {
  return removeIf([&](const Header& h) { return equalsIgnoreCase(h.name, name); });
}

const Header* HeaderList::find(std::string_view name) const {
  for (const Header& h : fields()) {
    if (equalsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

size_t HeaderList::count(std::string_view name) const {
  const std::span<const Header> live = fields();
  return static_cast<size_t>(std::count_if(
      live.begin(), live.end(), [&](const Header& h) { return equalsIgnoreCase(h.name, name); }));
}

bool HeaderList::hasToken(std::string_view name, std::string_view token) const {
  for (const Header& h : fields()) {
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

namespace {

constexpr std::array<std::string_view, 6> kHopByHop = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"};

// Whether a Connection field among `fields` names `name` as an option it
// may remove.
bool namedByConnection(std::span<const Header> fields, std::string_view name) {
  for (const Header& h : fields) {
    if (!equalsIgnoreCase(h.name, "connection")) continue;
    chars::ListCursor list(h.value);
    std::string_view element;
    while (list.next(element)) {
      if (equalsIgnoreCase(element, name) && !isProtectedFromConnection(element)) return true;
    }
  }
  return false;
}

}  // namespace

void HeaderList::removeHopByHop(bool keep_upgrade) {
  // RFC 9110 §7.6.1: fields named by Connection are for this hop only. Most
  // Connection fields name nothing but hop-by-hop fields and tokens
  // ("keep-alive", "close"); only a list naming something else is looked up
  // for every field (no copy of the names: that vector was an allocation on
  // every response).
  bool names_others = false;
  for (const Header& h : fields()) {
    if (!equalsIgnoreCase(h.name, "connection")) continue;
    chars::ListCursor list(h.value);
    std::string_view element;
    while (list.next(element)) {
      const bool fixed = std::any_of(kHopByHop.begin(), kHopByHop.end(), [&](std::string_view hop) {
        return equalsIgnoreCase(element, hop);
      });
      if (!fixed && !isProtectedFromConnection(element)) names_others = true;
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < size_; ++i) {
    const Header& h = fields_[i];
    bool drop = false;
    if (equalsIgnoreCase(h.name, "upgrade")) {
      drop = !keep_upgrade;
    } else {
      drop = std::any_of(kHopByHop.begin(), kHopByHop.end(),
                         [&](std::string_view hop) { return equalsIgnoreCase(h.name, hop); });
      // Connection fields are always dropped, so every one of them is in
      // [kept, size_): the dropped ones were swapped there, intact.
      if (!drop && names_others) {
        drop = namedByConnection({fields_.data() + kept, size_ - kept}, h.name);
      }
    }
    if (drop) continue;
    if (kept != i) fields_[kept].swap(fields_[i]);
    ++kept;
  }
  size_ = kept;
}

void appendFields(std::string& out, const HeaderList& headers) {
  appendFieldsIf(out, headers, [](const Header&) { return true; });
}

}  // namespace sesame::http

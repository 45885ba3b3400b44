#include "sesame/session/identity_filter.h"

#include <string>

namespace sesame::session {
namespace {

constexpr std::string_view kControlPrefix = "X-Sesame-";

char foldNameChar(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return c;
  return '-';
}

bool foldedEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (foldNameChar(a[i]) != foldNameChar(b[i])) return false;
  }
  return true;
}

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool spoofable(std::string_view name, const IdentityHeaders& ids) {
  return headerNameMatches(name, ids.user_header) || headerNameMatches(name, ids.groups_header) ||
         headerNameMatches(name, ids.assertion_header) ||
         headerNameHasPrefix(name, ids.data_prefix) || headerNameHasPrefix(name, kControlPrefix);
}

}  // namespace

bool headerNameMatches(std::string_view name, std::string_view target) {
  return !target.empty() && foldedEqual(name, target);
}

bool headerNameHasPrefix(std::string_view name, std::string_view prefix) {
  return !prefix.empty() && name.size() >= prefix.size() &&
         foldedEqual(name.substr(0, prefix.size()), prefix);
}

size_t stripSpoofable(http::HeaderList& headers, const IdentityHeaders& ids) {
  return headers.removeIf([&](const http::Header& h) { return spoofable(h.name, ids); });
}

std::string dataHeaderName(std::string_view prefix, std::string_view key) {
  std::string out(prefix);
  out.reserve(prefix.size() + key.size());
  bool word_start = true;
  for (char c : key) {
    const char folded = foldNameChar(c);
    out.push_back(word_start ? upper(folded) : folded);
    word_start = folded == '-';
  }
  return out;
}

}  // namespace sesame::session

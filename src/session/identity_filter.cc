#include "sesame/session/identity_filter.h"

#include <string>
#include <vector>

namespace sesame::session {
namespace {

constexpr std::string_view kControlPrefix = "X-Sesame-";

char foldNameChar(char c) {
  if (c == '_' || c == '.') return '-';
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  return c;
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
  // HeaderList removes by name; every spelling that equals a spoofable name
  // case-insensitively is itself spoofable, so removing by each matching
  // name removes exactly the matching fields.
  std::vector<std::string> names;
  for (const http::Header& h : headers.fields()) {
    if (spoofable(h.name, ids)) names.push_back(h.name);
  }
  size_t removed = 0;
  for (const std::string& name : names) removed += headers.remove(name);
  return removed;
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

// libFuzzer target: control-header parsing, control and identity header
// stripping and the CSRF check over arbitrary header lists, with their
// invariants checked. Input: first line the request origin, then one
// "name: value" field per line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/http/header_list.h"
#include "sesame/session/control_headers.h"
#include "sesame/session/csrf.h"
#include "sesame/session/identity_filter.h"

using sesame::http::Header;
using sesame::http::HeaderList;
namespace session = sesame::session;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr session::ControlLimits kLimits{16, 8, 4, 6, 32, 64};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool hasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

void checkActions(const session::ControlActions& a) {
  size_t total = 0;
  for (const auto& f : a.set) {
    check(session::isValidDataKey(f.key) && session::canonicalDataKey(f.key) == f.key);
    check(f.value.size() <= kLimits.max_value_bytes && !hasControl(f.value));
    total += f.value.size();
    for (const auto& k : a.unset) check(k != f.key);
  }
  check(total <= kLimits.max_total_bytes);
  check(a.set.size() + a.unset.size() <= kLimits.max_keys);
  for (const auto& k : a.unset) {
    check(session::isValidDataKey(k) && session::canonicalDataKey(k) == k);
  }
  if (a.login) {
    check(!a.login->empty() && a.login->size() <= kLimits.max_user_bytes && !hasControl(*a.login));
  } else {
    check(a.groups.empty());
  }
  check(a.groups.size() <= kLimits.max_groups);
  for (const auto& g : a.groups) {
    check(!g.empty() && g.size() <= kLimits.max_group_bytes);
    for (char c : g) check(c > 0x20 && c < 0x7f && c != ',');
  }
  if (a.logout != session::Logout::kNone) {
    check(!a.login && a.set.empty() && a.unset.empty());
  }
}

// `after` must be `before` minus exactly the fields `removed` selects, in order.
template <typename Pred>
void checkStripped(const HeaderList& before, const HeaderList& after, size_t count, Pred removed) {
  size_t j = 0;
  for (const Header& h : before.fields()) {
    if (removed(h.name)) continue;
    check(j < after.size() && after.fields()[j].name == h.name &&
          after.fields()[j].value == h.value);
    ++j;
  }
  check(j == after.size() && before.size() - after.size() == count);
}

void checkDataNames(const session::ControlActions& a, const session::IdentityHeaders& ids) {
  std::vector<std::string> names;
  for (const auto& f : a.set) {
    std::string name = session::dataHeaderName(ids.data_prefix, f.key);
    check(session::headerNameHasPrefix(name, ids.data_prefix));
    for (const auto& other : names) check(!sesame::http::equalsIgnoreCase(other, name));
    names.push_back(std::move(name));
  }
}

void checkOrigins(std::string_view value) {
  if (auto o = session::normalizeOrigin(value)) check(session::normalizeOrigin(*o) == o);
  if (auto o = session::originOfUrl(value)) check(session::normalizeOrigin(*o) == o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t first = input.find('\n');
  const std::string_view request_origin = trim(input.substr(0, first));
  input = first == std::string_view::npos ? std::string_view() : input.substr(first + 1);

  HeaderList headers;
  while (!input.empty()) {
    const size_t nl = input.find('\n');
    const std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) continue;
    headers.add(line.substr(0, colon), trim(line.substr(colon + 1)));
  }

  std::vector<std::string> warnings;
  const session::ControlActions actions = session::parseControlHeaders(headers, kLimits, &warnings);
  checkActions(actions);
  const session::ControlActions again = session::parseControlHeaders(headers, kLimits, nullptr);
  check(again.login == actions.login && again.groups == actions.groups &&
        again.logout == actions.logout && again.set == actions.set && again.unset == actions.unset);

  const session::IdentityHeaders ids;
  checkDataNames(actions, ids);

  HeaderList control = headers;
  const size_t control_removed = session::stripControlHeaders(control);
  checkStripped(headers, control, control_removed,
                [](std::string_view n) { return session::headerNameHasPrefix(n, "X-Sesame-"); });

  HeaderList spoof = headers;
  const size_t spoof_removed = session::stripSpoofable(spoof, ids);
  const auto spoofable = [&](std::string_view n) {
    return session::headerNameMatches(n, ids.user_header) ||
           session::headerNameMatches(n, ids.groups_header) ||
           session::headerNameHasPrefix(n, ids.data_prefix) ||
           session::headerNameHasPrefix(n, "X-Sesame-");
  };
  checkStripped(headers, spoof, spoof_removed, spoofable);
  check(session::stripSpoofable(spoof, ids) == 0);

  checkOrigins(request_origin);
  for (const Header& h : headers.fields()) checkOrigins(h.value);
  const std::vector<std::string> allowed{"https://partner.example", std::string(request_origin)};
  for (const char* method : {"GET", "HEAD", "OPTIONS"}) {
    check(session::allowUnsafeRequest(method, headers, request_origin, allowed));
  }
  const bool allowed_post = session::allowUnsafeRequest("POST", headers, request_origin, allowed);
  for (const Header& h : headers.fields()) {
    if (sesame::http::equalsIgnoreCase(h.name, "Sec-Fetch-Site") &&
        sesame::http::equalsIgnoreCase(h.value, "cross-site")) {
      check(!allowed_post);
    }
  }
  const Header* origin = headers.find("Origin");
  if (origin != nullptr && origin->value == "null" && headers.find("Sec-Fetch-Site") == nullptr) {
    check(!allowed_post);
  }
  // The verdict agrees, and what it shows of a Referer is an origin at
  // most: no path, query, fragment or userinfo reaches the log.
  const session::CsrfVerdict verdict =
      session::checkUnsafeRequest("POST", headers, request_origin, allowed);
  check(verdict.allowed == allowed_post);
  check(verdict.allowed || !verdict.why.empty());
  if (verdict.field == "Referer") {
    const size_t sep = verdict.value.find("://");
    check(verdict.value.empty() ||
          verdict.value.find_first_of("/?#@", sep + 3) == std::string_view::npos);
  }
  return 0;
}

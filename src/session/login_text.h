// Private to session/: the one rule every store applies to the login details
// it records (LoginInfo's method, address and agent).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/session/store.h"

namespace sesame::session {

// `text` cut at `max` bytes, control characters (0x00-0x1F, 0x7F) as '?':
// what is read back becomes JSON, log and header text, and a User-Agent
// (which may hold a tab, or 8 KiB) must never fail a login.
inline std::string boundedLoginText(std::string_view text, size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// Whether `tags` keeps LoginInfo's bounds (setIdentity answers kRejected
// otherwise; tags are names, and a name cut short names something else).
inline bool tagsWithinBounds(const std::vector<std::string>& tags) {
  return tags.size() <= LoginInfo::kMaxTags &&
         std::all_of(tags.begin(), tags.end(), [](const std::string& tag) {
           return !tag.empty() && tag.size() <= LoginInfo::kMaxTagBytes;
         });
}

// `tags` sorted and without duplicates, as Session::tags holds them.
inline std::vector<std::string> normalTags(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

// `session` with `login`'s user, groups, details and tags recorded (bounded
// as above; the caller has checked tagsWithinBounds); the times are the
// caller's.
inline void recordLogin(Session& session, const LoginInfo& login) {
  session.user = login.user;
  session.groups = login.groups;
  session.method = boundedLoginText(login.method, LoginInfo::kMaxMethodBytes);
  session.handle = login.handle;
  session.address = boundedLoginText(login.address, LoginInfo::kMaxAddressBytes);
  session.agent = boundedLoginText(login.agent, LoginInfo::kMaxAgentBytes);
  session.tags = normalTags(login.tags);
}

// The admin API's view of `session`.
inline SessionSummary summaryOf(const Session& session) {
  return SessionSummary{session.handle, session.created, session.login, session.touched,
                        session.method, session.address, session.agent};
}

}  // namespace sesame::session

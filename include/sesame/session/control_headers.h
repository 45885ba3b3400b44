// Reads the X-Sesame-* response headers by which an application logs users in and out and edits
// session data.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/http/header_list.h"

namespace sesame::session {

// Bounds on what one response may ask for (issue 3 §5). Anything beyond
// them is skipped with a warning, never truncated.
struct ControlLimits {
  size_t max_user_bytes = 256;     // X-Sesame-Login value
  size_t max_group_bytes = 64;     // one group of X-Sesame-Groups
  size_t max_groups = 64;          // groups per login
  size_t max_keys = 64;            // distinct keys set plus keys unset
  size_t max_value_bytes = 4096;   // one decoded X-Sesame-Set value
  size_t max_total_bytes = 16384;  // all decoded values of the response
};

enum class Logout {
  kNone,
  kSession,      // "X-Sesame-Logout: 1": destroy this session
  kAllSessions,  // "X-Sesame-Logout: all": destroy every session of the user
};

struct DataField {
  std::string key;  // canonical (canonicalDataKey)
  std::string value;

  bool operator==(const DataField&) const = default;
};

// What a response asked for. The lists are the net effect of the headers in
// order: a key is in at most one of `set` and `unset`, the later header wins.
struct ControlActions {
  std::optional<std::string> login;  // user to log in; rotate the session ID
  std::vector<std::string> groups;   // only with `login`
  Logout logout = Logout::kNone;     // when set, login, set and unset are empty
  std::vector<DataField> set;
  std::vector<std::string> unset;

  [[nodiscard]] bool empty() const {
    return !login && logout == Logout::kNone && set.empty() && unset.empty();
  }
};

// True for what X-Sesame-Login accepts as a user: 1..max_bytes bytes
// without control characters (0x00-0x1F, 0x7F).
[[nodiscard]] bool isValidUser(std::string_view user, size_t max_bytes);
// True for what X-Sesame-Groups accepts as one group: 1..max_bytes visible
// ASCII bytes (0x21-0x7E) except ',', which would split the group in two
// in the comma-joined groups header.
[[nodiscard]] bool isValidGroup(std::string_view group, size_t max_bytes);

// True for session data keys: [A-Za-z0-9_-]{1,64}.
[[nodiscard]] bool isValidDataKey(std::string_view key);
// Lower-cased, '_' mapped to '-': keys that the application would see as
// the same header (see dataHeaderName) are the same field.
[[nodiscard]] std::string canonicalDataKey(std::string_view key);

// Parses the control headers of an upstream response (names compared
// case-insensitively). Accepts:
//   X-Sesame-Login: <user>  1..max_user_bytes bytes, no control characters
//                           (0x00-0x1F, 0x7F); more than one Login header is
//                           ambiguous and ignores every login.
//   X-Sesame-Groups: a, b   comma list, elements trimmed, empty ones skipped;
//                           each group 1..max_group_bytes visible ASCII bytes
//                           (0x21-0x7E, no ','); ignored without a login.
//   X-Sesame-Logout: 1|all  anything else is ignored; a logout discards any
//                           login, set and unset of the same response.
//   X-Sesame-Set: key=value value percent-decoded (RFC 3986 §2.1, '+' is
//                           literal); a decoded value holding a control
//                           character is refused, since it will be sent
//                           upstream as a header value.
//   X-Sesame-Unset: key     repeatable, or a comma list of keys.
// Other X-Sesame-* names are unknown and ignored. Every refusal appends one
// sentence to `warnings` (may be null) naming the header and, when it is
// valid, the key; values and user names are never quoted.
[[nodiscard]] ControlActions parseControlHeaders(const http::HeaderList& response_headers,
                                                 ControlLimits limits,
                                                 std::vector<std::string>* warnings);

// Removes every field whose name starts with "X-Sesame-" (case-insensitive,
// '_' taken as '-'), on every route, so control headers never reach the
// client; returns how many were removed.
size_t stripControlHeaders(http::HeaderList& headers);

}  // namespace sesame::session

// GET /.sesame/session: the browser's session as JSON for front-end code
// that shows who is logged in. Pure.
#pragma once

#include <string>

#include "sesame/session/store.h"

namespace sesame::auth {

// {"authenticated": bool, "user": string|null, "groups": [...],
//  "created": RFC 3339|null, "expires": RFC 3339|null} and, with
// `expose_data`, "data": {key: value} without sesame's own fields
// (session::isInternalDataKey). `session` null: no session. Never
// the session's ID, handle or cookie. expires is the earlier of the idle
// timeout (from the last refresh) and the absolute one.
[[nodiscard]] std::string renderSessionJson(const session::Session* session,
                                            const session::Timeouts& timeouts, bool expose_data);

}  // namespace sesame::auth

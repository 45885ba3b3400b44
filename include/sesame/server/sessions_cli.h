// `sesame -c FILE sessions list USER | revoke HANDLE | revoke-user USER`:
// the admin listener's session API from the command line, with the address
// and token read from the configuration file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::server {

// Exit codes of the sessions commands (documented in sesame(8)).
inline constexpr int kSessionsDone = 0;
inline constexpr int kSessionsNotFound = 1;  // no such session, or nothing to list or revoke
inline constexpr int kSessionsUsage = 2;     // bad arguments, or a configuration error
inline constexpr int kSessionsRefused = 3;   // the admin listener unreachable, or it refused

// Runs the command when `argv` names one ("sessions" as a word of its own,
// not the value of -c) and returns its exit code; nullopt otherwise, and
// main goes on with its own arguments. Output on stdout, reasons on stderr.
[[nodiscard]] std::optional<int> runSessionsCommand(int argc, char** argv);

// One session as GET /sessions lists it.
struct SessionRow {
  std::string handle;
  std::string login;
  std::string last_seen;
  std::string client;
  std::string user_agent;
};

// The rows of a GET /sessions answer: a JSON array of objects whose values
// are strings, numbers or null (unknown keys are skipped); nullopt for
// anything else.
[[nodiscard]] std::optional<std::vector<SessionRow>> parseSessionList(std::string_view json);

// Rows as an aligned table with a header line; times shown as "YYYY-MM-DD
// HH:MM:SS" (UTC), "-" for an empty value, control characters in any value shown as '?' so that a
// User-Agent cannot drive the operator's terminal.
[[nodiscard]] std::string formatSessionTable(const std::vector<SessionRow>& rows);

// Every byte but RFC 3986 unreserved characters as %XX (query values, path segments).
[[nodiscard]] std::string percentEncode(std::string_view text);

}  // namespace sesame::server

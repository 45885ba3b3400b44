// `sesame hash-password`: a yescrypt hash for the users file, from a password read on stdin.
#pragma once

#include <cstdio>

namespace sesame::server {

// Reads one line from descriptor `in` as the password and writes its yescrypt hash and a newline
// to `out`. When `in` is a terminal, the password is asked for twice on `prompts` with echo off
// (restored on return and on SIGINT, SIGTERM, SIGHUP or SIGQUIT) and a mismatch is refused.
// Refused too: an empty password, and one crypt(3) cannot hash whole (auth::hashPassword). A
// trailing CR before the newline is dropped. Errors go to `prompts` and never show the password.
// Returns the exit status: 0 with the hash written, 1 otherwise.
int hashPasswordCommand(int in, std::FILE* out, std::FILE* prompts);

}  // namespace sesame::server

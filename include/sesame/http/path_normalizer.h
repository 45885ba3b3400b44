// Request-target normalisation: the one spelling of a path that sesame
// routes on and forwards, so that a route cannot be skipped by writing its
// path differently (RFC 3986 §6.2.2). Pure: a target in, a target or a
// refusal out.
#pragma once

#include <string>
#include <string_view>

namespace sesame::http {

// What an escaped '/' or '\' (%2F, %5C, any case) in a path does, as in
// Envoy's path_with_escaped_slashes_action: kReject refuses the request
// (400); kKeep forwards the escape unchanged (upper-cased), as one segment's
// data, for applications whose identifiers contain slashes.
enum class EscapedSlashes { kReject, kKeep };

// Normalises an origin-form target ("/path" or "/path?query") into `out`
// (replaced, never longer than `target`) and returns "" on success, or the
// reason for a 400 (for logs; it never quotes the target). O(n), no
// allocation beyond `out`.
//
// The path, up to the first '?', becomes:
// - escapes of unreserved characters (ALPHA DIGIT - . _ ~) decoded, every
//   other escape upper-cased ("%7e" -> "~", "%c3%a9" -> "%C3%A9");
// - refused: a '%' not followed by two hex digits, an escaped control
//   character (%00-%1F, %7F), an escaped overlong UTF-8 lead ("%C0%AE" is
//   '.' to a lax decoder), an escaped '/' or '\' under kReject, a raw
//   '\' (Windows and some frameworks read it as '/'; browsers never send
//   it), any byte that is not a visible ASCII character;
// - split into segments at '/'. A segment's name is its part before the
//   first ';' (RFC 3986 §3.3 path parameters, as in ";jsessionid=..."); a
//   segment named "." or ".." (after decoding, so "%2e%2E" and ".%2e" too,
//   and "..;x" as Tomcat reads it) is a dot-segment and is removed with its
//   parameters as RFC 3986 §5.2.4 says, ".." taking the segment before it;
//   ".." above the root is refused, as nginx does. An empty segment ("//")
//   is removed with its parameters, except the last one: "/a/" keeps its
//   trailing slash and "/a/;jsessionid=1" keeps its parameters. Every
//   other segment is kept with its parameters;
// - "/" when nothing is left.
// The query is copied as received: it is the application's to interpret.
// The result is a fixed point: normalising it again returns it unchanged.
// A target that does not start with '/' (asterisk- or authority-form) is
// refused; callers pass only origin-form targets.
[[nodiscard]] std::string_view normalizeTarget(std::string_view target,
                                               EscapedSlashes escaped_slashes, std::string& out);

// The path that routes match for a normalised target: its path with each
// segment's ";parameters" removed and without the query, so that
// "/admin;jsessionid=1/x" is matched as "/admin/x". Because normalisation
// already removed the segments whose name is empty, "." or "..", this has
// the same segments as the target the upstream receives, and neither
// contains "//" or a dot-segment.
[[nodiscard]] std::string routePath(std::string_view normalized_target);

}  // namespace sesame::http

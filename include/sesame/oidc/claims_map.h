// From validated token claims to a user, groups and an access decision (allowed_groups,
// allowed_email_domains).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sesame/base/json_reader.h"

namespace sesame::oidc {

// Bounds on what a token may bring into a session and into identity
// headers; a token over them is refused, not cut (a cut group list could
// hide or reorder the group that grants access).
inline constexpr size_t kMaxClaimBytes = 255;
inline constexpr size_t kMaxGroups = 1024;

// The claims sesame uses, taken from a token whose signature and
// registered claims were already checked (id_token.h, access_token.h).
struct Claims {
  std::string sub;
  std::string sid;              // empty when absent
  std::string email;            // empty when absent
  bool email_verified = false;  // true only for the JSON value true
  // The configured user_claim's value when it is a string (for "sub" and
  // "email", the same as above); nullopt when absent or of another type.
  std::optional<std::string> user;
  // The configured groups_claim: a string is one group, an array of
  // strings is the list; absent is no group.
  std::vector<std::string> groups;
};

// Reads `claims` (a verified token's claims object) into a Claims: sub,
// sid, email and email_verified when of the right type, `user_claim` when
// a string, and `groups_claim` (absent or null: no groups). Refused, with
// `why` naming the claim: a groups claim that is neither a string nor an
// array of strings, more than kMaxGroups groups, or a group that is empty,
// longer than kMaxClaimBytes or holds control characters (groups become
// identity headers).
[[nodiscard]] bool readClaims(json::Value claims, std::string_view user_claim,
                              std::string_view groups_claim, Claims* out, std::string* why);

struct AccessPolicy {
  std::string user_claim = "sub";
  std::vector<std::string> allowed_groups{};         // empty: any group
  std::vector<std::string> allowed_email_domains{};  // empty: any email
};

// Which rule turned the user away, for the 403 page and the log.
enum class Denial {
  kNone,
  kNoUser,           // user_claim absent, empty, too long or with control characters
  kEmailUnverified,  // user_claim "email" or an email-domain rule, and email_verified is not true
  kGroup,            // in none of allowed_groups
  kEmailDomain,      // email's domain is none of allowed_email_domains
};

struct AccessDecision {
  Denial denial = Denial::kNone;
  std::string user;                 // set when denial is kNone
  std::vector<std::string> groups;  // set when denial is kNone
  // Groups of the token left out: not what an identity header and every
  // store can carry (session::isValidGroup: visible ASCII, no ',', at most
  // ControlLimits::max_group_bytes), or beyond ControlLimits::max_groups.
  size_t left_out = 0;
  // For the operator's log and the 403 page: which rule failed and with
  // what (the claim name, the email's domain); never a token.
  std::string why;
  [[nodiscard]] bool allowed() const { return denial == Denial::kNone; }
};

// Applies the policy: the user is user_claim's value, which must be a
// non-empty string of at most kMaxClaimBytes without control characters;
// with user_claim "email" the email must also be verified (an unverified
// address is whatever the user typed at the provider). allowed_groups,
// when non-empty, needs one exact (case-sensitive) match among the groups.
// allowed_email_domains, when non-empty, needs a verified email whose
// domain, the part after its LAST '@' compared case-insensitively (ASCII),
// equals one entry exactly: "a@b.com@evil.com" has the domain "evil.com",
// and "evil.com.b.com" or "evilb.com" is not "b.com". Entries are domains
// without '@' (a leading '@' is tolerated).
[[nodiscard]] AccessDecision decideAccess(const Claims& claims, const AccessPolicy& policy);

// The domain of `email` as decideAccess compares it, lower-cased; nullopt
// when there is no '@' or nothing after the last one.
[[nodiscard]] std::optional<std::string> emailDomain(std::string_view email);

}  // namespace sesame::oidc

#include "sesame/oidc/claims_map.h"

#include <algorithm>

#include "sesame/base/log.h"
#include "sesame/session/control_headers.h"

namespace sesame::oidc {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// The user name ends up in a header and in log lines: no control bytes
// (CR/LF would split a header; NUL cuts C strings), DEL included.
bool validName(std::string_view name) {
  if (name.empty() || name.size() > kMaxClaimBytes) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7f;
  });
}

AccessDecision deny(Denial denial, std::string why) {
  AccessDecision d;
  d.denial = denial;
  d.why = std::move(why);
  return d;
}

std::string copy(json::Value claims, std::string_view name) {
  return std::string(claims.get(name).string().value_or(std::string_view()));
}

}  // namespace

bool readClaims(json::Value claims, std::string_view user_claim, std::string_view groups_claim,
                Claims* out, std::string* why) {
  out->sub = copy(claims, "sub");
  out->sid = copy(claims, "sid");
  out->email = copy(claims, "email");
  out->email_verified = claims.get("email_verified").boolean().value_or(false);
  out->user.reset();
  if (const std::optional<std::string_view> user = claims.get(user_claim).string())
    out->user = std::string(*user);
  out->groups.clear();
  if (groups_claim.empty()) return true;
  const json::Value groups = claims.get(groups_claim);
  const std::string name = "groups claim \"" + log::printable(groups_claim, 64) + "\"";
  if (!groups.exists() || groups.isNull()) return true;
  if (const std::optional<std::string_view> one = groups.string()) {
    if (!validName(*one)) {
      *why = name + " is empty, longer than 255 bytes or holds control characters";
      return false;
    }
    out->groups.emplace_back(*one);
    return true;
  }
  if (!groups.isArray()) {
    *why = name + " is neither a string nor an array of strings";
    return false;
  }
  if (groups.size() > kMaxGroups) {
    *why = name + " lists more than " + std::to_string(kMaxGroups) + " groups";
    return false;
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::optional<std::string_view> g = groups.at(i).string();
    if (!g || !validName(*g)) {
      *why = name +
             " holds a value that is not a non-empty string of at most 255 bytes "
             "without control characters";
      out->groups.clear();
      return false;
    }
    out->groups.emplace_back(*g);
  }
  return true;
}

std::optional<std::string> emailDomain(std::string_view email) {
  const size_t at = email.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size()) return std::nullopt;
  return lowered(email.substr(at + 1));
}

AccessDecision decideAccess(const Claims& claims, const AccessPolicy& policy) {
  if (!claims.user || !validName(*claims.user) ||
      !session::isValidUser(*claims.user, session::ControlLimits{}.max_user_bytes)) {
    return deny(Denial::kNoUser, "the token's \"" + policy.user_claim +
                                     "\" claim is not a usable user name (absent, not a "
                                     "string, empty, longer than 255 bytes or with control "
                                     "characters)");
  }
  if (policy.user_claim == "email" && !claims.email_verified) {
    return deny(Denial::kEmailUnverified,
                "user_claim is \"email\" and the provider does not say the email is verified "
                "(email_verified is not true)");
  }
  // A group the application would read wrongly ("x,admin" is two groups in
  // the joined header) or a store would refuse ("Domain Users" in Redis)
  // is left out, never cut, before any rule looks at the groups.
  const session::ControlLimits limits;
  std::vector<std::string> groups;
  size_t left_out = 0;
  for (const std::string& g : claims.groups) {
    if (groups.size() < limits.max_groups && session::isValidGroup(g, limits.max_group_bytes)) {
      groups.push_back(g);
    } else {
      ++left_out;
    }
  }
  if (!policy.allowed_groups.empty()) {
    const bool member = std::any_of(groups.begin(), groups.end(), [&policy](const std::string& g) {
      return std::find(policy.allowed_groups.begin(), policy.allowed_groups.end(), g) !=
             policy.allowed_groups.end();
    });
    if (!member) {
      return deny(Denial::kGroup, "the user is in none of allowed_groups (the token lists " +
                                      std::to_string(claims.groups.size()) + " groups)");
    }
  }
  if (!policy.allowed_email_domains.empty()) {
    if (!claims.email_verified) {
      return deny(Denial::kEmailUnverified,
                  "allowed_email_domains is set and the token has no verified email "
                  "(email_verified is not true)");
    }
    const std::optional<std::string> domain = emailDomain(claims.email);
    if (!domain) {
      return deny(Denial::kEmailDomain,
                  "allowed_email_domains is set and the token's email "
                  "has no domain");
    }
    const bool listed =
        std::any_of(policy.allowed_email_domains.begin(), policy.allowed_email_domains.end(),
                    [&domain](const std::string& allowed) {
                      std::string_view a = allowed;
                      if (!a.empty() && a.front() == '@') a.remove_prefix(1);
                      return lowered(a) == *domain;
                    });
    if (!listed) {
      return deny(Denial::kEmailDomain, "the email's domain \"" + log::printable(*domain, 100) +
                                            "\" is none of allowed_email_domains");
    }
  }
  AccessDecision d;
  d.user = *claims.user;
  d.groups = std::move(groups);
  d.left_out = left_out;
  return d;
}

}  // namespace sesame::oidc

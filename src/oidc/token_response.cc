#include "sesame/oidc/token_response.h"

#include <charconv>

#include "sesame/base/json_reader.h"
#include "sesame/base/log.h"

namespace sesame::oidc {
namespace {

constexpr size_t kMaxErrorCodeBytes = 64;

TokenResponse malformed(std::string why) {
  TokenResponse r;
  r.outcome = TokenOutcome::kMalformed;
  r.why = "token endpoint: " + std::move(why);
  return r;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Printable ASCII only (RFC 6749 §5.2 limits both to %x20-21 / %x23-5B /
// %x5D-7E anyway), so a provider's text cannot forge log lines or pages.
std::string sanitized(std::string_view text, size_t max) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() == max) break;
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

std::optional<int64_t> expiresIn(json::Value v) {
  if (const std::optional<int64_t> n = v.integer()) return n;
  const std::optional<std::string_view> s = v.string();
  if (!s || s->empty() || s->size() > 18) return std::nullopt;
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
  if (ec != std::errc() || end != s->data() + s->size() || (*s)[0] == '-') return std::nullopt;
  return n;
}

TokenResponse refused(json::Value root, int status) {
  const std::optional<std::string_view> code = root.get("error").string();
  if (!code) {
    return malformed("status " + std::to_string(status) +
                     " without an \"error\" string (RFC 6749 §5.2)");
  }
  TokenResponse r;
  r.outcome = TokenOutcome::kRefused;
  r.error_code = sanitized(*code, kMaxErrorCodeBytes);
  if (const std::optional<std::string_view> d = root.get("error_description").string())
    r.error_description = sanitized(*d, kMaxErrorDescriptionBytes);
  r.why = "token endpoint refused the request: " + r.error_code;
  if (!r.error_description.empty()) r.why += " (" + log::printable(r.error_description, 220) + ")";
  return r;
}

}  // namespace

TokenResponse parseTokenResponse(int status, std::string_view body, Grant grant) {
  if (status != 200 && status != 400 && status != 401)
    return malformed("unexpected HTTP status " + std::to_string(status));
  std::string why;
  const std::optional<json::Document> doc = json::parse(body, &why);
  if (!doc) return malformed("answer (status " + std::to_string(status) + ") is not JSON: " + why);
  const json::Value root = doc->root();
  if (!root.isObject()) return malformed("answer is not a JSON object");
  if (status != 200) return refused(root, status);

  TokenResponse r;
  // A string member into `out`; absent leaves it empty. Never quotes a value.
  const auto token = [&root](std::string_view name,
                             std::string& out) -> std::optional<std::string> {
    const json::Value v = root.get(name);
    if (!v.exists()) return std::nullopt;
    const std::optional<std::string_view> s = v.string();
    if (!s) return std::string(name) + " is not a string";
    if (s->size() > kMaxTokenBytes)
      return std::string(name) + " is longer than " + std::to_string(kMaxTokenBytes) + " bytes";
    out = *s;
    return std::nullopt;
  };
  std::string token_type;
  for (const auto& [name, out] :
       {std::pair<std::string_view, std::string*>{"access_token", &r.tokens.access_token},
        {"token_type", &token_type},
        {"id_token", &r.tokens.id_token},
        {"refresh_token", &r.tokens.refresh_token},
        {"scope", &r.tokens.scope}}) {
    if (std::optional<std::string> bad = token(name, *out)) return malformed(std::move(*bad));
  }
  if (r.tokens.access_token.empty()) return malformed("access_token is missing or empty");
  if (!equalsIgnoreCase(token_type, "Bearer")) {
    return malformed("token_type " + (token_type.empty() ? std::string("is missing")
                                                         : "\"" + log::printable(token_type, 32) +
                                                               "\" is not Bearer"));
  }
  if (grant == Grant::kAuthorizationCode && r.tokens.id_token.empty())
    return malformed("id_token is missing from the code exchange (scope lacks \"openid\"?)");
  const json::Value expires = root.get("expires_in");
  if (expires.exists()) {
    const std::optional<int64_t> n = expiresIn(expires);
    if (!n || *n < 0 || *n > kMaxExpiresIn)
      return malformed("expires_in is not a number of seconds between 0 and ten years");
    r.tokens.expires_in = n;
  }
  r.outcome = TokenOutcome::kOk;
  return r;
}

}  // namespace sesame::oidc

#include "sesame/jose/claims.h"

namespace sesame::jose {

std::optional<json::Document> parseClaims(std::string_view payload, std::string* error) {
  std::string why;
  auto doc = json::parse(payload, &why);
  if (!doc) {
    if (error) *error = "claims: " + why;
    return std::nullopt;
  }
  if (!doc->root().isObject()) {
    if (error) *error = "claims are not a JSON object";
    return std::nullopt;
  }
  return doc;
}

std::optional<std::string_view> stringClaim(json::Value claims, std::string_view name) {
  return claims.get(name).string();
}

std::optional<std::vector<std::string_view>> audiences(json::Value claims) {
  const json::Value aud = claims.get("aud");
  if (const auto one = aud.string()) return std::vector<std::string_view>{*one};
  if (!aud.isArray()) return std::nullopt;
  std::vector<std::string_view> out;
  out.reserve(aud.size());
  for (size_t i = 0; i < aud.size(); ++i) {
    const auto s = aud.at(i).string();
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

std::optional<int64_t> numericDate(json::Value claims, std::string_view name) {
  return claims.get(name).seconds();
}

std::optional<std::string> checkTimes(json::Value claims, int64_t now_seconds, int64_t skew_seconds,
                                      bool require_iat) {
  // No arithmetic on the token's numbers: only on ours, which cannot overflow.
  const json::Value exp = claims.get("exp");
  if (!exp.exists()) return "token has no exp claim";
  const auto exp_s = exp.seconds();
  if (!exp_s) return "token exp is not a NumericDate";
  if (*exp_s <= now_seconds - skew_seconds) return "token expired";

  const json::Value nbf = claims.get("nbf");
  if (nbf.exists()) {
    const auto nbf_s = nbf.seconds();
    if (!nbf_s) return "token nbf is not a NumericDate";
    if (*nbf_s > now_seconds + skew_seconds) return "token not valid yet (nbf)";
  }

  const json::Value iat = claims.get("iat");
  if (!iat.exists()) {
    if (require_iat) return "token has no iat claim";
    return std::nullopt;
  }
  const auto iat_s = iat.seconds();
  if (!iat_s) return "token iat is not a NumericDate";
  if (*iat_s > now_seconds + skew_seconds) return "token issued in the future (iat)";
  return std::nullopt;
}

}  // namespace sesame::jose

#include "sesame/oidc/discovery.h"

#include <algorithm>

#include "sesame/base/json_reader.h"
#include "sesame/base/log.h"

namespace sesame::oidc {
namespace {

constexpr jose::Alg kAllowList[] = {jose::Alg::kRS256, jose::Alg::kPS256, jose::Alg::kES256,
                                    jose::Alg::kEdDSA};

// The provider's own text in an operator's message: bounded, no control bytes.
std::string quoted(std::string_view text) {
  return "\"" + log::printable(text, 200) + "\"";
}

class Reader {
 public:
  Reader(json::Value root, std::string* error) : root_(root), error_(error) {}

  bool failed() const { return failed_; }

  bool fail(std::string why) {
    if (!failed_ && error_ != nullptr) *error_ = "provider metadata: " + std::move(why);
    failed_ = true;
    return false;
  }

  // A string member; nullopt (without failing) when absent.
  std::optional<std::string_view> string(std::string_view name) {
    const json::Value v = root_.get(name);
    if (!v.exists()) return std::nullopt;
    const std::optional<std::string_view> s = v.string();
    if (!s) fail(std::string(name) + " is not a string");
    return s;
  }

  // An endpoint member into `out`; absent is an error when `required`.
  void endpoint(std::string_view name, bool required, std::string& out) {
    const std::optional<std::string_view> url = string(name);
    if (!url) {
      if (required && !failed_) fail(std::string(name) + " is missing");
      return;
    }
    if (!isHttpsEndpoint(*url)) {
      fail(std::string(name) + " " + quoted(*url) +
           " is not an https URL with a host (no fragment, at most 2048 bytes)");
      return;
    }
    out = *url;
  }

  // A list of strings; nullopt (without failing) when absent.
  std::optional<std::vector<std::string_view>> strings(std::string_view name) {
    const json::Value v = root_.get(name);
    if (!v.exists()) return std::nullopt;
    std::vector<std::string_view> out;
    if (!v.isArray()) {
      fail(std::string(name) + " is not an array");
      return std::nullopt;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      const std::optional<std::string_view> s = v.at(i).string();
      if (!s) {
        fail(std::string(name) + " holds a value that is not a string");
        return std::nullopt;
      }
      out.push_back(*s);
    }
    return out;
  }

  bool flag(std::string_view name) {
    const json::Value v = root_.get(name);
    if (!v.exists()) return false;
    const std::optional<bool> b = v.boolean();
    if (!b) fail(std::string(name) + " is not a boolean");
    return b.value_or(false);
  }

 private:
  json::Value root_;
  std::string* error_;
  bool failed_ = false;
};

bool contains(const std::vector<std::string_view>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool isHttpsEndpoint(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() > kMaxEndpointBytes || url.substr(0, kScheme.size()) != kScheme) return false;
  const std::string_view rest = url.substr(kScheme.size());
  // RFC 6749 §3.1: endpoint URIs MUST NOT include a fragment.
  for (unsigned char c : rest) {
    if (c <= 0x20 || c >= 0x7f || c == '#') return false;
  }
  const size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  // No userinfo: "https://id.example.com@evil.example/" names evil.example.
  return !authority.empty() && authority.find('@') == std::string_view::npos &&
         authority.front() != ':';
}

std::optional<ProviderMetadata> parseProviderMetadata(std::string_view json,
                                                      std::string_view expected_issuer,
                                                      std::string* error) {
  std::string why;
  const std::optional<json::Document> doc = json::parse(json, &why);
  if (!doc) {
    if (error != nullptr) *error = "provider metadata is not valid JSON: " + why;
    return std::nullopt;
  }
  if (!doc->root().isObject()) {
    if (error != nullptr) *error = "provider metadata is not a JSON object";
    return std::nullopt;
  }
  Reader r(doc->root(), error);
  ProviderMetadata m;

  const std::optional<std::string_view> issuer = r.string("issuer");
  if (r.failed()) return std::nullopt;
  if (!issuer) {
    r.fail("issuer is missing");
    return std::nullopt;
  }
  if (*issuer != expected_issuer) {
    r.fail("issuer " + quoted(*issuer) + " is not the configured issuer " +
           quoted(expected_issuer) +
           " (OpenID Connect Discovery §4.3: they must be identical, including a trailing "
           "slash)");
    return std::nullopt;
  }
  m.issuer = *issuer;

  r.endpoint("authorization_endpoint", true, m.authorization_endpoint);
  r.endpoint("token_endpoint", true, m.token_endpoint);
  r.endpoint("jwks_uri", true, m.jwks_uri);
  r.endpoint("userinfo_endpoint", false, m.userinfo_endpoint);
  r.endpoint("end_session_endpoint", false, m.end_session_endpoint);
  r.endpoint("revocation_endpoint", false, m.revocation_endpoint);
  if (r.failed()) return std::nullopt;

  const auto algs = r.strings("id_token_signing_alg_values_supported");
  if (r.failed()) return std::nullopt;
  for (jose::Alg alg : kAllowList) {
    if (algs ? contains(*algs, jose::algName(alg)) : alg == jose::Alg::kRS256)
      m.id_token_algs.push_back(alg);
  }
  if (m.id_token_algs.empty()) {
    r.fail(
        "id_token_signing_alg_values_supported names none of RS256, PS256, ES256, EdDSA; "
        "sesame verifies ID tokens with no other algorithm");
    return std::nullopt;
  }

  const auto response_types = r.strings("response_types_supported");
  if (r.failed()) return std::nullopt;
  if (response_types && !contains(*response_types, "code")) {
    r.fail("response_types_supported lacks \"code\" (the authorization code flow)");
    return std::nullopt;
  }

  const auto pkce = r.strings("code_challenge_methods_supported");
  if (r.failed()) return std::nullopt;
  if (pkce && !contains(*pkce, "S256")) {
    r.fail(
        "code_challenge_methods_supported lacks \"S256\"; sesame always uses PKCE with S256 "
        "(RFC 7636)");
    return std::nullopt;
  }

  const auto auth_methods = r.strings("token_endpoint_auth_methods_supported");
  if (r.failed()) return std::nullopt;
  if (auth_methods)
    m.token_endpoint_auth_methods.assign(auth_methods->begin(), auth_methods->end());

  m.backchannel_logout_supported = r.flag("backchannel_logout_supported");
  m.backchannel_logout_session_supported = r.flag("backchannel_logout_session_supported");
  if (r.failed()) return std::nullopt;
  return m;
}

}  // namespace sesame::oidc

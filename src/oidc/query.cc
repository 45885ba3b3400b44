#include "query.h"

#include "sesame/session/access.h"

namespace sesame::oidc {

void appendParameter(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty() && out.back() != '?' && out.back() != '&') out.push_back('&');
  out.append(name);
  out.push_back('=');
  out.append(session::percentEncode(value));
}

std::string withQuerySeparator(std::string_view url) {
  std::string out(url);
  if (url.find('?') == std::string_view::npos) {
    out.push_back('?');
  } else if (out.back() != '?' && out.back() != '&') {
    out.push_back('&');
  }
  return out;
}

}  // namespace sesame::oidc

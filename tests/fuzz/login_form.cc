// libFuzzer target: the sign-in form decoder over arbitrary bodies. What it accepts is within
// bounds, and the fields encoded again decode to themselves.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/auth/form.h"

using sesame::fuzz::check;
namespace auth = sesame::auth;

namespace {

// Percent-encodes every byte but letters and digits, and a space as '+'.
std::string encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::string error;
  const std::optional<auth::LoginForm> form = auth::parseLoginForm(body, &error);
  if (!form) {
    check(!error.empty());
    return 0;
  }
  check(body.size() <= auth::kMaxLoginBody);
  check(form->username.size() <= auth::kMaxFormUserBytes);
  for (unsigned char c : form->username) check(c >= 0x20 && c != 0x7f);
  check(form->password.size() <= auth::kMaxFormPasswordBytes);
  check(form->csrf.size() <= auth::kMaxFormCsrfBytes);
  check(form->return_to.size() <= auth::kMaxFormReturnToBytes);
  // Every decoded byte came from at least one body byte.
  check(form->username.size() + form->password.size() + form->csrf.size() +
            form->return_to.size() <=
        body.size());

  const std::string again =
      "return_to=" + encode(form->return_to) + "&x=%25&csrf=" + encode(form->csrf) +
      "&password=" + encode(form->password) + "&&username=" + encode(form->username);
  if (again.size() > auth::kMaxLoginBody) return 0;
  const std::optional<auth::LoginForm> round = auth::parseLoginForm(again, &error);
  check(round.has_value());
  check(round->username == form->username && round->password == form->password &&
        round->csrf == form->csrf && round->return_to == form->return_to);
  return 0;
}

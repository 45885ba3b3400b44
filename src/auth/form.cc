#include "sesame/auth/form.h"

#include <algorithm>
#include <array>

#include "sesame/auth/password.h"

namespace sesame::auth {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes with '+' as a space; false on a bad escape.
bool decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      const int hi = i + 2 < in.size() ? hexValue(in[i + 1]) : -1;
      const int lo = hi >= 0 ? hexValue(in[i + 2]) : -1;
      if (lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return true;
}

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

struct Field {
  std::string_view name;
  std::string LoginForm::*member;
  size_t max_bytes;
};

constexpr std::array<Field, 4> kFields{{
    {"username", &LoginForm::username, kMaxFormUserBytes},
    {"password", &LoginForm::password, kMaxFormPasswordBytes},
    {"csrf", &LoginForm::csrf, kMaxFormCsrfBytes},
    {"return_to", &LoginForm::return_to, kMaxFormReturnToBytes},
}};

}  // namespace

std::optional<LoginForm> parseLoginForm(std::string_view body, std::string* error) {
  if (body.size() > kMaxLoginBody) {
    *error = "the form is longer than " + std::to_string(kMaxLoginBody) + " bytes";
    return std::nullopt;
  }
  LoginForm form;
  std::array<bool, kFields.size()> seen{};
  std::string name;
  std::string value;
  // Decoded copies of a password are wiped however this returns.
  struct Wiper {
    std::string& value;
    ~Wiper() { wipe(value); }
  } wiper{value};
  const auto refuse = [&](std::string why) {
    wipe(form.password);
    *error = std::move(why);
    return std::nullopt;
  };
  size_t pos = 0;
  while (pos <= body.size()) {
    const size_t amp = std::min(body.find('&', pos), body.size());
    const std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (!decode(pair.substr(0, eq), name)) return refuse("a field name has a bad %-escape");
    const auto field = std::find_if(kFields.begin(), kFields.end(),
                                    [&](const Field& f) { return f.name == name; });
    if (field == kFields.end()) continue;
    const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    const std::string label = "the " + std::string(field->name) + " field";
    if (!decode(raw, value)) return refuse(label + " has a bad %-escape");
    bool& was_seen = seen[static_cast<size_t>(field - kFields.begin())];
    if (was_seen) return refuse(label + " is given twice");
    was_seen = true;
    if (value.size() > field->max_bytes) {
      return refuse(label + " is longer than " + std::to_string(field->max_bytes) + " bytes");
    }
    if (field->member == &LoginForm::username && hasControl(value)) {
      return refuse(label + " holds a control character");
    }
    form.*(field->member) = value;
  }
  return form;
}

std::vector<std::string> formValues(std::string_view query, std::string_view name) {
  std::vector<std::string> out;
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string value;
    if (decode(pair.substr(eq + 1), value)) out.push_back(std::move(value));
  }
  return out;
}

}  // namespace sesame::auth

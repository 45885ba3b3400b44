#include "sesame/auth/pages.h"

#include <algorithm>
#include <array>

namespace sesame::auth {
namespace {

// Shared by both pages: a centred card that fits a phone, light or dark as the system is.
constexpr std::string_view kHead = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}}</title>
<style>
:root{color-scheme:light dark}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827}
main{box-sizing:border-box;max-width:24rem;margin:8vh auto;padding:2rem 1.5rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{margin:0 0 1.25rem;font-size:1.5rem}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input{box-sizing:border-box;width:100%;padding:.6rem;font:inherit;border:1px solid #9ca3af;border-radius:.35rem;background:inherit;color:inherit}
button{box-sizing:border-box;width:100%;margin-top:1.5rem;padding:.7rem;font:inherit;font-weight:600;border:0;border-radius:.35rem;background:#1d4ed8;color:#fff;cursor:pointer}
button:focus-visible,input:focus-visible{outline:3px solid #93c5fd;outline-offset:1px}
a.provider{display:block;box-sizing:border-box;margin-top:1rem;padding:.7rem;text-align:center;font-weight:600;border:1px solid #1d4ed8;border-radius:.35rem;color:inherit;text-decoration:none}
.error{margin:0 0 1rem;padding:.6rem .8rem;border-radius:.35rem;background:#fee2e2;color:#991b1b}
@media (prefers-color-scheme:dark){body{background:#111827;color:#f9fafb}main{background:#1f2937}.error{background:#7f1d1d;color:#fee2e2}}
</style>
</head>
<body>
<main>
<h1>{{title}}</h1>
)";

constexpr std::string_view kError = R"(<p class="error" role="alert">{{error}}</p>
)";

constexpr std::string_view kFormStart = R"(<form method="post" action="{{action}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="return_to" value="{{return_to}}">
<label for="username">User name</label>
<input id="username" name="username" type="text" value="{{username}}" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required)";

constexpr std::string_view kPassword = R"(>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required)";

constexpr std::string_view kFormEnd = R"(>
<button type="submit">Sign in</button>
</form>
)";

constexpr std::string_view kPageEnd = R"(</main>
</body>
</html>
)";

constexpr std::string_view kMessage = R"(<p>{{message}}</p>
)";

constexpr std::string_view kLogout = R"(<p>Sign out of this site on this browser?</p>
<form method="post" action="{{action}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Sign out</button>
</form>
</main>
</body>
</html>
)";

constexpr std::array<std::string_view, 7> kPlaceholders{
    "title", "error", "csrf", "return_to", "username", "action", "providers"};

// A placeholder's name must close within this many bytes, on the same line; a "{{" that does
// not is text.
constexpr size_t kMaxNameBytes = 64;

struct Placeholder {
  size_t begin = 0;  // of "{{"
  size_t end = 0;    // past "}}"
  std::string_view name;
};

std::optional<Placeholder> nextPlaceholder(std::string_view tmpl, size_t from) {
  for (size_t open = tmpl.find("{{", from); open != std::string_view::npos;
       open = tmpl.find("{{", open + 1)) {
    const std::string_view window = tmpl.substr(open + 2, kMaxNameBytes + 2);
    const size_t close = window.find("}}");
    if (close == std::string_view::npos) continue;
    const std::string_view name = window.substr(0, close);
    if (name.find_first_of("\n{") != std::string_view::npos) continue;
    return Placeholder{open, open + 2 + close + 2, name};
  }
  return std::nullopt;
}

bool isKnown(std::string_view name) {
  return std::find(kPlaceholders.begin(), kPlaceholders.end(), name) != kPlaceholders.end();
}

// Substitutes every known placeholder of `tmpl` with the escaped value `value(name)` gives.
template <typename Value>
std::string substitute(std::string_view tmpl, Value&& value, std::string_view raw = {}) {
  std::string out;
  out.reserve(tmpl.size() + 256);
  size_t pos = 0;
  while (const std::optional<Placeholder> p = nextPlaceholder(tmpl, pos)) {
    out.append(tmpl.substr(pos, p->begin - pos));
    if (std::optional<std::string_view> v = value(p->name)) {
      // `raw` names markup sesame built itself (its values escaped there).
      out += p->name == raw ? std::string(*v) : htmlEscape(*v);
    } else {
      out.append(tmpl.substr(p->begin, p->end - p->begin));
    }
    pos = p->end;
  }
  out.append(tmpl.substr(pos));
  return out;
}

}  // namespace

std::string htmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string renderLoginPage(std::string_view tmpl, const LoginPage& page) {
  std::string built_in;
  if (tmpl.empty()) {
    // The cursor starts where typing is needed: the password after a failed attempt (the name
    // is kept), the name otherwise.
    const bool again = !page.username.empty();
    built_in.append(kHead);
    if (!page.error.empty()) built_in.append(kError);
    if (page.password_form) {
      built_in.append(kFormStart);
      if (!again) built_in.append(" autofocus");
      built_in.append(kPassword);
      if (again) built_in.append(" autofocus");
      built_in.append(kFormEnd);
    }
    built_in.append("{{providers}}");
    built_in.append(kPageEnd);
    tmpl = built_in;
  }
  // The links are markup of sesame's own, each value in it escaped here.
  std::string links;
  for (const ProviderLink& link : page.providers) {
    links.append("<a class=\"provider\" href=\"")
        .append(htmlEscape(link.href))
        .append("\">Sign in with ")
        .append(htmlEscape(link.display_name))
        .append("</a>\n");
  }
  return substitute(
      tmpl,
      [&](std::string_view name) -> std::optional<std::string_view> {
        if (name == "title") return page.title;
        if (name == "error") return page.error;
        if (name == "csrf") return page.csrf;
        if (name == "return_to") return page.return_to;
        if (name == "username") return page.username;
        if (name == "providers") return links;
        if (name == "action") return kLoginPath;
        return std::nullopt;
      },
      "providers");
}

std::optional<std::string> checkTemplate(std::string_view tmpl) {
  bool has_csrf = false;
  size_t pos = 0;
  while (const std::optional<Placeholder> p = nextPlaceholder(tmpl, pos)) {
    if (!isKnown(p->name)) {
      std::string shown(p->name);
      std::replace_if(
          shown.begin(), shown.end(),
          [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, '?');
      const size_t line = 1 + std::count(tmpl.begin(), tmpl.begin() + p->begin, '\n');
      return "line " + std::to_string(line) + ": unknown placeholder {{" + shown +
             "}} (the placeholders are {{title}}, {{error}}, {{csrf}}, {{return_to}}, "
             "{{username}}, {{action}} and {{providers}})";
    }
    has_csrf = has_csrf || p->name == "csrf";
    pos = p->end;
  }
  if (!has_csrf) {
    return "no {{csrf}} placeholder: the form must post it in a hidden \"csrf\" field "
           "(<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">), or every sign-in is "
           "refused with 403";
  }
  return std::nullopt;
}

std::string renderLogoutPage(std::string_view title, std::string_view csrf) {
  std::string tmpl;
  tmpl.append(kHead);
  tmpl.append(kLogout);
  tmpl.append(kPageEnd);
  return substitute(tmpl, [&](std::string_view name) -> std::optional<std::string_view> {
    if (name == "title") return title;
    if (name == "csrf") return csrf;
    if (name == "action") return kLogoutPath;
    return std::nullopt;
  });
}

std::string renderMessagePage(std::string_view title, std::string_view message,
                              std::string_view href, std::string_view link_text) {
  std::string tmpl;
  tmpl.append(kHead);
  tmpl.append(kMessage);
  if (!href.empty())
    tmpl.append(R"(<p><a class="provider" href="{{href}}">{{link}}</a></p>
)");
  tmpl.append(kPageEnd);
  return substitute(tmpl, [&](std::string_view name) -> std::optional<std::string_view> {
    if (name == "title") return title;
    if (name == "message") return message;
    if (name == "href") return href;
    if (name == "link") return link_text;
    return std::nullopt;
  });
}

}  // namespace sesame::auth

// The HTML pages sesame serves itself: the sign-in form (built in, or the operator's template)
// and the sign-out confirmation.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sesame::auth {

// Where the sign-in and sign-out forms post to.
inline constexpr std::string_view kLoginPath = "/.sesame/login";
inline constexpr std::string_view kLogoutPath = "/.sesame/logout";

// `s` safe in HTML text and in quoted attribute values: & < > " ' as character references.
[[nodiscard]] std::string htmlEscape(std::string_view s);

// One OpenID provider the sign-in page offers: a link that starts its sign-in.
struct ProviderLink {
  std::string_view href;  // "/.sesame/login?provider=NAME&return_to=..." (already a URL)
  std::string_view display_name;
};

// What one sign-in page shows; every field is HTML-escaped when substituted.
struct LoginPage {
  std::string_view title;      // [login] title
  std::string_view error;      // empty, or the one message of a failed attempt
  std::string_view csrf;       // the token the form posts back in its "csrf" field
  std::string_view return_to;  // posted back in "return_to"
  std::string_view username;   // prefilled after a failed attempt
  // [oidc]: one "Sign in with ..." link per provider, after the form.
  std::span<const ProviderLink> providers{};
  bool password_form = true;  // false without [login]: the links only
};

// The sign-in page. An empty `tmpl` is the built-in page: plain HTML5 without scripts or
// external resources (it works under "default-src 'none'; style-src 'unsafe-inline'"),
// labelled fields with autocomplete hints, readable on a phone, the error in a role="alert"
// paragraph only when there is one. Otherwise `tmpl` (checked by checkTemplate) with each
// placeholder replaced by its escaped value:
//   {{title}} {{error}} {{csrf}} {{return_to}} {{username}} {{action}} (= kLoginPath)
//   {{providers}} (the provider links as HTML, empty without [oidc])
// {{error}} is empty when there is no error, so a template shows it in an element its CSS hides
// when :empty. Text that is not a known placeholder is copied as it is.
[[nodiscard]] std::string renderLoginPage(std::string_view tmpl, const LoginPage& page);

// Why an operator's template cannot be used, or nullopt when it can. A placeholder is "{{",
// a name and "}}" on one line; any name but the six above is refused with its line (a typo
// would otherwise show on the page), and so is a template without {{csrf}}, whose form
// would be refused with 403 on every sign-in.
[[nodiscard]] std::optional<std::string> checkTemplate(std::string_view tmpl);

// The sign-out confirmation: `title` as the page title and heading, and a "Sign out" button
// that posts `csrf` to kLogoutPath. Sign-out takes a POST so that a cross-site image or link
// cannot sign anyone out.
[[nodiscard]] std::string renderLogoutPage(std::string_view title, std::string_view csrf);

// A page that only says something (a sign-in the provider or the policy refused), with one
// link onwards (`href` already a URL; empty: no link).
[[nodiscard]] std::string renderMessagePage(std::string_view title, std::string_view message,
                                            std::string_view href, std::string_view link_text);

}  // namespace sesame::auth

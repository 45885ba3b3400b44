#include "sesame/auth/pages.h"

#include <catch2/catch.hpp>
#include <string>

namespace sesame::auth {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("htmlEscape escapes the five characters that matter", "[auth][pages]") {
  CHECK(htmlEscape("") == "");
  CHECK(htmlEscape("plain text ü") == "plain text ü");
  CHECK(htmlEscape("<a href=\"x\" title='y'>&amp;</a>") ==
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
}

TEST_CASE("the built-in login page", "[auth][pages]") {
  const std::string page =
      renderLoginPage("", LoginPage{"Sign in to Acme", "", "tok-123", "/app?x=1&y=2", ""});
  CHECK(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
  CHECK(contains(page, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
  CHECK(contains(page, "<title>Sign in to Acme</title>"));
  CHECK(contains(page, "<h1>Sign in to Acme</h1>"));
  CHECK(contains(page, "<form method=\"post\" action=\"/.sesame/login\">"));
  CHECK(contains(page, "<input type=\"hidden\" name=\"csrf\" value=\"tok-123\">"));
  CHECK(contains(page, "<input type=\"hidden\" name=\"return_to\" value=\"/app?x=1&amp;y=2\">"));
  CHECK(contains(page, "<label for=\"username\">"));
  CHECK(contains(page,
                 "<input id=\"username\" name=\"username\" type=\"text\" value=\"\" "
                 "autocomplete=\"username\""));
  CHECK(contains(page, "<label for=\"password\">"));
  CHECK(contains(page,
                 "<input id=\"password\" name=\"password\" type=\"password\" "
                 "autocomplete=\"current-password\" required>"));
  CHECK(contains(page, "<button type=\"submit\">Sign in</button>"));
  CHECK(contains(page, "spellcheck=\"false\" required autofocus>"));
  // Nothing the CSP "default-src 'none'; style-src 'unsafe-inline'" would block, and no
  // error element without an error.
  for (const char* absent : {"<script", "<link", "<img", "src=", "http:", "https:", "url(",
                             "@import", "role=\"alert\"", "{{"}) {
    INFO(absent);
    CHECK_FALSE(contains(page, absent));
  }
  CHECK(contains(page, "<style>"));
}

TEST_CASE("the built-in page after a failed attempt", "[auth][pages]") {
  const std::string page =
      renderLoginPage("", LoginPage{"Sign in", "Wrong user name or password.", "t", "/", "alice"});
  CHECK(contains(page, "<p class=\"error\" role=\"alert\">Wrong user name or password.</p>"));
  CHECK(contains(page, "value=\"alice\""));
  // The name is kept, so the password field takes the focus.
  CHECK(contains(page, "autocomplete=\"current-password\" required autofocus>"));
  CHECK(contains(page, "spellcheck=\"false\" required>"));
}

TEST_CASE("every placeholder is escaped", "[auth][pages]") {
  const std::string evil = "\"><script>alert('x')</script>&";
  const std::string escaped = "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;";
  const std::string page = renderLoginPage("", LoginPage{evil, evil, evil, evil, evil});
  CHECK_FALSE(contains(page, "<script"));
  CHECK_FALSE(contains(page, "'x'"));
  CHECK(contains(page, "<title>" + escaped + "</title>"));
  CHECK(contains(page, "role=\"alert\">" + escaped + "</p>"));
  CHECK(contains(page, "name=\"csrf\" value=\"" + escaped + "\""));
  CHECK(contains(page, "name=\"return_to\" value=\"" + escaped + "\""));
  CHECK(contains(page, "type=\"text\" value=\"" + escaped + "\""));
  const std::string own =
      renderLoginPage("{{title}}|{{error}}|{{csrf}}|{{return_to}}|{{username}}|{{action}}",
                      LoginPage{"<t>", "<e>", "<c>", "<r>", "<script>alert(1)</script>"});
  CHECK(own ==
        "&lt;t&gt;|&lt;e&gt;|&lt;c&gt;|&lt;r&gt;|&lt;script&gt;alert(1)&lt;/script&gt;|"
        "/.sesame/login");
}

TEST_CASE("an operator's template", "[auth][pages]") {
  const std::string tmpl =
      "<p>{{title}}</p><p class=e>{{error}}</p>{{csrf}}{{csrf}} {{ title }} {{x {{username}}"
      "{{unclosed";
  CHECK(renderLoginPage(tmpl, LoginPage{"T", "", "C", "/", "u"}) ==
        "<p>T</p><p class=e></p>CC {{ title }} {{x u{{unclosed");
  // Values are substituted once: a value that looks like a placeholder stays text.
  CHECK(renderLoginPage("{{username}}{{csrf}}", LoginPage{"", "", "c", "", "{{csrf}}"}) ==
        "{{csrf}}c");
  CHECK(renderLoginPage("{{{csrf}}}", LoginPage{"", "", "c", "", ""}) == "{c}");
}

TEST_CASE("checkTemplate", "[auth][pages]") {
  CHECK_FALSE(checkTemplate("<form>{{csrf}}</form>"));
  CHECK_FALSE(
      checkTemplate("{{title}}{{error}}{{csrf}}{{return_to}}{{username}}{{action}}{{providers}}"));
  const std::string known =
      " (the placeholders are {{title}}, {{error}}, {{csrf}}, {{return_to}}, {{username}}, "
      "{{action}} and {{providers}})";
  CHECK(checkTemplate("{{csrf}}\n\n<p>{{titel}}</p>") ==
        "line 3: unknown placeholder {{titel}}" + known);
  CHECK(checkTemplate("{{csrf}} {{ title }}") == "line 1: unknown placeholder {{ title }}" + known);
  CHECK(checkTemplate("{{csrf}} {{Title}}") == "line 1: unknown placeholder {{Title}}" + known);
  CHECK(checkTemplate("{{csrf}} {{password}}") ==
        "line 1: unknown placeholder {{password}}" + known);
  CHECK(checkTemplate("{{csrf}} {{}}") == "line 1: unknown placeholder {{}}" + known);
  CHECK(checkTemplate("{{csrf}} {{a\tb}}") == "line 1: unknown placeholder {{a?b}}" + known);
  const std::string no_csrf =
      "no {{csrf}} placeholder: the form must post it in a hidden \"csrf\" field (<input "
      "type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">), or every sign-in is refused with 403";
  CHECK(checkTemplate("<form>{{title}}</form>") == no_csrf);
  CHECK(checkTemplate("") == no_csrf);
  // Braces that are not a placeholder (CSS, a "{{" left open, one across lines) are text.
  CHECK_FALSE(checkTemplate("{{csrf}} a{{b\n}} {{" + std::string(65, 'x') + "}} {{open"));
}

TEST_CASE("the logout confirmation page", "[auth][pages]") {
  const std::string page = renderLogoutPage("Sign out of <Acme>", "tok\"en");
  CHECK(page.starts_with("<!DOCTYPE html>"));
  CHECK(contains(page, "<title>Sign out of &lt;Acme&gt;</title>"));
  CHECK(contains(page, "<form method=\"post\" action=\"/.sesame/logout\">"));
  CHECK(contains(page, "<input type=\"hidden\" name=\"csrf\" value=\"tok&quot;en\">"));
  CHECK(contains(page, "<button type=\"submit\">Sign out</button>"));
  CHECK_FALSE(contains(page, "<script"));
  CHECK_FALSE(contains(page, "{{"));
}

TEST_CASE("the sign-in page offers OpenID providers", "[auth][pages]") {
  const ProviderLink links[] = {{"/.sesame/login?provider=corp&return_to=%2Fa", "Corp <SSO>"},
                                {"/.sesame/login?provider=b&return_to=%2F\"x", "B"}};
  const std::string both =
      renderLoginPage("", LoginPage{"Sign in", "", "t", "/a", "", links, true});
  CHECK(contains(both, "<form method=\"post\" action=\"/.sesame/login\">"));
  CHECK(contains(both,
                 "<a class=\"provider\" href=\"/.sesame/login?provider=corp&amp;return_to=%2Fa\">"
                 "Sign in with Corp &lt;SSO&gt;</a>"));
  // A link's href is escaped as an attribute value: a quote cannot end it.
  CHECK(contains(both, "return_to=%2F&quot;x\">Sign in with B</a>"));
  CHECK(both.find("<form") < both.find("class=\"provider\""));
  const std::string links_only =
      renderLoginPage("", LoginPage{"Sign in", "", "t", "/a", "", links, false});
  CHECK_FALSE(contains(links_only, "<form"));
  CHECK_FALSE(contains(links_only, "password"));
  CHECK(contains(links_only, "Sign in with Corp"));
  // An operator's template places them with {{providers}}; markup, not escaped again.
  CHECK(renderLoginPage("<nav>{{providers}}</nav>{{csrf}}",
                        LoginPage{"", "", "c", "", "", std::span(links, 1), true}) ==
        "<nav><a class=\"provider\" href=\"/.sesame/login?provider=corp&amp;return_to=%2Fa\">"
        "Sign in with Corp &lt;SSO&gt;</a>\n</nav>c");
  CHECK(renderLoginPage("[{{providers}}]{{csrf}}", LoginPage{"", "", "c", "", ""}) == "[]c");
}

TEST_CASE("a message page", "[auth][pages]") {
  const std::string page =
      renderMessagePage("Sign in", "Not <admitted>.", "/.sesame/login?return_to=%2F&x=1", "Again");
  CHECK(contains(page, "<p>Not &lt;admitted&gt;.</p>"));
  CHECK(contains(page,
                 "<a class=\"provider\" href=\"/.sesame/login?return_to=%2F&amp;x=1\">Again</a>"));
  CHECK_FALSE(contains(page, "{{"));
  CHECK_FALSE(contains(page, "<script"));
  CHECK_FALSE(contains(renderMessagePage("T", "M", "", ""), "<a "));
}

}  // namespace
}  // namespace sesame::auth

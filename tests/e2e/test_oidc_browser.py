"""Sign-in through a real OpenID provider in a real browser (issue 12 §3):
Debian's chromium, driven by tests/browser/oidc.mjs (playwright-core), goes
from a protected page to the provider's login page (tests/oidc/provider.mjs),
signs in there, lands back on the page as the user, then signs out of sesame
and, through RP-initiated logout, of the provider. Screenshots are kept in
build/browser/oidc-*.png (beside the binary under test).

Twice: with the provider on another site than sesame (https://localhost
against https://127.0.0.1), as is usual, and on the same site (both on
127.0.0.1, as a provider at sso.example.com is the same site as an app at
app.example.com), where what sesame's sign-out does to the site's cookies
reaches the provider's too.

Needs what test_login_browser.py needs, plus tests/oidc/node_modules: skipped
without them on a developer's machine, a failure in CI.
"""

import glob
import os
import subprocess

from harness import timeout
from test_login_browser import BROWSER_DIR, ROOT, browser_tools
from test_oidc import ACCOUNTS, COOKIE, ROUTES, Site, client, run_all


def browser_flow(env, provider_host, prefix):
    node = browser_tools()
    up = env.upstream()
    site = Site(env, up, {None: {"user_claim": "preferred_username", "post_logout_redirect": "/pub/echo"}},
                routes=ROUTES)
    p = run_all(env, [site], clients=[client([site], post_logout_redirect_uris=[site.url("/pub/echo")])],
                host=provider_host)
    shots = os.path.join(os.path.dirname(env.binary), "browser")
    for old in glob.glob(os.path.join(shots, prefix + "*.png")):
        os.remove(old)
    cmd = [node, os.path.join(BROWSER_DIR, "oidc.mjs"), "--base", site.base, "--issuer", p.issuer,
           "--protected", "/private/echo", "--account", "u-alice", "--user", "alice",
           "--groups", "staff,admins", "--after-logout", "/pub/echo", "--cookie-name", COOKIE,
           "--screenshots", shots, "--shot-prefix", prefix]
    run = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, SESAME_PASSWORD=ACCOUNTS["u-alice"]["password"]),
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=130)
    output = (run.stdout + run.stderr).strip()
    assert run.returncode == 0, "oidc.mjs exited with %d:\n%s" % (run.returncode, output)
    assert "browser: oidc flow passed" in output, output
    for step in ("the provider's login page (PKCE S256, state, nonce)", "back on /private/echo as alice",
                 "a new value, HttpOnly, Secure", "the provider's end-session page", "signed out",
                 "asks the provider's login form again"):
        assert step in output, "oidc.mjs did not report %r:\n%s" % (step, output)
    assert not [x for x in p.sessions() if x["account"] == "u-alice"], "the provider session survived the sign-out"
    for png in ("provider-login.png", "landed.png", "provider-logout.png"):
        path = os.path.join(shots, prefix + png)
        assert os.path.getsize(path) > 1000, "%s is missing or empty" % path


@timeout(150)
def test_oidc_sign_in_in_chromium(env):
    browser_flow(env, "localhost", "oidc-")


@timeout(150)
def test_oidc_sign_out_with_a_same_site_provider_in_chromium(env):
    browser_flow(env, "127.0.0.1", "oidc-same-site-")

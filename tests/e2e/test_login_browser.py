"""sesame's built-in sign-in in a real browser (issue 11 §5): Debian's
chromium, driven by tests/browser/login.mjs (playwright-core), signs in to a
TLS listener as a person would and checks what they see. Screenshots of the
form, the error and the landed page are kept in build/browser/ (beside the
binary under test: build-asan/browser/ for the sanitized suite).

Needs /usr/bin/chromium, node and tests/browser/node_modules (`make deps`
installs all three). Without chromium the test is skipped on a developer's
machine; in CI (CI set) it fails instead, so that the suite cannot pass
without ever running a browser.
"""

import os
import shutil
import subprocess

from harness import Skip, timeout, toml_table
from signin import users_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
CHROMIUM = "/usr/bin/chromium"
SECRET = "browser test secret, longer than thirty-two bytes"
PASSWORD = "correct horse battery staple"
COOKIE = "__Host-browser"
TITLE = "Sign in to the e2e app"


def browser_tools():
    """node's path, after checking that chromium and playwright-core are
    installed; raises Skip when chromium is missing outside CI."""
    if not os.access(CHROMIUM, os.X_OK):
        if not os.environ.get("CI"):
            raise Skip("no %s (make deps installs Debian's chromium)" % CHROMIUM)
        raise AssertionError("no %s in CI: scripts/deps.sh should have installed chromium" % CHROMIUM)
    node = shutil.which("node")
    assert node, "no node on PATH: make deps installs Node.js"
    assert os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")), (
        "tests/browser/node_modules/playwright-core is missing: make deps runs npm ci there")
    return node


@timeout(150)
def test_login_in_chromium(env):
    node = browser_tools()
    up = env.upstream()
    users = users_file(env, {"alice": (PASSWORD, ["staff", "admins"]),
                             "bob": ("bob's own password", [])})
    extra = "\n" + toml_table("[session]", {"cookie_name": COOKIE, "same_site": "Strict",
                                            "secrets": [SECRET]})
    extra += "\n" + toml_table("[login]", {"users_file": users, "title": TITLE})
    routes = [{"path": "/", "upstream": "app", "auth": "session"},
              {"path": "/private", "upstream": "app", "auth": "required"}]
    s = env.sesame(upstreams={"app": [up.addr]}, routes=routes, plain=False, tls=True, extra=extra)
    shots = os.path.join(os.path.dirname(env.binary), "browser")
    for old in ("form.png", "form-phone.png", "error.png", "landed.png", "logout.png", "failure.png"):
        if os.path.exists(os.path.join(shots, old)):
            os.remove(os.path.join(shots, old))
    cmd = [node, os.path.join(BROWSER_DIR, "login.mjs"), "--base", "https://127.0.0.1:%d" % s.tls_port,
           "--protected", "/private/echo", "--user", "alice", "--groups", "staff,admins",
           "--cookie-name", COOKIE, "--same-site", "Strict", "--title", TITLE, "--screenshots", shots]
    p = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, SESAME_PASSWORD=PASSWORD),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=130)
    output = (p.stdout + p.stderr).strip()
    assert p.returncode == 0, "login.mjs exited with %d:\n%s" % (p.returncode, output)
    assert "browser: login flow passed" in output, output
    for step in ("a wrong password shows", "logged in: /private/echo shows X-Remote-User: alice",
                 "cookie %s: new value, HttpOnly, Secure, SameSite=Strict" % COOKIE,
                 "after logout /private/echo asks to log in again"):
        assert step in output, "login.mjs did not report %r:\n%s" % (step, output)
    for png in ("form.png", "error.png", "landed.png"):
        path = os.path.join(shots, png)
        assert os.path.getsize(path) > 1000, "%s is missing or empty" % path

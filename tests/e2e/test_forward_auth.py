"""sesame as the authentication server of a real nginx (issue 11 §3).

Debian's nginx runs conf/forward-auth/nginx.conf, the recipe operators copy,
with only its addresses and certificate changed: TLS on a loopback port,
auth_request to sesame's /.sesame/auth, error_page 401 to the sign-in page,
/.sesame/ passed on to sesame, the application (upstream.py) behind it.
sesame runs the settings of conf/forward-auth/sesame.toml.
"""

import json
import os
import subprocess
import urllib.parse

from harness import free_port, timeout, toml_table, wait_listening
from signin import form_with, users_file
from test_session import Browser, echoed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE_DIR = os.path.join(ROOT, "conf", "forward-auth")
SECRET = "forward-auth test secret, longer than thirty-two bytes"
COOKIE = "__Host-sesame"
PASSWORDS = {"alice": "alice's password", "carol": "carol's password"}
GROUPS = {"alice": ["staff"], "carol": ["admins"]}


def render_recipe(sesame_addr, app_addr, port, cert, key):
    """conf/forward-auth/nginx.conf with this test's addresses and
    certificate; every replaced text must be in the recipe."""
    with open(os.path.join(RECIPE_DIR, "nginx.conf")) as f:
        text = f.read()
    for old, new in (("server 127.0.0.1:8080;", "server %s;" % sesame_addr),
                     ("server 127.0.0.1:9000;", "server %s;" % app_addr),
                     ("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % port),
                     ("/etc/ssl/certs/app.example.com.pem", cert),
                     ("/etc/ssl/private/app.example.com.key", key)):
        assert text.count(old) == 1, "conf/forward-auth/nginx.conf no longer has %r once" % old
        text = text.replace(old, new)
    return text


def start_nginx(env, sesame_addr, app_addr):
    """Debian's nginx with the recipe on a free loopback port (TLS);
    returns the port. Stopped by the test's cleanup."""
    port = free_port()
    cert, key = env.certs["default"]
    prefix = os.path.join(env.workdir, "nginx")
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    env.write("nginx/forward-auth.conf", render_recipe(sesame_addr, app_addr, port, cert, key))
    # As root, nginx's workers run as the compiled-in user, whose group
    # "nobody" does not exist on Debian.
    user = "user nobody nogroup;\n" if os.getuid() == 0 else ""
    temp = "".join("  %s_temp_path %s/tmp/%s;\n" % (k, prefix, k)
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = env.write("nginx/nginx.conf", (
        "%sworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log info;\n"
        "events { worker_connections 256; }\n"
        "http {\n  access_log %s/access.log;\n%s  include %s/forward-auth.conf;\n}\n") % (
        user, prefix, prefix, prefix, temp, prefix))
    error_log = os.path.join(prefix, "error.log")
    check = subprocess.run(["nginx", "-t", "-q", "-e", error_log, "-p", prefix, "-c", main],
                           capture_output=True, text=True)
    assert check.returncode == 0, "nginx -t refused the recipe:\n%s" % (check.stdout + check.stderr)
    proc = subprocess.Popen(["nginx", "-e", error_log, "-p", prefix, "-c", main, "-g", "daemon off;"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(prefix, "stderr"), "wb"))

    def stop():
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    env.on_cleanup(stop)
    assert wait_listening(port, proc), "nginx did not listen on %d (exit %s); see %s" % (
        port, proc.poll(), error_log)
    return port


def start(env, login=None):
    """The application, sesame (settings of conf/forward-auth/sesame.toml,
    plus `login` keys) and nginx in front: returns (nginx port, upstream)."""
    up = env.upstream()
    users = users_file(env, {u: (PASSWORDS[u], GROUPS[u]) for u in PASSWORDS})
    extra = "\n" + toml_table("[session]", {"secrets": [SECRET]})
    extra += "\n" + toml_table("[login]", dict({"users_file": users}, **(login or {})))
    s = env.sesame(upstreams={"app": [up.addr]},
                   routes=[{"path": "/", "upstream": "app", "auth": "required"}],
                   server={"trusted_proxies": ["127.0.0.1/32"]}, extra=extra)
    port = start_nginx(env, "127.0.0.1:%d" % s.port, up.addr)
    return port, up


class Person:
    """A browser through nginx: one cookie jar for sesame's cookie, the
    request fields a browser sends on a navigation and on a form POST."""

    def __init__(self, port):
        self.origin = "https://127.0.0.1:%d" % port
        self.b = Browser(port, name=COOKIE, tls=True, host="127.0.0.1:%d" % port)

    def get(self, target, headers=()):
        return self.b.get(target, headers=[("Accept", "text/html,*/*;q=0.8"), *headers])

    def post_form(self, target, fields):
        body = urllib.parse.urlencode(fields).encode()
        return self.b.post(target, headers=[("Origin", self.origin),
                                            ("Content-Type", "application/x-www-form-urlencoded")],
                           body=body)

    def location(self, r):
        """A Location as a path: relative, or absolute on this origin."""
        value = r.header("Location") or ""
        if value.startswith(self.origin):
            value = value[len(self.origin):]
        assert value.startswith("/"), "Location %r is not on %s" % (value, self.origin)
        return value

    def sign_in(self, target, user, password):
        """Asks for `target` anonymously and follows the sign-in as a browser
        would; returns the POST's response."""
        r = self.get(target)
        assert r.status == 302, "anonymous %s: %r" % (target, r)
        login = self.location(r)
        assert login == "/.sesame/login?return_to=" + target, login
        r = self.get(login)
        assert r.status == 200, r
        form = form_with(r.body, "password")
        assert form["fields"]["return_to"] == target, form
        fields = dict(form["fields"], username=user, password=password)
        return self.post_form(form["action"] or "/.sesame/login", fields)

    def app_sees(self, target, headers=()):
        r = self.get(target, headers)
        assert r.status == 200, "%s: %r" % (target, r)
        return echoed(r, "X-Remote-User"), echoed(r, "X-Remote-Groups")


@timeout(60)
def test_nginx_forward_auth_sign_in_and_out(env):
    port, up = start(env)
    alice = Person(port)

    # Anonymous: nginx asks sesame (401) and sends the browser to sign in;
    # the application never sees the request.
    r = alice.get("/app/echo?page=2")
    assert r.status == 302 and alice.location(r) == "/.sesame/login?return_to=/app/echo?page=2", r
    assert up.stats()["requests"] == 0, up.stats(log=True)

    # A wrong password: the form again, same message for every cause.
    r = alice.sign_in("/app/echo?page=2", "alice", "not her password")
    assert r.status == 401 and b"Wrong user name or password." in r.body, r

    # The right one: back to the page asked for, as alice.
    r = alice.sign_in("/app/echo?page=2", "alice", PASSWORDS["alice"])
    assert r.status == 303 and alice.location(r) == "/app/echo?page=2", r
    r = alice.get("/app/echo?page=2")
    assert r.status == 200, r
    assert r.json()["target"] == "/app/echo?page=2", r.json()
    assert echoed(r, "X-Remote-User") == ["alice"] and echoed(r, "X-Remote-Groups") == ["staff"], (
        r.json()["headers"])

    # sesame's pages are reachable through nginx; its auth endpoint is not.
    r = alice.get("/.sesame/session")
    assert r.status == 200, r
    session = json.loads(r.body)
    assert session["authenticated"] is True and session["user"] == "alice", session
    assert alice.get("/.sesame/auth").status == 404

    # Sign out: a confirmation page, its form POSTs, then the sign-in page.
    r = alice.get("/.sesame/logout")
    assert r.status == 200, r
    form = form_with(r.body, "csrf")
    assert form["method"] == "post" and form["action"] == "/.sesame/logout", form
    signed_in = alice.b.cookie
    r = alice.post_form("/.sesame/logout", form["fields"])
    assert r.status == 303 and alice.location(r).startswith("/.sesame/login"), r
    assert alice.b.cookie != signed_in, "the signed-in cookie survived the logout"

    # The protected page asks to sign in again, also with the old cookie.
    r = alice.get("/app/echo")
    assert r.status == 302 and alice.location(r) == "/.sesame/login?return_to=/app/echo", r
    alice.b.cookie = signed_in
    r = alice.get("/app/echo")
    assert r.status == 302 and alice.location(r) == "/.sesame/login?return_to=/app/echo", r


@timeout(60)
def test_nginx_forward_auth_group_rule(env):
    """/admin/ asks sesame with ?group=admins (from nginx's configuration):
    403 for a user outside the group, the page for one in it."""
    port, up = start(env)
    alice, carol = Person(port), Person(port)
    assert alice.sign_in("/app/echo", "alice", PASSWORDS["alice"]).status == 303
    r = alice.get("/admin/echo")
    assert r.status == 403, r
    assert carol.sign_in("/admin/echo", "carol", PASSWORDS["carol"]).status == 303
    assert carol.app_sees("/admin/echo") == (["carol"], ["admins"])
    # Anonymous: sign in first, whatever the rule.
    r = Person(port).get("/admin/echo")
    assert r.status == 302, r
    admin = [e for e in up.stats(log=True)["log"] if e["target"].startswith("/admin/")]
    assert len(admin) == 1 and ["X-Remote-User", "carol"] in admin[0]["headers"], admin


@timeout(60)
def test_nginx_forward_auth_spoofed_identity(env):
    """A client's own X-Remote-User / X-Remote-Groups never reach the
    application, signed in or not, protected page or public."""
    port, up = start(env)
    spoof = [("X-Remote-User", "mallory"), ("X-Remote-Groups", "admins")]
    alice = Person(port)
    r = alice.get("/app/echo", headers=spoof)
    assert r.status == 302, "a spoofed X-Remote-User let an anonymous client in: %r" % r
    assert alice.sign_in("/app/echo", "alice", PASSWORDS["alice"]).status == 303
    assert alice.app_sees("/app/echo", headers=spoof) == (["alice"], ["staff"])
    assert alice.get("/admin/echo", headers=spoof).status == 403
    assert Person(port).app_sees("/public/echo", headers=spoof) == ([], [])
    assert alice.app_sees("/public/echo", headers=spoof) == ([], [])
    for entry in up.stats(log=True)["log"]:
        fields = [(n.lower(), v) for n, v in entry["headers"]]
        assert ("x-remote-user", "mallory") not in fields and ("x-remote-groups", "admins") not in fields, (
            "the application received a spoofed field: %r" % entry)


def test_forward_auth_recipe_sesame_config_checks(env):
    """conf/forward-auth/sesame.toml passes `sesame -t` once its files
    exist (users, secrets)."""
    users = users_file(env, {"alice": (PASSWORDS["alice"], [])})
    secrets = env.write("secrets", SECRET + "\n")
    os.chmod(secrets, 0o600)
    with open(os.path.join(RECIPE_DIR, "sesame.toml")) as f:
        text = f.read()
    for old, new in (("/etc/sesame/users", users), ("/etc/sesame/secrets", secrets)):
        assert text.count('"%s"' % old) == 1, "conf/forward-auth/sesame.toml no longer names %s" % old
        text = text.replace('"%s"' % old, json.dumps(new))
    config = env.write("forward-auth-sesame.toml", text)
    code, out, err = env.run_sesame("-t", "-c", config)
    assert code == 0, "sesame -t refused conf/forward-auth/sesame.toml:\n%s%s" % (out, err)


@timeout(60)
def test_nginx_forward_auth_keeps_the_whole_url_with_forward_auth_hosts(env):
    """With the host listed, sesame's 401 names the sign-in address with the
    original URL percent-encoded, so a query with "&" survives the trip."""
    port, up = start(env, login={"forward_auth_hosts": ["127.0.0.1"]})
    alice = Person(port)
    original = alice.origin + "/app/echo?page=2&sort=name"
    r = alice.get("/app/echo?page=2&sort=name")
    assert r.status == 302, r
    login = alice.location(r)
    assert login == "/.sesame/login?return_to=" + urllib.parse.quote(original, safe=""), login
    r = alice.get(login)
    form = form_with(r.body, "password")
    assert form["fields"]["return_to"] == original, form
    r = alice.post_form(form["action"] or "/.sesame/login",
                        dict(form["fields"], username="alice", password=PASSWORDS["alice"]))
    assert r.status == 303 and r.header("Location") == original, r
    assert alice.app_sees("/app/echo?page=2&sort=name")[0] == ["alice"]

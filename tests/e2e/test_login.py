"""sesame's own sign-in (issue 11 §1, §2, §4): the users file, /.sesame/login
and /logout with their CSRF tokens, brute-force limits, the hashing pool,
/.sesame/session, /.sesame/auth and max_per_user, with the real binary and
the test upstream (memory store; Redis where it is shared)."""

import crypt
import os
import html
import json
import re
import signal
import threading
import time
import urllib.parse

from harness import Client
from test_session import SECRET_A, Browser, echoed, session_extra, set_cookies

HTML = ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
FORM = ("Content-Type", "application/x-www-form-urlencoded")
ROUTES = [
    {"path": "/", "upstream": "app", "auth": "required"},
    {"path": "/pub", "upstream": "app", "auth": "public"},
    {"path": "/admin", "upstream": "app", "auth": "required", "groups": ["admins"]},
]
PASSWORDS = {"alice": "correct horse battery staple", "bob": "hunter2 hunter2"}


def yescrypt(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512).replace("$6$", "$y$j9T$")[:23])


def bcrypt(password, cost=4):
    return crypt.crypt(password, "$2b$%02d$%s" % (cost, "abcdefghijklmnopqrstuv"))


def users_text(extra=""):
    return ("# test users\n"
            "alice:%s:admins,staff\n"
            "bob:%s\n" % (yescrypt(PASSWORDS["alice"]), crypt.crypt(PASSWORDS["bob"], crypt.mksalt(crypt.METHOD_SHA512)))
            + extra)


def login_table(env, users=None, **values):
    table = {"users_file": env.write("users", users if users is not None else users_text())}
    table.update(values)
    return ("[login]", table)


def start(env, up=None, login=None, routes=ROUTES, server=None, sections=(), **session):
    up = up or env.upstream()
    login = login or login_table(env)
    s = env.sesame(upstreams={"app": [up.addr]}, routes=routes, server=server,
                   extra=session_extra((login,) + tuple(sections), **session))
    return s, up


def form_token(body):
    m = re.search(rb'name="csrf" value="([^"]+)"', body)
    assert m, body[:2000]
    return html.unescape(m.group(1).decode())


def open_form(b, return_to=None):
    target = "/.sesame/login" + ("?return_to=" + urllib.parse.quote(return_to, safe="") if return_to else "")
    r = b.get(target, [HTML])
    assert r.status == 200, r
    return r, form_token(r.body)


def post_login(b, user, password, token, return_to=None, headers=()):
    fields = [("username", user), ("password", password), ("csrf", token)]
    if return_to is not None:
        fields.append(("return_to", return_to))
    return b.post("/.sesame/login", [FORM, *headers], urllib.parse.urlencode(fields).encode())


def sign_in(b, user="alice", password=None, return_to=None):
    _, token = open_form(b, return_to)
    r = post_login(b, user, password or PASSWORDS[user], token, return_to)
    assert r.status == 303, (r, r.body[:500])
    return r


# ---------------------------------------------------------------- the form


def test_protected_page_sends_a_browser_to_the_form(env):
    s, _ = start(env)
    b = Browser(s.port)
    r = b.get("/echo?x=1", [HTML])
    assert r.status == 302, r
    assert r.header("Location") == "/.sesame/login?return_to=/echo%3Fx%3D1", r.header("Location")


def test_form_headers_and_content(env):
    s, _ = start(env, login=login_table(env, title="Acme <intranet>"))
    b = Browser(s.port)
    r, token = open_form(b, "/echo")
    csp = r.header("Content-Security-Policy")
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp, csp
    assert "form-action 'self'" in csp, csp
    assert r.header("X-Frame-Options") == "DENY"
    assert "no-store" in r.header("Cache-Control")
    assert r.header("Content-Type").startswith("text/html")
    assert b"Acme &lt;intranet&gt;" in r.body and b"<intranet>" not in r.body
    assert b'name="username"' in r.body and b'type="password"' in r.body
    assert b'name="return_to" value="/echo"' in r.body, r.body
    assert b"<script" not in r.body and b"http://" not in r.body and b"https://" not in r.body
    assert len(token) == 43
    assert b.cookie, "the form creates the anonymous session its token binds to"


def test_sign_in_lands_on_return_to_with_a_new_session(env):
    s, up = start(env)
    b = Browser(s.port)
    _, token = open_form(b, "/echo")
    before = b.cookie
    r = post_login(b, "alice", PASSWORDS["alice"], token, "/echo")
    assert r.status == 303 and r.header("Location") == "/echo", r
    assert "no-store" in r.header("Cache-Control")
    assert b.cookie and b.cookie != before, "the session ID rotates at login (fixation)"
    r = b.get("/echo")
    assert r.status == 200, r
    assert echoed(r, "X-Remote-User") == ["alice"] and echoed(r, "X-Remote-Groups") == ["admins,staff"]
    assert b.get("/admin/echo").status == 200
    # The pre-login cookie is worth nothing now.
    stale = Browser(s.port, cookie=before)
    assert stale.get("/echo", [HTML]).status == 302


def test_wrong_password_and_unknown_user_look_the_same(env):
    s, _ = start(env)
    b = Browser(s.port)
    _, token = open_form(b)
    wrong = post_login(b, "alice", "nope", token)
    _, token = open_form(b)
    unknown = post_login(b, "mallory", "nope", token)
    assert wrong.status == unknown.status == 401
    assert b"Wrong user name or password." in wrong.body
    strip = lambda body: re.sub(rb'value="[^"]*"', b"", body)
    assert strip(wrong.body).replace(b"alice", b"") == strip(unknown.body).replace(b"mallory", b"")
    assert b.get("/echo", [HTML]).status == 302


def test_csrf_token_is_required_and_bound_to_the_session(env):
    s, _ = start(env)
    b = Browser(s.port)
    _, token = open_form(b)
    assert post_login(b, "alice", PASSWORDS["alice"], "").status == 403
    # Another token of the same spelling: a token that happened to end in
    # "AA" (one in 256) would otherwise be "changed" into itself.
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BA")
    assert forged != token
    assert post_login(b, "alice", PASSWORDS["alice"], forged).status == 403
    # A token taken from the attacker's own form does not work in another browser.
    other = Browser(s.port)
    _, other_token = open_form(other)
    assert post_login(b, "alice", PASSWORDS["alice"], other_token).status == 403
    # Without any cookie there is nothing to bind to.
    fresh = Browser(s.port)
    assert post_login(fresh, "alice", PASSWORDS["alice"], token).status == 403
    assert post_login(b, "alice", PASSWORDS["alice"], token).status == 303


def test_cross_site_login_post_is_refused(env):
    s, _ = start(env)
    b = Browser(s.port)
    _, token = open_form(b)
    r = post_login(b, "alice", PASSWORDS["alice"], token,
                   headers=[("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")])
    assert r.status == 403, r


def test_return_to_is_never_an_open_redirect(env):
    s, _ = start(env, login=login_table(env, forward_auth_hosts=["app.example.com"]))
    for evil in ("//evil.example/", "/\\evil.example", "https://evil.example/", "/%2F/evil.example",
                 "javascript:alert(1)", "https://app.example.com@evil.example/",
                 "https://app.example.com.evil.example/", "/\tx"):
        b = Browser(s.port)
        assert sign_in(b, return_to=evil).header("Location") == "/", evil
    b = Browser(s.port)
    assert sign_in(b, return_to="https://app.example.com:8443/x?y=1").header(
        "Location") == "https://app.example.com:8443/x?y=1"


def test_form_validation(env):
    s, _ = start(env)
    b = Browser(s.port)
    _, token = open_form(b)
    assert b.post("/.sesame/login", [("Content-Type", "text/plain")], b"username=alice").status == 415
    r = b.post("/.sesame/login", [FORM], b"username=a&username=b&csrf=" + token.encode())
    assert r.status == 400, r
    long_user = post_login(b, "a" * 300, "x", token)
    assert long_user.status == 400, long_user
    c = Client(s.port)
    c.send(b"POST /.sesame/login HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n")
    assert c.read_response("POST").status == 411
    c = Client(s.port)
    c.send(b"POST /.sesame/login HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: 100000\r\n\r\n")
    assert c.read_response("POST").status == 413
    assert b.request("PUT", "/.sesame/login", [FORM], b"x").status == 405
    assert b.get("/.sesame/nothing").status == 404


def test_long_passwords_are_not_truncated(env):
    # libcrypt takes passphrases below CRYPT_MAX_PASSPHRASE_SIZE (512 bytes);
    # every one of those bytes counts.
    long_pw = "p" * 511
    users = "carol:%s\n" % yescrypt(long_pw)
    s, _ = start(env, login=login_table(env, users=users))
    b = Browser(s.port)
    _, token = open_form(b)
    assert post_login(b, "carol", long_pw[:-1] + "q", token).status == 401
    _, token = open_form(b)
    assert post_login(b, "carol", long_pw + "p", token).status == 401, "no truncation to 511"
    _, token = open_form(b)
    assert post_login(b, "carol", "p" * 1024, token).status == 401, "accepted as form input"
    _, token = open_form(b)
    assert post_login(b, "carol", long_pw, token).status == 303


def test_spoofed_identity_never_reaches_the_app(env):
    s, _ = start(env)
    b = Browser(s.port)
    sign_in(b, "bob")
    r = b.get("/echo", [("X-Remote-User", "alice"), ("X-Remote-Groups", "admins")])
    assert echoed(r, "X-Remote-User") == ["bob"] and echoed(r, "X-Remote-Groups") == []


# ---------------------------------------------------------------- brute force


def test_lockout_per_user_name(env):
    s, _ = start(env, login=login_table(env, max_failures=3, failure_window="1m"))
    for i in range(3):
        b = Browser(s.port)
        _, token = open_form(b)
        assert post_login(b, "alice", "guess%d" % i, token).status == 401
    b = Browser(s.port)
    _, token = open_form(b)
    r = post_login(b, "alice", PASSWORDS["alice"], token)
    assert r.status == 429, "a correct guess after the limit must not log in: %r" % r
    assert 1 <= int(r.header("Retry-After")) <= 60
    # Another name from the same address still has its own attempts left
    # (3 failures counted for the address too: this one is its 4th).
    _, token = open_form(b)
    assert post_login(b, "bob", PASSWORDS["bob"], token).status == 429
    time.sleep(0.1)
    assert "sign-in locked for user alice" in s.stderr_tail(50)
    assert "guess" not in s.stderr_tail(200) and PASSWORDS["alice"] not in s.stderr_tail(200)


def test_lockout_per_address(env):
    s, _ = start(env, login=login_table(env, max_failures=2, failure_window="1m"))
    b = Browser(s.port)
    for name in ("u1", "u2"):
        _, token = open_form(b)
        assert post_login(b, name, "x", token).status == 401
    _, token = open_form(b)
    assert post_login(b, "alice", PASSWORDS["alice"], token).status == 429


def test_window_ends(env):
    s, _ = start(env, login=login_table(env, max_failures=1, failure_window="2s"))
    b = Browser(s.port)
    _, token = open_form(b)
    assert post_login(b, "alice", "x", token).status == 401
    _, token = open_form(b)
    assert post_login(b, "alice", PASSWORDS["alice"], token).status == 429
    time.sleep(2.2)
    _, token = open_form(b)
    assert post_login(b, "alice", PASSWORDS["alice"], token).status == 303


def test_counters_are_shared_through_redis(env):
    redis = env.redis()
    up = env.upstream()
    login = login_table(env, max_failures=2, failure_window="1m")
    sections = (("[redis]", {"address": "127.0.0.1:%d" % redis.port}),)
    s1, _ = start(env, up, login=login, store="redis", sections=sections)
    s2, _ = start(env, up, login=login, store="redis", sections=sections)
    for s in (s1, s2):
        b = Browser(s.port)
        _, token = open_form(b)
        assert post_login(b, "alice", "x", token).status == 401
    b = Browser(s1.port)
    _, token = open_form(b)
    assert post_login(b, "alice", PASSWORDS["alice"], token).status == 429
    b = Browser(s2.port)
    _, token = open_form(b)
    # The address is locked too (same client address on both instances).
    assert post_login(b, "bob", PASSWORDS["bob"], token).status == 429


# ---------------------------------------------------------------- hashing pool


def test_hashing_does_not_block_the_worker(env):
    slow = "dave:%s\n" % bcrypt("slow password", 13)
    s, _ = start(env, login=login_table(env, users=users_text(slow)))
    b = Browser(s.port)
    _, token = open_form(b)
    done = {}

    def login():
        started = time.monotonic()
        done["status"] = post_login(b, "dave", "slow password", token).status
        done["took"] = time.monotonic() - started

    t = threading.Thread(target=login)
    t.start()
    time.sleep(0.05)
    started = time.monotonic()
    r = Browser(s.port).get("/pub/echo")
    fast = time.monotonic() - started
    t.join(30)
    assert r.status == 200 and done.get("status") == 303, done
    assert fast < done["took"] / 2, "a request waited for the hashing: %.3fs vs login %.3fs" % (
        fast, done["took"])


def test_full_hashing_queue_answers_503(env):
    slow = "dave:%s\n" % bcrypt("slow password", 12)
    s, _ = start(env, login=login_table(env, users=users_text(slow), hash_threads=1, hash_queue=1,
                                       max_failures=100))
    statuses = []
    lock = threading.Lock()

    def attempt():
        b = Browser(s.port)
        _, token = open_form(b)
        r = post_login(b, "dave", "wrong", token)
        with lock:
            statuses.append((r.status, r.header("Retry-After")))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert (503, "1") in statuses and any(st == 401 for st, _ in statuses), statuses


# ---------------------------------------------------------------- logout


def test_logout_needs_a_post_with_the_token(env):
    s, _ = start(env)
    b = Browser(s.port)
    sign_in(b)
    r = b.get("/.sesame/logout", [HTML])
    assert r.status == 200 and b"Sign out" in r.body, r
    token = form_token(r.body)
    assert b.get("/echo").status == 200, "GET /.sesame/logout must not log anyone out"
    assert b.post("/.sesame/logout", [FORM], b"csrf=wrong").status == 403
    assert b.get("/echo").status == 200
    cookie = b.cookie
    r = b.post("/.sesame/logout", [FORM], ("csrf=" + urllib.parse.quote(token)).encode())
    assert r.status == 303 and r.header("Location") == "/.sesame/login", r
    assert any(attrs.get("max-age") == "0" for _, _, attrs in set_cookies(r, "sid"))
    assert Browser(s.port, cookie=cookie).get("/echo", [HTML]).status == 302


def test_after_logout_target(env):
    s, _ = start(env, login=login_table(env, after_logout="/pub/bye"))
    b = Browser(s.port)
    sign_in(b)
    token = form_token(b.get("/.sesame/logout").body)
    r = b.post("/.sesame/logout", [FORM], ("csrf=" + urllib.parse.quote(token)).encode())
    assert r.header("Location") == "/pub/bye"


# ---------------------------------------------------------------- users file reload


def test_removed_user_is_logged_out_and_groups_follow_the_file(env):
    s, _ = start(env)
    alice, bob = Browser(s.port), Browser(s.port)
    sign_in(alice)
    sign_in(bob, "bob")
    assert alice.get("/admin/echo").status == 200
    with open(os.path.join(env.workdir, "users")) as f:
        lines = f.read().splitlines()
    path = env.write("users", "\n".join(l.replace(":admins,staff", ":staff") if l.startswith("alice") else l
                                        for l in lines if not l.startswith("bob")) + "\n")
    assert path
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and bob.get("/echo", [HTML]).status != 302:
        time.sleep(0.1)
    assert bob.get("/echo", [HTML]).status == 302
    alice.close()  # a kept-alive connection finishes on the old configuration
    assert alice.get("/admin/echo").status == 403
    assert echoed(alice.get("/echo"), "X-Remote-Groups") == ["staff"]


def test_bad_users_file_is_refused_with_line_numbers(env):
    path = env.write("users-bad", "ok:%s\nplain:secret\nmd5:$apr1$abc$def\n" % yescrypt("x"))
    conf = env.write("bad.toml", '[[listen]]\naddress = "127.0.0.1:1"\n[upstream.app]\nservers = ["127.0.0.1:2"]\n'
                     '[[route]]\npath = "/"\nupstream = "app"\n' + session_extra() +
                     '\n[login]\nusers_file = "%s"\n' % path)
    code, out, err = env.run_sesame("-t", "-c", conf)
    assert code != 0
    assert path + ":2:" in err and path + ":3:" in err, err
    assert "secret" not in err and "$apr1$abc$def" not in err, err


# ---------------------------------------------------------------- /.sesame/session


def test_session_json(env):
    s, _ = start(env, login=login_table(env, expose_data=False))
    b = Browser(s.port)
    r = b.get("/.sesame/session")
    assert r.status == 200 and r.header("Cache-Control") == "no-store"
    assert r.json() == {"authenticated": False, "user": None, "groups": [], "created": None,
                        "expires": None}
    assert not r.all("Set-Cookie"), "asking does not create a session"
    sign_in(b)
    doc = b.get("/.sesame/session").json()
    assert doc["authenticated"] is True and doc["user"] == "alice" and doc["groups"] == ["admins", "staff"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["created"]) and doc["expires"] > doc["created"]
    assert b.cookie not in json.dumps(doc) and "data" not in doc


# ---------------------------------------------------------------- forward-auth


def test_forward_auth_answers(env):
    s, _ = start(env, server={"trusted_proxies": ["127.0.0.1/32"]},
                 login=login_table(env, forward_auth_hosts=["app.example.com"]))
    b = Browser(s.port)
    r = b.get("/.sesame/auth")
    assert r.status == 401 and r.header("WWW-Authenticate"), r
    nav = [HTML, ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "app.example.com"),
           ("X-Forwarded-Uri", "/docs?page=2"), ("X-Forwarded-Method", "GET")]
    r = b.get("/.sesame/auth", nav)
    assert r.status == 302, r
    assert r.header("Location") == "/.sesame/login?return_to=" + urllib.parse.quote(
        "https://app.example.com/docs?page=2", safe=""), r.header("Location")
    evil = [h if h[0] != "X-Forwarded-Host" else ("X-Forwarded-Host", "evil.example") for h in nav]
    assert b.get("/.sesame/auth", evil).status == 401
    nginx = [HTML, ("X-Original-URL", "https://app.example.com/a"), ("X-Original-Method", "GET")]
    # nginx's auth_request passes only 2xx, 401 and 403 on: a 401 whose
    # Location its recipe follows.
    r = b.get("/.sesame/auth", nginx)
    assert r.status == 401 and r.header("Location") == "/.sesame/login?return_to=" + urllib.parse.quote(
        "https://app.example.com/a", safe=""), r
    sign_in(b)
    r = b.get("/.sesame/auth")
    assert r.status == 200 and r.header("X-Remote-User") == "alice", r
    assert r.header("X-Remote-Groups") == "admins,staff"
    assert b.get("/.sesame/auth?group=ops&group=staff").status == 200
    assert b.get("/.sesame/auth?group=ops").status == 403
    # The rule comes from the auth request's own query, never the client's URI.
    assert b.get("/.sesame/auth?group=ops", [("X-Forwarded-Uri", "/?group=staff")]).status == 403


def test_forward_auth_headers_need_a_trusted_proxy(env):
    s, _ = start(env, login=login_table(env, forward_auth_hosts=["app.example.com"]))
    nav = [HTML, ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "app.example.com"),
           ("X-Forwarded-Uri", "/"), ("X-Forwarded-Method", "GET")]
    assert Browser(s.port).get("/.sesame/auth", nav).status == 401


# ---------------------------------------------------------------- max_per_user


def test_max_per_user_ends_the_oldest(env):
    s, _ = start(env, max_per_user=2)
    browsers = [Browser(s.port) for _ in range(3)]
    for b in browsers:
        sign_in(b)
        time.sleep(0.01)
    assert browsers[0].get("/echo", [HTML]).status == 302, "the oldest login ended"
    assert browsers[1].get("/echo").status == 200 and browsers[2].get("/echo").status == 200

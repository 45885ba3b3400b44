"""Attacks on sessions through cookies and caches (issue 10 §6) and
cross-site WebSocket hijacking (§5): each test is named after the attack it
stops, and runs it against the real binary, upstream and redis-server.
"""

import base64
import hashlib
import os

from harness import Client, free_port, timeout
from test_admin import scrape
from test_session import (HTML, JSON, Browser, ctl, echoed, echoed_names, issued, set_cookies,
                          start)
from test_session_redis import redis_sesame, session_id, store_key
from test_websocket import GUID, echo

EVIL = "https://evil.example"


def own_set_cookies(r, name="sid"):
    return [v for v in r.all("Set-Cookie") if v.split("=", 1)[0].strip() == name]


# ---------------------------------------------------------------- planted session cookie


def test_planted_session_cookie_from_upstream_is_removed(env):
    """An application (or anything that can add a response header there)
    sets sesame's cookie to a session the attacker knows: session fixation
    by the upstream. The field goes on every route, public ones and routes
    without accept_control included; other cookies and sesame's own stay."""
    s, up = start(env)
    attacker = Browser(s.port)
    attacker.login("mallory")
    known = attacker.cookie
    plants = [("Set-Cookie", "sid=%s; Path=/; HttpOnly" % known),
              ("Set-Cookie", "=sid=%s" % known),  # nameless: sent back as sid=...
              ("Set-Cookie", "  sid  = %s" % known),
              ("Set-Cookie", "theme=dark; Path=/")]
    for path in ("/pub/control", "/plain/control", "/control", "/req/control"):
        victim = Browser(s.port)
        if path.startswith("/req"):
            victim.login("victim")
        r = victim.get(ctl(*plants, path=path))
        assert r.status == 200, (path, r)
        assert known not in r.raw_head.decode("latin-1"), (path, r.all("Set-Cookie"))
        assert "theme=dark; Path=/" in r.all("Set-Cookie"), (path, r.all("Set-Cookie"))
        for value in own_set_cookies(r):
            assert value.split("=", 1)[1].split(";")[0].strip() != known, value
        if path == "/control":
            issued(r)  # sesame's own anonymous cookie survives the filter
        if path == "/pub/control":
            assert not own_set_cookies(r), r.all("Set-Cookie")
        assert victim.cookie != known
    # Once per route (and worker), without the cookie's value.
    log = open(s.stderr_path).read()
    lines = [l for l in log.splitlines() if "Set-Cookie for sesame's session cookie" in l]
    assert len(lines) == 4, log
    assert known not in log


# ---------------------------------------------------------------- shared-cache leak


def test_shared_cache_leak_session_responses_are_private_no_store(env):
    """A public, cacheable page that happens to carry a new session's
    Set-Cookie: a shared cache would hand that one session to every later
    visitor. Every response with sesame's Set-Cookie is private, no-store."""
    s, up = start(env)
    cacheable = [("Cache-Control", "public, max-age=3600"), ("CDN-Cache-Control", "max-age=600"),
                 ("Surrogate-Control", "max-age=600")]
    b = Browser(s.port)
    r = b.get(ctl(("X-Sesame-Set", "cart=1"), *cacheable))
    issued(r)
    assert r.all("Cache-Control") == ["private, no-store"], r.headers
    assert not r.all("CDN-Cache-Control") and not r.all("Surrogate-Control"), r.headers
    # The same page without a Set-Cookie (the session is stored now) keeps
    # the application's caching.
    r = b.get(ctl(*cacheable))
    assert not own_set_cookies(r)
    assert r.all("Cache-Control") == ["public, max-age=3600"], r.headers
    # Login and logout responses.
    r = b.login("alice", extra=cacheable)
    assert own_set_cookies(r) and r.all("Cache-Control") == ["private, no-store"], r.headers
    r = b.get(ctl(("X-Sesame-Logout", "1"), *cacheable))
    assert r.all("Cache-Control") == ["private, no-store"], r.headers
    # An upstream's as strict value is kept as sent.
    r = Browser(s.port).get(ctl(("Cache-Control", "no-store, private, max-age=0")))
    assert own_set_cookies(r)
    assert r.all("Cache-Control") == ["no-store, private, max-age=0"], r.headers
    # sesame's own answers: the login redirect, and a 401 clearing a stale cookie.
    r = Browser(s.port).get("/req/echo", headers=[HTML])
    assert r.status == 302 and r.header("Cache-Control") == "private, no-store", r
    r = Browser(s.port, cookie="stale").get("/req/echo", headers=[JSON])
    assert r.status == 401 and own_set_cookies(r), r
    assert r.header("Cache-Control") == "private, no-store", r.headers


def test_shared_cache_leak_cookie_store_reseal(env):
    s, _ = start(env, store="cookie")
    b = Browser(s.port)
    r = b.get(ctl(("X-Sesame-Set", "cart=1"), ("Cache-Control", "public, max-age=60")))
    assert own_set_cookies(r) and r.all("Cache-Control") == ["private, no-store"], r.headers


# ---------------------------------------------------------------- data inheritance


def data_seen(b, path="/req/echo"):
    r = b.get(path)
    assert r.status == 200, r
    return {n[len("X-Session-"):].lower(): v for n, v in r.json()["headers"]
            if n.lower().startswith("x-session-")}


def check_no_data_inheritance(s, stateful):
    b = Browser(s.port)
    b.get(ctl(("X-Sesame-Set", "cart=apple")))
    b.login("alice", extra=[("X-Sesame-Set", "role=buyer")])
    assert data_seen(b) == {"cart": "apple", "role": "buyer"}, "anonymous data lost at login"
    b.login("alice")
    assert data_seen(b) == {"cart": "apple", "role": "buyer"}, "same-user login lost the data"
    alice = b.cookie
    b.login("bob", extra=[("X-Sesame-Set", "theme=dark")])
    assert b.identity("/req/echo")[0] == "bob"
    assert data_seen(b) == {"theme": "dark"}, "bob inherited alice's data"
    if stateful:
        r = Browser(s.port, cookie=alice).get("/req/echo", headers=[JSON])
        assert r.status == 401, "alice's session outlived bob's login on her browser"


def test_data_inheritance_across_users_memory(env):
    s, _ = start(env)
    check_no_data_inheritance(s, True)


def test_data_inheritance_across_users_redis(env):
    r = env.redis()
    s, _ = redis_sesame(env, r)
    check_no_data_inheritance(s, True)


def test_data_inheritance_across_users_cookie(env):
    s, _ = start(env, store="cookie")
    check_no_data_inheritance(s, False)


# ---------------------------------------------------------------- poisoned Redis record


POISONS = [
    ("user with CR LF", {b"user": b"alice\r\nX-Remote-Groups: admins"}),
    ("group with a comma", {b"groups": b"10:dev,admins"}),
    ("group with a control character", {b"groups": b"6:admin\x0b"}),
    ("data key off the pattern", {b"d:Bad Key": b"1"}),
    ("data value with CR LF", {b"d:cart": b"1\r\nX-Remote-User: root"}),
    ("oversized data value", {b"d:cart": b"x" * 70000}),
]


def test_poisoned_redis_record_is_no_session(env):
    """Another Redis client rewrites a session hash so that its values,
    sent upstream as header values, inject fields or groups. sesame reads
    such a hash as no session: an anonymous request or a login redirect,
    and nothing of it reaches the application."""
    r = env.redis()
    s, up = redis_sesame(env, r)
    for what, fields in POISONS:
        b = Browser(s.port)
        b.login("alice", "dev")
        key = "sesame:s:" + store_key(session_id(b.cookie))
        assert r.hgetall(key)[b"user"] == b"alice", what
        args = [x for kv in fields.items() for x in kv]
        r.command("HSET", key, *args)
        # A required route: a browser goes to the login page, an API gets 401.
        res = b.get("/req/echo", headers=[HTML], cookie=b.cookie)
        assert res.status == 302, (what, res)
        res = Browser(s.port, cookie=b.cookie).get("/req/echo", headers=[JSON])
        assert res.status == 401, (what, res)
        # A session route: forwarded anonymous, with a fresh session.
        res = Browser(s.port, cookie=b.cookie).get("/echo")
        assert res.status == 200, (what, res)
        issued(res)
        names = [n.lower() for n in echoed_names(res)]
        assert "x-remote-user" not in names and "x-remote-groups" not in names, (what, names)
        assert not [n for n in names if n.startswith("x-session-")], (what, names)
        assert "root" not in res.body.decode() and "admins" not in res.body.decode(), what
    assert up.stats()["bad_framing"] == 0
    log = open(s.stderr_path).read()
    assert "which sesame never writes; treated as no session" in log, log
    assert "X-Remote-Groups: admins" not in log


# ---------------------------------------------------------------- eviction flood


@timeout(120)
def test_eviction_flood_keeps_every_user_logged_in(env):
    """300 cookieless clients, each making the application store data in a
    new anonymous session, against max_sessions = 50: the memory store
    evicts anonymous sessions and never a logged-in one for them."""
    admin = free_port()
    s, up = start(env, max_sessions=50, sections=[("[admin]", {"address": "127.0.0.1:%d" % admin})])
    users = ["alice", "bob", "carol", "dave", "erin"]
    browsers = {}
    for user in users:
        browsers[user] = Browser(s.port)
        browsers[user].login(user)
    flood = Browser(s.port)
    junk = "x" * 200
    for i in range(300):
        r = flood.get(ctl(("X-Sesame-Set", "junk%d=%s" % (i, junk))), cookie="")
        assert r.status == 200, r
    for user, b in browsers.items():
        assert b.identity("/req/echo") == (user, None), "%s was logged out by the flood" % user
    m = scrape(admin)
    # 16 shards of 4: at most 64 stay (fewer if a shard filled up with users
    # and refused anonymous ones).
    assert m['sesame_sessions_evicted_total{kind="anonymous"}'] >= 150, m
    assert m['sesame_sessions_evicted_total{kind="logged_in"}'] == 0, m
    log = open(s.stderr_path).read()
    full = [l for l in log.splitlines() if "memory session store full" in l]
    assert len(full) == 1, "logged more than once a minute: %r" % full


# ---------------------------------------------------------------- cross-site WebSocket hijacking


WS_ROUTES = [
    {"path": "/", "upstream": "app", "auth": "session", "accept_control": True},
    {"path": "/live", "upstream": "app", "auth": "required"},
    {"path": "/open", "upstream": "app", "auth": "required", "csrf": False},
    {"path": "/pub", "upstream": "app", "auth": "public"},
]


def ws_handshake(port, path, cookie=None, origin=None):
    """The handshake a browser page makes with new WebSocket(...); returns
    (client, response head)."""
    c = Client(port)
    key = base64.b64encode(os.urandom(16))
    fields = [b"GET %s HTTP/1.1" % path.encode(), b"Host: app.test", b"Upgrade: websocket",
              b"Connection: Upgrade", b"Sec-WebSocket-Key: " + key, b"Sec-WebSocket-Version: 13"]
    if origin:
        fields.append(b"Origin: " + origin.encode())
    if cookie:
        fields.append(b"Cookie: sid=" + cookie.encode())
    c.send(b"\r\n".join(fields) + b"\r\n\r\n")
    head = c.read_head()
    if head.status == 101:
        want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        assert head.header("Sec-WebSocket-Accept") == want, head.headers
    return c, head


def test_cross_site_websocket_hijack_is_refused(env):
    """A page on evil.example opens a WebSocket to the application; the
    browser sends the user's session cookie with it. Without an Origin
    check the upstream would talk to the attacker's page as the user."""
    s, up = start(env, routes=WS_ROUTES)
    b = Browser(s.port)
    b.login("alice")
    for origin in (EVIL, "null", "http://app.test.evil.example", "https://app.test"):
        c, head = ws_handshake(s.port, "/live/ws", b.cookie, origin)
        assert head.status == 403, (origin, head)
        c.close()
    log = up.stats(log=True)["log"]
    assert not [e for e in log if e["target"].endswith("/ws")], "a hijacked handshake went upstream"
    # The application's own page (same scheme and host) and non-browser
    # clients (no Origin) get their WebSocket.
    for origin in ("http://app.test", None):
        c, head = ws_handshake(s.port, "/live/ws", b.cookie, origin)
        assert head.status == 101, (origin, head)
        echo(c, 0x1, b"hello alice")
        c.close()
    # csrf = false on the route turns the check off; public routes have none.
    for path in ("/open/ws", "/pub/ws"):
        c, head = ws_handshake(s.port, path, b.cookie, EVIL)
        assert head.status == 101, (path, head)
        echo(c, 0x1, b"opted out")
        c.close()


def test_cross_site_websocket_hijack_allowed_origin(env):
    s, _ = start(env, routes=WS_ROUTES, csrf_origins=["https://chat.example"])
    b = Browser(s.port)
    b.login("alice")
    c, head = ws_handshake(s.port, "/live/ws", b.cookie, "https://chat.example")
    assert head.status == 101, head
    c.close()
    c, head = ws_handshake(s.port, "/live/ws", b.cookie, "https://other.example")
    assert head.status == 403, head

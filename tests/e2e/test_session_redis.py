"""Sessions on the shared stores (issue 3 §7): store = "redis" against a real
redis-server (Env.redis), and store = "cookie" (sealed sessions, no server
state). Store-independent behaviour is in test_session.py.
"""

import base64
import hashlib
import os
import socket
import time

from harness import Client, timeout, under_asan
from test_session import (HTML, JSON, SECRET_A, SECRET_B, Browser, assert_cleared, b64url_decode,
                          check_logout_all, ctl, echoed, issued, parallel_writes, set_cookies,
                          start)

FAST = {"command_timeout": "200ms", "connect_timeout": "300ms"}


def redis_sesame(env, redis, up=None, redis_opts=None, **kw):
    """sesame with store = "redis" on `redis` (plus test_session's routes)."""
    opts = {"address": redis.addr, **FAST, **(redis_opts or {})}
    return start(env, up, store="redis", sections=[("[redis]", opts)], **kw)


def store_key(session_id):
    """CookieCodec::storeKey: base64url(SHA-256("sesame store v1" || id))."""
    digest = hashlib.sha256(b"sesame store v1" + session_id).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def handle(session_id):
    """CookieCodec::handle: 12 chars of base64url(SHA-256("sesame handle v1" || id))."""
    digest = hashlib.sha256(b"sesame handle v1" + session_id).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def session_id(cookie):
    raw = b64url_decode(cookie)
    assert len(raw) == 65 and raw[0] == 1, "cookie is not version || id || tag: %r" % cookie
    return raw[1:33]


def session_keys(redis, prefix="sesame:", db=0):
    return [k for k in redis.keys(db=db) if k.startswith(prefix.encode() + b"s:")]


def scale(binary, n, sanitized):
    return sanitized if under_asan(binary) else n


# ---------------------------------------------------------------- layout, sharing


def test_redis_login_layout_and_ttl(env):
    r = env.redis()
    s, _ = redis_sesame(env, r, redis_opts={"key_prefix": "t1:"}, idle_timeout="10m")
    b = Browser(s.port)
    for _ in range(5):
        assert b.get("/echo", cookie="").status == 200
    assert r.dbsize() == 0, "anonymous sessions nobody wrote to were stored: %r" % r.keys()
    b.get(ctl(("X-Sesame-Set", "cart=apple%20pie")))
    anon = b.cookie
    assert r.keys() == [b"t1:s:" + store_key(session_id(anon)).encode()], r.keys()
    b.login("alice", "dev,ops")
    key = b"t1:s:" + store_key(session_id(b.cookie)).encode()
    handle_key = b"t1:handle:" + handle(session_id(b.cookie)).encode()
    assert r.keys() == sorted([key, b"t1:u:alice", handle_key]), r.keys()
    h = r.hgetall(key)
    assert h[b"user"] == b"alice" and h[b"d:cart"] == b"apple pie", h
    assert h[b"method"] == b"app" and h[b"handle"] == handle_key[len("t1:handle:"):], h
    assert r.command("SMEMBERS", "t1:u:alice") == [key[len("t1:s:"):]]
    assert r.command("GET", handle_key) == key[len("t1:s:"):]
    ttl = r.command("PTTL", key)
    assert 590_000 < ttl <= 600_000, "TTL should follow idle_timeout = 10m: %d ms" % ttl
    assert b.identity("/req/echo") == ("alice", "dev,ops")
    res = Browser(s.port, cookie=anon).get("/echo")
    assert not echoed(res, "X-Session-Cart"), "the pre-login cookie still works"
    r_ = b.get(ctl(("X-Sesame-Logout", "1")))
    assert_cleared(r_)
    assert session_keys(r, "t1:") == [], r.keys()
    assert r.command("EXISTS", handle_key) == 0, "the logout left the handle key behind"


def test_redis_two_instances_share_sessions(env):
    r = env.redis()
    up = env.upstream()
    s1, _ = redis_sesame(env, r, up)
    s2, _ = redis_sesame(env, r, up, workers=2)
    a = Browser(s1.port)
    a.login("alice", "admins")
    b = Browser(s2.port, cookie=a.cookie)
    assert b.identity("/admin/echo") == ("alice", "admins"), "login on one, identity on the other"
    b.get(ctl(("X-Sesame-Set", "from=two")))
    assert echoed(a.get("/echo"), "X-Session-From") == ["two"]
    r_ = b.get(ctl(("X-Sesame-Logout", "1")))
    assert_cleared(r_)
    assert a.get("/req/echo", headers=[JSON]).status == 401, "logout on one ends it on the other"


def test_redis_cache_bounded_staleness(env):
    """[redis] cache: a worker answers again with a session it read, for at
    most that long; its own writes are seen at once, another instance's
    logout once the period is over."""
    r = env.redis()
    up = env.upstream()
    s1, _ = redis_sesame(env, r, up, redis_opts={"cache": "1500ms"})
    s2, _ = redis_sesame(env, r, up, redis_opts={"cache": "1500ms"})
    a = Browser(s1.port)
    a.login("alice", "admins")
    b = Browser(s2.port, cookie=a.cookie)
    read = time.monotonic()
    assert b.identity("/admin/echo") == ("alice", "admins")
    # A change made through the other instance: this one has its copy
    # (checked while the period surely runs, even on a slow machine).
    a.get(ctl(("X-Sesame-Set", "from=one")))
    stale = echoed(b.get("/echo"), "X-Session-From")
    if time.monotonic() - read < 1.0:
        assert stale == [], "s2 read Redis again within its cache period"
    assert echoed(a.get("/echo"), "X-Session-From") == ["one"], "its own write, seen at once"
    # Logout through s1: s1 refuses the cookie at once; s2 may still accept
    # it within its cache period, and refuses it once that has passed.
    ended = time.monotonic()
    assert_cleared(a.get(ctl(("X-Sesame-Logout", "1"))))
    assert Browser(s1.port, cookie=b.cookie).get("/req/echo", headers=[JSON]).status == 401
    time.sleep(max(0.0, 1.6 - (time.monotonic() - ended)))
    assert b.get("/req/echo", headers=[JSON]).status == 401, "still accepted after the cache period"


def test_redis_logout_all(env):
    r = env.redis()
    up = env.upstream()
    s1, _ = redis_sesame(env, r, up)
    s2, _ = redis_sesame(env, r, up)
    check_logout_all(env, s1.port, s2.port)
    users = [k for k in r.keys() if k.startswith(b"sesame:s:") and r.hgetall(k).get(b"user") == b"alice"]
    assert users == [], "alice's sessions left in Redis: %r" % users


@timeout(30)
def test_redis_secret_rotation_across_restart(env):
    r = env.redis()
    up = env.upstream()

    def restart(secrets, old=None):
        if old is not None:
            old.expect_exit = True
            old.stop()
        s, _ = redis_sesame(env, r, up, secrets=secrets)
        return s

    s = restart([SECRET_A])
    old = Browser(s.port)
    old.login("alice")
    cookie_a = old.cookie
    s = restart([SECRET_B, SECRET_A], s)
    assert Browser(s.port, cookie=cookie_a).identity("/req/echo") == ("alice", None), \
        "an old-secret cookie must survive while the old secret is listed second"
    new = Browser(s.port)
    new.login("bob")
    cookie_b = new.cookie
    s = restart([SECRET_B], s)
    r_ = Browser(s.port, cookie=cookie_a).get("/req/echo", headers=[JSON])
    assert r_.status == 401, "a cookie signed by a removed secret was accepted: %r" % r_
    assert Browser(s.port, cookie=cookie_b).identity("/req/echo") == ("bob", None)


# ---------------------------------------------------------------- failure


@timeout(40)
def test_redis_paused(env):
    r = env.redis()
    s, up = redis_sesame(env, r)
    b = Browser(s.port)
    b.login("alice")
    cookie = b.cookie
    carol = Browser(s.port)
    carol.login("carol")
    slack = 2.0 if under_asan(env.binary) else 1.0
    r.pause()
    try:
        t0 = time.monotonic()
        res = b.get("/req/echo", headers=[JSON])
        elapsed = time.monotonic() - t0
        assert res.status == 503, res
        assert elapsed < 0.2 + slack, "503 took %.2f s with command_timeout = 200ms" % elapsed
        for headers in ([HTML], [JSON]):
            res = b.get("/req/echo", headers=headers)
            assert res.status == 503, "store down is 503, not a login redirect: %r" % res
            assert not res.all("Set-Cookie"), "the cookie must survive a store outage: %r" % res.headers
        res = b.get("/echo")
        assert res.status == 200, res
        assert echoed(res, "X-Remote-User") == [], "identity without a store answer"
        assert not res.all("Set-Cookie"), "session route replaced the cookie: %r" % res.headers
        t0 = time.monotonic()
        res = b.get("/pub/echo")
        assert res.status == 200 and time.monotonic() - t0 < 0.5, res
        login = Browser(s.port).get(ctl(("X-Sesame-Login", "bob")))
        assert login.status == 503, "a login the store could not record: %r" % login
        logout = carol.get(ctl(("X-Sesame-Logout", "1")))
        assert logout.status == 503, "a logout the store could not record: %r" % logout
        assert not logout.all("Set-Cookie") and carol.cookie, logout.headers
        assert b.cookie == cookie
    finally:
        r.resume()
    deadline = time.monotonic() + 12
    while True:
        res = b.get("/req/echo", headers=[JSON])
        if res.status == 200:
            break
        assert res.status == 503 and time.monotonic() < deadline, \
            "session did not come back after SIGCONT: %r" % res
        time.sleep(0.2)
    assert echoed(res, "X-Remote-User") == ["alice"]
    assert b.cookie == cookie
    assert carol.identity("/req/echo") == ("carol", None), "the failed logout left the session"


# ---------------------------------------------------------------- floods cost nothing


def forged_cookie(i):
    if i % 10 == 9:
        return base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()  # wrong length
    raw = b"\x01" + os.urandom(64)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def own_commands_removed(calls):
    return {k: v for k, v in calls.items() if k not in ("info", "config|resetstat", "config", "dbsize")}


@timeout(40)
def test_redis_forged_cookies_cost_no_commands(env):
    r = env.redis()
    s, up = redis_sesame(env, r)
    b = Browser(s.port)
    b.login("alice")  # connected, scripts loaded
    n = scale(env.binary, 1000, 200)
    r.reset_stats()
    keys_before = r.dbsize()
    for i in range(n):
        path = "/req/echo" if i % 2 else "/echo"
        res = b.get(path, headers=[JSON], cookie=forged_cookie(i))
        assert res.status == (401 if i % 2 else 200), (i, res)
    calls = own_commands_removed(r.command_calls())
    assert calls == {}, "%d forged cookies caused store commands: %r" % (n, calls)
    assert r.dbsize() == keys_before


@timeout(40)
def test_redis_cookieless_requests_store_nothing(env):
    r = env.redis()
    s, up = redis_sesame(env, r)
    Browser(s.port).get("/echo")
    r.reset_stats()
    n = scale(env.binary, 1000, 200)
    c = Client(s.port)
    for i in range(n):
        res = c.get("/plain/echo" if i % 2 else "/echo?i=%d" % i)
        assert res.status == 200 and issued(res), res
    assert r.dbsize() == 0, "cookieless requests left %d keys" % r.dbsize()
    assert own_commands_removed(r.command_calls()) == {}


def test_redis_parallel_writes(env):
    r = env.redis()
    s, _ = redis_sesame(env, r, workers=2)
    got = parallel_writes(s.port)
    want = {"X-Session-K%d" % i: "v%d" % i for i in range(20)}
    want["X-Session-Base"] = "0"
    assert got == want, "lost writes: %r" % sorted(set(want) - set(got))


def test_redis_pipelined_requests_see_earlier_writes(env):
    r = env.redis()
    s, _ = redis_sesame(env, r)
    b = Browser(s.port)
    b.login("alice")
    c = Client(s.port)
    n = 12
    batch = b""
    for i in range(n):
        target = ctl(("X-Sesame-Set", "k%d=%d" % (i, i))) if i % 3 == 0 else "/req/echo?i=%d" % i
        batch += ("GET %s HTTP/1.1\r\nHost: app.test\r\nCookie: sid=%s\r\n\r\n" %
                  (target, b.cookie)).encode()
    c.send(batch)
    for i in range(n):
        res = c.read_response()
        assert res.status == 200 and echoed(res, "X-Remote-User") == ["alice"], (i, res)
        assert ("i=%d" % i in res.json()["target"]) or ("k%d" % i in res.json()["target"]), "order"
        keys = sorted(n_ for n_, _ in res.json()["headers"] if n_.startswith("X-Session-"))
        assert keys == sorted("X-Session-K%d" % j for j in range(0, i, 3)), (i, keys)


# ---------------------------------------------------------------- what Redis learns


def redis_dump(r):
    """Every key name, field, member and value in database 0."""
    out = []
    for key in r.keys():
        out.append(key)
        kind = r.command("TYPE", key)
        if kind == "hash":
            for k, v in r.hgetall(key).items():
                out += [k, v]
        elif kind == "set":
            out += r.command("SMEMBERS", key)
        elif kind == "string":
            out.append(r.command("GET", key))
        else:
            out.append(repr(r.command("DUMP", key)).encode())
    return out


def secret_forms(cookie):
    sid = session_id(cookie)
    b64 = base64.urlsafe_b64encode(sid).rstrip(b"=")
    std = base64.b64encode(sid).rstrip(b"=")
    return {"cookie": cookie.encode(), "raw id": sid, "hex id": sid.hex().encode(),
            "HEX id": sid.hex().upper().encode(), "base64url id": b64, "base64 id": std,
            "tag": b64url_decode(cookie)[33:]}


def test_redis_raw_id_appears_nowhere(env):
    r = env.redis()
    s, _ = redis_sesame(env, r)
    mon = r.client()
    assert mon.command("MONITOR") == "OK"
    b = Browser(s.port)
    b.get(ctl(("X-Sesame-Set", "cart=1")))
    cookies = [b.cookie]
    b.login("alice", "dev")
    cookies.append(b.cookie)
    b.get(ctl(("X-Sesame-Set", "more=2")))
    assert b.identity() == ("alice", "dev")
    other = Browser(s.port)
    other.login("bob")
    cookies.append(other.cookie)
    dump = b"\n".join(redis_dump(r))
    assert b"alice" in dump and b"more" in dump, "the dump is not what we think: %r" % dump[:200]
    mon.sock.settimeout(0.5)
    traffic = bytearray()
    try:
        while True:
            data = mon.sock.recv(65536)
            if not data:
                break
            traffic += data
    except (socket.timeout, TimeoutError):
        pass
    mon.close()
    assert b"EVALSHA" in traffic.upper() or b"EVAL" in traffic.upper(), traffic[:300]
    log = open(s.stderr_path, "rb").read()
    for cookie in cookies:
        for what, form in secret_forms(cookie).items():
            assert form not in dump, "the %s is stored in Redis" % what
            assert form not in traffic, "the %s was sent to Redis" % what
            assert form not in log, "the %s is in sesame's log" % what


def test_redis_password_and_database(env):
    r = env.redis(requirepass="redis-pw-123")
    up = env.upstream()
    s, _ = redis_sesame(env, r, up, redis_opts={"password": "redis-pw-123", "database": 3})
    b = Browser(s.port)
    b.login("alice")
    assert b.identity("/req/echo") == ("alice", None)
    assert r.dbsize(db=0) == 0 and len(session_keys(r, db=3)) == 1, (r.keys(), r.keys(db=3))
    bad, _ = redis_sesame(env, r, up, redis_opts={"password": "wrong"})
    res = Browser(bad.port).get(ctl(("X-Sesame-Login", "mallory")))
    assert res.status == 503, "a login with the store refusing AUTH: %r" % res


@timeout(20)
def test_redis_idle_expiry(env):
    r = env.redis()
    s, _ = redis_sesame(env, r, idle_timeout="1s", touch_interval="200ms")
    b = Browser(s.port)
    b.login("alice")
    end = time.monotonic() + 1.8
    while time.monotonic() < end:
        time.sleep(0.3)
        assert b.identity("/req/echo") == ("alice", None)
    assert 0 < r.command("PTTL", session_keys(r)[0]) <= 1000
    time.sleep(1.3)
    res = b.get("/req/echo", headers=[JSON])
    assert res.status == 401, res
    assert session_keys(r) == [], r.keys()


# ---------------------------------------------------------------- cookie store


def cookie_sesame(env, up=None, **kw):
    return start(env, up, store="cookie", **kw)


def test_cookie_store_needs_no_server_state(env):
    up = env.upstream()
    s1, _ = cookie_sesame(env, up)
    s2, _ = cookie_sesame(env, up)
    a = Browser(s1.port)
    r = a.login("alice", "admins")
    (_, value, attrs), = set_cookies(r, "sid")
    assert attrs.get("httponly") is True and attrs.get("path") == "/" and "max-age" not in attrs
    a.get(ctl(("X-Sesame-Set", "cart=apple")))
    b = Browser(s2.port, cookie=a.cookie)
    r = b.get("/admin/echo")
    assert r.status == 200, "a sealed session must open on any instance with the secret: %r" % r
    assert echoed(r, "X-Remote-User") == ["alice"] and echoed(r, "X-Session-Cart") == ["apple"]
    assert echoed(r, "Cookie") == [], "the sealed session reached the upstream"
    s1.expect_exit = True
    s1.stop()
    s3, _ = cookie_sesame(env, up)
    assert Browser(s3.port, cookie=a.cookie).identity("/req/echo") == ("alice", "admins")


def test_cookie_store_oversized_session_refused(env):
    s, up = cookie_sesame(env)
    b = Browser(s.port)
    b.login("alice")
    before = b.cookie
    r = b.get(ctl(("X-Sesame-Set", "big1=" + "a" * 3000), ("X-Sesame-Set", "big2=" + "b" * 3000)))
    assert r.status == 200, "the application must keep working: %r" % r
    for v in r.all("Set-Cookie"):
        assert len(v) <= 4096, "issued a %d-byte cookie" % len(v)
    assert b.cookie == before or len(b.cookie) < 4000
    r = b.get("/echo")
    assert echoed(r, "X-Remote-User") == ["alice"], "the session was lost"
    assert not echoed(r, "X-Session-Big1") and not echoed(r, "X-Session-Big2")
    log = s.stderr_tail(50)
    assert "cookie store" in log and "refus" in log, "no warning about the refused change: %s" % log[-2000:]
    b.get(ctl(("X-Sesame-Set", "small=1")))
    assert echoed(b.get("/echo"), "X-Session-Small") == ["1"]


def test_cookie_store_logout_clears(env):
    s, up = cookie_sesame(env)
    b = Browser(s.port)
    b.login("alice")
    r = b.get(ctl(("X-Sesame-Logout", "1")))
    assert_cleared(r)
    assert r.all("Clear-Site-Data") == ['"cookies"'] and r.all("Cache-Control") == ["private, no-store"]
    assert b.cookie is None
    assert b.get("/req/echo", headers=[JSON]).status == 401


@timeout(30)
def test_cookie_store_secret_rotation(env):
    up = env.upstream()
    s1, _ = cookie_sesame(env, up, secrets=[SECRET_A])
    a = Browser(s1.port)
    a.login("alice")
    s2, _ = cookie_sesame(env, up, secrets=[SECRET_B, SECRET_A])
    assert Browser(s2.port, cookie=a.cookie).identity("/req/echo") == ("alice", None)
    s3, _ = cookie_sesame(env, up, secrets=[SECRET_B])
    r = Browser(s3.port, cookie=a.cookie).get("/req/echo", headers=[JSON])
    assert r.status == 401, "a session sealed under a removed secret was accepted: %r" % r

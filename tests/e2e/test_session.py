"""Sessions on the request path (issue 3 §7), memory store: the session
cookie, identity headers and their spoofing, control headers, login, logout,
redirects, 401/403, CSRF and expiry.

Helpers here (Browser, session_extra, ctl, ...) are shared with
test_session_redis.py.
"""

import base64
import threading
import time
import urllib.parse

from harness import Client, assert_upstream_untouched, timeout, toml_table

SECRET_A = "first secret, long enough for HMAC keys 0123456789"
SECRET_B = "second secret, also longer than thirty-two bytes!!"
HTML = ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
JSON = ("Accept", "application/json")

# Every route kind, on one upstream "app" (upstream.py dispatches on the last
# path segment, so /req/echo and /echo are both the echo endpoint).
ROUTES = [
    {"path": "/", "upstream": "app", "auth": "session", "accept_control": True},
    {"path": "/plain", "upstream": "app", "auth": "session"},
    {"path": "/pub", "upstream": "app", "auth": "public"},
    {"path": "/req", "upstream": "app", "auth": "required", "accept_control": True},
    {"path": "/admin", "upstream": "app", "auth": "required", "groups": ["admins"]},
    {"path": "/api", "upstream": "app", "auth": "session", "accept_control": True, "csrf": False},
]

def session_extra(sections=(), **values):
    """[session] text with the test defaults (plain-HTTP cookie "sid"),
    overridden or extended by `values` (None drops a key), followed by
    `sections`: (header, {key: value}) pairs such as ("[redis]", {...})."""
    table = {"cookie_name": "sid", "secure": False, "secrets": [SECRET_A]}
    table.update(values)
    table = {k: v for k, v in table.items() if v is not None}
    text = "\n" + toml_table("[session]", table)
    for header, body in sections:
        text += "\n" + toml_table(header, body)
    return text


def start(env, up=None, routes=ROUTES, **kw):
    """sesame with the route set above and a [session] built from `kw`."""
    up = up or env.upstream()
    sections = kw.pop("sections", ())
    sesame_kw = {k: kw.pop(k) for k in ("tls", "plain", "workers") if k in kw}
    s = env.sesame(upstreams={"app": [up.addr]}, routes=routes, extra=session_extra(sections, **kw),
                   **sesame_kw)
    return s, up


def ctl(*headers, path="/control"):
    """A /control target making the upstream answer with `headers`
    [(name, value)], byte for byte (values are sent as written)."""
    return path + "?" + urllib.parse.urlencode([("h", "%s:%s" % h) for h in headers])


def echoed(r, name):
    """Values of request header `name` as the upstream received it."""
    return [v for n, v in r.json()["headers"] if n.lower() == name.lower()]


def echoed_names(r):
    return [n for n, _ in r.json()["headers"]]


def parse_set_cookie(value):
    """(name, value, {attribute lower-cased: value or True})."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, sep, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if sep else True
    return name, val, attrs


def set_cookies(r, name):
    return [parse_set_cookie(v) for v in r.all("Set-Cookie") if v.startswith(name + "=")]


def issued(r, name="sid"):
    """The value of the one Set-Cookie issuing `name` (not a clearing one)."""
    found = set_cookies(r, name)
    assert len(found) == 1, "expected one Set-Cookie for %s: %r" % (name, r.all("Set-Cookie"))
    _, value, attrs = found[0]
    assert "max-age" not in attrs and value, "not an issuing Set-Cookie: %r" % r.all("Set-Cookie")
    return value


def assert_cleared(r, name="sid"):
    found = set_cookies(r, name)
    assert len(found) == 1, "expected one clearing Set-Cookie: %r" % r.all("Set-Cookie")
    _, value, attrs = found[0]
    assert value == "" and attrs.get("max-age") == "0", r.all("Set-Cookie")
    assert attrs.get("path") == "/", r.all("Set-Cookie")


def b64url_decode(value):
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class Browser:
    """A keep-alive client with a one-cookie jar: sends the session cookie
    it holds, takes Set-Cookie (Max-Age=0 empties the jar)."""

    def __init__(self, port, name="sid", tls=False, host="app.test", cookie=None):
        self.port = port
        self.name = name
        self.tls = tls
        self.host = host
        self.cookie = cookie
        self.client = None

    def request(self, method, target, headers=(), body=b"", cookie=None, extra_cookies=""):
        """`cookie` overrides the jar for this request ("" sends none)."""
        if self.client is None:
            self.client = Client(self.port, tls=self.tls)
        value = self.cookie if cookie is None else cookie
        hs = list(headers)
        pairs = [p for p in (("%s=%s" % (self.name, value)) if value else "", extra_cookies) if p]
        if pairs:
            hs.append(("Cookie", "; ".join(pairs)))
        self.client.request(method, target, self.host, hs, body)
        r = self.client.read_response(method)
        for _, val, attrs in set_cookies(r, self.name):
            self.cookie = None if attrs.get("max-age") == "0" else val
        if "close" in r.connection_tokens() or r.version == "HTTP/1.0":
            self.close()
        return r

    def get(self, target, headers=(), **kw):
        return self.request("GET", target, headers, **kw)

    def post(self, target, headers=(), body=b"x", **kw):
        return self.request("POST", target, headers, body, **kw)

    def login(self, user, groups=None, path="/control", extra=()):
        hs = [("X-Sesame-Login", user)] + ([("X-Sesame-Groups", groups)] if groups else [])
        r = self.get(ctl(*hs, *extra, path=path))
        assert r.status == 200, r
        return r

    def identity(self, path="/echo"):
        """(user or None, groups or None) as the upstream saw them."""
        r = self.get(path)
        assert r.status == 200, r
        users, groups = echoed(r, "X-Remote-User"), echoed(r, "X-Remote-Groups")
        assert len(users) <= 1 and len(groups) <= 1, r.json()["headers"]
        return (users[0] if users else None), (groups[0] if groups else None)

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None


# ---------------------------------------------------------------- the cookie


def test_anonymous_cookie_attributes(env):
    s, up = start(env)
    b = Browser(s.port)
    r = b.get("/echo")
    assert r.status == 200, r
    (name, value, attrs), = set_cookies(r, "sid")
    assert len(value) == 87, "signed ID is 65 bytes of base64url: %r" % value
    raw = b64url_decode(value)
    assert len(raw) == 65 and raw[0] == 1, raw[:1]
    assert attrs.get("path") == "/" and attrs.get("httponly") is True, attrs
    assert attrs.get("samesite") == "Lax", attrs
    for absent in ("max-age", "expires", "domain", "secure"):
        assert absent not in attrs, "%s on a plain secure=false cookie: %r" % (absent, attrs)
    assert not echoed(r, "Cookie") and not echoed(r, "X-Remote-User"), r.json()["headers"]
    # Public routes do no session work: no cookie issued.
    r = b.get("/pub/echo", cookie="")
    assert r.status == 200 and not r.all("Set-Cookie"), r


def test_cookie_secure_forced_on_tls(env):
    up = env.upstream()
    s, _ = start(env, up, tls=True)
    plain = Browser(s.port).get("/echo")
    _, _, attrs = set_cookies(plain, "sid")[0]
    assert "secure" not in attrs, plain.all("Set-Cookie")
    tls = Browser(s.tls_port, tls=True).get("/echo")
    _, _, attrs = set_cookies(tls, "sid")[0]
    assert attrs.get("secure") is True, "secure = false must not drop Secure on TLS: %r" % tls.all(
        "Set-Cookie")


def test_secure_cookie_on_plain_listener_when_configured(env):
    s, _ = start(env, secure=True, same_site="None")
    r = Browser(s.port).get("/echo")
    (_, _, attrs), = set_cookies(r, "sid")
    assert attrs.get("secure") is True and attrs.get("samesite") == "None", attrs


def test_default_cookie_is_host_prefixed_on_tls(env):
    up = env.upstream()
    s, _ = start(env, up, tls=True, plain=False, cookie_name=None, secure=None)
    b = Browser(s.tls_port, name="__Host-sesame", tls=True)
    r = b.get("/echo")
    (name, value, attrs), = set_cookies(r, "__Host-sesame")
    assert attrs.get("secure") is True and attrs.get("path") == "/", attrs
    assert "domain" not in attrs and "max-age" not in attrs, attrs
    b.login("alice")
    assert b.identity() == ("alice", None)
    # The request's origin is the listener's scheme plus Host.
    assert b.post("/echo", headers=[("Origin", "https://app.test")]).status == 200
    assert b.post("/echo", headers=[("Origin", "http://app.test")]).status == 403
    r = b.get(ctl(("X-Sesame-Logout", "1")))
    assert_cleared(r, "__Host-sesame")
    (_, _, attrs), = set_cookies(r, "__Host-sesame")
    # A __Host- cookie can only be overwritten by a Secure one.
    assert attrs.get("secure") is True and "domain" not in attrs, attrs


def test_cookie_domain_and_same_site(env):
    s, _ = start(env, domain="app.test", same_site="Strict")
    r = Browser(s.port).get("/echo")
    (_, _, attrs), = set_cookies(r, "sid")
    assert attrs.get("domain") == "app.test" and attrs.get("samesite") == "Strict", attrs
    b = Browser(s.port)
    b.login("alice")
    r = b.get(ctl(("X-Sesame-Logout", "1")))
    assert_cleared(r)
    (_, _, attrs), = set_cookies(r, "sid")
    # Browsers only replace a cookie whose domain and path match.
    assert attrs.get("domain") == "app.test", attrs


def test_session_cookie_never_reaches_upstream(env):
    s, up = start(env)
    b = Browser(s.port)
    b.login("alice")
    sid = b.cookie
    for path in ("/echo", "/pub/echo", "/req/echo", "/plain/echo"):
        r = b.get(path, extra_cookies="theme=dark; lang=en")
        assert r.status == 200, (path, r)
        assert echoed(r, "Cookie") == ["theme=dark; lang=en"], (path, r.json()["headers"])
        r = b.get(path)
        assert echoed(r, "Cookie") == [], (path, r.json()["headers"])
    # Other cookies on either side, two copies of the session cookie, and a
    # separate Cookie field: only the session pairs go.
    r = b.get("/echo", cookie="", headers=[("Cookie", "a=1; sid=%s; b=2; sid=%s" % (sid, sid)),
                                           ("Cookie", "c=3")])
    assert r.status == 200
    assert echoed(r, "Cookie") == ["a=1; b=2", "c=3"], r.json()["headers"]
    assert echoed(r, "X-Remote-User") == ["alice"]
    assert sid not in r.body.decode(), "the session cookie reached the upstream"


def test_tampered_cookie_is_a_new_session(env):
    s, _ = start(env)
    b = Browser(s.port)
    b.login("alice")
    good = b.cookie
    flipped = good[:40] + ("A" if good[40] != "A" else "B") + good[41:]
    # 87 characters carry 522 bits for 520: the last one has two unused bits,
    # and a non-canonical encoding of the same bytes must not verify.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    loose = good[:-1] + alphabet[alphabet.index(good[-1]) ^ 1]
    assert b64url_decode(loose) == b64url_decode(good)
    padded = base64.urlsafe_b64encode(b64url_decode(good)).decode()
    std = base64.b64encode(b64url_decode(good)).decode().rstrip("=")
    variants = [flipped, loose, padded, good[:-1], good + "A", "x" * 87, '"%s"' % flipped]
    variants += [std] if std != good else []
    for forged in variants:
        r = b.get("/echo", cookie=forged)
        assert r.status == 200 and not echoed(r, "X-Remote-User"), (forged, r.json()["headers"])
        assert issued(r) not in (forged, good)
        r = b.get("/req/echo", cookie=forged, headers=[JSON])
        assert r.status == 401, (forged, r)
    assert Browser(s.port, cookie=good).identity() == ("alice", None)


# ---------------------------------------------------------------- login, logout


def test_login_rotates_id(env):
    s, up = start(env)
    b = Browser(s.port)
    r = b.get(ctl(("X-Sesame-Set", "cart=apple")))
    assert r.status == 200 and b.cookie, r
    anon = b.cookie
    r = b.get("/echo")
    assert echoed(r, "X-Session-Cart") == ["apple"] and not echoed(r, "X-Remote-User")
    assert not r.all("Set-Cookie"), "a stored session keeps its cookie: %r" % r.all("Set-Cookie")
    r = b.login("alice", " admins , dev,,")
    assert not [n for n, _ in r.headers if n.lower().startswith("x-sesame")], r.headers
    logged = issued(r)
    assert logged != anon and len(logged) == 87
    r = b.get("/req/echo")
    assert r.status == 200, r
    assert echoed(r, "X-Remote-User") == ["alice"], r.json()["headers"]
    assert echoed(r, "X-Remote-Groups") == ["admins,dev"]
    assert echoed(r, "X-Session-Cart") == ["apple"], "data kept across the login"
    # The pre-login cookie is dead at once (session fixation).
    old = Browser(s.port, cookie=anon)
    r = old.get("/req/echo", headers=[JSON])
    assert r.status == 401, r
    r = old.get("/echo")
    assert r.status == 200 and not echoed(r, "X-Remote-User") and not echoed(r, "X-Session-Cart")
    assert old.cookie not in (anon, logged)
    # A second login (another user) rotates again.
    r = b.login("bob")
    assert issued(r) != logged
    assert b.identity() == ("bob", None)
    assert Browser(s.port, cookie=logged).get("/req/echo", headers=[JSON]).status == 401


def test_logout_clears_cookie(env):
    s, up = start(env)
    b = Browser(s.port)
    b.login("alice")
    sid = b.cookie
    r = b.get(ctl(("X-Sesame-Logout", "1"), ("Cache-Control", "max-age=3600"),
                  ("X-Sesame-Set", "k=v")))
    assert r.status == 200, r
    assert_cleared(r)
    assert r.all("Cache-Control") == ["private, no-store"], r.headers
    assert r.all("Clear-Site-Data") == ['"cookies"'], r.headers
    assert b.cookie is None
    r = Browser(s.port, cookie=sid).get("/req/echo", headers=[JSON])
    assert r.status == 401, "a logged-out cookie must be dead: %r" % r
    r = Browser(s.port, cookie=sid).get("/echo")
    assert not echoed(r, "X-Remote-User") and not echoed(r, "X-Session-K")


def check_logout_all(env, port, other_port=None):
    """Two browsers of alice and one of bob; "all" from one of alice's ends
    both of hers, not bob's."""
    other_port = other_port or port
    a1, a2, bob = Browser(port), Browser(other_port), Browser(port)
    a1.login("alice")
    a2.login("alice", "staff")
    bob.login("bob")
    assert a2.identity(path="/req/echo") == ("alice", "staff")
    c1, c2 = a1.cookie, a2.cookie
    r = a1.get(ctl(("X-Sesame-Logout", "all")))
    assert r.status == 200, r
    assert_cleared(r)
    assert r.all("Clear-Site-Data") == ['"cookies"']
    for port_, cookie in ((port, c1), (other_port, c2), (port, c2)):
        r = Browser(port_, cookie=cookie).get("/req/echo", headers=[JSON])
        assert r.status == 401, "alice's other session survived logout-all: %r" % r
    assert bob.identity(path="/req/echo") == ("bob", None)


def test_logout_all_sessions_of_user(env):
    s, _ = start(env)
    check_logout_all(env, s.port)


def test_session_data_set_unset(env):
    s, _ = start(env)
    b = Browser(s.port)
    r = b.get(ctl(("X-Sesame-Set", "note=a%20b%2Cc%25"), ("X-Sesame-Set", "cart_items=3"),
                  ("x-sesame-set", "Plus=1+1")))
    assert r.status == 200
    r = b.get("/echo")
    assert echoed(r, "X-Session-Note") == ["a b,c%"], r.json()["headers"]
    assert echoed(r, "X-Session-Cart-Items") == ["3"], r.json()["headers"]
    assert echoed(r, "X-Session-Plus") == ["1+1"], "'+' is literal"
    # A control character in a decoded value is refused; the rest applies.
    r = b.get(ctl(("X-Sesame-Set", "evil=a%0D%0AX-Remote-User:%20root"), ("X-Sesame-Unset", "note"),
                  ("X-Sesame-Set", "cart-items=4")))
    assert r.status == 200, r
    r = b.get("/echo")
    names = [n.lower() for n in echoed_names(r)]
    assert "x-session-evil" not in names and "x-session-note" not in names, names
    assert echoed(r, "X-Session-Cart-Items") == ["4"], "cart-items and cart_items are one key"
    assert not echoed(r, "X-Remote-User")
    assert "control header ignored" in s.stderr_tail(50), s.stderr_tail()



# ---------------------------------------------------------------- spoofing, control headers


SPOOFS = [("X-Remote-User", "mallory"), ("x-remote-user", "mallory"), ("X_Remote_User", "mallory"),
          ("X-REMOTE-GROUPS", "admins"), ("x_remote_groups", "admins"), ("X-Session-Foo", "1"),
          ("x_session_cart", "stolen"), ("X-Session-", "empty-key"), ("X-Sesame-Login", "mallory"),
          ("X_SESAME_LOGOUT", "all"), ("x-sesame-anything", "1")]


def folded(name):
    return name.lower().replace("_", "-")


def spoofed_names(r, user="x-remote-user", groups="x-remote-groups", prefix="x-session-"):
    """Identity-looking request headers the upstream received."""
    return [(n, v) for n, v in r.json()["headers"]
            if folded(n) in (user, groups) or folded(n).startswith((prefix, "x-sesame-"))]


def test_spoofed_identity_headers_removed(env):
    s, up = start(env)
    anon, alice = Browser(s.port), Browser(s.port)
    alice.login("alice", "dev")
    alice.get(ctl(("X-Sesame-Set", "cart=mine")))
    for b, path in ((anon, "/pub/echo"), (anon, "/echo"), (anon, "/plain/echo"), (alice, "/pub/echo"),
                    (alice, "/echo"), (alice, "/req/echo"), (anon, "/api/echo")):
        r = b.get(path, headers=SPOOFS)
        assert r.status == 200, (path, r)
        got = spoofed_names(r)
        if b is alice and path != "/pub/echo":
            assert sorted(got) == [("X-Remote-Groups", "dev"), ("X-Remote-User", "alice"),
                                   ("X-Session-Cart", "mine")], (path, got)
        else:
            assert got == [], "spoofed headers reached the upstream on %s: %r" % (path, got)
        assert "mallory" not in r.body.decode() and "stolen" not in r.body.decode(), path
    # A spoofed X-Sesame-Logout in the request is no control header.
    assert alice.identity() == ("alice", "dev")


def test_spoofed_identity_removed_without_sessions(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    r = c.get("/echo", headers=SPOOFS)
    assert r.status == 200 and spoofed_names(r) == [], spoofed_names(r)


def test_custom_identity_header_names(env):
    s, up = start(env, sections=[("[identity]", {"user_header": "X-Auth-Name",
                                                 "groups_header": "X-Auth-Roles",
                                                 "data_prefix": "X-App-"})])
    b = Browser(s.port)
    b.login("alice", "ops")
    b.get(ctl(("X-Sesame-Set", "theme=dark")))
    spoofs = [("x_auth_name", "mallory"), ("X-AUTH-ROLES", "admins"), ("X-App-Theme", "light"),
              ("X_App_Other", "1"), ("X-Sesame-Login", "mallory")]
    for path in ("/pub/echo", "/echo"):
        r = b.get(path, headers=spoofs)
        got = spoofed_names(r, "x-auth-name", "x-auth-roles", "x-app-")
        want = [] if path == "/pub/echo" else [("X-Auth-Name", "alice"), ("X-Auth-Roles", "ops"),
                                               ("X-App-Theme", "dark")]
        assert sorted(got) == sorted(want), (path, got)
        assert not echoed(r, "X-Remote-User") and not echoed(r, "X-Session-Theme")


def test_control_headers_never_reach_client(env):
    s, up = start(env)
    controls = [("X-Sesame-Login", "mallory"), ("x-sesame-groups", "admins"),
                ("X_Sesame_Set", "a=1"), ("X-Sesame-Unknown", "1"), ("X-Sesamex", "kept")]
    for path in ("/pub/control", "/plain/control", "/control", "/api/control"):
        b = Browser(s.port)
        r = b.get(ctl(*controls, path=path))
        assert r.status == 200, (path, r)
        leaked = [n for n, _ in r.headers if folded(n).startswith("x-sesame-")]
        assert leaked == [], "control headers reached the client on %s: %r" % (path, leaked)
        assert r.all("X-Sesamex") == ["kept"], r.headers
        if path == "/pub/control":
            assert not r.all("Set-Cookie"), "a public route issued a cookie: %r" % r.headers
        elif path == "/plain/control":
            # accept_control = false: the login is ignored, nothing stored.
            assert b.get("/req/echo", headers=[JSON]).status == 401
        else:
            assert b.identity() == ("mallory", "admins")


def test_control_headers_refused_when_malformed(env):
    s, up = start(env)
    b = Browser(s.port)
    for headers in ([("X-Sesame-Login", "alice"), ("X-Sesame-Login", "bob")],  # ambiguous
                    [("X-Sesame-Login", "u" * 257)],
                    [("X-Sesame-Groups", "admins")],  # groups without a login
                    [("X-Sesame-Logout", "yes")],
                    [("X-Sesame-Set", "bad key=1"), ("X-Sesame-Set", "novalue")]):
        r = b.get(ctl(*headers))
        assert r.status == 200, (headers, r)
        assert not [n for n, _ in r.headers if folded(n).startswith("x-sesame-")]
        r = b.get("/echo")
        assert spoofed_names(r) == [], (headers, spoofed_names(r))
    log = s.stderr_tail(100)
    assert log.count("control header ignored") >= 4, log
    # (the target names it: /control?h=...; the message must not)
    messages = [l[l.index(": ", l.index("ignored for")):] for l in log.splitlines() if "ignored for" in l]
    assert not [m for m in messages if "uuuu" in m], "user names are never logged: %r" % messages
    b.login("u" * 256, "g" * 64)
    assert b.identity() == ("u" * 256, "g" * 64)


# ---------------------------------------------------------------- access


def test_required_browser_redirect(env):
    s, up = start(env)
    b = Browser(s.port)
    for target in ("/req/echo", "/req/page?a=1&b=x%20y&c=/d&e=%26", "/req/caf%C3%A9/~u_v.w-?q=%2F+&z"):
        r = b.get(target, headers=[HTML])
        assert r.status == 302, (target, r)
        want = "/login?return_to=" + urllib.parse.quote(target, safe="/")
        assert r.header("Location") == want, (r.header("Location"), want)
        assert r.header("Cache-Control") == "private, no-store"
        assert not r.all("Set-Cookie"), "no cookie was sent, none to clear: %r" % r.headers
    # HEAD is a navigation too (on its own connection: see
    # bug_head_answer_has_no_body).
    head = Browser(s.port)
    r = head.request("HEAD", "/req/x?y=1", headers=[HTML])
    assert r.status == 302 and r.header("Location") == "/login?return_to=/req/x%3Fy%3D1"
    head.close()
    # A forged cookie is cleared on the way to the login page.
    r = b.get("/req/echo", headers=[HTML], cookie="A" * 87)
    assert r.status == 302
    assert_cleared(r)
    assert_upstream_untouched(up)


def test_login_url_with_query(env):
    s, up = start(env, login_url="/auth/start?from=sesame")
    r = Browser(s.port).get("/admin/x?a=b", headers=[HTML])
    assert r.status == 302
    assert r.header("Location") == "/auth/start?from=sesame&return_to=/admin/x%3Fa%3Db", r.headers


def test_required_unauthorized(env):
    s, up = start(env)
    b = Browser(s.port)
    for method, headers in (("GET", [JSON]), ("GET", []), ("POST", [HTML]), ("DELETE", [HTML]),
                            ("GET", [("Accept", "image/png")])):
        r = b.request(method, "/req/echo", headers=headers, body=b"x" if method == "POST" else b"")
        assert r.status == 401, (method, headers, r)
        assert r.header("WWW-Authenticate"), r.headers
        assert r.header("Location") is None
    r = b.get("/req/echo", headers=[JSON], cookie="B" * 87)
    assert r.status == 401
    assert_cleared(r)
    assert_upstream_untouched(up)


def test_groups_forbidden(env):
    s, up = start(env)
    dev = Browser(s.port)
    dev.login("alice", "dev,ops")
    for headers in ([HTML], [JSON]):
        r = dev.get("/admin/echo", headers=headers)
        assert r.status == 403, r
        assert not r.all("Set-Cookie"), "a 403 keeps the session: %r" % r.headers
    assert dev.identity("/req/echo") == ("alice", "dev,ops")
    admin = Browser(s.port)
    admin.login("root", "dev,admins")
    assert admin.identity("/admin/echo") == ("root", "dev,admins")
    r = Browser(s.port).get("/admin/echo", headers=[HTML])
    assert r.status == 302 and r.header("Location") == "/login?return_to=/admin/echo"
    st = up.stats(log=True)
    assert not [e for e in st["log"] if e["target"].startswith("/admin") and "root" not in str(e)], st


def test_csrf(env):
    s, up = start(env, csrf_origins=["https://admin.test"])
    b = Browser(s.port)
    b.login("alice")
    refused = [
        ("POST", "/echo", [("Sec-Fetch-Site", "cross-site")]),
        ("POST", "/echo", [("Sec-Fetch-Site", "cross-site"), ("Origin", "http://app.test")]),
        ("POST", "/echo", [("Origin", "http://evil.test")]),
        ("POST", "/echo", [("Origin", "http://app.test:8080")]),
        ("POST", "/echo", [("Origin", "https://app.test")]),
        ("POST", "/echo", [("Origin", "null")]),
        ("POST", "/echo", [("Referer", "http://evil.test/form")]),
        ("POST", "/echo", [("Sec-Fetch-Site", "same-site"), ("Origin", "http://sub.app.test")]),
        ("PUT", "/echo", [("Origin", "http://evil.test")]),
        ("DELETE", "/echo", [("Sec-Fetch-Site", "cross-site")]),
        ("PATCH", "/plain/echo", [("Origin", "http://evil.test")]),
        ("POST", "/req/echo", [("Origin", "http://evil.test")]),
        ("POST", "/control?h=X-Sesame-Logout:all", [("Origin", "http://evil.test")]),
    ]
    allowed = [
        ("POST", "/echo", []),
        ("POST", "/echo", [("Origin", "http://app.test")]),
        ("POST", "/echo", [("Origin", "HTTP://APP.TEST:80")]),
        ("POST", "/echo", [("Sec-Fetch-Site", "same-origin"), ("Origin", "http://app.test")]),
        ("POST", "/echo", [("Sec-Fetch-Site", "none")]),
        ("POST", "/echo", [("Sec-Fetch-Site", "same-origin")]),
        ("POST", "/echo", [("Referer", "http://app.test/form?x=1")]),
        ("POST", "/echo", [("Origin", "https://admin.test")]),
        ("GET", "/echo", [("Sec-Fetch-Site", "cross-site"), ("Origin", "http://evil.test")]),
        ("HEAD", "/echo", [("Origin", "http://evil.test")]),
        ("OPTIONS", "/echo", [("Sec-Fetch-Site", "cross-site")]),
        ("POST", "/api/echo", [("Sec-Fetch-Site", "cross-site")]),
        ("POST", "/pub/echo", [("Origin", "http://evil.test")]),
    ]
    for i, (method, path, headers) in enumerate(refused):
        target = path + ("&" if "?" in path else "?") + "refused=%d" % i
        r = b.request(method, target, headers, body=b"x" if method != "DELETE" else b"")
        assert r.status == 403, (method, path, headers, r)
    for method, path, headers in allowed:
        r = b.request(method, path, headers, body=b"x" if method == "POST" else b"")
        assert r.status == 200, (method, path, headers, r)
    log = up.stats(log=True)["log"]
    assert not [e["target"] for e in log if "refused=" in e["target"]], "a refused request went upstream"
    assert b.identity("/req/echo") == ("alice", None), "a refused logout must not log out"


# ---------------------------------------------------------------- expiry


@timeout(20)
def test_idle_timeout(env):
    s, _ = start(env, idle_timeout="1s", touch_interval="200ms", absolute_timeout="1h")
    b = Browser(s.port)
    b.login("alice")
    idle = Browser(s.port, cookie=b.cookie)
    end = time.monotonic() + 2.2
    while time.monotonic() < end:  # active: each request slides the expiry
        time.sleep(0.35)
        assert b.identity("/req/echo") == ("alice", None)
    time.sleep(1.4)
    r = b.get("/req/echo", headers=[JSON])
    assert r.status == 401, "idle session still valid after 1.4 s with idle_timeout = 1s: %r" % r
    assert_cleared(r)
    assert idle.get("/req/echo", headers=[JSON]).status == 401


@timeout(20)
def test_absolute_timeout(env):
    s, _ = start(env, idle_timeout="1s", touch_interval="200ms", absolute_timeout="2s")
    b = Browser(s.port)
    b.login("alice")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.6:
        time.sleep(0.3)
        assert b.identity("/req/echo") == ("alice", None), "expired at %.1f s" % (time.monotonic() - t0)
    while time.monotonic() - t0 < 2.4:
        time.sleep(0.3)
        r = b.get("/req/echo", headers=[JSON])
    assert r.status == 401, "session outlived absolute_timeout = 2s despite activity: %r" % r


# ---------------------------------------------------------------- concurrency


def parallel_writes(port, n=20):
    """n concurrent clients each set their own key on one session; returns
    the data headers the upstream sees afterwards."""
    b = Browser(port)
    r = b.get(ctl(("X-Sesame-Set", "base=0")))
    assert r.status == 200 and b.cookie
    cookie = b.cookie
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        try:
            c = Client(port)
            try:
                barrier.wait(5)
                c.request("GET", ctl(("X-Sesame-Set", "k%d=v%d" % (i, i))), "app.test",
                          [("Cookie", "sid=" + cookie)])
                results[i] = c.read_response()
            finally:
                c.close()
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    for i, r in enumerate(results):
        assert not isinstance(r, Exception) and r is not None and r.status == 200, (i, r)
        assert not r.all("Set-Cookie"), "write %d replaced the session: %r" % (i, r.all("Set-Cookie"))
    r = b.get("/echo")
    return {n: v for n, v in r.json()["headers"] if n.lower().startswith("x-session-")}


def test_parallel_writes(env):
    s, _ = start(env, workers=2)
    got = parallel_writes(s.port)
    want = {"X-Session-K%d" % i: "v%d" % i for i in range(20)}
    want["X-Session-Base"] = "0"
    assert got == want, "lost writes: %r" % sorted(set(want) - set(got))


# ---------------------------------------------------------------- HEAD


def test_head_answer_has_no_body(env):
    """RFC 9110 §9.3.2: no content in a response to HEAD, sesame's own
    answers included; a body would be taken for the start of the next
    response on the keep-alive connection."""
    s, up = start(env)
    c = Client(s.port)
    for headers in ([HTML], [JSON]):
        c.request("HEAD", "/req/x", "app.test", headers)
        r = c.read_response("HEAD")
        assert r.status in (302, 401), r
        r = c.get("/pub/echo")  # the next response on the same connection
        assert r.status == 200, r

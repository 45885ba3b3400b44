"""Attacks on routing (issue 10 §3, §4): a path or host spelled so that it
matches a weaker route while the application behind reads it as the
protected one, and an open redirect through return_to.

Routes: "/" (auth = "session", app), "/admin/" (required, groups
["admin"], its own upstream), "/public/" (public, app). Every attack
spelling of /admin/ must get the login redirect, 401 or 403 and never
reach an upstream; an admin gets the normalised path forwarded, so the
application serves exactly what sesame authorised.
"""

import urllib.parse

from harness import Client, assert_upstream_untouched
from test_session import HTML, JSON, Browser, ctl, session_extra

ROUTES = [
    {"path": "/", "upstream": "app", "auth": "session", "accept_control": True},
    {"path": "/admin/", "upstream": "admin", "auth": "required", "groups": ["admin"]},
    {"path": "/public/", "upstream": "app", "auth": "public"},
]

# Spellings of /admin/echo, each with the target the upstream must receive.
# upstream.py answers /echo for any path whose last segment is "echo".
ADMIN_SPELLINGS = [
    ("/%61dmin/echo", "/admin/echo"),
    ("/%41dmin/../admin/echo", "/admin/echo"),
    ("/x/../admin/echo", "/admin/echo"),
    ("/public/../admin/echo", "/admin/echo"),
    ("//admin/echo", "/admin/echo"),
    ("/admin//echo", "/admin/echo"),
    ("/./admin/echo", "/admin/echo"),
    ("/admin;jsessionid=1/echo", "/admin;jsessionid=1/echo"),
    ("/admin;x/echo", "/admin;x/echo"),
    ("/public/%2e%2e/admin/echo", "/admin/echo"),
    ("/public/%2E%2E/admin/echo", "/admin/echo"),
    ("/public/.%2e/admin/echo", "/admin/echo"),
    ("/public/%2e./admin/echo", "/admin/echo"),
    ("/%2e/admin/echo", "/admin/echo"),
    ("/public/..;/admin/echo", "/admin/echo"),
    ("/public/..;x=1/admin/echo", "/admin/echo"),
    ("/;x/admin/echo", "/admin/echo"),
    ("/public/;x/../admin/echo", "/admin/echo"),
    ("/%2561dmin/../admin/echo", "/admin/echo"),
]


def start(env, routes=ROUTES, server_extra=""):
    """sesame with the routes above, a memory-store session and its
    upstreams "app" and "admin"; `server_extra` goes into [server]."""
    ups = env.upstream_set("app", "admin")
    s = env.sesame(upstreams={"app": [ups["app"].addr], "admin": [ups["admin"].addr]},
                   routes=routes, extra=session_extra(), start=False)
    if server_extra:
        s.config_text = s.config_text.replace("[server]\n", "[server]\n" + server_extra + "\n", 1)
        env.write(s.config_path.rsplit("/", 1)[1], s.config_text)
    s.start()
    return s, ups["app"], ups["admin"]


def login_location(target):
    return "/login?return_to=" + urllib.parse.quote(target, safe="/")


def logged_in(port, user, groups=None):
    b = Browser(port)
    b.login(user, groups)
    return b


def test_route_bypass_by_path_spelling_gets_the_login_redirect(env):
    s, app, admin = start(env)
    c = Client(s.port)
    for target, normal in ADMIN_SPELLINGS:
        r = c.get(target, headers=[HTML])
        assert r.status == 302, (target, r)
        # The login page is told the path sesame routed, never the spelling.
        assert r.header("Location") == login_location(normal), (target, r.header("Location"))
        r = c.get(target, headers=[JSON])
        assert r.status == 401, (target, r)
    assert_upstream_untouched(admin)
    assert_upstream_untouched(app)


def test_route_bypass_by_path_spelling_without_the_group_gets_403(env):
    s, app, admin = start(env)
    b = logged_in(s.port, "bob", "users")
    before = app.stats()["requests"]
    for target, _ in ADMIN_SPELLINGS:
        r = b.get(target, headers=[JSON])
        assert r.status == 403, (target, r)
    assert_upstream_untouched(admin)
    assert app.stats()["requests"] == before, "an admin spelling reached the app upstream"


def test_route_bypass_upstream_receives_the_normalised_path(env):
    s, app, admin = start(env)
    b = logged_in(s.port, "alice", "admin")
    for target, normal in ADMIN_SPELLINGS:
        r = b.get(target)
        assert r.status == 200, (target, r)
        e = r.json()
        assert e["server"] == "admin", (target, e["server"])
        assert e["target"] == normal, (target, e["target"])
    # The query is the application's: forwarded byte for byte.
    r = b.get("/x/../admin/echo?a=%2e%2e/&b=//c&c=%2F&d=%61")
    assert r.json()["target"] == "/admin/echo?a=%2e%2e/&b=//c&c=%2F&d=%61", r.json()["target"]
    # Other escapes are upper-cased, unreserved ones decoded, on every route.
    r = b.get("/public/caf%c3%a9/%7euser/echo")
    assert r.json()["target"] == "/public/caf%C3%A9/~user/echo", r.json()["target"]
    assert app.stats()["bad_framing"] == 0 and admin.stats()["bad_framing"] == 0


def test_jsessionid_path_parameter_forwarded_intact(env):
    s, app, admin = start(env)
    b = logged_in(s.port, "alice", "admin")
    r = b.get("/admin;jsessionid=ABC123/echo")
    assert r.status == 200 and r.json()["target"] == "/admin;jsessionid=ABC123/echo", r
    # Read with or without its parameters, this path is under "/" or
    # "/public/": the stricter "/" (session) route serves it, intact.
    c = Client(s.port)
    r = c.get("/public;jsessionid=XYZ/echo")
    assert r.status == 200 and r.json()["target"] == "/public;jsessionid=XYZ/echo", r
    assert r.all("Set-Cookie"), "not routed by the session route: %r" % r.headers
    r = c.get("/public/echo;jsessionid=XYZ")
    assert r.status == 404 and not r.all("Set-Cookie"), r  # public route, upstream's 404
    r = c.get("/app/;jsessionid=XYZ")
    assert r.status == 404 and r.header("X-Server") == "app", r  # upstream's own 404
    assert app.stats(log=True)["log"][-1]["target"] == "/app/;jsessionid=XYZ"


def test_route_bypass_by_path_parameters_on_a_public_prefix(env):
    """"/public;x/secret" is under "/public/" to Tomcat but not to most other
    frameworks: the stricter of the two readings decides."""
    ups = env.upstream_set("app", "admin")
    routes = [
        {"path": "/", "upstream": "app", "auth": "required"},
        {"path": "/public/", "upstream": "app", "auth": "public"},
        {"path": "/admin/", "upstream": "admin", "auth": "required", "groups": ["admin"]},
        {"path": "/ops/", "upstream": "admin", "auth": "required", "groups": ["ops"]},
        {"path": "/login/", "upstream": "app", "auth": "session", "accept_control": True},
    ]
    s = env.sesame(upstreams={"app": [ups["app"].addr], "admin": [ups["admin"].addr]},
                   routes=routes, extra=session_extra())
    c = Client(s.port)
    for target in ("/public;x/echo", "/public;jsessionid=1/secret/echo"):
        r = c.get(target, headers=[JSON])
        assert r.status == 401, (target, r)
    r = c.get("/public/echo;jsessionid=1")
    assert r.status == 404 and r.header("X-Server") == "app", r  # public: forwarded
    assert_upstream_untouched(ups["admin"])
    # "/admin/" asks more than "/": it wins, for either reading.
    for target in ("/admin;x/echo", "/ops;x/echo"):
        r = Client(s.port).get(target, headers=[JSON])
        assert r.status == 401, (target, r)
    b = Browser(s.port)
    b.login("root", "ops", path="/login/control")
    assert b.get("/admin;x/echo").status == 403
    # Two required routes, neither policy covering the other: refused.
    s2 = env.sesame(upstreams={"app": [ups["app"].addr], "admin": [ups["admin"].addr]},
                    routes=[{"path": "/", "upstream": "app", "auth": "required", "groups": ["ops"]},
                            {"path": "/admin/", "upstream": "admin", "auth": "required",
                             "groups": ["admin"]}],
                    extra=session_extra())
    r = Client(s2.port).get("/admin;x/echo", headers=[JSON])
    assert r.status == 400, r
    assert_upstream_untouched(ups["admin"])


def test_route_bypass_by_escaped_slash_rejected_by_default(env):
    s, app, admin = start(env)
    b = logged_in(s.port, "alice", "admin")
    for target in ("/admin%2Fecho", "/admin%2fecho", "/public/..%2Fadmin/echo",
                   "/public/..%5Cadmin/echo", "/public/..%5cadmin/echo", "/x%2F..%2F..%2Fadmin/echo"):
        c = Client(s.port)
        r = c.get(target)
        assert r.status == 400, (target, r)
        r = b.get(target)
        assert r.status == 400, (target, r)
    assert_upstream_untouched(admin)


def test_escaped_slash_kept_when_configured(env):
    s, app, admin = start(env, server_extra='escaped_slashes = "keep"')
    c = Client(s.port)
    # Kept as one segment's data (upper-cased), routed where that segment is.
    r = c.get("/public/..%2fadmin/echo")
    assert r.status == 200 and r.json()["server"] == "app", r
    assert r.json()["target"] == "/public/..%2Fadmin/echo", r.json()["target"]
    r = c.get("/public/a%5cb/echo")
    assert r.json()["target"] == "/public/a%5Cb/echo", r.json()["target"]
    # Still refused under either setting: a raw backslash, dots above the root.
    assert c.get("/public/..\\admin/echo").status == 400
    assert_upstream_untouched(admin)


def test_route_bypass_by_backslash_bad_or_overlong_escapes_refused(env):
    s, app, admin = start(env)
    for target in ("/\\admin/echo", "/public/..\\admin/echo", "/../admin/echo",
                   "/public/../../admin/echo", "/%2e%2e/admin/echo", "/admin%zz/echo", "/admin%4",
                   "/admin%00/echo", "/admin%0d%0aX-Injected:%201/echo", "/admin%7f/echo",
                   "/public/%c0%ae%c0%ae/admin/echo", "/public/%e0%80%ae%e0%80%ae/admin/echo"):
        c = Client(s.port)
        r = c.get(target, headers=[HTML])
        assert r.status == 400, (target, r)
        assert "close" in r.connection_tokens(), (target, r.headers)
    assert_upstream_untouched(admin)
    assert_upstream_untouched(app)


def test_route_bypass_by_host_spelling(env):
    ups = env.upstream_set("app", "admin")
    routes = [
        {"path": "/", "upstream": "app", "auth": "public"},
        {"host": "admin.test", "path": "/", "upstream": "admin", "auth": "required",
         "groups": ["admin"]},
    ]
    s = env.sesame(upstreams={"app": [ups["app"].addr], "admin": [ups["admin"].addr]},
                   routes=routes, extra=session_extra())
    for host in ("admin.test", "Admin.Test", "ADMIN.TEST.", "admin.test.", "admin.test:443",
                 "admin.test.:443", "Admin.Test.:%d" % s.port):
        c = Client(s.port)
        r = c.get("/echo", host=host, headers=[JSON])
        assert r.status == 401, (host, r)
    # Absolute form: the target's authority is the host.
    c = Client(s.port)
    c.send(b"GET http://Admin.Test.:80/echo HTTP/1.1\r\nHost: other.test\r\nAccept: */*\r\n\r\n")
    assert c.read_response().status == 401
    # No DNS name has an empty label: refused rather than routed to the catch-all.
    for host in ("admin..test", ".admin.test", "admin.test..", "admin.test..:443"):
        c = Client(s.port)
        r = c.get("/echo", host=host)
        assert r.status == 400, (host, r)
    assert_upstream_untouched(ups["admin"])
    assert_upstream_untouched(ups["app"])
    # The catch-all still serves other names.
    assert Client(s.port).get("/echo", host="www.test").status == 200


def test_open_redirect_through_return_to(env):
    up = env.upstream()
    s = env.sesame(upstreams={"app": [up.addr]},
                   routes=[{"path": "/", "upstream": "app", "auth": "required"}],
                   extra=session_extra())
    c = Client(s.port)
    # Routed as /evil.example/x: the login page gets a same-origin path.
    r = c.get("//evil.example/x", headers=[HTML])
    assert r.status == 302, r
    assert r.header("Location") == "/login?return_to=/evil.example/x", r.header("Location")
    r = c.get("///evil.example/x?y=//z", headers=[HTML])
    assert r.header("Location") == login_location("/evil.example/x?y=//z"), r.headers
    r = c.get("/./%2e%2e/..//evil.example", headers=[HTML])
    assert r.status == 400, r  # above the root
    # Spellings a browser reads as "//": refused before any redirect.
    for target in ("/\\evil.example/x", "/%2F%2Fevil.example/x", "/%2f/evil.example",
                   "/%5Cevil.example", "/%5c%5cevil.example"):
        c = Client(s.port)
        r = c.get(target, headers=[HTML])
        assert r.status == 400, (target, r)
        assert r.header("Location") is None, (target, r.headers)
    assert_upstream_untouched(up)


def test_redirect_https_location_uses_the_normalised_path(env):
    up = env.upstream()
    s = env.sesame(up, redirect=True)
    c = Client(s.redirect_port)
    r = c.get("/x/..//admin/%61?q=/../", host="app.test")
    assert r.status == 308, r
    assert r.header("Location") == "https://app.test/admin/a?q=/../", r.headers
    r = c.get("//evil.example/x", host="app.test")
    assert r.header("Location") == "https://app.test/evil.example/x", r.headers
    # A server-wide OPTIONS has no path to keep: the redirect goes to "/".
    c.request("OPTIONS", "*", host="app.test")
    r = c.read_response()
    assert r.status == 308 and r.header("Location") == "https://app.test/", r.headers
    assert Client(s.redirect_port).get("/\\evil.example", host="app.test").status == 400
    assert_upstream_untouched(up)


def test_login_via_normalised_control_path(env):
    """The control headers of a normalised path still work: a session route
    reached through an odd spelling behaves as the plain one."""
    s, app, admin = start(env)
    b = Browser(s.port)
    r = b.get(ctl(("X-Sesame-Login", "carol"), ("X-Sesame-Groups", "admin"),
                  path="/x/..//%63ontrol"))
    assert r.status == 200 and r.json()["target"].startswith("/control?"), r
    r = b.get("/%61dmin/echo")
    assert r.status == 200 and r.json()["server"] == "admin", r

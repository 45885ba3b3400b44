"""Holes a hostile review of the issue 10 hardening found, each a regression
test named after the attack: trailing-slash route skips, cross-site
WebSocket hijacking, forwarding fields through trusted balancers, identity
spellings gateways fold, forwarding neighbours, unbounded 1xx, PROXY headers
that name no client, quadratic header filtering.
"""

import base64
import os
import socket

from harness import Client, assert_upstream_untouched
from test_attacks_paths import start as start_paths
from test_loadbalancer import CLIENT, TRUSTED, ask, haproxy
from test_session import HTML, JSON, Browser, echoed, session_extra

# The shape of sesame.toml(5)'s own EXAMPLES: one application, a session
# catch-all and a required admin area written with a trailing slash.
ONE_APP_ROUTES = [
    {"path": "/", "upstream": "app", "auth": "session", "accept_control": True},
    {"path": "/admin/", "upstream": "app", "auth": "required", "groups": ["admin"]},
]


def test_route_bypass_by_dropping_the_trailing_slash(env):
    """GET /admin is not under the route "/admin/" and goes to "/" (session):
    an application that mounts its admin area at /admin (Express app.use,
    Rails/Django index without APPEND_SLASH redirect, Spring trailing-slash
    matching) serves the admin index to an anonymous client. nginx answers
    301 to /admin/ for exactly this case (proxy_pass in "location /admin/")."""
    up = env.upstream()
    s = env.sesame(upstreams={"app": [up.addr]}, routes=ONE_APP_ROUTES, extra=session_extra())
    for target in ("/admin", "/admin?x=1", "/admin;jsessionid=1", "/%61dmin", "/x/../admin"):
        r = Client(s.port).get(target, headers=[JSON])
        assert r.status in (301, 302, 308, 401, 403, 404), \
            "%s reached the application under the catch-all's policy: %r" % (target, r)
    assert_upstream_untouched(up)


def test_cross_site_websocket_hijacking(env):
    """Issue 10 §5: a WebSocket handshake is a GET, so the CSRF guard skips
    it; a page on evil.example opens a socket with the victim's cookie
    (SameSite=Lax does not stop a same-site subdomain, and None/legacy
    cookies go everywhere). Cross-site Origin on an upgrade to a non-public
    route must be 403 and never reach the upstream."""
    up = env.upstream()
    s = env.sesame(upstreams={"app": [up.addr]}, routes=ONE_APP_ROUTES, extra=session_extra())
    b = Browser(s.port)
    b.login("alice", "admin")
    assert b.cookie, "no session cookie after login"
    key = base64.b64encode(os.urandom(16))
    c = Client(s.port)
    c.send(b"GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Origin: http://evil.example\r\nSec-Fetch-Site: cross-site\r\n"
           b"Cookie: sid=%s\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
           % (b.cookie.encode(), key))
    r = c.read_head()
    assert r.status == 403, "cross-site WebSocket handshake was tunnelled: %r" % r


def lb_with_forwardfor(env, s):
    """HAProxy as the sesame.8 SECURITY text asks for: it sets
    X-Forwarded-For (option forwardfor) and X-Forwarded-Proto itself."""
    return haproxy(env, ["mode http", "bind 127.0.0.1:PORT", "option forwardfor",
                         "http-request set-header X-Forwarded-Proto http"],
                   ["mode http", "server s1 127.0.0.1:%d" % s.port])


def test_forwarded_host_spoofed_through_trusted_balancer(env):
    """sesame.8 says an application can believe the forwarding fields when
    trusted_proxies lists only balancers that set X-Forwarded-For and
    X-Forwarded-Proto themselves. X-Forwarded-Host and Forwarded are passed
    on verbatim from a trusted peer, but such a balancer passes the client's
    own values through: host-header poisoning (password-reset links, absolute
    redirects built from X-Forwarded-Host) by any client on the Internet."""
    up = env.upstream()
    s = env.sesame(up, server=TRUSTED)
    lb = lb_with_forwardfor(env, s)
    r = ask(lb, headers=[("X-Forwarded-Host", "evil.test"),
                         ("Forwarded", "for=203.0.113.66;proto=https;host=evil.test")])
    assert r.status == 200, r
    assert echoed(r, "X-Real-IP") == [CLIENT], r.json()["headers"]
    assert echoed(r, "X-Forwarded-Host") == ["app.test"], r.json()["headers"]
    assert echoed(r, "Forwarded") == [], r.json()["headers"]


def test_client_address_spoofed_as_the_balancer_through_connection(env):
    """A client behind a trusted balancer names X-Forwarded-For in
    Connection. If the balancer passes the option on, sesame drops the
    balancer's X-Forwarded-For before resolving the client, and the
    application's X-Real-IP becomes the balancer's own internal address (the
    address applications most often allow-list)."""
    up = env.upstream()
    s = env.sesame(up, server=TRUSTED)
    lb = lb_with_forwardfor(env, s)
    r = ask(lb, headers=[("Connection", "keep-alive, X-Forwarded-For")])
    assert r.status == 200, r
    assert echoed(r, "X-Real-IP") == [CLIENT], r.json()["headers"]


def test_client_address_spoofed_through_proxy_unknown(env):
    """A PROXY v1 UNKNOWN (or v2 LOCAL / UNSPEC / AF_UNIX) header keeps the
    balancer's own address as the peer. The balancer is trusted, so the
    X-Forwarded-For that the *client* wrote (a TCP-mode balancer adds none)
    decides X-Real-IP and the access log."""
    up = env.upstream()
    s = env.sesame(up, server=TRUSTED, listen={"proxy_protocol": True})
    c = Client(s.port, source="127.0.0.1")
    c.send(b"PROXY UNKNOWN\r\nGET /echo HTTP/1.1\r\nHost: app.test\r\n"
           b"X-Forwarded-For: 203.0.113.66\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    assert echoed(r, "X-Real-IP") != ["203.0.113.66"], r.json()["headers"]


def cgi_name(name):
    """The variable lighttpd (mod_cgi, mod_fastcgi, mod_scgi: every
    non-alphanumeric byte becomes '_', http_cgi_encode_varname) and Apache
    2.2 (http2env) give a request field."""
    return "HTTP_" + "".join(c.upper() if c.isalnum() else "_" for c in name)


def test_spoofed_identity_in_cgi_folded_spelling(env):
    """headerNameMatches folds only case, '_' and '.'. lighttpd and Apache 2.2
    turn every non-alphanumeric byte of a field name into '_', so
    "X+Remote+User" (any tchar: ! # $ % & ' * + ^ ` | ~) is
    HTTP_X_REMOTE_USER to a PHP or CGI application behind them: an anonymous
    client logs itself in as anyone, on every route. The same holds for the
    data prefix and the forwarding fields (X+Real+IP)."""
    up = env.upstream()
    s = env.sesame(upstreams={"app": [up.addr]}, routes=ONE_APP_ROUTES, extra=session_extra())
    forged = [("X+Remote+User", "root"), ("X~Remote~Groups", "admin"),
              ("X!Session!Role", "admin"), ("X*Sesame*Login", "root"),
              ("X|Real|IP", "10.0.0.1"), ("X'Forwarded'For", "10.0.0.1"),
              ("X^Forwarded^Proto", "https"), ("X`Forwarded`Host", "evil.test")]
    r = Client(s.port).get("/echo", headers=forged)
    assert r.status == 200, r
    protected = {cgi_name(n) for n in ("X-Remote-User", "X-Remote-Groups", "X-Real-IP",
                                       "X-Forwarded-For", "X-Forwarded-Proto",
                                       "X-Forwarded-Host")}
    seen = [(n, v) for n, v in r.json()["headers"]
            if n not in ("X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host")
            and (cgi_name(n) in protected or cgi_name(n).startswith("HTTP_X_SESSION_")
                 or cgi_name(n).startswith("HTTP_X_SESAME_"))]
    assert not seen, "reached the application as identity/forwarding variables: %r" % seen


def test_quadratic_header_filtering_dos(env):
    """stripSpoofable and removeSpellings collect the matching names, then
    remove each by a scan of the whole list (HeaderList::remove +
    erase_if): quadratic in the number of fields. With the documented maximum
    header_count (10000) one request of 10000 distinct X-Session-* fields
    (about 200 KB, within header_bytes = 1 MiB) costs a worker this long; a
    handful of clients pin every worker."""
    import time
    up = env.upstream()
    s = env.sesame(upstreams={"app": [up.addr]}, routes=ONE_APP_ROUTES,
                   extra=session_extra() + "\n[limits]\nheader_count = 10000\n"
                   "header_bytes = 1048576\n")
    fields = [("X-Session-%05d" % i, "") for i in range(9990)]
    c = Client(s.port)
    start = time.monotonic()
    r = c.get("/echo", headers=fields)
    elapsed = time.monotonic() - start
    assert r.status == 200, r
    plain = [("X-Other-%05d" % i, "") for i in range(9990)]
    c = Client(s.port)
    start = time.monotonic()
    r = c.get("/echo", headers=plain)
    baseline = time.monotonic() - start
    assert elapsed < 5 * baseline + 0.05, \
        "filtering 9990 X-Session-* fields took %.3f s (%.3f s for other fields)" % (
            elapsed, baseline)


def test_unbounded_memory_from_upstream_interim_responses(env):
    """A hostile upstream answers with an endless stream of 1xx interim
    responses (102 Processing) to a client that does not read. Forwarded
    without a watermark (as they were), they grew sesame's memory with what
    the upstream sent (405 MiB here) until timeouts.client_send fired."""
    import threading
    import time
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    stop = threading.Event()

    def flood():
        conn, _ = srv.accept()
        conn.recv(65536)
        chunk = b"HTTP/1.1 102 Processing\r\n\r\n" * 4096
        sent = 0
        conn.settimeout(1)
        while not stop.is_set() and sent < (400 << 20):
            try:
                sent += conn.send(chunk)
            except (socket.timeout, OSError):
                break
        conn.close()

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    env.on_cleanup(lambda: (stop.set(), srv.close()))
    s = env.sesame(upstreams={"app": ["127.0.0.1:%d" % srv.getsockname()[1]]}, start=False)
    # Under ASan, freed memory waits in a quarantine (256 MiB by default)
    # that would count as growth: keep it small for this process.
    asan = os.environ.get("ASAN_OPTIONS", "")
    s.start(env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=8"})
    rss_before = s.proc_status("VmRSS")
    c = Client(s.port)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.send(b"GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n")
    time.sleep(4)
    rss_after = s.proc_status("VmRSS")
    stop.set()
    grown = (rss_after - rss_before) // 1024
    assert grown < 64, "sesame grew by %d MiB buffering interim responses" % grown


# Fields of the X-Forwarded-* family that sesame does not own and passes on
# from any client, with who believes them from a trusted proxy (sesame):
FORWARDING_NEIGHBOURS = [
    ("X-Forwarded-Port", "1337"),            # Rack, Symfony, Spring, Tomcat RemoteIpValve
    ("X-Forwarded-Prefix", "/evil"),         # Spring ForwardedHeaderFilter, Symfony
    ("X-Forwarded-Ssl", "on"),               # Rack (before X-Forwarded-Proto), Spring
    ("X-Forwarded-Scheme", "https"),         # Rack 2 (before X-Forwarded-Proto)
    ("X-Url-Scheme", "https"),               # Rack
    ("Front-End-Https", "on"),               # IIS/OWA convention
    ("X-Forwarded-Server", "evil.test"),
    ("X-Host", "evil.test"),
    ("Client-IP", "10.0.0.1"),               # Rails RemoteIp (HTTP_CLIENT_IP)
    ("X-Client-IP", "10.0.0.1"),
    ("True-Client-IP", "10.0.0.1"),          # Akamai/Cloudflare convention
    ("X-Cluster-Client-IP", "10.0.0.1"),
]


def test_forwarding_neighbours_from_untrusted_client_passed_on(env):
    """Issue 10 §7 names five fields; their neighbours are just as believed by
    frameworks configured to trust sesame as their proxy (Rack's scheme
    takes X-Forwarded-Ssl: on before X-Forwarded-Proto, Spring and Symfony
    build URLs from X-Forwarded-Port and -Prefix). From an untrusted peer
    none of them may reach the application."""
    up = env.upstream()
    s = env.sesame(up)
    r = Client(s.port).get("/echo", headers=FORWARDING_NEIGHBOURS)
    assert r.status == 200, r
    passed = [(n, v) for n, v in r.json()["headers"]
              if n.lower() in {k.lower() for k, _ in FORWARDING_NEIGHBOURS}]
    assert not passed, "client-written forwarding fields reached the application: %r" % passed

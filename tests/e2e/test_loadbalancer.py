"""Running behind a load balancer (issue 10 §7): forwarding headers are
sesame's own unless the peer is in server.trusted_proxies; a trusted peer's
X-Forwarded-For / X-Forwarded-Proto name the client and its scheme; PROXY
protocol v1/v2 on a listener. A real HAProxy (Debian package haproxy) sits
in front of sesame; the client connects from 127.0.0.2 so that it is not the
balancer (127.0.0.1, the only trusted address).
"""

import os
import shutil
import socket
import struct
import subprocess
import time

from harness import Client, Skip, assert_closed, free_port, wait_listening
from test_session import echoed, session_extra

CLIENT = "127.0.0.2"
TRUSTED = {"trusted_proxies": ["127.0.0.1"]}
FORGED = [
    ("X-Forwarded-For", "203.0.113.66"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "evil.test"),
    ("Forwarded", "for=203.0.113.66;proto=https;host=evil.test"),
    ("X-Real-IP", "203.0.113.66"),
    # CGI/WSGI fold these into the same variables as the real fields.
    ("X_Forwarded_For", "203.0.113.77"),
    ("X_Real_IP", "203.0.113.77"),
]


def haproxy(env, frontend, backend):
    """HAProxy in the foreground (-db) with short timeouts; `frontend` and
    `backend` are the sections' lines. Returns the frontend's port."""
    binary = shutil.which("haproxy")
    if binary is None:
        raise Skip("haproxy is not installed (Debian package haproxy)")
    port = free_port()
    config = "\n".join([
        "global",
        "    maxconn 64",
        "defaults",
        "    timeout connect 2s",
        "    timeout client 5s",
        "    timeout server 5s",
        "frontend fe",
        *("    " + line.replace("PORT", str(port)) for line in frontend),
        "    default_backend be",
        "backend be",
        *("    " + line for line in backend),
        "",
    ])
    path = env.write("haproxy-%d.cfg" % port, config)
    log = open(path + ".log", "wb")
    proc = subprocess.Popen([binary, "-f", path, "-db"], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)

    def stop():
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()

    env.on_cleanup(stop)
    if not wait_listening(port, proc):
        with open(path + ".log", "rb") as f:
            raise AssertionError("haproxy did not listen on %d: %s" % (port, f.read()[-2000:]))
    return port


def ask(port, target="/echo", method="GET", headers=(), tls=False, source=CLIENT,
        server_hostname="app.test"):
    c = Client(port, tls=tls, source=source, server_hostname=server_hostname)
    try:
        c.request(method, target, "app.test", headers)
        return c.read_response(method)
    finally:
        c.close()


def pem_bundle(env):
    """HAProxy's crt: certificate and key in one file."""
    cert, key = env.certs["app"]
    path = os.path.join(env.workdir, "app-bundle.pem")
    with open(path, "wb") as out:
        for part in (cert, key):
            with open(part, "rb") as f:
                out.write(f.read())
    return path


def assert_own_forwarding(r, client, proto="http", host="app.test"):
    assert r.status == 200, r
    assert echoed(r, "X-Forwarded-For") == [client], r.json()["headers"]
    assert echoed(r, "X-Real-IP") == [client], r.json()["headers"]
    assert echoed(r, "X-Forwarded-Proto") == [proto], r.json()["headers"]
    assert echoed(r, "X-Forwarded-Host") == [host], r.json()["headers"]
    assert echoed(r, "Forwarded") == [], r.json()["headers"]
    assert_no_underscored(r)


def assert_no_underscored(r):
    names = [n for n, _ in r.json()["headers"]]
    assert not any("_" in n for n in names), names


def test_forged_forwarding_headers_from_untrusted_client_replaced(env):
    up = env.upstream()
    for server in ({}, {"trusted_proxies": ["10.0.0.0/8", "::1"]}):
        s = env.sesame(up, server=server)
        r = ask(s.port, headers=FORGED, source="127.0.0.1")
        assert_own_forwarding(r, "127.0.0.1")


def test_forged_x_forwarded_for_through_haproxy_not_believed(env):
    up = env.upstream()
    access = os.path.join(env.workdir, "access.log")
    s = env.sesame(up, server=TRUSTED, extra='\n[log]\naccess = "%s"\n' % access)
    lb = haproxy(env, ["mode http", "bind 127.0.0.1:PORT", "option forwardfor"],
                 ["mode http", "server s1 127.0.0.1:%d" % s.port])
    # The client's own value precedes HAProxy's: the right-most untrusted
    # address is the client HAProxy saw.
    r = ask(lb, headers=FORGED)
    assert r.status == 200, r
    assert echoed(r, "X-Real-IP") == [CLIENT], r.json()["headers"]
    chain = ", ".join(echoed(r, "X-Forwarded-For"))
    assert chain == "203.0.113.66, %s, 127.0.0.1" % CLIENT, r.json()["headers"]
    assert_no_underscored(r)
    # Direct to sesame from an untrusted address: nothing the client said stands.
    r = ask(s.port, headers=FORGED)
    assert_own_forwarding(r, CLIENT)
    # The access log names the client, not the balancer or the forgery.
    deadline = time.monotonic() + 3
    lines = []
    while len(lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        with open(access) as f:
            lines = f.read().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [CLIENT, CLIENT], lines


def test_proxy_v2_from_haproxy_names_the_client(env):
    up = env.upstream()
    s = env.sesame(up, tls=True, server=TRUSTED, listen={"proxy_protocol": True},
                   certs=("app",))
    plain = haproxy(env, ["mode tcp", "bind 127.0.0.1:PORT"],
                    ["mode tcp", "server s1 127.0.0.1:%d send-proxy-v2" % s.port])
    r = ask(plain, headers=FORGED)
    # HAProxy in TCP mode adds no header: the client is what PROXY named,
    # and it is not trusted, so its own forwarding headers are replaced.
    assert_own_forwarding(r, CLIENT)
    # The PROXY header comes before the TLS ClientHello.
    tls = haproxy(env, ["mode tcp", "bind 127.0.0.1:PORT"],
                  ["mode tcp", "server s1 127.0.0.1:%d send-proxy-v2" % s.tls_port])
    r = ask(tls, tls=True)
    assert_own_forwarding(r, CLIENT, proto="https")
    # Keep-alive over one PROXY connection: the header is read once.
    c = Client(plain, source=CLIENT)
    for _ in range(3):
        r = c.get("/echo")
        assert echoed(r, "X-Real-IP") == [CLIENT], r.json()["headers"]
    c.close()


def send_raw(port, data, source):
    c = Client(port, source=source)
    c.send(data)
    return c


def test_proxy_v1_and_v2_headers_direct(env):
    up = env.upstream()
    s = env.sesame(up, server=TRUSTED, listen={"proxy_protocol": True})
    request = b"GET /echo HTTP/1.1\r\nHost: app.test\r\n\r\n"
    c = send_raw(s.port, b"PROXY TCP4 198.51.100.7 127.0.0.1 40000 80\r\n" + request, "127.0.0.1")
    r = c.read_response()
    c.close()
    assert_own_forwarding(r, "198.51.100.7")
    v2 = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x21" + struct.pack(">H", 36) +
          socket.inet_pton(socket.AF_INET6, "2001:db8::9") + bytes(16) + struct.pack(">HH", 4711, 80))
    c = send_raw(s.port, v2 + request, "127.0.0.1")
    r = c.read_response()
    c.close()
    assert_own_forwarding(r, "2001:db8::9")
    # LOCAL (a balancer's health check): the peer itself.
    c = send_raw(s.port, b"\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00" + request, "127.0.0.1")
    r = c.read_response()
    c.close()
    assert_own_forwarding(r, "127.0.0.1")


def test_proxy_protocol_refuses_untrusted_missing_and_malformed_headers(env):
    up = env.upstream()
    s = env.sesame(up, server=TRUSTED, listen={"proxy_protocol": True},
                   timeouts={"header": "1s"})
    request = b"GET /echo HTTP/1.1\r\nHost: app.test\r\n\r\n"
    cases = [
        # An untrusted peer cannot name a client, even with a valid header.
        (b"PROXY TCP4 198.51.100.7 127.0.0.1 40000 80\r\n" + request, CLIENT),
        (request, "127.0.0.1"),
        (b"PROXY TCP4 198.51.100.7 127.0.0.1 40000\r\n" + request, "127.0.0.1"),
        (b"PROXY TCP4 not-an-address 127.0.0.1 1 80\r\n" + request, "127.0.0.1"),
        (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff", "127.0.0.1"),
        # Half a header, then silence: closed at timeouts.header.
        (b"PROXY TCP4 198.51.", "127.0.0.1"),
    ]
    for data, source in cases:
        c = send_raw(s.port, data, source)
        assert_closed(c, seconds=3.0, what="connection after %r from %s" % (data[:40], source))
        assert c.buf == bytearray(), "answered %r" % bytes(c.buf)
        c.close()
    assert up.stats()["requests"] == 0, up.stats()
    assert s.alive()
    # Logged, but a flood does not flood the log: one warning a minute. The
    # line may follow the close by a moment on a loaded machine.
    deadline = time.monotonic() + 3.0
    log = s.stderr_tail(200)
    while "connection refused on a proxy_protocol listener" not in log and time.monotonic() < deadline:
        time.sleep(0.05)
        log = s.stderr_tail(200)
    assert log.count("connection refused on a proxy_protocol listener") == 1, log
    # Which refusal gets the warning depends on what came first (the
    # harness's own readiness probe also connects without a header); each
    # case above was refused (closed, nothing sent upstream).


def test_tls_terminating_haproxy_same_origin_post(env):
    up = env.upstream()
    routes = [{"path": "/", "upstream": "app", "auth": "session"}]
    extra = session_extra() + '\n[tls]\nhsts = "1d"\n'
    s = env.sesame(upstreams={"app": [up.addr]}, routes=routes, server=TRUSTED, extra=extra)
    lb = haproxy(env, ["mode http", "bind 127.0.0.1:PORT ssl crt %s" % pem_bundle(env),
                       "option forwardfor", "http-request set-header X-Forwarded-Proto https"],
                 ["mode http", "server s1 127.0.0.1:%d" % s.port])
    origin = [("Origin", "https://app.test")]
    # A browser's same-origin POST with Origin and no Sec-Fetch-Site: the
    # request's own origin is https://app.test, as the balancer says.
    r = ask(lb, "/echo", "POST", origin, tls=True)
    assert r.status == 200, r
    assert echoed(r, "X-Forwarded-Proto") == ["https"], r.json()["headers"]
    assert echoed(r, "X-Real-IP") == [CLIENT], r.json()["headers"]
    assert r.header("Strict-Transport-Security") == "max-age=86400", r.headers
    assert any("Secure" in v for v in r.all("Set-Cookie")), r.headers
    # The same request straight to sesame's plain listener is cross-origin.
    r = ask(s.port, "/echo", "POST", origin + [("X-Forwarded-Proto", "https")])
    assert r.status == 403, r
    assert r.header("Strict-Transport-Security") is None, r.headers

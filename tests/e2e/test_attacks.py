"""Attacks on the request path (issue 10 §1, §2, §5): request smuggling and
identity stripping through Connection options, spoofed identity spellings,
routing headers frameworks believe, and protocol switches that would tunnel
past the session gate. Each test is named after the attack it stops."""

from harness import Client, timeout
from test_session import Browser, ctl, echoed, start

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def test_smuggling_via_connection_content_length(env):
    up = env.upstream()
    s = env.sesame(up)
    inner = b"GET /echo?smuggled=1 HTTP/1.1\r\nHost: app.test\r\n\r\n"
    c = Client(s.port)
    c.request("POST", "/echo", headers=[("Connection", "close, Content-Length"),
                                        ("Content-Length", str(len(inner)))], body=inner)
    r = c.read_response()
    assert r.status == 200, r
    assert r.json()["body_length"] == len(inner), r.json()
    st = up.stats(log=True)
    assert st["requests"] == 1, "the body became a second request: %r" % st["log"]
    assert "smuggled" not in st["log"][0]["target"]
    assert st["bad_framing"] == 0


def test_smuggling_via_connection_transfer_encoding_and_host(env):
    up = env.upstream()
    s = env.sesame(up)
    inner = b"GET /echo?smuggled=1 HTTP/1.1\r\nHost: app.test\r\n\r\n"
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
    c = Client(s.port)
    c.request("POST", "/echo", headers=[("Connection", "Transfer-Encoding, Host"),
                                        ("Transfer-Encoding", "chunked")], body=body)
    r = c.read_response()
    assert r.status == 200, r
    assert r.json()["body_length"] == len(inner) and r.json()["chunked"], r.json()
    assert [h for h in r.json()["headers"] if h[0].lower() == "host"] == [["Host", "app.test"]]
    assert up.stats()["requests"] == 1


def test_response_smuggling_via_connection_content_length(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    r = c.get("/raw?kind=conn_cl")
    assert r.status == 200 and r.header("Content-Length") == "5", r
    assert r.body == b"hello", r.body
    # The message stayed framed: the connection carries the next exchange.
    assert c.get("/echo").status == 200


def test_hsts_dropped_through_upstream_connection_option(env):
    up = env.upstream()
    s = env.sesame(up, plain=False, tls=True, tls_settings={"hsts": "1d"})
    r = Client(s.tls_port, tls=True).get("/raw?kind=conn_hsts")
    assert r.status == 200 and r.body == b"ok", r
    assert r.all("Strict-Transport-Security") == ["max-age=86400"], r


def test_identity_stripped_through_connection(env):
    s, up = start(env)
    b = Browser(s.port)
    b.login("alice", "admins", extra=[("X-Sesame-Set", "role=restricted")])
    hop = ("Connection", "keep-alive, X-Remote-User, X-Remote-Groups, X-Session-Role, "
                         "X-Forwarded-For, X-Request-Id")
    r = b.get("/admin/echo", headers=[hop])
    assert r.status == 200, r
    assert echoed(r, "X-Remote-User") == ["alice"], r.json()["headers"]
    assert echoed(r, "X-Remote-Groups") == ["admins"], r.json()["headers"]
    assert echoed(r, "X-Session-Role") == ["restricted"], r.json()["headers"]
    assert echoed(r, "X-Forwarded-For") == ["127.0.0.1"], r.json()["headers"]
    assert len(echoed(r, "X-Request-Id")) == 1, r.json()["headers"]
    assert not echoed(r, "Connection"), r.json()["headers"]


def test_spoofed_identity_in_dotted_spelling(env):
    s, up = start(env)
    for path in ("/pub/echo", "/echo"):
        r = Browser(s.port).get(path, headers=[("X.Remote.User", "root"), ("X.Remote_Groups", "admins"),
                                               ("x.session.role", "admin")])
        assert r.status == 200, r
        names = [n.lower() for n, _ in r.json()["headers"]]
        for spoofed in ("x.remote.user", "x.remote_groups", "x.session.role"):
            assert spoofed not in names, (path, r.json()["headers"])


def test_route_override_headers_removed(env):
    up = env.upstream()
    s = env.sesame(up)
    r = Client(s.port).get("/echo", headers=[("X-Original-URL", "/admin"),
                                             ("X-Rewrite-URL", "/admin"), ("x-original-url", "/x")])
    assert r.status == 200, r
    names = [n.lower() for n, _ in r.json()["headers"]]
    assert "x-original-url" not in names and "x-rewrite-url" not in names, names


def test_h2c_upgrade_not_tunnelled(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    r = c.get("/echo", headers=[("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
                                ("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")])
    assert r.status == 200, r
    names = [n.lower() for n, _ in r.json()["headers"]]
    assert "upgrade" not in names and "http2-settings" not in names, names
    # Still plain HTTP/1.1 on the same connection.
    assert c.get("/echo").status == 200


def test_unknown_upgrade_not_tunnelled(env):
    up = env.upstream()
    s = env.sesame(up)
    r = Client(s.port).get("/echo", headers=[("Connection", "upgrade"), ("Upgrade", "foo/1, websocket")])
    assert r.status == 200, r
    assert echoed(r, "Upgrade") == ["websocket"], r.json()["headers"]


def test_upgrade_to_unoffered_protocol_refused(env):
    up = env.upstream()
    s = env.sesame(up)
    r = Client(s.port).get("/raw?kind=switch_h2c", headers=[
        ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Key", WS_KEY),
        ("Sec-WebSocket-Version", "13")])
    assert r.status == 502, r


@timeout(20)
def test_configured_upgrade_protocols(env):
    up = env.upstream()
    # An operator who lists no protocol gets no tunnels at all.
    s = env.sesame(up, server={"upgrade_protocols": []})
    r = Client(s.port).get("/ws", headers=[("Connection", "Upgrade"), ("Upgrade", "websocket"),
                                           ("Sec-WebSocket-Key", WS_KEY),
                                           ("Sec-WebSocket-Version", "13")])
    assert r.status == 400 and b"not a websocket handshake" in r.body, r

"""Exchange reuse (issue 13): a worker keeps the per-request state of a
connection gone idle and gives it to the next request of any connection.
Whatever the first request carried (many long fields, a session, identity
headers, a long response), the next one, upstream and back, carries only
its own fields."""

from harness import Client
from test_session import Browser, start

# What sesame adds to every forwarded request.
FORWARDING = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-IP",
              "X-Request-Id"]


def names(echo):
    return [n for n, _ in echo["headers"]]


def test_next_connection_sees_only_its_own_fields(env):
    s, _ = start(env)
    b = Browser(s.port)
    b.login("alice", groups="admins")
    long_fields = [("X-Long-%d" % i, chr(ord("a") + i % 26) * 200) for i in range(30)]
    # One worker: each response leaves the connection idle, and its
    # exchange goes to the worker's spares.
    r = b.request("GET", "/req/echo", headers=long_fields, extra_cookies="app=1; other=2")
    assert r.status == 200, r
    seen = names(r.json())
    assert "X-Remote-User" in seen and "X-Long-29" in seen and "Cookie" in seen, seen
    r = b.get("/control?h=X-Long-Response:" + "r" * 2000)
    assert r.status == 200 and r.header("X-Long-Response"), r

    for target in ("/pub/echo", "/echo", "/req/echo"):
        c = Client(s.port)
        try:
            c.request("GET", target, "app.test", [("X-Short", "1")])
            r = c.read_response()
        finally:
            c.close()
        if target == "/req/echo":
            # No session: refused before anything is forwarded.
            assert r.status == 401, r
            continue
        assert r.status == 200, r
        assert r.header("X-Long-Response") is None, r
        e = r.json()
        assert names(e) == ["Host", "X-Short"] + FORWARDING, e["headers"]
        assert e["target"] == target, e
    b.close()

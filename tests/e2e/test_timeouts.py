"""Client-side timeouts (slowloris, idle keep-alive) and the body limit."""

import socket
import time

from harness import Client, assert_closed


def test_slowloris_gets_408(env):
    up = env.upstream()
    s = env.sesame(up, timeouts={"header": "1s", "idle": "30s"})
    c = Client(s.port)
    head = b"GET /echo HTTP/1.1\r\nHost: app.test\r\nX-Slow: " + b"a" * 40
    start = time.monotonic()
    for b in head:
        c.send(bytes([b]))
        if c.readable(0.3) or time.monotonic() - start > 6:
            break
    elapsed = time.monotonic() - start
    assert elapsed < 4, "sesame still accepting a one-byte-per-300ms head after %.1f s" % elapsed
    r = c.read_response()
    assert r.status == 408, r
    assert "close" in r.connection_tokens(), r.headers
    assert_closed(c)
    assert up.stats()["requests"] == 0


def test_header_timeout_counts_from_first_byte_not_each_byte(env):
    """A steady trickle does not reset the header timer."""
    up = env.upstream()
    s = env.sesame(up, timeouts={"header": "2s", "idle": "30s"})
    c = Client(s.port)
    c.send(b"GET /echo HTTP/1.1\r\n")
    start = time.monotonic()
    while time.monotonic() - start < 5 and not c.readable(0.2):
        c.send(b"X-A: b\r\n")
    assert c.readable(0), "head trickling for 5 s with header = 2s was not cut"
    r = c.read_response()
    assert r.status == 408, r
    assert_closed(c)


def test_idle_keepalive_closed(env):
    up = env.upstream()
    s = env.sesame(up, timeouts={"idle": "1s", "header": "10s"})
    c = Client(s.port)
    assert c.get("/echo").status == 200
    start = time.monotonic()
    assert c.closed_within(4), "idle keep-alive connection still open 4 s after idle = 1s"
    waited = time.monotonic() - start
    assert waited > 0.7, "idle connection closed after %.2f s, before idle = 1s" % waited
    assert c.buf == b"", "sesame sent bytes on an idle connection: %r" % bytes(c.buf)


def test_idle_timer_restarts_with_each_request(env):
    up = env.upstream()
    s = env.sesame(up, timeouts={"idle": "1s", "header": "10s"})
    c = Client(s.port)
    for i in range(4):
        assert c.get("/echo?i=%d" % i).status == 200
        time.sleep(0.6)


def test_body_limit_413_content_length(env):
    up = env.upstream()
    s = env.sesame(up, limits={"body_bytes": 1000})
    c = Client(s.port)
    c.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2000\r\n\r\n")
    r = c.read_response()
    assert r.status == 413, r
    assert 0 < len(r.body) < 1024
    assert up.stats()["requests"] == 0, "a body known to be over the limit was forwarded"
    c2 = Client(s.port)
    c2.request("POST", "/upload", body=b"x" * 1000)
    r = c2.read_response()
    assert r.status == 200 and r.json()["body_length"] == 1000, r


def test_body_limit_413_chunked(env):
    up = env.upstream()
    s = env.sesame(up, limits={"body_bytes": 1000})
    c = Client(s.port)
    c.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(5):
        if c.readable(0.1):
            break
        c.send(b"190\r\n" + b"x" * 400 + b"\r\n")
    else:
        c.send(b"0\r\n\r\n")
    r = c.read_response()
    assert r.status == 413, r
    assert_closed(c)
    assert up.stats()["completed"] == 0, "a chunked body over the limit reached the upstream whole"


def test_client_not_reading_is_dropped(env):
    """client_send: a client that stops reading a response is closed, and
    the upstream stops being read for it."""
    up = env.upstream()
    s = env.sesame(up, timeouts={"client_send": "1s", "idle": "30s"})
    c = Client(s.port)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.send(b"GET /bytes?n=%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % (1 << 30))
    time.sleep(4)  # never read: sesame's writes stall
    got = 0
    c.sock.settimeout(5)
    try:
        while True:
            k = c.sock.recv_into(c.scratch)
            if k == 0:
                break
            got += k
    except (ConnectionResetError, TimeoutError, OSError):
        pass
    assert got < (1 << 30), "the whole GiB arrived: the stalled client was not dropped"


def test_client_pausing_is_not_an_upstream_timeout(env):
    """A client that stops reading for longer than upstream_read (less than
    client_send) still gets the whole response: sesame paused reading the
    upstream meanwhile, so the upstream was not silent and is not cut."""
    up = env.upstream()
    s = env.sesame(up, timeouts={"upstream_read": "1s", "client_send": "10s", "idle": "30s"})
    c = Client(s.port)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    n = 64 << 20  # more than every socket and sesame buffer on the way holds
    c.send(b"GET /bytes?n=%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % n)
    time.sleep(2.5)  # read nothing: sesame's writes stall, then its upstream reads pause
    c.sock.settimeout(10)
    r = c.read_response()
    assert r.status == 200, r
    assert len(r.body) == n, "response cut after %d of %d bytes" % (len(r.body), n)
    assert "silent for timeouts.upstream_read" not in s.stderr_tail(200), s.stderr_tail()

"""Message framing on the client side: keep-alive, pipelining, HTTP/1.0,
100-continue, HEAD, 1xx, 204/304, chunked and close-delimited bodies."""

import hashlib
import time

from harness import Client, assert_closed, pattern_matches


def test_keepalive_reuses_client_and_upstream_connections(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    for i in range(5):
        r = c.get("/echo?i=%d" % i)
        assert r.status == 200 and r.json()["target"] == "/echo?i=%d" % i
        assert "close" not in r.connection_tokens()
    st = up.stats()
    assert st["requests"] == 5
    assert st["connections"] == 1, "upstream keep-alive not reused: %d connections for 5 requests" % (
        st["connections"])
    c2 = Client(s.port)
    assert c2.get("/echo").status == 200
    assert up.stats()["connections"] == 1, "a second client did not reuse the pooled upstream connection"


def test_pipelining_responses_in_order(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    body = b"pipelined body"
    c.send(b"GET /echo?i=1 HTTP/1.1\r\nHost: app.test\r\n\r\n"
           b"POST /echo?i=2 HTTP/1.1\r\nHost: app.test\r\nContent-Length: %d\r\n\r\n%s"
           b"GET /bytes?n=100000 HTTP/1.1\r\nHost: app.test\r\n\r\n"
           b"HEAD /echo?i=4 HTTP/1.1\r\nHost: app.test\r\n\r\n"
           b"GET /slow?delay=0.3 HTTP/1.1\r\nHost: app.test\r\n\r\n"
           b"GET /echo?i=6 HTTP/1.1\r\nHost: app.test\r\n\r\n" % (len(body), body))
    r1 = c.read_response()
    assert r1.json()["target"] == "/echo?i=1"
    r2 = c.read_response()
    e2 = r2.json()
    assert e2["target"] == "/echo?i=2" and e2["body_sha256"] == hashlib.sha256(body).hexdigest()
    r3 = c.read_response()
    assert len(r3.body) == 100000 and pattern_matches(bytearray(r3.body), 0, 100000)
    r4 = c.read_response("HEAD")
    assert r4.status == 200 and r4.body == b""
    r5 = c.read_response()
    assert r5.body == b"slow\n"
    r6 = c.read_response()
    assert r6.json()["target"] == "/echo?i=6"


def test_http10_closes_after_response(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.send(b"GET /echo HTTP/1.0\r\nHost: app.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["method"] == "GET"
    assert_closed(c, what="HTTP/1.0 connection without keep-alive")


def test_http10_without_host_is_accepted(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.send(b"GET /echo HTTP/1.0\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r


def test_http10_keepalive(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    for i in range(2):
        c.send(b"GET /bytes?n=1000 HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.framing == "length" and len(r.body) == 1000, r
        assert "keep-alive" in r.connection_tokens() or r.version == "HTTP/1.1", r.headers
    # A chunked upstream response cannot be sent chunked to a 1.0 client.
    c.send(b"GET /chunked?n=5000 HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n")
    r = c.read_response()
    assert r.framing != "chunked", "chunked response sent to an HTTP/1.0 client"
    assert len(r.body) == 5000 and pattern_matches(bytearray(r.body), 0, 5000)


def test_expect_100_continue(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    body = b"x" * 5000
    c.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: %d\r\n"
           b"Expect: 100-continue\r\n\r\n" % len(body))
    head = c.read_head()
    assert head.status == 100, "expected 100 Continue before sending the body, got %r" % head
    c.send(body)
    r = c.read_response()
    assert r.status == 200, r
    assert r.json()["body_length"] == len(body)


def test_head_has_no_body(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.request("HEAD", "/bytes?n=12345")
    r = c.read_response("HEAD")
    assert r.status == 200
    assert r.header("Content-Length") == "12345", r.headers
    # Any body byte sesame sent would be read as the next status line here.
    r2 = c.get("/echo?after=head")
    assert r2.status == 200 and r2.json()["target"] == "/echo?after=head"


def test_204_and_304_have_no_body(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    for code in (204, 304):
        r = c.get("/status?code=%d" % code)
        assert r.status == code, r
        # 304 may carry the Content-Length of the representation; no body
        # follows it either way (RFC 9110 §8.6).
        r = c.get("/status?code=%d&cl=100" % code)
        assert r.status == code, r
        r2 = c.get("/echo?after=%d" % code)
        assert r2.status == 200 and r2.json()["target"] == "/echo?after=%d" % code


def test_1xx_informational_then_final(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    r = c.get("/early")
    assert r.status == 200 and r.body == b"after early hints\n", r
    for info in r.informational:
        assert info.status == 103, info
    assert c.get("/echo").status == 200


def test_chunked_request_body(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    parts = [b"a" * 10, b"b" * 70000, b"c"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    c.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    r = c.read_response()
    assert r.status == 200, r
    e = r.json()
    assert e["body_length"] == 70011
    assert e["body_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_chunked_request_with_extensions_and_trailers(env):
    # Chunk extensions and a trailer section are valid (RFC 9112 §7.1.1, §7.1.2).
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;name=value\r\nhello\r\n6;x\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    r = c.read_response()
    assert r.status == 200, r
    assert r.json()["body_sha256"] == hashlib.sha256(b"hello world").hexdigest()
    assert c.get("/echo?after=trailers").status == 200


def test_chunked_response_body(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    n = 3 * 1000 * 1000 + 7
    r = c.get("/chunked?n=%d&c=65000" % n)
    assert r.status == 200
    assert len(r.body) == n and pattern_matches(bytearray(r.body), 0, n)
    assert c.get("/echo?after=chunked").status == 200


def test_close_delimited_response(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    n = 2 * 1000 * 1000 + 3
    r = c.get("/close?n=%d" % n)
    assert r.status == 200
    assert len(r.body) == n, "close-delimited body: got %d of %d bytes (%s)" % (len(r.body), n, r.framing)
    assert pattern_matches(bytearray(r.body), 0, n)
    if r.framing == "close":
        assert_closed(c)
    else:  # re-framed for the 1.1 client: the connection stays usable
        assert c.get("/echo").status == 200


def test_post_zero_length_and_no_body(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n")
    assert c.read_response().json()["body_length"] == 0
    c.send(b"DELETE /echo HTTP/1.1\r\nHost: app.test\r\n\r\n")
    e = c.read_response().json()
    assert e["method"] == "DELETE" and e["body_length"] == 0


def test_leading_empty_lines_ignored(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.send(b"\r\n\r\nGET /echo HTTP/1.1\r\nHost: app.test\r\n\r\n")
    assert c.read_response().status == 200


def test_client_connection_close_honoured(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.send(b"GET /echo HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    r = c.read_response()
    assert r.status == 200
    assert "close" in r.connection_tokens(), r.headers
    assert_closed(c)


def test_many_small_requests_fast(env):
    """A keep-alive connection serves requests back to back without stalls."""
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    start = time.monotonic()
    for i in range(200):
        c.request("GET", "/status?code=200")
        assert c.read_response().status == 200
    elapsed = time.monotonic() - start
    # 20 ms a request at most: a Nagle or delayed-ACK stall costs 40 ms.
    assert elapsed < 4, "200 sequential requests took %.1f s" % elapsed

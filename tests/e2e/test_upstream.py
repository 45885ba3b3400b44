"""Upstream failures: refused connects, retries, timeouts, pooled connections
closed by the upstream, and malformed upstream responses."""

import socket
import time

from harness import Client, free_port, request_once


def test_no_upstream_listening_502(env):
    dead = "127.0.0.1:%d" % free_port()
    s = env.sesame(upstreams={"app": [dead]})
    c = Client(s.port)
    start = time.monotonic()
    r = c.get("/echo")
    assert r.status == 502, r
    assert 0 < len(r.body) < 1024, r.body
    assert time.monotonic() - start < 4, "502 took longer than upstream_connect"


def test_failed_connect_retried_on_next_server(env):
    up = env.upstream()
    dead = "127.0.0.1:%d" % free_port()
    s = env.sesame(upstreams={"app": [dead, up.addr]})
    for i in range(6):  # round robin lands on the dead server every other time
        c = Client(s.port)
        r = c.get("/echo?i=%d" % i)
        assert r.status == 200, "request %d: %r" % (i, r)
        c.close()
    assert up.stats()["requests"] == 6


def test_round_robin_between_servers(env):
    ups = env.upstream_set("one", "two")
    s = env.sesame(upstreams={"app": [ups["one"].addr, ups["two"].addr]})
    seen = [request_once(s.port, "/echo").header("X-Server") for _ in range(6)]
    assert seen.count("one") == 3 and seen.count("two") == 3, seen


def test_upstream_read_timeout_504(env):
    up = env.upstream()
    s = env.sesame(up, timeouts={"upstream_read": "1s"})
    c = Client(s.port)
    start = time.monotonic()
    r = c.get("/slow?delay=3")
    elapsed = time.monotonic() - start
    assert r.status == 504, r
    assert 0.8 < elapsed < 2.8, "504 after %.2f s with upstream_read = 1s" % elapsed
    assert 0 < len(r.body) < 1024
    # Within the timeout, a slow upstream is fine.
    r = request_once(s.port, "/slow?delay=0.3")
    assert r.status == 200 and r.body == b"slow\n"


def test_upstream_closes_idle_pooled_connection(env):
    up = env.upstream(idle_close=0.3)
    s = env.sesame(up)
    c = Client(s.port)
    assert c.get("/echo?i=1").status == 200
    time.sleep(1.0)  # the upstream has closed the pooled connection by now
    r = c.get("/echo?i=2")
    assert r.status == 200, "request after the upstream closed its idle connection: %r" % r
    r = request_once(s.port, "/echo?i=3")
    assert r.status == 200, r
    assert up.stats()["requests"] == 3


def test_upstream_closes_pooled_connection_on_next_request(env):
    """The race nginx retries: the upstream reads the next request on a
    pooled connection and closes it without answering. A GET not yet
    answered is retried on a fresh connection."""
    up = env.upstream(drop_after=1)
    s = env.sesame(up)
    c = Client(s.port)
    assert c.get("/echo?i=1").status == 200
    r = c.get("/echo?i=2")
    assert r.status == 200, "pooled connection closed by the upstream failed the request: %r" % r
    assert r.json()["target"] == "/echo?i=2"


def malformed(env, kind):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.request("GET", "/raw?kind=" + kind)
    return c, up


def assert_502_not_forwarded(env, kind):
    c, up = malformed(env, kind)
    try:
        r = c.read_response()
    except (EOFError, ConnectionResetError):
        raise AssertionError("%s: connection closed without a 502" % kind)
    assert r.status == 502, "%s upstream response: got %r" % (kind, r)
    assert b"X-Smuggled" not in r.raw_head and b"hello" not in r.body, r
    assert 0 < len(r.body) < 1024
    assert up.stats()["completed"] == 1


def test_upstream_cl_and_te_502(env):
    assert_502_not_forwarded(env, "cl_te")


def test_upstream_duplicate_content_length_502(env):
    assert_502_not_forwarded(env, "dup_cl")


def test_upstream_bad_content_length_502(env):
    assert_502_not_forwarded(env, "bad_cl")


def test_upstream_negative_content_length_502(env):
    assert_502_not_forwarded(env, "neg_cl")


def test_upstream_nul_in_header_502(env):
    assert_502_not_forwarded(env, "nul")


def test_upstream_bad_status_line_502(env):
    assert_502_not_forwarded(env, "bad_status")


def test_upstream_http2_status_line_502(env):
    assert_502_not_forwarded(env, "http2")


def test_upstream_garbage_502(env):
    assert_502_not_forwarded(env, "garbage")


def test_upstream_obs_fold_response(env):
    # RFC 9112 §5.2 lets a proxy either answer 502 or replace the fold with
    # spaces; the raw fold must never reach the client.
    c, _ = malformed(env, "obs_fold")
    r = c.read_response()
    assert b"\r\n b" not in r.raw_head, r.raw_head
    if r.status != 502:
        assert r.status == 200 and r.header("X-Smuggled") in ("a b", "a  b"), r.headers


def test_upstream_space_before_colon_response(env):
    # RFC 9112 §5.1: the whitespace is removed before forwarding, or 502.
    c, _ = malformed(env, "space_colon")
    r = c.read_response()
    assert b"X-Smuggled :" not in r.raw_head, r.raw_head
    assert r.status in (200, 502), r


def test_upstream_bad_chunk_not_forwarded(env):
    """A bad chunk after a valid head: 502 if nothing was sent yet,
    otherwise the client connection is cut before a complete message."""
    c, _ = malformed(env, "bad_chunk")
    try:
        r = c.read_head()
    except (EOFError, ConnectionResetError):
        raise AssertionError("connection closed with no response at all: expected a 502 "
                             "(nothing had been forwarded) or a truncated response")
    if r.status == 502:
        return
    assert r.status == 200, r
    data = c.read_until_close()
    assert b"X-Smuggled-Body" not in data, data
    assert not data.endswith(b"0\r\n\r\n"), "a corrupt chunked body was completed: %r" % data


def test_upstream_connect_timeout(env):
    """An upstream whose accept queue is full never completes the handshake:
    sesame gives up after upstream_connect (502, or 504 as nginx does)."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    filler = socket.create_connection(blackhole.getsockname())  # fills the queue
    s = env.sesame(upstreams={"app": ["127.0.0.1:%d" % blackhole.getsockname()[1]]},
                   timeouts={"upstream_connect": "1s"})
    c = Client(s.port)
    start = time.monotonic()
    r = c.get("/echo")
    elapsed = time.monotonic() - start
    assert r.status in (502, 504), r
    assert 0.8 < elapsed < 3, "answered after %.2f s with upstream_connect = 1s" % elapsed
    filler.close()
    blackhole.close()


def truncated(env, kind):
    c, _ = malformed(env, kind)
    try:
        r = c.read_head()
    except (EOFError, ConnectionResetError):
        return  # cut before anything was forwarded: also not a complete message
    if r.status == 502:
        return
    assert r.status == 200, r
    data = c.read_until_close()
    if r.header("Content-Length") == "100":
        assert len(data) < 100, "a truncated body was padded or completed"
    else:
        assert not data.endswith(b"0\r\n\r\n"), "a truncated chunked body was completed: %r" % data


def test_upstream_truncated_body_not_completed(env):
    """The upstream dies mid-body: the client must see the response cut
    (connection closed), never a complete message nor a hang."""
    truncated(env, "short_body")


def test_upstream_truncated_chunked_body_not_completed(env):
    truncated(env, "short_chunked")

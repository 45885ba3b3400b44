"""Request smuggling and strictness (RFC 9112): every rejection rule.

Each test sends raw bytes and asserts the status, that sesame closes the
connection, that its error is a short text body with Connection: close, and
that the upstream received nothing (for head errors: no request at all; for
body framing errors, found after the head may already be forwarded: no
completed request and no malformed framing ever reaching the upstream).
"""

from harness import Client, assert_closed, assert_upstream_untouched

SMALL_LIMITS = {"header_bytes": 4096, "header_count": 20}


def assert_error_response(r, status):
    assert r.status == status, "expected %d, got %r" % (status, r)
    assert r.framing == "length", "error response framed by %s" % r.framing
    assert 0 < len(r.body) < 1024, "error body %r" % r.body
    assert all(32 <= b < 127 or b in b"\r\n\t" for b in r.body), "error body is not short text: %r" % r.body
    assert "close" in r.connection_tokens(), "framing in doubt but no Connection: close: %r" % r.headers


def send_raw(port, raw):
    c = Client(port)
    try:
        c.send(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass  # sesame may answer and close before reading everything
    return c


def rejected(env, raw, status, limits=None, variants_note=""):
    """Starts sesame, sends each raw request on its own connection, checks."""
    up = env.upstream()
    s = env.sesame(up, limits=limits)
    for one in raw if isinstance(raw, list) else [raw]:
        c = send_raw(s.port, one)
        try:
            r = c.read_response()
        except (EOFError, ConnectionResetError) as e:
            raise AssertionError("no %d for %r: %s" % (status, one[:120], e))
        try:
            assert_error_response(r, status)
        except AssertionError as e:
            raise AssertionError("%s (request %r)" % (e, one[:120]))
        assert_closed(c, what="connection after %d for %r" % (status, one[:80]))
        c.close()
    assert_upstream_untouched(up)
    return up


def body_rejected(env, bodies, status=400):
    """Chunked bodies with bad framing after a valid head."""
    up = env.upstream()
    s = env.sesame(up)
    head = b"POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
    for body in bodies:
        c = send_raw(s.port, head + body)
        try:
            r = c.read_response()
        except (EOFError, ConnectionResetError) as e:
            raise AssertionError("no %d for chunked body %r: %s" % (status, body, e))
        try:
            assert_error_response(r, status)
        except AssertionError as e:
            raise AssertionError("%s (chunked body %r)" % (e, body))
        assert_closed(c, what="connection after a bad chunked body %r" % body)
        c.close()
    st = up.stats()
    assert st["completed"] == 0, "upstream completed a request with a malformed body: %r" % st
    assert st["bad_framing"] == 0, "malformed chunk framing reached the upstream: %r" % st


def req(head_lines, first=b"POST /echo HTTP/1.1", body=b""):
    return first + b"\r\n" + b"".join(l + b"\r\n" for l in head_lines) + b"\r\n" + body


HOST = b"Host: app.test"


def test_reject_cl_and_te(env):
    rejected(env, [
        req([HOST, b"Content-Length: 5", b"Transfer-Encoding: chunked"], body=b"0\r\n\r\n"),
        req([HOST, b"Transfer-Encoding: chunked", b"Content-Length: 5"], body=b"0\r\n\r\n"),
    ], 400)


def test_reject_duplicate_content_length(env):
    rejected(env, [
        req([HOST, b"Content-Length: 5", b"Content-Length: 5"], body=b"hello"),
        req([HOST, b"Content-Length: 5", b"Content-Length: 6"], body=b"hello!"),
    ], 400)


def test_reject_content_length_list(env):
    rejected(env, [req([HOST, b"Content-Length: 5, 5"], body=b"hello"),
                   req([HOST, b"Content-Length: 5,6"], body=b"hello!")], 400)


def test_reject_bad_content_length(env):
    rejected(env, [req([HOST, b"Content-Length: " + v], body=b"hello") for v in
                   (b"abc", b"-5", b"+5", b"5.0", b"0x5", b"5 5", b"", b"99999999999999999999999")], 400)


def test_reject_te_not_ending_in_chunked(env):
    # chunked must be the final coding of a request (RFC 9112 §6.3): here it
    # is not, so the length cannot be determined. 501 is also acceptable
    # when sesame does not know the other coding at all.
    up = env.upstream()
    s = env.sesame(up)
    for te in (b"chunked, gzip", b"gzip", b"identity", b"chunked, identity"):
        c = send_raw(s.port, req([HOST, b"Transfer-Encoding: " + te], body=b"5\r\nhello\r\n0\r\n\r\n"))
        r = c.read_response()
        assert r.status in (400, 501), "Transfer-Encoding: %r got %r" % (te, r)
        assert_error_response(r, r.status)
        assert_closed(c)
    assert_upstream_untouched(up)


def test_reject_unknown_transfer_coding_501(env):
    rejected(env, [req([HOST, b"Transfer-Encoding: x-unknown, chunked"], body=b"0\r\n\r\n")], 501)


def test_reject_obs_fold(env):
    rejected(env, [req([HOST, b"X-Folded: a", b" b"], first=b"GET /echo HTTP/1.1"),
                   req([HOST, b"X-Folded: a", b"\tb"], first=b"GET /echo HTTP/1.1")], 400)


def test_reject_whitespace_before_colon(env):
    rejected(env, [req([HOST, b"X-Thing : 1"], first=b"GET /echo HTTP/1.1"),
                   req([HOST, b"X-Thing\t: 1"], first=b"GET /echo HTTP/1.1"),
                   req([b"Host : app.test"], first=b"GET /echo HTTP/1.1"),
                   req([HOST, b"Content-Length : 5"], body=b"hello")], 400)


def test_reject_control_characters(env):
    rejected(env, [req([HOST, b"X-A: a" + ch + b"b"], first=b"GET /echo HTTP/1.1")
                   for ch in (b"\x00", b"\x01", b"\x1f", b"\x7f", b"\r")] +
             [req([HOST, b"X-" + ch + b"A: b"], first=b"GET /echo HTTP/1.1")
              for ch in (b"\x00", b"\x01", b"\x7f")], 400)


def test_reject_bad_chunk_size(env):
    body_rejected(env, [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
    ])


def test_reject_chunk_size_overflow(env):
    body_rejected(env, [
        b"10000000000000000\r\nhello\r\n0\r\n\r\n",  # 2^64
        b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        b"0000000000000000000000000000000000000000010000000000000000\r\nhello\r\n0\r\n\r\n",
    ])


def test_reject_bare_lf_in_chunk_framing(env):
    body_rejected(env, [
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5\r\nhello\r\n0\n\r\n",
    ])


def test_reject_bare_cr_in_chunk_framing(env):
    body_rejected(env, [
        b"5\rhello\r\n0\r\n\r\n",
        b"5\r\nhello\r0\r\n\r\n",
    ])


def test_reject_chunk_data_longer_than_declared(env):
    body_rejected(env, [b"5\r\nhello world\r\n0\r\n\r\n"])


def test_reject_te_on_http10(env):
    rejected(env, [req([HOST, b"Transfer-Encoding: chunked"], first=b"POST /echo HTTP/1.0",
                       body=b"5\r\nhello\r\n0\r\n\r\n")], 400)


def test_reject_request_line_not_three_parts(env):
    rejected(env, [
        b"GET  /echo HTTP/1.1\r\nHost: app.test\r\n\r\n",
        b"GET /echo  HTTP/1.1\r\nHost: app.test\r\n\r\n",
        b"GET /echo HTTP/1.1 \r\nHost: app.test\r\n\r\n",
        b" GET /echo HTTP/1.1\r\nHost: app.test\r\n\r\n",
        b"GET /echo\r\nHost: app.test\r\n\r\n",
        b"GET /echo HTTP/1.1 extra\r\nHost: app.test\r\n\r\n",
        b"GET\t/echo\tHTTP/1.1\r\nHost: app.test\r\n\r\n",
    ], 400)


def test_reject_missing_host_http11(env):
    rejected(env, [b"GET /echo HTTP/1.1\r\nX-A: b\r\n\r\n"], 400)


def test_reject_two_hosts_http11(env):
    rejected(env, [b"GET /echo HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n",
                   b"GET /echo HTTP/1.1\r\nHost: app.test\r\nHost: app.test\r\n\r\n"], 400)


def test_reject_long_request_line_414(env):
    rejected(env, [b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\nHost: app.test\r\n\r\n"], 414,
             limits=SMALL_LIMITS)


def test_reject_too_many_headers_431(env):
    lines = [HOST] + [b"X-H%d: v" % i for i in range(40)]
    rejected(env, [req(lines, first=b"GET /echo HTTP/1.1")], 431, limits=SMALL_LIMITS)


def test_reject_headers_too_large_431(env):
    rejected(env, [req([HOST, b"X-Big: " + b"v" * 6000], first=b"GET /echo HTTP/1.1"),
                   req([HOST] + [b"X-M%d: " % i + b"v" * 400 for i in range(15)],
                       first=b"GET /echo HTTP/1.1")], 431, limits=SMALL_LIMITS)


def test_reject_http_version_505(env):
    rejected(env, [b"GET /echo HTTP/2.0\r\nHost: app.test\r\n\r\n",
                   b"GET /echo HTTP/1.2\r\nHost: app.test\r\n\r\n",
                   b"GET /echo HTTP/3.0\r\nHost: app.test\r\n\r\n"], 505)


def test_limits_accept_up_to_the_limit(env):
    """The limits reject only past them: a head just under them passes."""
    up = env.upstream()
    s = env.sesame(up, limits=SMALL_LIMITS)
    c = Client(s.port)
    c.send(req([HOST] + [b"X-H%d: v" % i for i in range(15)], first=b"GET /echo HTTP/1.1"))
    assert c.read_response().status == 200
    c.send(req([HOST, b"X-Big: " + b"v" * 3000], first=b"GET /echo HTTP/1.1"))
    assert c.read_response().status == 200


def test_reject_origin_form_without_slash(env):
    rejected(env, [b"GET echo HTTP/1.1\r\nHost: app.test\r\n\r\n"], 400)


def test_body_containing_a_request_is_not_split(env):
    """A body that looks like a request stays a body (no desync)."""
    up = env.upstream()
    s = env.sesame(up)
    inner = b"GET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n"
    c = Client(s.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: app.test\r\nContent-Length: %d\r\n\r\n%s" % (len(inner), inner))
    e = c.read_response().json()
    assert e["body_length"] == len(inner)
    c.send(b"POST /echo HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner))
    assert c.read_response().json()["body_length"] == len(inner)
    log = up.stats(log=True)["log"]
    assert [x["target"] for x in log] == ["/echo", "/echo"], log


def test_transfer_encoding_token_case_insensitive(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: Chunked\r\n\r\n"
           b"5\r\nhello\r\n0\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["body_length"] == 5, r

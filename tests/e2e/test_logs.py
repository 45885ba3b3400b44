"""Logs (issue 4 §3): the access log in combined and JSON format, the
X-Request-Id of every exchange, and the error log's level.

The combined format must stay parseable by stock tools: goaccess (Debian
package goaccess) reads a log written here with its COMBINED preset.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time

import harness
from harness import Client, request_once, toml_table
from test_session import ROUTES, Browser, b64url_decode, session_extra

# nginx's combined format, field by field, then sesame's fields.
COMBINED = re.compile(
    r'^(?P<client>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" '
    r'request_time=(?P<rt>\d+\.\d{3}) upstream=(?P<upstream>\S+) '
    r'upstream_time=(?P<urt>-|\d+\.\d{3}) request_id=(?P<id>\S+) session=(?P<session>\S+)$')
TIME = re.compile(r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$")
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def log_extra(**values):
    return "\n" + toml_table("[log]", values)


def read_lines(path, n, seconds=3.0):
    """The log's lines once there are at least `n` (a line is written when
    the response's last byte is queued, so it can trail the client a bit)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
        except FileNotFoundError:
            text = ""
        lines = text.splitlines()
        if len(lines) >= n or time.monotonic() > deadline:
            assert text == "" or text.endswith("\n"), "last line not complete: %r" % text[-200:]
            assert len(lines) >= n, "%d lines, expected %d:\n%s" % (len(lines), n, text)
            return lines


def combined(line):
    m = COMBINED.match(line)
    assert m, "not combined + sesame's fields: %r" % line
    return m.groupdict()


def handle_of(cookie):
    """CookieCodec::handle: base64url(SHA-256("sesame handle v1" || id))[:12]."""
    session_id = b64url_decode(cookie)[1:33]
    digest = hashlib.sha256(b"sesame handle v1" + session_id).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode().rstrip("=")


def start_logged(env, fmt, **log):
    up = env.upstream()
    path = os.path.join(env.workdir, "access-%s.log" % fmt)
    extra = session_extra(sections=[("[log]", dict(access=path, format=fmt, **log))])
    s = env.sesame(upstreams={"app": [up.addr]}, routes=ROUTES, extra=extra)
    return s, up, path


def browse(s):
    """Anonymous request, login, logged-in requests: [(response, cookie sent)]."""
    b = Browser(s.port)
    seen = []
    for step in ("anon", "login", "req", "head", "pub", "missing"):
        sent = b.cookie
        if step == "anon":
            r = b.get("/echo", headers=[("Referer", "https://ref.test/p?q=1"),
                                         ("User-Agent", "agent/1.0 (test)")])
        elif step == "login":
            r = b.login("alice")
        elif step == "req":
            r = b.get("/req/echo")
        elif step == "head":
            r = b.request("HEAD", "/req/echo")
        elif step == "pub":
            r = b.get("/pub/status?code=404")
        else:
            r = b.get("/status?code=204")
        seen.append((r, sent, b.cookie))
    b.close()
    return seen


def check_exchanges(seen, records, up):
    """records: dicts with status, bytes, method, target, user, session,
    request_id, upstream, upstream_time (None or "-" for absent)."""
    assert len(records) == len(seen), records
    methods = ["GET", "GET", "GET", "HEAD", "GET", "GET"]
    targets = ["/echo", None, "/req/echo", "/req/echo", "/pub/status?code=404",
               "/status?code=204"]
    for (r, sent, held), rec, method, target in zip(seen, records, methods, targets):
        assert rec["status"] == r.status, (rec, r)
        assert rec["bytes"] == len(r.body), (rec, len(r.body))
        assert rec["method"] == method, rec
        if target:
            assert rec["target"] == target, rec
        assert rec["request_id"] == r.header("X-Request-Id"), (rec, r.headers)
        assert GENERATED_ID.match(rec["request_id"]), rec
        assert rec["upstream"] == up.addr, rec
        assert rec["upstream_time"] is not None
    anon, login, req, head, pub, _ = records
    # The anonymous session issued on the first request; the login's
    # rotated one from then on, with its user.
    assert anon["session"] == handle_of(seen[0][2]) and anon["user"] is None, anon
    assert login["session"] == handle_of(seen[1][2]) and login["user"] == "alice", login
    assert login["session"] != anon["session"], "the login rotates the session"
    for rec in (req, head):
        assert rec["session"] == login["session"] and rec["user"] == "alice", rec
    # Public routes do no session work.
    assert pub["session"] is None and pub["user"] is None, pub


def test_access_log_combined(env):
    s, up, path = start_logged(env, "combined")
    seen = browse(s)
    lines = read_lines(path, len(seen))
    records = []
    for line in lines:
        f = combined(line)
        assert TIME.match(f["time"]), f
        assert f["client"] == "127.0.0.1", f
        method, target, proto = f["request"].split(" ")
        assert proto == "HTTP/1.1", f
        absent = lambda v: None if v == "-" else v
        records.append(dict(status=int(f["status"]), bytes=int(f["bytes"]), method=method,
                            target=target, user=absent(f["user"]), session=absent(f["session"]),
                            request_id=f["id"], upstream=absent(f["upstream"]),
                            upstream_time=absent(f["urt"]), referer=f["referer"],
                            agent=f["agent"]))
    check_exchanges(seen, records, up)
    assert records[0]["referer"] == "https://ref.test/p?q=1", records[0]
    assert records[0]["agent"] == "agent/1.0 (test)", records[0]
    assert records[1]["referer"] == "-" and records[1]["agent"] == "-", records[1]
    text = open(path).read()
    for _, sent, held in seen:
        for cookie in (sent, held):
            assert not cookie or cookie not in text, "a session cookie value is in the access log"


def test_access_log_json(env):
    s, up, path = start_logged(env, "json")
    seen = browse(s)
    # Hostile bytes in logged fields: quotes, backslashes, obs-text.
    c = Client(s.port)
    c.request("GET", "/pub/echo", headers=[("User-Agent", 'x" \\ "y \xe9\xff'),
                                           ("Referer", '","status":999,"x":"')])
    hostile = c.read_response()
    c.close()
    lines = read_lines(path, len(seen) + 1)
    records = [json.loads(line) for line in lines]
    for rec in records:
        assert set(rec) == {"time", "client", "user", "method", "target", "protocol", "status",
                            "bytes", "referer", "user_agent", "request_time", "upstream",
                            "upstream_time", "request_id", "session"}, rec
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$", rec["time"]), rec
        assert rec["client"] == "127.0.0.1" and rec["protocol"] == "HTTP/1.1", rec
        assert isinstance(rec["request_time"], float) and rec["request_time"] >= 0, rec
    check_exchanges(seen, records[:len(seen)], up)
    last = records[-1]
    assert last["status"] == hostile.status == 200, last
    assert last["user_agent"] == 'x" \\ "y \xe9\xff', last
    assert last["referer"] == '","status":999,"x":"', last
    text = open(path).read()
    for _, sent, held in seen:
        for cookie in (sent, held):
            assert not cookie or cookie not in text, "a session cookie value is in the access log"


def test_access_log_own_answers_and_errors(env):
    """sesame's own answers (404 without a route, 400 for a bad head, 502
    without an upstream) are logged with their request ID."""
    path = os.path.join(env.workdir, "access.log")
    dead = "127.0.0.1:%d" % harness.free_port()
    s = env.sesame(upstreams={"app": [dead]}, routes=[{"host": "app.test", "path": "/",
                                                       "upstream": "app"}],
                   extra=log_extra(access=path))
    r404 = request_once(s.port, "/x", host="other.test", headers=[("X-Request-Id", "kept-404")])
    assert r404.status == 404 and r404.header("X-Request-Id") == "kept-404", r404
    r502 = request_once(s.port, "/y")
    c = Client(s.port)
    c.send(b"GET /bad\x01 HTTP/1.1\r\nHost: app.test\r\n\r\n")
    r400 = c.read_response()
    c.close()
    lines = [combined(line) for line in read_lines(path, 3)]
    by_status = {int(f["status"]): f for f in lines}
    assert set(by_status) == {404, 502, 400}, lines
    for r in (r404, r502, r400):
        f = by_status[r.status]
        assert f["id"] == r.header("X-Request-Id"), (f, r.headers)
        assert int(f["bytes"]) == len(r.body), (f, r)
    assert by_status[404]["request"] == "GET /x HTTP/1.1" and by_status[404]["upstream"] == "-"
    assert by_status[502]["upstream"] == dead and by_status[502]["urt"] != "-", by_status[502]
    assert by_status[400]["request"] == "-", by_status[400]


def test_access_log_stderr_and_off(env):
    up = env.upstream()
    s = env.sesame(up, extra=log_extra(access="stderr"))
    r = request_once(s.port, "/echo")
    assert r.status == 200
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and "GET /echo" not in s.stderr_tail():
        time.sleep(0.05)
    lines = [l for l in s.stderr_tail(100).splitlines() if "GET /echo" in l]
    assert len(lines) == 1, s.stderr_tail()
    assert combined(lines[0])["id"] == r.header("X-Request-Id")
    quiet = env.sesame(up)
    assert request_once(quiet.port, "/echo").status == 200
    time.sleep(0.2)
    assert "GET /echo" not in quiet.stderr_tail(100), "access log on by default"


def test_access_log_unopenable_path(env):
    up = env.upstream()
    bad = os.path.join(env.workdir, "no-such-dir", "access.log")
    s = env.sesame(up, extra=log_extra(access=bad), start=False)
    code, out, err = env.run_sesame("-t", "-c", s.config_path)
    assert code == 1, (code, out, err)
    assert re.search(re.escape(s.config_path) + r":\d+:\d+: log\.access: cannot open \"" +
                     re.escape(bad) + r"\" for appending: No such file or directory", err), err
    s.expect_exit = True
    s.start(wait=False)
    assert s.proc.wait(5) == 1
    assert bad in s.stderr_tail(), s.stderr_tail()


def test_request_id(env):
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)

    def exchange(headers, target="/echo"):
        c.request("GET", target, headers=headers)
        r = c.read_response()
        assert r.status == 200, r
        sent = [v for n, v in r.json()["headers"] if n.lower() == "x-request-id"]
        return r.header("X-Request-Id"), sent

    valid = "550e8400-e29b-41d4-a716-446655440000"
    assert exchange([("X-Request-Id", valid)]) == (valid, [valid])
    longest = "a." * 64
    assert exchange([("x-request-id", longest)]) == (longest, [longest])
    for bad in (["has space"], ["a" * 129], ["semi;colon"], ["one", "two"]):
        got, sent = exchange([("X-Request-Id", v) for v in bad])
        assert GENERATED_ID.match(got) and sent == [got], (bad, got, sent)
    got, sent = exchange([])
    assert GENERATED_ID.match(got) and sent == [got], (got, sent)
    again, _ = exchange([])
    assert again != got and again[:16] == got[:16], "one prefix per worker, then a counter"
    # An upstream's own X-Request-Id does not reach the client: one ID per exchange.
    got, sent = exchange([("X-Request-Id", "mine")], target="/control?h=X-Request-Id:theirs")
    assert got == "mine" and sent == ["mine"], (got, sent)
    c.close()
    # A head that did not parse gets a new ID: its fields are not trusted.
    c = Client(s.port)
    c.send(b"GET / HTTP/1.1\r\nX-Request-Id: own-answer\r\nBad Field: x\r\n\r\n")
    r = c.read_response()
    c.close()
    assert r.status == 400 and GENERATED_ID.match(r.header("X-Request-Id") or ""), r


def test_level_warn_hides_info(env):
    dead = "127.0.0.1:%d" % harness.free_port()
    chatty = env.sesame(upstreams={"app": [dead]})
    quiet = env.sesame(upstreams={"app": [dead]}, extra=log_extra(level="warn"))
    for s in (chatty, quiet):
        assert request_once(s.port, "/").status == 502
    time.sleep(0.2)
    assert "sesame[info]: listening on" in chatty.stderr_tail(), chatty.stderr_tail()
    text = quiet.stderr_tail(100)
    assert "sesame[info]" not in text, text
    assert "sesame[warn]: upstream" in text, text


def test_level_error_in_check_mode(env):
    up = env.upstream()
    s = env.sesame(up, extra=log_extra(level="loud"), start=False)
    code, out, err = env.run_sesame("-t", "-c", s.config_path)
    assert code == 1 and 'log.level "loud" is not a level' in err, (code, out, err)


def test_goaccess_parses_combined(env):
    goaccess = shutil.which("goaccess")
    if not goaccess:
        raise harness.Skip("goaccess is not installed (Debian package goaccess)")
    up = env.upstream()
    path = os.path.join(env.workdir, "access.log")
    s = env.sesame(up, extra=log_extra(access=path, format="combined"))
    c = Client(s.port)
    targets = ["/echo", "/status?code=404", "/status?code=500", "/bytes?n=1000",
               '/echo?q="quoted"', "/echo?u=%C3%A9"]
    for t in targets:
        c.request("GET", t, headers=[("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) test"),
                                     ("Referer", "https://ref.test/")])
        c.read_response()
    c.close()
    read_lines(path, len(targets))
    report = os.path.join(env.workdir, "goaccess.json")
    p = subprocess.run([goaccess, path, "--log-format=COMBINED", "--no-global-config",
                        "-o", report], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    with open(report) as f:
        general = json.load(f)["general"]
    assert general["total_requests"] == len(targets), general
    assert general["valid_requests"] == len(targets), general
    assert general["failed_requests"] == 0, general


def test_access_log_client_gone_is_499(env):
    """A client that resets the connection while the upstream is still
    working is logged when the connection ends, with nginx's 499."""
    up = env.upstream()
    path = os.path.join(env.workdir, "access.log")
    s = env.sesame(up, extra=log_extra(access=path, format="json"))
    c = Client(s.port)
    c.request("GET", "/slow?delay=1", headers=[("X-Request-Id", "gone-1")])
    time.sleep(0.3)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    rec = json.loads(read_lines(path, 1)[0])
    assert rec["status"] == 499 and rec["bytes"] == 0, rec
    assert rec["request_id"] == "gone-1" and rec["target"] == "/slow?delay=1", rec
    assert rec["upstream"] == up.addr and rec["request_time"] >= 0.2, rec


# ---------------------------------------------------------------- error log


def start_with_journal_stream(s):
    """Starts `s` with JOURNAL_STREAM naming its stderr file, as systemd
    names the journal's stream: the file exists first, so its inode is known
    (the harness reopens it with truncation, keeping the inode)."""
    open(s.stderr_path, "wb").close()
    st = os.stat(s.stderr_path)
    s.start(env={"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})


def test_journal_lines_carry_their_priority(env):
    dead = "127.0.0.1:%d" % harness.free_port()
    s = env.sesame(upstreams={"app": [dead]}, start=False)
    start_with_journal_stream(s)
    assert request_once(s.port, "/echo").status == 502
    from test_lifecycle import reload
    line = reload(s, s.config_text + "\n[bogus]\n")
    assert line.startswith("<3>sesame[error]: reload failed"), line
    text = open(s.stderr_path).read()
    lines = text.splitlines()
    assert any(l.startswith("<6>sesame[info]: sesame started") for l in lines), text
    assert any(l.startswith("<4>sesame[warn]: upstream") for l in lines), text
    # Every line, the configuration errors of the reload too: journald reads
    # the priority of each line on its own.
    assert all(re.match(r"<[3-7]>", l) for l in lines), text


def test_journal_stream_of_another_file_is_not_the_journal(env):
    """A stderr redirected by a wrapper keeps JOURNAL_STREAM but is not the
    journal: no "<N>" there."""
    other = env.write("other", "")
    st = os.stat(other)
    s = env.sesame(start=False)
    s.start(env={"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    from test_lifecycle import wait_log
    wait_log(s, r"sesame started")
    text = open(s.stderr_path).read()
    assert "\nsesame[info]: sesame started" in text and "<6>" not in text, text


def test_upstream_down_warnings_are_rate_limited(env):
    """A dead upstream under load: each warning site writes a few lines and
    says the rest are counted, instead of one line per request."""
    dead = "127.0.0.1:%d" % harness.free_port()
    s = env.sesame(upstreams={"app": [dead]})
    for _ in range(40):
        assert request_once(s.port, "/echo").status == 502
    time.sleep(0.2)
    text = open(s.stderr_path).read()
    failed = [l for l in text.splitlines() if "connect failed" in l or "cannot connect" in l]
    answered = [l for l in text.splitlines() if "answering 502" in l]
    # A refused connect shows at connect() or from the loop: two sites, 5 each at most.
    assert 1 <= len(failed) <= 10 and len(answered) == 5, text
    assert "more are counted, not logged" in answered[-1], answered
    # The worker counts what it held back before it ends (and every 10 s).
    s.expect_exit = True
    assert s.stop() == 0
    text = open(s.stderr_path).read()
    assert re.search(r"^sesame\[warn\]: 35 similar messages suppressed \(like: upstream \"app\".*"
                     r"answering 502", text, re.M), text


def test_refused_cross_site_request_is_logged_with_the_deciding_field(env):
    """At info: the field and value that decided, escaped and bounded (the
    Origin is the client's), a Referer reduced to its origin, never the
    cookie; and rate-limited like the other per-request messages."""
    from test_lifecycle import wait_log
    from test_session import Browser, start
    s, _ = start(env)
    b = Browser(s.port)
    b.login("alice")
    cookie = b.cookie
    assert cookie
    forged = 'https://evil"x.example' + "a" * 3000
    assert b.request("POST", "/echo", [("Origin", forged)], body=b"x").status == 403
    line = wait_log(s, r"refused a cross-site POST /echo: Origin")
    assert line.startswith("sesame[info]: "), line
    assert '"https://evil\\x22x.example' in line and line.count("a") < 200, line
    assert "is not this site's origin nor in csrf_origins (this site: http://app.test)" in line, line
    assert b.request("POST", "/echo?q=1", [("Referer", "http://evil.test/reset?token=s3cret")],
                     body=b"x").status == 403
    line = wait_log(s, r'Referer "http://evil\.test" is not')
    assert b.request("DELETE", "/echo", [("Sec-Fetch-Site", "cross-site")]).status == 403
    wait_log(s, r'refused a cross-site DELETE /echo: Sec-Fetch-Site "cross-site" says so')
    for _ in range(5):
        assert b.request("POST", "/echo", [("Origin", "null")], body=b"x").status == 403
    time.sleep(0.2)
    text = open(s.stderr_path).read()
    assert "s3cret" not in text and "token" not in text, text
    assert cookie not in text, "the session cookie reached the log"
    assert text.count("refused a cross-site") == 5, text
    assert "more are counted, not logged" in text, text

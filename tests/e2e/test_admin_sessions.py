"""Session administration (issue 11 §4): the admin listener's /sessions API
behind [admin] token_file, and `sesame -c FILE sessions ...`, against the
real binary with the memory store, a real redis-server, and the cookie store.
Sessions are made by the test upstream's X-Sesame-Login control header."""

import base64
import datetime
import hashlib
import json
import os
import re
import signal
import time

from harness import free_port, request_once, toml_table
from test_lifecycle import reload
from test_session import JSON, Browser, ctl, start
from test_session_redis import FAST, session_id

TOKEN = "e2e-admin-token-" + "0123456789abcdef" * 2
OTHER_TOKEN = "e2e-other-token-" + "fedcba9876543210" * 2
AGENT = 'Mozilla/5.0 (X11; Linux x86_64) "quoted" \\ J\u00fcrgen'


def write_token(env, token=TOKEN, name="admin-token", mode=0o600):
    path = env.write(name, token + "\n")
    os.chmod(path, mode)
    return path


def admin_sesame(env, token_file=True, up=None, **kw):
    """sesame with test_session's routes and [admin] (with token_file unless
    told otherwise); returns (sesame, admin port)."""
    port = free_port()
    admin = {"address": "127.0.0.1:%d" % port}
    if token_file:
        admin["token_file"] = write_token(env)
    sections = list(kw.pop("sections", ())) + [("[admin]", admin)]
    s, _ = start(env, up, sections=sections, **kw)
    return s, port


def api(port, method, target, token=TOKEN):
    headers = [("Authorization", "Bearer " + token)] if token else []
    return request_once(port, target, host="admin", method=method, headers=headers)


def listed(port, user):
    r = api(port, "GET", "/sessions?user=" + user)
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json", r.raw_head
    return r.json()


def cli(env, s, *args):
    return env.run_sesame("-c", s.config_path, "sessions", *args)


def handle_of(cookie):
    """CookieCodec::handle: 12 chars of base64url(SHA-256("sesame handle v1" || id))."""
    digest = hashlib.sha256(b"sesame handle v1" + session_id(cookie)).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def log_in(port, user, agent=AGENT):
    b = Browser(port)
    r = b.get(ctl(("X-Sesame-Login", user)), headers=[("User-Agent", agent)])
    assert r.status == 200, r
    return b


def logged_in(port, cookie):
    return Browser(port, cookie=cookie).get("/req/echo", headers=[JSON]).status == 200


def parse_time(text):
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), text
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def check_listing(entries, browsers):
    """`entries` (GET /sessions) are exactly `browsers`' sessions, oldest login first."""
    assert [e["handle"] for e in entries] == [handle_of(b.cookie) for b in browsers], entries
    now = time.time()
    for e in entries:
        assert set(e) == {"handle", "created", "last_seen", "login", "method", "client",
                          "user_agent"}, e
        for key in ("created", "last_seen", "login"):
            assert now - 60 <= parse_time(e[key]) <= now + 1, e
        assert e["method"] == "app", e
        assert e["client"] == "127.0.0.1", e
        assert e["user_agent"] == AGENT, e


def check_api(env, port, *ports):
    """Lists, ends one and ends a user's through the API; browsers log in on
    each of `ports` in turn (several instances may share a store)."""
    ports = ports or (port,)
    alice = [log_in(ports[i % len(ports)], "alice") for i in range(2)]
    time.sleep(1.1)  # logins in different seconds: the order is by login time
    alice.append(log_in(ports[-1], "alice"))
    bob = log_in(ports[0], "bob")
    check_listing(listed(port, "alice"), alice)
    check_listing(listed(port, "bob"), [bob])
    assert listed(port, "carol") == []

    first = handle_of(alice[0].cookie)
    r = api(port, "DELETE", "/sessions/" + first)
    assert r.status == 204 and r.body == b"", r
    assert r.header("Content-Length") is None, r.raw_head
    for p in ports:
        assert not logged_in(p, alice[0].cookie), "a revoked session still works on %d" % p
    assert logged_in(ports[-1], alice[1].cookie)
    r = api(port, "DELETE", "/sessions/" + first)
    assert r.status == 404 and "error" in r.json(), r
    check_listing(listed(port, "alice"), alice[1:])

    r = api(port, "DELETE", "/sessions?user=alice")
    assert r.status == 200 and r.json() == {"revoked": 2}, r
    for b in alice[1:]:
        assert not logged_in(ports[0], b.cookie)
    assert logged_in(ports[-1], bob.cookie), "bob's session ended with alice's"
    r = api(port, "DELETE", "/sessions?user=alice")
    assert r.status == 200 and r.json() == {"revoked": 0}, r


# ---------------------------------------------------------------- the API


def test_admin_sessions_api_memory_store(env):
    s, port = admin_sesame(env, workers=2)
    check_api(env, port, s.port)
    log = open(s.stderr_path).read()
    assert "admin API: ended session " in log and 'ended 2 sessions of user "alice"' in log, log


def test_admin_sessions_api_redis_two_instances(env):
    r = env.redis()
    up = env.upstream()
    redis = ("[redis]", dict({"address": r.addr}, **FAST))
    s1, port = admin_sesame(env, up=up, store="redis", sections=[redis])
    s2, _ = start(env, up, store="redis", sections=[redis])
    check_api(env, port, s1.port, s2.port)
    assert [k for k in r.keys() if k.startswith(b"sesame:s:")
            and r.hgetall(k).get(b"user") == b"alice"] == []


def test_admin_sessions_api_follows_a_reload_to_another_redis(env):
    first, second = env.redis(), env.redis()
    s, port = admin_sesame(env, store="redis", sections=[("[redis]", dict({"address": first.addr}, **FAST))])
    old = log_in(s.port, "alice")
    check_listing(listed(port, "alice"), [old])
    assert "reloaded" in reload(s, s.config_text.replace(first.addr, second.addr))
    assert listed(port, "alice") == [], "the API still reads the Redis of before the reload"
    new = log_in(s.port, "alice")
    check_listing(listed(port, "alice"), [new])
    assert first.dbsize() > 0 and any(k.startswith(b"sesame:s:") for k in second.keys())


def test_admin_sessions_need_the_bearer_token(env):
    s, port = admin_sesame(env)
    b = log_in(s.port, "alice")
    for token in ("", OTHER_TOKEN, TOKEN[:-1], TOKEN + "x"):
        for method, target in (("GET", "/sessions?user=alice"), ("DELETE", "/sessions?user=alice"),
                               ("DELETE", "/sessions/" + handle_of(b.cookie))):
            r = api(port, method, target, token=token)
            assert r.status == 401, (token, r)
            assert r.header("WWW-Authenticate").startswith('Bearer realm="sesame admin"'), r.raw_head
    r = request_once(port, "/sessions?user=alice", host="admin",
                     headers=[("Authorization", "Basic " + base64.b64encode(b"admin:" + TOKEN.encode()).decode())])
    assert r.status == 401, r
    assert logged_in(s.port, b.cookie), "a refused request ended a session"
    assert "wrong bearer token" in open(s.stderr_path).read()


def test_admin_sessions_token_is_read_again_on_reload(env):
    s, port = admin_sesame(env)
    b = log_in(s.port, "alice")
    write_token(env, OTHER_TOKEN)
    # The CLI reads the new file; the running sesame still has the old token.
    code, out, err = cli(env, s, "list", "alice")
    assert code == 3 and "401" in err and "reload" in err, (code, out, err)
    assert api(port, "GET", "/sessions?user=alice").status == 200
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while api(port, "GET", "/sessions?user=alice", OTHER_TOKEN).status != 200:
        assert time.monotonic() < deadline, "the reload did not read token_file again"
        time.sleep(0.05)
    assert api(port, "GET", "/sessions?user=alice").status == 401
    code, out, err = cli(env, s, "list", "alice")
    assert code == 0 and handle_of(b.cookie) in out, (code, out, err)


def test_admin_sessions_are_404_without_token_file(env):
    s, port = admin_sesame(env, token_file=False)
    log_in(s.port, "alice")
    for method, target in (("GET", "/sessions?user=alice"), ("DELETE", "/sessions/abc")):
        r = api(port, method, target)
        assert r.status == 404, r
        assert r.header("WWW-Authenticate") is None, r.raw_head
    code, out, err = cli(env, s, "list", "alice")
    assert code == 2 and "token_file" in err, (code, out, err)
    # token_file added to the file but not yet reloaded: the listener does not serve /sessions.
    text = s.config_text + 'token_file = "%s"\n' % write_token(env)
    with open(s.config_path, "w") as f:
        f.write(text)
    code, out, err = cli(env, s, "list", "alice")
    assert code == 3 and "does not serve /sessions" in err, (code, out, err)
    assert "reloaded" in reload(s)
    code, out, err = cli(env, s, "list", "alice")
    assert code == 0, (code, out, err)


def test_admin_sessions_cookie_store_is_501(env):
    s, port = admin_sesame(env, store="cookie")
    b = log_in(s.port, "alice")
    for method, target in (("GET", "/sessions?user=alice"), ("DELETE", "/sessions?user=alice"),
                           ("DELETE", "/sessions/abcdefabcdef")):
        r = api(port, method, target)
        assert r.status == 501, r
        assert r.body.count(b"\n") == 1, r.body
        why = r.json()["error"]
        assert "cookie" in why and "secrets" in why, why
    assert api(port, "GET", "/sessions?user=alice", token="").status == 401
    code, out, err = cli(env, s, "revoke-user", "alice")
    assert code == 3 and "501" in err and "cookie" in err, (code, out, err)
    assert logged_in(s.port, b.cookie)


def test_admin_sessions_refuse_bad_requests(env):
    s, port = admin_sesame(env)
    for method, target, status in (("GET", "/sessions", 400), ("GET", "/sessions?user=", 400),
                                   ("GET", "/sessions?user=a%0Ab", 400),
                                   ("GET", "/sessions?user=" + "u" * 257, 400),
                                   ("GET", "/sessions?user=a&user=b", 400),
                                   ("DELETE", "/sessions/a.b", 400),
                                   ("POST", "/sessions?user=alice", 405),
                                   ("GET", "/sessions/abc", 405)):
        r = api(port, method, target)
        assert r.status == status, (method, target, r)
        assert "error" in r.json(), r
    # Form encoding: '+' and %20 are spaces, %2B a plus.
    b = log_in(s.port, "jane doe+x")
    for query in ("jane+doe%2Bx", "jane%20doe%2bx"):
        assert [e["handle"] for e in listed(port, query)] == [handle_of(b.cookie)]


def test_admin_sessions_escape_what_clients_send(env):
    """A User-Agent is any field value (control characters are refused by
    the parser): quotes and backslashes are escaped, UTF-8 kept, and bytes
    that are not UTF-8 written as \\u00XX, so the answer is valid JSON."""
    s, port = admin_sesame(env)
    # Sent as latin-1: "\xc3\xa9" is the UTF-8 of U+00E9, "\xff" a byte UTF-8 never has.
    b = log_in(s.port, "alice", agent='a "b" \\c \xc3\xa9 \xff')
    r = api(port, "GET", "/sessions?user=alice")
    text = r.body.decode("utf-8")  # strict: fails on anything but valid UTF-8
    assert '"a \\"b\\" \\\\c \u00e9 \\u00ff"' in text, text
    (entry,) = json.loads(text)
    assert entry["user_agent"] == 'a "b" \\c \u00e9 \u00ff', entry
    assert entry["handle"] == handle_of(b.cookie), entry


# ---------------------------------------------------------------- the command line


def test_admin_sessions_cli(env):
    s, port = admin_sesame(env)
    # 0x9b is CSI to a terminal in 8-bit mode; the API writes it as \u009b.
    a1, a2 = log_in(s.port, "alice"), log_in(s.port, "alice", agent="curl/8.5 \x9b31m")
    bob = log_in(s.port, "bob")
    code, out, err = cli(env, s, "list", "alice")
    assert code == 0, (code, out, err)
    lines = out.splitlines()
    assert re.match(r"HANDLE +LOGIN \(UTC\) +LAST SEEN \(UTC\) +CLIENT +USER AGENT$", lines[0]), out
    assert len(lines) == 3, out
    for line in lines[1:]:
        assert re.match(r"\S{12}  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  "
                        r"127\.0\.0\.1  ", line), line
    assert {line.split()[0] for line in lines[1:]} == {handle_of(a1.cookie), handle_of(a2.cookie)}
    assert AGENT in out and "curl/8.5 ?31m" in out and "\x9b" not in out, repr(out)

    code, out, err = cli(env, s, "revoke", handle_of(a1.cookie))
    assert code == 0 and out == "revoked session %s\n" % handle_of(a1.cookie), (code, out, err)
    assert not logged_in(s.port, a1.cookie) and logged_in(s.port, a2.cookie)
    code, out, err = cli(env, s, "revoke", handle_of(a1.cookie))
    assert code == 1 and "no session has the handle" in err, (code, out, err)

    code, out, err = cli(env, s, "revoke-user", "alice")
    assert code == 0 and out == 'revoked 1 session of user "alice"\n', (code, out, err)
    assert not logged_in(s.port, a2.cookie) and logged_in(s.port, bob.cookie)
    code, out, err = cli(env, s, "revoke-user", "alice")
    assert code == 1 and "nothing revoked" in err, (code, out, err)
    code, out, err = cli(env, s, "list", "alice")
    assert code == 1 and "has no sessions" in err, (code, out, err)


def test_admin_sessions_cli_usage_and_unreachable(env):
    s, port = admin_sesame(env)
    for args in ((), ("list",), ("show", "alice"), ("list", "a", "b")):
        code, out, err = cli(env, s, *args)
        assert code == 2 and "usage: sesame -c FILE sessions" in err, (args, code, err)
    code, out, err = cli(env, s, "list", "a\nb")
    assert code == 2 and "control characters" in err, (code, out, err)
    code, out, err = cli(env, s, "revoke", "not/a/handle")
    assert code == 2, (code, out, err)
    code, out, err = env.run_sesame("-c", env.write("broken.toml", "[admin\n"), "sessions", "list", "a")
    assert code == 2 and "broken.toml:1" in err, (code, out, err)
    s.expect_exit = True
    s.stop()
    code, out, err = cli(env, s, "list", "alice")
    assert code == 3 and "cannot reach the admin listener at 127.0.0.1:%d" % port in err, err
    assert "sesame running" in err, err


def test_admin_token_file_is_checked_by_dash_t(env):
    up = env.upstream()
    port = free_port()
    for mode, content, expected in ((0o644, TOKEN, "has mode 0644"),
                                    (0o600, "short", "a token of 5 bytes"),
                                    (0o600, TOKEN + "\n" + TOKEN, "more than one line")):
        path = env.write("bad-token", content + "\n")
        os.chmod(path, mode)
        s = env.sesame(up, start=False, extra="\n" + toml_table(
            "[admin]", {"address": "127.0.0.1:%d" % port, "token_file": path}))
        code, out, err = env.run_sesame("-t", "-c", s.config_path)
        assert code == 1, (code, out, err)
        assert re.search(r"sesame-\d+\.toml:\d+:\d+: admin\.token_file: .*bad-token.* " + expected,
                         out + err), out + err
        assert TOKEN not in out + err

"""Red-team attacks on sesame's own sign-in, forward-auth and session
administration (issue 11). Each test runs one attack against the real
binary (and, where the attack needs it, the real nginx of the forward-auth
recipe) and asserts what must hold; a failing test is a hole to fix.
"""

import signal
import threading
import time
import urllib.parse

from harness import Client, timeout
from signin import form_with
from test_login import (FORM, HTML, PASSWORDS, bcrypt, form_token, login_table, open_form, post_login,
                        sign_in, start, users_text, yescrypt)
from test_session import Browser, echoed, set_cookies
import test_forward_auth as recipe
import test_session

PROXY = {"trusted_proxies": ["127.0.0.1/32"]}


def cookie_values(r, name="sid"):
    """The values of the Set-Cookie fields for `name` in `r` (clearing ones too)."""
    return [value for _, value, _ in set_cookies(r, name)]


def raw(client, method, target, headers=(), body=b""):
    """One request on an existing connection (a front proxy's pooled one)."""
    client.request(method, target, "app.test", list(headers), body)
    return client.read_response(method)


def parallel(n, fn):
    """Runs fn(i) for i < n in threads released together; their results."""
    results = [None] * n
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


# ---------------------------------------------------------------- a session cookie for the next client
#
# Early answers of /.sesame/ (404 unknown path, 405 method, 415 type, 400
# form) carry SessionGate::responseFields() of the PREVIOUS exchange on the
# connection: the gate's state is only reset by inspect(), which these
# answers never reach. A front proxy (the nginx recipe has `keepalive 8`)
# sends many clients' requests over one connection to sesame.


def test_early_own_answer_does_not_hand_out_the_previous_sign_in_cookie(env):
    s, _ = start(env)
    victim = Browser(s.port)
    _, token = open_form(victim)
    pooled = victim.client  # the connection a front proxy would reuse
    r = post_login(victim, "alice", PASSWORDS["alice"], token)
    assert r.status == 303, r
    signed_in = victim.cookie
    for method, target, headers, body in (("PUT", "/.sesame/login", (), b""),
                                          ("GET", "/.sesame/nothing", (), b""),
                                          ("POST", "/.sesame/login", [("Content-Type", "text/plain")], b"x"),
                                          ("POST", "/.sesame/login", [FORM], b"username=%zz"),
                                          ("OPTIONS", "/.sesame/auth", (), b"")):
        r = raw(pooled, method, target, headers, body)
        assert r.status in (400, 404, 405, 415), (method, target, r)
        assert signed_in not in cookie_values(r), (
            "%s %s by another client answered with alice's new session cookie: %r" % (
                method, target, r.all("Set-Cookie")))
        assert not r.all("Set-Cookie"), (method, target, r.all("Set-Cookie"))
    # What the stolen value would be worth:
    assert echoed(Browser(s.port, cookie=signed_in).get("/echo"), "X-Remote-User") == ["alice"]


def test_early_own_answer_does_not_hand_out_an_application_login_cookie(env):
    # No [login] at all: sessions and an application that logs users in with
    # X-Sesame-Login, as before issue 11. /.sesame/login answers 404.
    s, _ = test_session.start(env)
    victim = Browser(s.port)
    victim.login("carol")
    signed_in = victim.cookie
    r = raw(victim.client, "GET", "/.sesame/login")
    assert r.status == 404, r
    assert signed_in not in cookie_values(r), r.all("Set-Cookie")
    assert not r.all("Set-Cookie"), r.all("Set-Cookie")


def test_early_own_answer_does_not_replay_a_logout(env):
    # The same stale fields after a logout: the next client's cookies are
    # cleared (Clear-Site-Data) by an answer that is not about it.
    s, _ = start(env)
    b = Browser(s.port)
    sign_in(b)
    token = form_token(b.get("/.sesame/logout").body)
    r = b.post("/.sesame/logout", [FORM], ("csrf=" + urllib.parse.quote(token)).encode())
    assert r.status == 303 and r.header("Clear-Site-Data"), r
    r = raw(b.client if b.client else Client(s.port), "GET", "/.sesame/nothing")
    assert r.status == 404, r
    assert r.header("Clear-Site-Data") is None and not r.all("Set-Cookie"), r


@timeout(60)
def test_nginx_pooled_connection_does_not_give_the_next_client_a_signed_in_session(env):
    """The shipped nginx recipe (upstream keepalive to sesame): alice signs
    in; the next client through nginx asks for PUT /.sesame/login and must
    not receive alice's session cookie."""
    port, _ = recipe.start(env)
    alice = recipe.Person(port)
    form = form_with(alice.get("/.sesame/login?return_to=/app/echo").body, "password")
    r = alice.post_form("/.sesame/login", dict(form["fields"], username="alice",
                                                password=recipe.PASSWORDS["alice"]))
    assert r.status == 303, r
    mallory = recipe.Person(port)
    r = mallory.b.request("PUT", "/.sesame/login")
    assert r.status == 405, r
    assert alice.b.cookie not in cookie_values(r, recipe.COOKIE), (
        "mallory received alice's signed-in cookie: %r" % r.all("Set-Cookie"))
    if mallory.b.cookie:
        r = mallory.get("/app/echo")
        assert r.status != 200 or echoed(r, "X-Remote-User") != ["alice"], "mallory is alice now"


# ---------------------------------------------------------------- brute force: racing the counter
#
# OwnEndpoints::checkFailures reads the counters, the hash runs, and only
# then onHashed -> addFailure counts: every request that arrives while
# others are being hashed sees the old count.


@timeout(60)
def test_parallel_guesses_do_not_exceed_max_failures(env):
    s, _ = start(env, login=login_table(env, max_failures=3, failure_window="1m", hash_queue=64))
    browsers = [Browser(s.port) for _ in range(20)]
    tokens = [open_form(b)[1] for b in browsers]
    statuses = parallel(20, lambda i: post_login(browsers[i], "alice", "guess %d" % i, tokens[i]).status)
    checked = statuses.count(401)
    assert checked <= 3, "%d passwords were checked for alice with max_failures = 3: %r" % (checked, statuses)


@timeout(60)
def test_correct_guess_raced_past_the_limit_does_not_sign_in(env):
    users = "dave:%s\n" % bcrypt("dave's password", 12)
    s, _ = start(env, login=login_table(env, users=users, max_failures=2, failure_window="1m",
                                         hash_threads=1))
    wrong = [Browser(s.port) for _ in range(6)]
    tokens = [open_form(b)[1] for b in wrong]
    right = Browser(s.port)
    _, right_token = open_form(right)
    threads = [threading.Thread(target=post_login, args=(b, "dave", "guess %d" % i, t))
               for i, (b, t) in enumerate(zip(wrong, tokens))]
    for t in threads:
        t.start()
    time.sleep(0.2)  # the 7th guess, sent while the first of six is still being hashed
    r = post_login(right, "dave", "dave's password", right_token)
    for t in threads:
        t.join(60)
    assert r.status == 429, "the 7th guess within the window (max_failures = 2) signed in: %r" % r


@timeout(90)
def test_one_address_cannot_fill_the_hash_queue_for_everyone(env):
    # All users bcrypt cost 12, so unknown names cost that too. One address
    # sends 8 sign-ins at once; with max_failures = 2 it may have at most 2
    # checks in flight, and the queue must have room for another client.
    users = "dave:%s\nerin:%s\n" % (bcrypt("dave's password", 12), bcrypt("erin's password", 12))
    s, _ = start(env, server=PROXY, login=login_table(env, users=users, max_failures=2, failure_window="1m",
                                                      hash_threads=1, hash_queue=4))
    attacker = [Browser(s.port) for _ in range(8)]
    tokens = [open_form(b)[1] for b in attacker]
    spoofed = [("X-Forwarded-For", "192.0.2.66")]
    threads = [threading.Thread(target=post_login, args=(b, "user%d" % i, "x", t, None, spoofed))
               for i, (b, t) in enumerate(zip(attacker, tokens))]
    for t in threads:
        t.start()
    time.sleep(0.2)
    erin = Browser(s.port)
    _, token = open_form(erin)
    r = post_login(erin, "erin", "erin's password", token, headers=[("X-Forwarded-For", "198.51.100.7")])
    for t in threads:
        t.join(60)
    assert r.status == 303, "erin could not sign in while one address flooded the hashing queue: %r" % r


# ---------------------------------------------------------------- brute force: IPv6 clients


def test_ipv6_addresses_of_one_prefix_share_the_address_limit(env):
    # Password spraying (one password, many names) is what the address
    # limit stops. An IPv6 client owns at least a /64: counted per /128, it
    # takes a fresh address for every guess.
    s, _ = start(env, server=PROXY, login=login_table(env, max_failures=2, failure_window="1m"))
    statuses = []
    for i in range(5):
        b = Browser(s.port)
        _, token = open_form(b)
        r = post_login(b, "user%d" % i, "Summer2024!", token,
                       headers=[("X-Forwarded-For", "2001:db8:1:2::%x" % (i + 1))])
        statuses.append(r.status)
    assert statuses[:2] == [401, 401], statuses
    assert statuses[2:] == [429, 429, 429], (
        "5 guesses from one /64 with max_failures = 2: %r" % statuses)


# ---------------------------------------------------------------- store = "cookie": the form's token


def test_cookie_store_sign_in_works_from_the_first_form(env):
    # SessionGate::csrfBinding binds the token to the nonce of the Session it
    # passes to CookieStore::create, which seals a fresh nonce of its own:
    # the first form a browser gets carries a token for a nonce it never
    # holds, and its sign-in is refused with 403.
    s, _ = start(env, store="cookie")
    b = Browser(s.port)
    r = b.get("/echo", [HTML])
    assert r.status == 302, r
    _, token = open_form(b)
    r = post_login(b, "alice", PASSWORDS["alice"], token)
    assert r.status == 303, "the first sign-in with store = \"cookie\" was refused: %r" % r


# ---------------------------------------------------------------- forward-auth behind the nginx recipe


@timeout(60)
def test_nginx_client_x_forwarded_uri_does_not_steer_the_auth_answer(env):
    # The recipe's auth locations set X-Original-URL, X-Forwarded-Proto and
    # -Host but pass the client's own X-Forwarded-Uri on. sesame prefers the
    # X-Forwarded-* triple, so the client picks the URL (and the 302 that
    # nginx's auth_request turns into a 500).
    port, _ = recipe.start(env, login={"forward_auth_hosts": ["127.0.0.1"]})
    eve = recipe.Person(port)
    plain = eve.get("/app/echo?a=1")
    assert plain.status == 302, plain
    r = eve.get("/app/echo?a=1", [("X-Forwarded-Uri", "/somewhere/else")])
    assert r.status == 302 and r.header("Location") == plain.header("Location"), (
        "a client's X-Forwarded-Uri changed the answer: %r" % r)


# ---------------------------------------------------------------- the users file decides


def test_password_change_in_the_users_file_ends_existing_sessions(env):
    # The operator's answer to a stolen password is a new hash in the users
    # file and a reload; a session signed in with the old password must not
    # outlive it (as a removed user's does not).
    s, _ = start(env)
    thief = Browser(s.port)
    sign_in(thief, "bob")
    env.write("users", "\n".join(l for l in users_text().splitlines() if not l.startswith("bob:")) +
              "\nbob:%s\n" % yescrypt("a brand new password"))
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    thief.close()
    r = thief.get("/echo", [HTML])
    assert r.status == 302, "the session signed in with bob's old password still works: %r" % r


def test_removed_then_re_added_user_does_not_get_old_sessions_back(env):
    s, _ = start(env)
    old = Browser(s.port)
    sign_in(old, "bob")
    lines = users_text().splitlines()
    env.write("users", "\n".join(l for l in lines if not l.startswith("bob:")) + "\n")
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    # The old session is not used while bob is gone; a new bob arrives.
    env.write("users", "\n".join(l for l in lines if not l.startswith("bob:")) +
              "\nbob:%s\n" % yescrypt("the new bob's password"))
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    old.close()
    r = old.get("/echo", [HTML])
    assert r.status == 302, "a session of the removed bob came back with the new bob: %r" % r


# ---------------------------------------------------------------- a link that breaks the sign-in


def test_long_protected_url_does_not_break_the_sign_in(env):
    # loginLocation and GET /.sesame/login take a return_to of any length,
    # the form's POST refuses one over 2048 bytes with 400: a link to a
    # long URL (or one an attacker sends) makes the right password fail.
    s, _ = start(env)
    b = Browser(s.port)
    r = b.get("/echo?q=" + "a" * 2100, [HTML])
    assert r.status == 302, r
    form = form_with(b.get(r.header("Location"), [HTML]).body, "password")
    body = urllib.parse.urlencode(dict(form["fields"], username="alice", password=PASSWORDS["alice"]))
    r = b.post("/.sesame/login", [FORM], body.encode())
    assert r.status == 303, "the right password was refused: %r" % r


# ---------------------------------------------------------------- the sessions CLI and what answers it


def fake_admin(env, body, status="200 OK"):
    """A listener answering every request with `body` (JSON); its port."""
    import socket
    from harness import free_port
    port = free_port()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(4)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(("HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                              "Connection: close\r\n\r\n" % (status, len(body))).encode() + body)

    threading.Thread(target=serve, daemon=True).start()
    env.on_cleanup(listener.close)
    return port


def test_sessions_cli_prints_no_terminal_controls_from_the_answer(env):
    # Every other field the CLI prints goes through shown(); the count of
    # `revoke-user` is printed as the answer gave it. Whatever answers on
    # [admin] address (another process that took the port, a config that
    # points elsewhere) writes escape sequences to the operator's terminal.
    from test_admin_sessions import admin_sesame
    s, admin_port = admin_sesame(env)
    port = fake_admin(env, b'{"revoked": "1\\u001b]0;owned\\u0007\\u001b[2J"}')
    config = env.write("cli.toml", s.config_text.replace("127.0.0.1:%d" % admin_port, "127.0.0.1:%d" % port))
    code, out, err = env.run_sesame("-c", config, "sessions", "revoke-user", "bob")
    assert "\x1b" not in out + err and "\x07" not in out + err, (code, out, err)

"""Attacks on sign-in through a provider (issue 12), against the real binary
and the hostile provider: an open redirect through return_to across the
whole flow, login CSRF (the attacker's own code and state in the victim's
browser), a provider mix-up (RFC 9207 iss), forged, reused or misdirected
back-channel logout tokens (two instances sharing Redis), hop-by-hop
(`Connection:`) abuse to smuggle or strip the signed assertion, and the
callback path spelled to dodge sesame's own-path handling.
"""

import secrets
import time
import urllib.parse

import idp
from harness import Client, timeout
from test_assertion import assertions, fetch_jwks, genkey, verify
from test_oidc_hostile import (CALLBACK, CLIENT_ID, USER, assert_no_session, assert_signed_in, authorize,
                               begin, callback, redis_sections, session_info, sign_in,
                               start)
from test_session import HTML, Browser, echoed

BCL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
BCL_PATH = "/.sesame/oidc/backchannel-logout"


def local(location):
    """True when a Location stays on the site (no scheme, no host, and no
    spelling a browser reads as one: //x, /\\x)."""
    if not location or not location.startswith("/") or location[1:2] in ("/", "\\"):
        return False
    if any(c in location for c in "\t\r\n"):
        return False
    return urllib.parse.urlsplit(urllib.parse.urljoin("http://app.test/", location)).netloc == "app.test"


# ---------------------------------------------------------------- redirects


EVIL_RETURN_TO = [
    "https://evil.example/",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "https:evil.example",
    "\t//evil.example",
    "http://app.test@evil.example/",
]


@timeout(60)
def test_attacks_oidc_open_redirect_through_return_to(env):
    h = idp.start_hostile(env)
    s, _ = start(env, h)
    for evil in EVIL_RETURN_TO:
        b = Browser(s.port)
        target, _ = authorize(h, begin(b, h, return_to=evil))
        r = callback(b, target)
        assert r.status == 303, (evil, r, r.body[:300])
        assert local(r.header("Location")), (evil, r.header("Location"))
        assert "evil" not in r.header("Location"), (evil, r.header("Location"))
        assert_signed_in(b, what=evil)
    # A protected page's own redirect keeps its path through the flow.
    b = Browser(s.port)
    r = b.get("/deep/echo?a=1&b=%2F", [HTML])
    assert r.status == 302, r
    login = r.header("Location")
    assert login.startswith("/.sesame/login?"), login
    return_to = urllib.parse.parse_qs(urllib.parse.urlsplit(login).query)["return_to"][0]
    target, _ = authorize(h, begin(b, h, return_to=return_to))
    r = callback(b, target)
    assert r.status == 303 and r.header("Location") == "/deep/echo?a=1&b=%2F", r.header("Location")


# ---------------------------------------------------------------- login CSRF and mix-up


@timeout(60)
def test_attacks_oidc_login_csrf_and_mixup(env):
    h = idp.start_hostile(env)
    s, _ = start(env, h)
    # The attacker begins a sign-in in their own browser and stops at the
    # callback, keeping its code and state.
    attacker = Browser(s.port)
    target, _ = authorize(h, begin(attacker, h))
    h.reset_stats()
    # The victim's browser is made to open it: without any session, and with
    # a sign-in of its own under way.
    victim = Browser(s.port)
    r = callback(victim, target)
    assert r.status == 400, (r, r.body[:300])
    assert_no_session(victim, "login CSRF, no session")
    busy = Browser(s.port)
    mine, _ = authorize(h, begin(busy, h))
    r = callback(busy, target)
    assert r.status == 400, (r, r.body[:300])
    # (Checked with a copy of the cookie: a protected page's login redirect
    # clears the cookie, and with it the browser's pending sign-in.)
    assert_no_session(Browser(s.port, cookie=busy.cookie), "login CSRF, own sign-in pending")
    # The state is checked before the code is spent at the token endpoint.
    assert h.stats()["requests"].get("token", 0) == 0, h.stats()
    # The victim's own sign-in still completes, as the victim.
    assert callback(busy, mine).status == 303
    assert_signed_in(busy)

    # Mix-up (RFC 9207): a callback naming another issuer is refused.
    b = Browser(s.port)
    target, q = authorize(h, begin(b, h))
    q["iss"] = "https://evil.example"
    r = callback(b, CALLBACK + "?" + urllib.parse.urlencode(q))
    assert r.status == 400, (r, r.body[:300])
    assert_no_session(b, "mix-up")
    # The provider's own error (the user declined): no session.
    h.mode("error", endpoint="authorize")
    b = Browser(s.port)
    target, q = authorize(h, begin(b, h))
    assert q.get("error") == "access_denied" and "code" not in q, q
    r = callback(b, target)
    assert r.status in (400, 403), (r, r.body[:300])
    assert_no_session(b, "access_denied")
    # A callback without state or code.
    for query in ("", "?code=x", "?state=x", "?code=&state="):
        r = callback(Browser(s.port), CALLBACK + query)
        assert r.status == 400, (query, r)


# ---------------------------------------------------------------- back-channel logout


def logout_token(h, key="rsa", header=None, **changes):
    now = int(time.time())
    claims = {"iss": h.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120,
              "jti": secrets.token_urlsafe(12), "events": {BCL_EVENT: {}}, "sid": "sid-victim",
              "sub": USER}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return h.sign(claims, header={"typ": "logout+jwt", **(header or {})}, key=key)


def post_logout(port, token, method="POST"):
    c = Client(port)
    try:
        body = urllib.parse.urlencode({"logout_token": token}).encode()
        if method == "POST":
            c.request("POST", BCL_PATH, "app.test",
                      [("Content-Type", "application/x-www-form-urlencoded")], body)
        else:
            c.request(method, BCL_PATH + "?" + body.decode(), "app.test")
        return c.read_response(method)
    finally:
        c.close()


@timeout(90)
def test_attacks_oidc_backchannel_logout(env):
    h = idp.start_hostile(env)
    redis = env.redis()
    up = env.upstream()
    s1, _ = start(env, h, up=up, store="redis", sections=redis_sections(redis))
    s2, _ = start(env, h, up=up, store="redis", sections=redis_sections(redis))
    h.mode("valid", claims={"sid": "sid-victim"})
    victim = Browser(s1.port)
    sign_in(victim, h)
    h.mode("valid", claims={"sid": "sid-other"})
    other = Browser(s2.port)
    sign_in(other, h)

    def alive(what):
        for port in (s1.port, s2.port):
            assert_signed_in(Browser(port, cookie=victim.cookie), what=what)
        assert_signed_in(Browser(s1.port, cookie=other.cookie), what=what)

    now = int(time.time())
    refused = [
        ("unsigned", logout_token(h, header={"alg": "none", "kid": None})),
        ("alg none with a real kid", logout_token(h, header={"alg": "none"})),
        ("HS256 keyed with the public key", logout_token(h, header={"alg": "HS256"})),
        ("a key not in the provider's set", logout_token(h, key="rogue")),
        ("with a nonce", logout_token(h, nonce="n-123")),
        ("another audience", logout_token(h, aud="someone-else")),
        ("another issuer", logout_token(h, iss=h.issuer + "/evil")),
        ("no events", logout_token(h, events=None)),
        ("the wrong event", logout_token(h, events={"http://schemas.openid.net/event/other": {}})),
        ("neither sid nor sub", logout_token(h, sid=None, sub=None)),
        ("no jti", logout_token(h, jti=None)),
        ("issued an hour ago", logout_token(h, iat=now - 3600, exp=None)),
        ("expired", logout_token(h, iat=now - 600, exp=now - 300)),
        ("an ID token", h.sign({"iss": h.issuer, "aud": CLIENT_ID, "sub": USER, "sid": "sid-victim",
                                "iat": now, "exp": now + 300, "nonce": "n"})),
        ("not a JWT", "garbage"),
    ]
    for what, token in refused:
        r = post_logout(s2.port, token)
        assert r.status == 400, (what, r, r.body[:200])
    alive("after the refused logout tokens")
    # GET (and HEAD) are not the back-channel: 405, nothing ends.
    good = logout_token(h)
    r = post_logout(s1.port, good, method="GET")
    assert r.status == 405 and "POST" in (r.header("Allow") or ""), r
    alive("after a GET")
    # No form field, a field given twice, another content type.
    c = Client(s1.port)
    c.request("POST", BCL_PATH, "app.test", [("Content-Type", "application/json")],
              ('{"logout_token": "%s"}' % good).encode())
    assert c.read_response().status in (400, 415)
    c.close()
    c = Client(s1.port)
    c.request("POST", BCL_PATH, "app.test", [("Content-Type", "application/x-www-form-urlencoded")],
              ("logout_token=%s&logout_token=%s" % (good, good)).encode())
    assert c.read_response().status == 400
    c.close()
    alive("after malformed posts")

    # The real one, posted to the other instance: the victim's session ends
    # everywhere, the other session (another sid) stays.
    r = post_logout(s2.port, good)
    assert r.status == 200, (r, r.body[:200])
    assert "no-store" in (r.header("Cache-Control") or ""), r.headers
    for port in (s1.port, s2.port):
        assert_no_session(Browser(port, cookie=victim.cookie), "after back-channel logout")
    assert_signed_in(Browser(s1.port, cookie=other.cookie), what="another sid")
    # The same token again: refused, and the new session of the same sid stays.
    h.mode("valid", claims={"sid": "sid-victim"})
    again = Browser(s1.port)
    sign_in(again, h)
    for port in (s1.port, s2.port):
        r = post_logout(port, good)
        assert r.status == 400, (port, r, r.body[:200])
    assert_signed_in(again, what="after a replayed logout token")
    # A token with sub and no sid ends every session of that user.
    r = post_logout(s1.port, logout_token(h, sid=None))
    assert r.status == 200, r
    assert_no_session(Browser(s2.port, cookie=again.cookie), "sub logout")
    assert_no_session(Browser(s2.port, cookie=other.cookie), "sub logout")


# ---------------------------------------------------------------- hop-by-hop


@timeout(60)
def test_attacks_oidc_connection_header_cannot_smuggle_the_assertion(env):
    h = idp.start_hostile(env)
    key = genkey(env, "ed25519", "assertion.key")
    identity = ("[identity]", {"assertion_header": "X-Sesame-Assertion", "assertion_key": key})
    s, _ = start(env, h, sections=(identity,))
    jwks = fetch_jwks(s.port)
    b = Browser(s.port)
    sign_in(b, h)
    (genuine,) = assertions(b.get("/echo", [HTML]), "X-Sesame-Assertion")
    assert verify(genuine, jwks)[1]["sub"] == USER
    abuse = [
        [("Connection", "X-Sesame-Assertion"), ("X-Sesame-Assertion", "forged")],
        [("Connection", "keep-alive, x-sesame-assertion, X-Remote-User"), ("X-Sesame-Assertion", "forged"),
         ("X-Remote-User", "admin")],
        [("X-Sesame-Assertion", "forged"), ("Connection", "X-Sesame-Assertion")],
        [("Connection", "X_Sesame_Assertion"), ("X_Sesame_Assertion", "forged")],
    ]
    for headers in abuse:
        r = b.get("/echo", [HTML] + headers)
        assert r.status == 200, (headers, r)
        got = assertions(r, "X-Sesame-Assertion")
        assert "forged" not in got, (headers, got)
        # sesame's own identity survives the client's Connection list.
        assert got == [genuine], (headers, "sesame's assertion was removed or replaced", got)
        assert echoed(r, "X-Remote-User") == [USER], (headers, r.json()["headers"])
        r = b.get("/pub/echo", [HTML] + headers)
        assert r.status == 200 and assertions(r, "X-Sesame-Assertion") == [], (headers, r.json()["headers"])
        assert echoed(r, "X-Remote-User") == [], (headers, r.json()["headers"])


# ---------------------------------------------------------------- callback spellings


SPELLINGS = [
    "/.sesame/oidc/%63allback",
    "/.sesame//oidc/callback",
    "/.sesame/oidc//callback",
    "/.sesame/./oidc/callback",
    "/%2esesame/oidc/callback",
    "/x/../.sesame/oidc/callback",
    "/.sesame/oidc/callback/",
    "/.sesame/oidc/callback;x=1",
    "/.sesame/oidc/%2e/callback",
]


@timeout(60)
def test_attacks_oidc_callback_spellings_bypass_nothing(env):
    """With a public catch-all route, every spelling of the callback stays
    sesame's (never forwarded) and never signs the victim in with the
    attacker's code and state."""
    h = idp.start_hostile(env)
    routes = [{"path": "/", "upstream": "app", "auth": "public"},
              {"path": "/app", "upstream": "app", "auth": "required"}]
    s, up = start(env, h, routes=routes)
    attacker = Browser(s.port)
    _, q = authorize(h, begin(attacker, h))
    query = "?" + urllib.parse.urlencode(q)
    before = up.stats()["requests"]
    for path in SPELLINGS:
        victim = Browser(s.port)
        r = victim.get(path + query, [HTML])
        assert r.status in (400, 404), (path, r, r.body[:200])
        info = session_info(victim)
        assert info["authenticated"] is False, (path, info)
        r = victim.get("/app/echo", [HTML])
        assert r.status == 302, (path, r)
    assert up.stats()["requests"] == before, ("a spelling of the callback reached the upstream",
                                              up.stats(log=True)["log"][-3:])
    # The attacker's callback was never spent by the spellings either.
    assert callback(attacker, CALLBACK + query).status == 303
    assert session_info(attacker)["user"] == USER
    r = attacker.get("/app/echo", [HTML])
    assert r.status == 200 and echoed(r, "X-Remote-User") == [USER], r

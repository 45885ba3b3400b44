"""Bearer routes (issue 12 §2): `Authorization: Bearer <JWT>` access tokens of
the provider, minted here by the hostile provider's keys. A valid token is
forwarded with the identity of user_claim and groups_claim, no session and no
cookie; every bad token (wrong audience or issuer, expired, no exp, `none`,
HS256 keyed with the public key, a key not in the provider's set, a tampered
payload) gets 401 with `WWW-Authenticate: Bearer realm="sesame",
error="invalid_token"` (RFC 6750 §3.1), a malformed Authorization value 401
with invalid_token or invalid_request, and none reaches the application;
bearer_only refuses a request without a token, cookie or not; route groups
give 403.
"""

import secrets
import time

import idp
from harness import Client, timeout
from test_assertion import genkey
from test_oidc_hostile import assert_signed_in, sign_in, start
from test_session import HTML, JSON, Browser, echoed

INVALID = 'Bearer realm="sesame", error="invalid_token"'
# A malformed Authorization value (RFC 6750 §3.1 invalid_request; sesame answers it with 401).
MALFORMED = (INVALID, 'Bearer realm="sesame", error="invalid_request"')
NO_TOKEN = 'Bearer realm="sesame"'
ROUTES = [
    {"path": "/api", "upstream": "app", "bearer": True, "bearer_audience": ["api"]},
    {"path": "/only", "upstream": "app", "bearer": True, "bearer_only": True, "bearer_audience": ["api"]},
    {"path": "/grp", "upstream": "app", "bearer": True, "bearer_audience": ["api"], "groups": ["admins"]},
    {"path": "/pub", "upstream": "app", "auth": "public"},
    {"path": "/", "upstream": "app", "auth": "required"},
]


def claims(h, **changes):
    """An access token's claims for audience "api" (None removes one)."""
    now = int(time.time())
    out = {"iss": h.issuer, "aud": "api", "sub": "u-1234", "preferred_username": "robert",
           "groups": ["staff"], "iat": now, "exp": now + 300, "jti": secrets.token_hex(8),
           "client_id": "some-app", "scope": "openid api"}
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def token(h, key="rsa", header=None, **changes):
    return h.sign(claims(h, **changes), header={"typ": "at+jwt", **(header or {})}, key=key)


def call(s, path, authorization=None, headers=(), cookie=None):
    hs = [JSON] + list(headers)
    if authorization is not None:
        hs.append(("Authorization", authorization))
    if cookie:
        hs.append(("Cookie", cookie))
    c = Client(s.port)
    try:
        c.request("GET", path, "app.test", hs)
        return c.read_response()
    finally:
        c.close()


def bearer_sesame(env, h, up=None, identity=True):
    sections = ()
    if identity:
        sections = (("[identity]", {"assertion_header": "X-Sesame-Assertion",
                                    "assertion_key": genkey(env, "ed25519", "assertion.key")}),)
    return start(env, h, up=up, routes=ROUTES, oidc={"user_claim": "preferred_username"},
                 sections=sections)


@timeout(60)
def test_bearer_valid_tokens_are_forwarded_with_their_identity(env):
    h = idp.start_hostile(env)
    s, up = bearer_sesame(env, h)
    for key, header in (("rsa", None), ("ec", None), ("ed25519", None)):
        r = call(s, "/api/echo", "Bearer " + token(h, key, header))
        assert r.status == 200, (key, header, r, r.body[:300])
        assert echoed(r, "X-Remote-User") == ["robert"], (key, r.json()["headers"])
        assert echoed(r, "X-Remote-Groups") == ["staff"], (key, r.json()["headers"])
        # No session, no cookie: a token request leaves nothing behind.
        assert not r.all("Set-Cookie"), r.all("Set-Cookie")
    # The scheme is case-insensitive (RFC 9110 §11.1); an audience list works.
    r = call(s, "/only/echo", "bearer " + token(h, aud=["other", "api"], groups=["admins", "staff"]))
    assert r.status == 200, (r, r.body[:300])
    assert echoed(r, "X-Remote-Groups") == ["admins,staff"], r.json()["headers"]
    # Route groups apply to tokens: in the group 200, without it 403.
    assert call(s, "/grp/echo", "Bearer " + token(h, groups=["admins"])).status == 200
    before = up.stats()["requests"]
    r = call(s, "/grp/echo", "Bearer " + token(h, groups=["staff"]))
    assert r.status == 403, (r, r.body[:300])
    r = call(s, "/grp/echo", "Bearer " + token(h, groups=None))
    assert r.status == 403, (r, r.body[:300])
    assert up.stats()["requests"] == before, "a request refused by groups reached the upstream"
    # The assertion of a bearer request names the token's user, without a session.
    r = call(s, "/api/echo", "Bearer " + token(h))
    values = echoed(r, "X-Sesame-Assertion")
    assert len(values) == 1, r.json()["headers"]
    _, c = idp.jwt_parts(values[0])
    assert c["sub"] == "robert" and c["groups"] == ["staff"] and "sid" not in c, c


@timeout(60)
def test_bearer_bad_tokens_get_401_invalid_token(env):
    h = idp.start_hostile(env)
    s, up = bearer_sesame(env, h, identity=False)
    now = int(time.time())
    good = token(h)
    head, body, sig = good.split(".")
    forged_body = idp.b64url(idp.b64url_decode(body).replace(b'"robert"', b'"admin1"'))
    bad = [
        ("wrong audience", token(h, aud="other")),
        ("the client's own ID token audience", token(h, aud="sesame")),
        ("wrong issuer", token(h, iss=h.issuer + "/evil")),
        ("issuer with a trailing slash", token(h, iss=h.issuer + "/")),
        ("expired", token(h, iat=now - 1200, exp=now - 600)),
        ("no exp", token(h, exp=None)),
        ("alg none", h.sign(claims(h), header={"alg": "none", "kid": None})),
        ("alg none with the RSA kid", h.sign(claims(h), header={"alg": "none"})),
        ("HS256 keyed with the public key", h.sign(claims(h), header={"alg": "HS256"})),
        ("an ES256 signature naming the RSA key", token(h, key="ec", header={"kid": idp.jwt_parts(good)[0]["kid"]})),
        ("a key not in the provider's set", token(h, key="rogue")),
        ("tampered payload", "%s.%s.%s" % (head, forged_body, sig)),
        ("signature cut off", "%s.%s." % (head, body)),
        ("two parts", "%s.%s" % (head, body)),
        ("garbage", "not-a-jwt"),
        # The provider publishes its RSA key with "alg": "RS256" (RFC 7517 §4.4): one
        # algorithm per key (RFC 8725 §3.1), so a PS256 signature by it is refused.
        ("PS256 by the key published for RS256", token(h, header={"alg": "PS256"})),
    ]
    before = up.stats()["requests"]
    for what, tok in bad:
        for path in ("/api/echo", "/only/echo"):
            r = call(s, path, "Bearer " + tok)
            assert r.status == 401, (what, path, r, r.body[:300])
            assert r.header("WWW-Authenticate") == INVALID, (what, path, r.headers)
            assert not r.all("Set-Cookie"), (what, r.all("Set-Cookie"))
    # Malformed Authorization values.
    for value, expected in (("Bearer  " + good, MALFORMED), ("Bearer  x", MALFORMED),
                            ("Bearer x y", MALFORMED), ("Bearer " + "A" * 10240, MALFORMED),
                            ("Bearer", MALFORMED + (NO_TOKEN,)), ("Bearer ", MALFORMED + (NO_TOKEN,)),
                            ("Basic dXNlcjpwYXNz", MALFORMED + (NO_TOKEN,))):
        r = call(s, "/only/echo", value)
        assert r.status == 401, (value[:20], r)
        assert r.header("WWW-Authenticate") in expected, (value[:20], r.headers)
    # No token on a bearer-only route: 401 without an error code (RFC 6750 §3.1).
    r = call(s, "/only/echo")
    assert r.status == 401 and r.header("WWW-Authenticate") == NO_TOKEN, r.headers
    assert up.stats()["requests"] == before, up.stats(log=True)["log"][-5:]
    # ...and sesame still serves a good token.
    assert call(s, "/api/echo", "Bearer " + good).status == 200


@timeout(60)
def test_bearer_strips_spoofed_identity(env):
    h = idp.start_hostile(env)
    s, up = bearer_sesame(env, h, identity=False)
    spoof = [("X-Remote-User", "admin"), ("X_Remote_User", "admin"), ("X-Remote-Groups", "admins")]
    r = call(s, "/api/echo", "Bearer " + token(h), headers=spoof)
    assert r.status == 200, r
    assert echoed(r, "X-Remote-User") == ["robert"] and echoed(r, "X-Remote-Groups") == ["staff"], \
        r.json()["headers"]
    assert not echoed(r, "X_Remote_User"), r.json()["headers"]
    # A bearer route without a session or token: a browser is sent to sign in,
    # an API call gets 401; neither reaches the application.
    before = up.stats()["requests"]
    r = Browser(s.port).get("/api/echo", [HTML] + spoof)
    assert r.status == 302 and r.header("Location").startswith("/.sesame/login"), r
    assert call(s, "/api/echo", headers=spoof).status == 401
    assert up.stats()["requests"] == before


@timeout(60)
def test_bearer_and_the_session_cookie(env):
    """A token request neither uses nor forwards the session cookie; without
    a token a bearer route takes the session, a bearer_only route does not."""
    h = idp.start_hostile(env)
    s, _ = bearer_sesame(env, h, identity=False)
    b = Browser(s.port)
    sign_in(b, h)
    assert_signed_in(b)
    r = call(s, "/api/echo", cookie="sid=" + b.cookie)
    assert r.status == 200 and echoed(r, "X-Remote-User") == ["mallory"], r
    r = call(s, "/only/echo", cookie="sid=" + b.cookie)
    assert r.status == 401 and r.header("WWW-Authenticate") == NO_TOKEN, r
    # With a token, the token alone decides, and the session cookie is not forwarded.
    cookie = "theme=dark; sid=%s; lang=en" % b.cookie
    r = call(s, "/api/echo", "Bearer " + token(h), cookie=cookie)
    assert r.status == 200, (r, r.body[:200], "a valid token with the session cookie")
    assert echoed(r, "X-Remote-User") == ["robert"], r.json()["headers"]
    sent = "; ".join(echoed(r, "Cookie"))
    assert b.cookie not in sent and "sid=" not in sent and "theme=dark" in sent, sent
    r = call(s, "/api/echo", "Bearer " + token(h, aud="other"), cookie=cookie)
    assert r.status == 401 and r.header("WWW-Authenticate") == INVALID, r.headers
    # The session is untouched by all of it.
    assert_signed_in(b)


@timeout(60)
def test_bearer_token_with_a_forged_session_cookie(env):
    """Anyone can send a cookie named like the session cookie: with a token
    it is dropped, and the token decides (the request is not misread)."""
    h = idp.start_hostile(env)
    s, up = bearer_sesame(env, h, identity=False)
    for cookie in ("sid=anything", "a=1; sid=x; b=2", "sid="):
        r = call(s, "/api/echo", "Bearer " + token(h), cookie=cookie)
        assert r.status == 200, (cookie, r, r.header("WWW-Authenticate"))
        assert echoed(r, "X-Remote-User") == ["robert"], r.json()["headers"]
        assert "sid=" not in "; ".join(echoed(r, "Cookie")), r.json()["headers"]
        r = call(s, "/only/echo", "Bearer " + token(h, aud="other"), cookie=cookie)
        assert r.status == 401 and r.header("WWW-Authenticate") == INVALID, (cookie, r.headers)

"""The OpenID test providers themselves (tests/oidc, tests/e2e/idp.py) work
as the OIDC tests of sesame assume: the real provider serves discovery and
keys over verified TLS, runs the authorization code flow with PKCE through
its own login pages, rotates refresh tokens, survives a restart with rotated
keys, and sends back-channel logout tokens over TLS; the hostile provider
answers every mode as its header says. sesame itself is not started."""

import hashlib
import hmac
import http.client
import http.server
import json
import secrets
import socket
import ssl
import threading
import time
import urllib.parse

import idp
from harness import free_port, timeout

ACCOUNTS = {
    "alice": {"password": "alice's password",
              "claims": {"preferred_username": "alice", "email": "alice@example.test",
                         "email_verified": True, "groups": ["staff", "admins"]}},
}


class LogoutSink:
    """An HTTPS back-channel logout endpoint on 127.0.0.1 (the test CA's
    server certificate): keeps the form bodies it receives."""

    def __init__(self, env):
        tls = idp.idp_tls(env)
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(urllib.parse.parse_qs(body.decode()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls.cert, tls.key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        env.on_cleanup(self.server.shutdown)
        self.url = "https://127.0.0.1:%d/backchannel" % self.port


def code_from(reply, redirect_uri, state):
    loc = reply.location
    assert loc and loc.startswith(redirect_uri + "?"), "not back at the client: %r" % loc
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    assert q["state"] == [state], q
    return q["code"][0]


@timeout(90)
def test_idp_real_provider(env):
    sink = LogoutSink(env)
    redirect_uri = "https://127.0.0.1:%d/.sesame/oidc/callback" % free_port()
    after_logout = "https://127.0.0.1:%d/signed-out" % free_port()
    secret = secrets.token_urlsafe(24)
    k1, k2 = idp.generate_key("rsa", "k1"), idp.generate_key("rsa", "k2")
    assert "d" in k1 and "d" not in idp.public_jwk(k1)
    p = idp.start_provider(env, clients=[{
        "client_id": "sesame", "client_secret": secret, "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [after_logout], "backchannel_logout_uri": sink.url,
    }], accounts=ACCOUNTS, keys=[k1], access_ttl=20)

    # Discovery over TLS verified against the test CA, by IP.
    conn = http.client.HTTPSConnection("127.0.0.1", p.port, context=idp.https_context(p.ca_file), timeout=10)
    conn.request("GET", "/.well-known/openid-configuration")
    r = conn.getresponse()
    assert r.status == 200, r.status
    disc = json.loads(r.read())
    conn.close()
    assert disc["issuer"] == p.issuer, disc["issuer"]
    assert disc["backchannel_logout_supported"] and disc["backchannel_logout_session_supported"]
    assert disc["end_session_endpoint"] == p.issuer + "/session/end", disc["end_session_endpoint"]
    assert "S256" in disc["code_challenge_methods_supported"]
    assert "groups" in disc["scopes_supported"], disc["scopes_supported"]
    assert [k["kid"] for k in p.jwks()["keys"]] == ["k1"]
    assert all("d" not in k for k in p.jwks()["keys"])

    # The code flow as a browser would run it, with PKCE.
    agent = idp.Agent(p.ca_file)
    verifier, challenge = idp.pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    url = p.authorization_url("sesame", redirect_uri, scope="openid profile email groups",
                              state=state, nonce=nonce, code_challenge=challenge)
    first = agent.follow(agent.get(url))
    assert first.status == 200 and "/interaction/" in first.url, first
    login_form = [f for f in idp.forms(first) if f["fields"].get("prompt") == "login"]
    assert login_form and "login" in login_form[0]["fields"] and "password" in login_form[0]["fields"]
    wrong = agent.follow(agent.post(urllib.parse.urljoin(first.url, login_form[0]["action"]),
                                    {"prompt": "login", "login": "alice", "password": "wrong"}))
    assert wrong.status == 200 and wrong.url == first.url, "a wrong password got past the form: %r" % wrong
    back = idp.provider_login(agent, agent.get(url), p.issuer, "alice", ACCOUNTS["alice"]["password"])
    code = code_from(back, redirect_uri, state)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(back.location).query)["iss"] == [p.issuer]

    status, body = p.token({"grant_type": "authorization_code", "code": code,
                            "redirect_uri": redirect_uri, "code_verifier": "x" * 43}, "sesame", secret)
    assert status == 400 and body["error"] == "invalid_grant", (status, body)  # wrong PKCE verifier
    back = idp.provider_login(agent, agent.get(url), p.issuer, "alice")  # provider session: no form
    code = code_from(back, redirect_uri, state)
    status, body = p.token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                            "code_verifier": verifier}, "sesame", secret)
    assert status == 200, (status, body)
    assert body["token_type"] == "Bearer" and 15 <= body["expires_in"] <= 20, body
    header, claims = idp.jwt_parts(body["id_token"])
    assert header["alg"] == "RS256" and header["kid"] == "k1", header
    assert claims["iss"] == p.issuer and claims["aud"] == "sesame" and claims["sub"] == "alice"
    assert claims["nonce"] == nonce and claims["exp"] > time.time() and claims["sid"], claims
    assert claims["preferred_username"] == "alice" and claims["email"] == "alice@example.test"
    assert claims["email_verified"] is True and claims["groups"] == ["staff", "admins"], claims
    sid = claims["sid"]
    id_token = body["id_token"]

    # Refresh rotates; a restart with rotated keys keeps the grant.
    rt1 = body["refresh_token"]
    status, body = p.token({"grant_type": "refresh_token", "refresh_token": rt1}, "sesame", secret)
    assert status == 200 and body["refresh_token"] != rt1, (status, body)
    rt2 = body["refresh_token"]
    assert idp.jwt_parts(body["id_token"])[0]["kid"] == "k1"
    assert idp.jwt_parts(body["id_token"])[1]["groups"] == ["staff", "admins"]
    p.restart(keys=[k2, k1, idp.generate_key("ec", "k3")])
    assert [k["kid"] for k in p.jwks()["keys"]] == ["k2", "k1", "k3"]
    status, body = p.token({"grant_type": "refresh_token", "refresh_token": rt2}, "sesame", secret)
    assert status == 200, (status, body)
    header, claims = idp.jwt_parts(body["id_token"])
    assert header["kid"] == "k2" and header["alg"] == "RS256", header
    assert claims["sub"] == "alice" and claims["sid"] == sid, claims
    rt3 = body["refresh_token"]
    # A replayed code is refused, and revokes what it granted (RFC 9700 4.2.4).
    replay = p.token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                      "code_verifier": verifier}, "sesame", secret)
    assert replay[0] == 400 and replay[1]["error"] == "invalid_grant", replay
    status, body = p.token({"grant_type": "refresh_token", "refresh_token": rt1}, "sesame", secret)
    assert status == 400 and body["error"] == "invalid_grant", (status, body)
    status, body = p.token({"grant_type": "refresh_token", "refresh_token": rt3}, "sesame", secret)
    assert status == 400, "the replayed code must have revoked the grant: %r" % body

    # RP-initiated logout through the confirm form sends a logout token.
    end = p.url("/session/end?" + urllib.parse.urlencode(
        {"id_token_hint": id_token, "post_logout_redirect_uri": after_logout, "state": "bye"}))
    done = idp.provider_logout(agent, end)
    assert done.status == 303 and done.location == after_logout + "?state=bye", (done, done.location)
    assert len(sink.received) == 1, sink.received
    header, token = idp.jwt_parts(sink.received[0]["logout_token"][0])
    assert header["kid"] == "k2" and header.get("typ") == "logout+jwt", header
    assert token["iss"] == p.issuer and token["aud"] == "sesame" and token["sub"] == "alice", token
    assert token["sid"] == sid and "nonce" not in token, token
    assert "http://schemas.openid.net/event/backchannel-logout" in token["events"], token
    assert p.sessions() == []

    # Without a browser session at hand: the test control ends the account's sessions.
    back = idp.provider_login(agent, agent.get(url), p.issuer, "alice", ACCOUNTS["alice"]["password"])
    code_from(back, redirect_uri, state)
    live = p.sessions()
    assert len(live) == 1 and live[0]["account"] == "alice" and live[0]["sids"]["sesame"], live
    out = p.logout_account("alice")
    assert out["sessions"] == 1 and out["backchannel"][0]["ok"], out
    assert idp.jwt_parts(sink.received[1]["logout_token"][0])[1]["sid"] == live[0]["sids"]["sesame"]
    assert p.backchannel_logout("sesame", "alice", "some-sid")["ok"]
    assert idp.jwt_parts(sink.received[2]["logout_token"][0])[1]["sid"] == "some-sid"
    # ...and the next authorization asks for a login again.
    again = agent.follow(agent.get(url))
    assert "/interaction/" in again.url and any(f["fields"].get("prompt") == "login"
                                                for f in idp.forms(again)), again


@timeout(60)
def test_idp_consent_page(env):
    redirect_uri = "https://127.0.0.1:%d/cb" % free_port()
    p = idp.start_provider(env, clients=[{"client_id": "c", "client_secret": "s" * 32,
                                          "redirect_uris": [redirect_uri]}],
                           accounts={"bob": {"claims": {"email": "bob@example.test"}}}, consent=True,
                           refresh="offline_access")
    agent = idp.Agent(p.ca_file)
    verifier, challenge = idp.pkce_pair()
    url = p.authorization_url("c", redirect_uri, scope="openid email", state="s1", code_challenge=challenge)
    page = agent.follow(agent.get(url))
    action = urllib.parse.urljoin(page.url, idp.forms(page)[0]["action"])
    r = agent.follow(agent.post(action, {"prompt": "login", "login": "bob", "password": "anything"}),
                     until=lambda u: not u.startswith(p.issuer))
    assert r.status == 200 and any(f["fields"].get("prompt") == "consent" for f in idp.forms(r)), r
    back = idp.provider_login(agent, r, p.issuer, "bob")
    code = code_from(back, redirect_uri, "s1")
    status, body = p.token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                            "code_verifier": verifier}, "c", "s" * 32)
    assert status == 200 and "refresh_token" not in body, body  # no offline_access asked
    assert idp.jwt_parts(body["id_token"])[1]["email"] == "bob@example.test"


def hostile_code(agent, h, client_id="rp", state="st", nonce="n0", challenge=None):
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": "https://127.0.0.1:1/cb",
         "state": state, "nonce": nonce, "scope": "openid"}
    if challenge:
        q.update(code_challenge=challenge, code_challenge_method="S256")
    r = agent.get(h.url("/authorize?" + urllib.parse.urlencode(q)))
    assert r.status == 302, r
    return urllib.parse.parse_qs(urllib.parse.urlsplit(r.location).query)


def hostile_token(h, code, client_id="rp", verifier=None, read_timeout=10):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://127.0.0.1:1/cb",
            "client_id": client_id, "client_secret": "whatever"}
    if verifier:
        form["code_verifier"] = verifier
    conn = http.client.HTTPSConnection("127.0.0.1", h.port, context=idp.https_context(h.ca_file),
                                       timeout=read_timeout)
    try:
        conn.request("POST", "/token", urllib.parse.urlencode(form),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@timeout(60)
def test_idp_hostile_modes(env):
    h = idp.start_hostile(env)
    agent = idp.Agent(h.ca_file)
    disc = h.discovery()
    assert disc["issuer"] == h.issuer and disc["jwks_uri"] == h.issuer + "/jwks"
    keys = h.jwks()["keys"]
    kids = {k["kid"] for k in keys}
    assert sorted(k["kty"] for k in keys) == ["EC", "OKP", "RSA"] and all("d" not in k for k in keys), keys

    def claims_for(mode, **kw):
        if mode:
            h.mode(mode)
        q = hostile_code(agent, h)
        assert q["state"] == ["st"] and q["iss"] == [h.issuer], q
        status, body = hostile_token(h, q["code"][0], **kw)
        assert status == 200, (mode, status, body[:200])
        return idp.jwt_parts(json.loads(body)["id_token"])

    header, claims = claims_for("valid")
    assert header["alg"] == "RS256" and header["kid"] in kids, header
    assert claims["iss"] == h.issuer and claims["aud"] == "rp" and claims["nonce"] == "n0", claims
    assert claims["sub"] and claims["iat"] <= time.time() < claims["exp"], claims
    for mode, alg in (("valid_ps256", "PS256"), ("valid_es256", "ES256"), ("valid_eddsa", "EdDSA")):
        assert claims_for(mode)[0]["alg"] == alg, mode
    header, _ = claims_for("alg_none")
    assert header["alg"] == "none" and "kid" not in header, header
    assert claims_for("hs256_pubkey")[0]["alg"] == "HS256"
    assert claims_for("wrong_iss")[1]["iss"] == h.issuer + "/evil"
    assert claims_for("wrong_aud")[1]["aud"] == "someone-else"
    _, c = claims_for("wrong_azp")
    assert c["aud"] == ["rp", "other-client"] and "azp" not in c, c
    assert claims_for("expired")[1]["exp"] < time.time()
    assert claims_for("iat_future")[1]["iat"] > time.time() + 600
    assert claims_for("nonce_mismatch")[1]["nonce"] != "n0"
    assert "nonce" not in claims_for("no_nonce")[1]
    assert "sub" not in claims_for("missing_sub")[1]
    h.reset_stats()
    kid1 = claims_for("unknown_kid")[0]["kid"]
    kid2 = claims_for("unknown_kid")[0]["kid"]
    assert kid1 != kid2 and not {kid1, kid2} & kids, (kid1, kid2)
    h.jwks()
    stats = h.stats()
    assert stats["requests"]["jwks"] == 1 and stats["requests"]["token"] == 2, stats
    assert stats["last_token_request"]["auth"] == "client_secret_post", stats
    h.mode("valid", claims={"groups": ["g"], "email": None})
    _, c = claims_for(None)
    assert c["groups"] == ["g"] and "email" not in c, c

    # Bodies that are not a token answer.
    h.mode("oversized")
    status, body = hostile_token(h, hostile_code(agent, h)["code"][0])
    assert status == 200 and len(body) >= 5 << 20, len(body)
    json.loads(body)
    h.mode("malformed_json")
    status, body = hostile_token(h, hostile_code(agent, h)["code"][0])
    try:
        json.loads(body)
        raise AssertionError("malformed_json parsed: %r" % body)
    except ValueError:
        pass
    h.mode("error")
    assert hostile_token(h, hostile_code(agent, h)["code"][0])[0] == 400
    h.mode("no_id_token")
    status, body = hostile_token(h, hostile_code(agent, h)["code"][0])
    assert status == 200 and "id_token" not in json.loads(body) and json.loads(body)["access_token"]
    h.mode("hang")
    t0 = time.monotonic()
    try:
        hostile_token(h, hostile_code(agent, h)["code"][0], read_timeout=1.5)
        raise AssertionError("the hanging token endpoint answered")
    except (socket.timeout, TimeoutError):
        assert time.monotonic() - t0 >= 1.4

    # A mode per client; codes answer once; PKCE is checked.
    h.mode("valid")
    h.mode("wrong_aud", client_id="victim")
    q = hostile_code(agent, h, client_id="victim")
    assert json.loads(hostile_token(h, q["code"][0], client_id="victim")[1])["id_token"]
    code = hostile_code(agent, h)["code"][0]
    assert hostile_token(h, code)[0] == 200
    status, body = hostile_token(h, code)
    assert status == 400 and json.loads(body)["error"] == "invalid_grant", (status, body)
    verifier, challenge = idp.pkce_pair()
    assert hostile_token(h, hostile_code(agent, h, challenge=challenge)["code"][0], verifier="x" * 43)[0] == 400
    assert hostile_token(h, hostile_code(agent, h, challenge=challenge)["code"][0], verifier=verifier)[0] == 200

    # Discovery, JWKS and authorization modes.
    h.mode("wrong_iss", endpoint="discovery")
    assert h.discovery()["issuer"] != h.issuer
    h.mode("empty", endpoint="jwks")
    assert h.jwks() == {"keys": []}
    h.mode("wrong_state", endpoint="authorize")
    assert hostile_code(agent, h)["state"] != ["st"]
    h.mode("error", endpoint="authorize")
    q = hostile_code(agent, h)
    assert q["error"] == ["access_denied"] and "code" not in q, q

    # Minted tokens: logout tokens, bearer tokens, alg-confused ones.
    for key, alg in (("rsa", "RS256"), ("ec", "ES256"), ("ed25519", "EdDSA"), ("rogue", "RS256")):
        jwt = h.sign({"iss": h.issuer, "sub": "x"}, key=key)
        parts = jwt.split(".")
        assert len(parts) == 3 and all(parts), jwt
        assert idp.jwt_parts(jwt)[0]["alg"] == alg
    jwt = h.sign({"sub": "x"}, header={"alg": "none", "kid": None})
    assert jwt.endswith(".") and jwt.count(".") == 2 and "kid" not in idp.jwt_parts(jwt)[0], jwt
    jwt = h.sign({"sub": "x"}, header={"alg": "HS256", "typ": "logout+jwt"}, secret="k")
    signing_input, sig = jwt.rsplit(".", 1)
    assert idp.b64url(hmac.new(b"k", signing_input.encode(), hashlib.sha256).digest()) == sig
    assert idp.jwt_parts(jwt)[0]["typ"] == "logout+jwt"


@timeout(60)
def test_idp_jwt_access_tokens_and_private_key_jwt(env):
    """api_audience makes access tokens JWTs (bearer tests); a client may
    authenticate with private_key_jwt (its public key registered as jwks:
    here the hostile provider's, which mints the client assertion)."""
    h = idp.start_hostile(env)
    rsa = [k for k in h.jwks()["keys"] if k["kty"] == "RSA"][0]
    redirect_uri = "https://127.0.0.1:%d/cb" % free_port()
    p = idp.start_provider(env, clients=[{"client_id": "kj", "token_endpoint_auth_method": "private_key_jwt",
                                          "jwks": {"keys": [rsa]}, "redirect_uris": [redirect_uri]}],
                           accounts=ACCOUNTS, extra={"api_audience": "https://api.test"})
    agent = idp.Agent(p.ca_file)
    verifier, challenge = idp.pkce_pair()
    url = p.authorization_url("kj", redirect_uri, scope="openid groups api", state="s", nonce="n",
                              code_challenge=challenge)
    code = code_from(idp.provider_login(agent, agent.get(url), p.issuer, "alice", "alice's password"),
                     redirect_uri, "s")
    now = int(time.time())

    def assertion():
        return h.sign({"iss": "kj", "sub": "kj", "aud": p.issuer + "/token", "jti": secrets.token_hex(8),
                       "iat": now, "exp": now + 60})

    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    status, body = p.token(dict(form, client_assertion=h.sign({"iss": "kj", "sub": "kj"}, key="rogue")))
    assert status == 401 and body["error"] == "invalid_client", (status, body)
    status, body = p.token(dict(form, client_assertion=assertion()))
    assert status == 200, (status, body)
    header, claims = idp.jwt_parts(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256", header
    assert header["kid"] == p.keys[0]["kid"], header
    assert claims["aud"] == "https://api.test" and claims["iss"] == p.issuer and claims["sub"] == "alice"
    assert claims["client_id"] == "kj" and "api" in claims["scope"].split(), claims
    assert idp.jwt_parts(body["id_token"])[1]["groups"] == ["staff", "admins"]
    status, body = p.token({"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                            "client_assertion_type": form["client_assertion_type"],
                            "client_assertion": assertion()})
    assert status == 200 and idp.jwt_parts(body["access_token"])[1]["aud"] == "https://api.test", body

    pem = idp.key_pem(idp.generate_key("ec"))
    assert pem.startswith("-----BEGIN PRIVATE KEY-----"), pem[:40]

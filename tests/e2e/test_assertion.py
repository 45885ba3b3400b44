"""The signed identity assertion (issue 12 §2): with [identity]
assertion_header and assertion_key (Ed25519, or EC P-256, made here with
openssl genpkey), a request of a signed-in user reaches the application with
a JWT that verifies against /.sesame/jwks.json (checked here with python's
cryptography when it is importable AND with openssl, from the public key
rebuilt out of the JWK), carrying iss, aud = the request's host, sub, groups,
iat, exp = iat + assertion_ttl, jti; the same token is reused while fresh;
every client-sent copy, however spelled, is removed on every route; public
routes and anonymous sessions get none; a key rotation (SIGHUP) publishes
both keys and signs with the first.

Signed in with sesame's own form ([login], test_login's helpers): the
assertion does not depend on how the user signed in.
"""

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time

from harness import timeout
from test_login import ROUTES, sign_in, start
from test_session import HTML, Browser

ALL_ROUTES = ROUTES + [{"path": "/sess", "upstream": "app", "auth": "session"}]
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
P256_SPKI = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


# ---------------------------------------------------------------- keys and JWTs


def genkey(env, kind, name):
    """A new private key file (mode 0600): kind "ed25519" or "p256"."""
    path = os.path.join(env.workdir, name)
    args = ["-algorithm", "ed25519"] if kind == "ed25519" else [
        "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "genpkey", *args, "-out", path], check=True, capture_output=True)
    os.chmod(path, 0o600)
    return path


def b64d(text):
    assert re.fullmatch(r"[A-Za-z0-9_-]*", text), "not base64url: %r" % text[:40]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk):
    """RFC 7638: SHA-256 of the required members, sorted, no white space."""
    names = ("crv", "kty", "x") if jwk["kty"] == "OKP" else ("crv", "kty", "x", "y")
    canonical = json.dumps({k: jwk[k] for k in names}, separators=(",", ":"), sort_keys=True)
    return b64e(hashlib.sha256(canonical.encode()).digest())


def public_der(jwk):
    """SubjectPublicKeyInfo DER of an Ed25519 or P-256 JWK."""
    if jwk["kty"] == "OKP":
        assert jwk["crv"] == "Ed25519", jwk
        x = b64d(jwk["x"])
        assert len(x) == 32, jwk
        return ED25519_SPKI + x
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256", jwk
    x, y = b64d(jwk["x"]), b64d(jwk["y"])
    assert len(x) == 32 and len(y) == 32, jwk
    return P256_SPKI + b"\x04" + x + y


def der_int(data):
    data = data.lstrip(b"\x00") or b"\x00"
    if data[0] & 0x80:
        data = b"\x00" + data
    return b"\x02" + bytes([len(data)]) + data


def ecdsa_der(sig):
    """A JWS ES256 signature (r || s, RFC 7518 §3.4) as DER for openssl."""
    body = der_int(sig[:32]) + der_int(sig[32:])
    return b"\x30" + bytes([len(body)]) + body


def openssl_verifies(jwk, signing_input, sig):
    """openssl's verdict; raises if openssl could not run at all."""
    with tempfile.TemporaryDirectory() as d:
        pem = os.path.join(d, "pub.pem")
        with open(pem, "w") as f:
            f.write("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" %
                    base64.b64encode(public_der(jwk)).decode())
        msg, sigfile = os.path.join(d, "msg"), os.path.join(d, "sig")
        with open(msg, "wb") as f:
            f.write(signing_input)
        if jwk["kty"] == "OKP":
            with open(sigfile, "wb") as f:
                f.write(sig)
            cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", msg,
                   "-sigfile", sigfile]
        else:
            if len(sig) != 64:
                return False
            with open(sigfile, "wb") as f:
                f.write(ecdsa_der(sig))
            cmd = ["openssl", "dgst", "-sha256", "-verify", pem, "-signature", sigfile, msg]
        p = subprocess.run(cmd, capture_output=True, text=True)
        out = p.stdout + p.stderr
        if p.returncode == 0:
            assert "Verified" in out or "Signature Verified Successfully" in out, out
            return True
        assert "Verification failure" in out or "Signature Verification Failure" in out or \
            "verification fail" in out.lower(), "openssl could not check the signature: %s" % out
        return False


def cryptography_verifies(jwk, signing_input, sig):
    """The cryptography package's verdict, or None when it is not installed."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    except ImportError:
        return None
    try:
        if jwk["kty"] == "OKP":
            ed25519.Ed25519PublicKey.from_public_bytes(b64d(jwk["x"])).verify(sig, signing_input)
        else:
            if len(sig) != 64:
                return False
            numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(b64d(jwk["x"]), "big"),
                                                    int.from_bytes(b64d(jwk["y"]), "big"), ec.SECP256R1())
            numbers.public_key().verify(
                encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")),
                signing_input, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def signature_ok(jwk, signing_input, sig):
    ours = openssl_verifies(jwk, signing_input, sig)
    theirs = cryptography_verifies(jwk, signing_input, sig)
    assert theirs is None or theirs == ours, "openssl says %s, cryptography %s" % (ours, theirs)
    return ours


def verify(token, jwks):
    """Checks `token` against the key set as an application would; returns
    (header, claims). Also proves the check can fail: the same token with
    one bit of its signature flipped must not verify."""
    parts = token.split(".")
    assert len(parts) == 3, token
    header, claims = json.loads(b64d(parts[0])), json.loads(b64d(parts[1]))
    keys = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    assert len(keys) == 1, ("no single key for kid", header, [k.get("kid") for k in jwks["keys"]])
    jwk = keys[0]
    expected_alg = "EdDSA" if jwk["kty"] == "OKP" else "ES256"
    assert header["alg"] == expected_alg and jwk.get("alg", expected_alg) == expected_alg, (header, jwk)
    assert header.get("typ", "JWT") == "JWT", header
    signing_input = (parts[0] + "." + parts[1]).encode()
    sig = b64d(parts[2])
    assert signature_ok(jwk, signing_input, sig), "the assertion's signature does not verify"
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    assert not signature_ok(jwk, signing_input, flipped), "a tampered signature verified"
    return header, claims


def fetch_jwks(port, host="app.test"):
    r = Browser(port, host=host).get("/.sesame/jwks.json")
    assert r.status == 200, r
    assert "max-age=300" in (r.header("Cache-Control") or ""), r.headers
    assert r.header("Content-Type").startswith("application/"), r.headers
    jwks = r.json()
    for k in jwks["keys"]:
        assert not {"d", "p", "q"} & set(k), "a private part is published: %r" % k
        assert k["kid"] == thumbprint(k), (k["kid"], thumbprint(k))
        assert k.get("use", "sig") == "sig", k
    return jwks


def fold(name):
    return re.sub("[^a-z0-9]", "-", name.lower())


def assertions(r, header):
    """Every field the upstream received that folds to `header`'s name."""
    return [v for n, v in r.json()["headers"] if fold(n) == fold(header)]


def spoofs(header):
    """The configured header, spelled as a client might to slip it past."""
    return [(header, "forged"), (header.replace("-", "_"), "forged_underscore"),
            (header.lower(), "forged_lower"), (header.replace("-", "."), "forged_dot")]


# ---------------------------------------------------------------- tests


def identity(header, keys, **more):
    return ("[identity]", dict({"assertion_header": header, "assertion_key": keys}, **more))


def check_assertion(env, kind, header, ttl, issuer):
    key = genkey(env, kind, "assertion-%s.key" % kind)
    more = {"assertion_ttl": "%ds" % ttl}
    if issuer:
        more["assertion_issuer"] = issuer
    s, up = start(env, routes=ALL_ROUTES, sections=(identity(header, key, **more),))
    jwks = fetch_jwks(s.port)
    assert len(jwks["keys"]) == 1, jwks
    assert jwks["keys"][0]["kty"] == ("OKP" if kind == "ed25519" else "EC"), jwks

    b = Browser(s.port)
    sign_in(b, "alice")
    t0 = time.time()
    r = b.get("/echo", [HTML])
    assert r.status == 200, r
    found = assertions(r, header)
    assert len(found) == 1, r.json()["headers"]
    head, claims = verify(found[0], jwks)
    assert claims["iss"] == (issuer or "sesame"), claims
    assert claims["aud"] == "app.test" and claims["sub"] == "alice", claims
    assert claims["groups"] == ["admins", "staff"], claims
    assert claims["exp"] - claims["iat"] == ttl, claims
    assert abs(claims["iat"] - t0) <= 5, (claims, t0)
    assert len(b64d(claims["jti"])) >= 16, claims
    assert set(claims) <= {"iss", "aud", "sub", "groups", "iat", "exp", "jti", "sid"}, claims
    assert b.cookie not in found[0] and b.cookie not in json.dumps(claims), "the session ID leaks"
    # Cached: the next request carries the very same token.
    again = assertions(b.get("/admin/echo", [HTML]), header)
    assert again == found, (again, found)
    # Another host is another audience, so another token.
    other = Browser(s.port, host="other.test", cookie=b.cookie)
    r = other.get("/echo", [HTML])
    (token,) = assertions(r, header)
    assert token != found[0] and verify(token, jwks)[1]["aud"] == "other.test"
    # Another user, another token.
    bob = Browser(s.port)
    sign_in(bob, "bob")
    (token,) = assertions(bob.get("/echo", [HTML]), header)
    _, c = verify(token, jwks)
    assert c["sub"] == "bob" and c["groups"] == [] and c["jti"] != claims["jti"], c

    # Client-sent copies: stripped on protected, session and public routes,
    # signed in or not; only sesame's own reaches the application.
    anon = Browser(s.port)
    for who, browser in (("alice", b), ("anonymous", anon)):
        for path in ("/echo", "/sess/echo", "/pub/echo"):
            r = browser.get(path, [HTML] + spoofs(header))
            if who == "anonymous" and path == "/echo":
                assert r.status == 302, r
                continue
            assert r.status == 200, (who, path, r)
            got = assertions(r, header)
            if who == "alice" and path != "/pub/echo":
                assert got == found, (who, path, got)
            else:
                assert got == [], (who, path, "an assertion reached the application", got)
    return s, up


@timeout(60)
def test_assertion_ed25519(env):
    check_assertion(env, "ed25519", "X-Sesame-Assertion", 40, None)


@timeout(60)
def test_assertion_p256_own_header_name(env):
    # A header name outside X-Sesame-: the configured name itself is stripped.
    check_assertion(env, "p256", "X-Identity-Assertion", 60, "https://sesame.test")


def reload(s, keys):
    """Rewrites assertion_key, SIGHUP, waits until the key set has as many
    keys as `keys` names."""
    text = re.sub(r"(?m)^assertion_key = .*$", "assertion_key = " + json.dumps(keys), s.config_text)
    assert text != s.config_text
    s.config_text = text
    with open(s.config_path, "w") as f:
        f.write(text)
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while True:
        jwks = fetch_jwks(s.port)
        if len(jwks["keys"]) == len(keys):
            return jwks
        assert time.monotonic() < deadline, ("the key set after the reload", jwks, keys)
        time.sleep(0.1)


@timeout(60)
def test_assertion_key_rotation(env):
    old = genkey(env, "ed25519", "old.key")
    new = genkey(env, "p256", "new.key")
    s, _ = start(env, routes=ALL_ROUTES, sections=(identity("X-Sesame-Assertion", old),))
    jwks = fetch_jwks(s.port)
    old_kid = jwks["keys"][0]["kid"]
    b = Browser(s.port)
    sign_in(b, "alice")
    (token,) = assertions(b.get("/echo", [HTML]), "X-Sesame-Assertion")
    assert verify(token, jwks)[0]["kid"] == old_kid

    # [new, old]: both published, in that order; the new one signs.
    jwks = reload(s, [new, old])
    kids = [k["kid"] for k in jwks["keys"]]
    assert kids[1] == old_kid and kids[0] != old_kid, kids
    new_kid = kids[0]
    bob = Browser(s.port)
    sign_in(bob, "bob")
    (token,) = assertions(bob.get("/echo", [HTML]), "X-Sesame-Assertion")
    assert verify(token, jwks)[0]["kid"] == new_kid, "a new sign-in is not signed by the first key"
    alice = Browser(s.port, cookie=b.cookie)
    (token,) = assertions(alice.get("/echo", [HTML]), "X-Sesame-Assertion")
    assert verify(token, jwks)[0]["kid"] == new_kid, "alice's assertion after the reload: old key"

    # [new]: the old key is gone, and no assertion signed by it is still sent.
    jwks = reload(s, [new])
    assert [k["kid"] for k in jwks["keys"]] == [new_kid], jwks
    for who in (Browser(s.port, cookie=b.cookie), Browser(s.port, cookie=bob.cookie)):
        (token,) = assertions(who.get("/echo", [HTML]), "X-Sesame-Assertion")
        assert verify(token, jwks)[0]["kid"] == new_kid
    assert not s.stderr_tail(200).count("reload failed"), s.stderr_tail()

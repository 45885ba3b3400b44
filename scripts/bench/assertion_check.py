"""Checks the sesame-assert rows measure what they claim (scripts/bench.sh):
the token the upstream received is a JWT for the session's user, signed by
the configured key and verifiable with the key sesame publishes.

  assertion_check.py TOKEN JWKS_URL KEY_FILE USER AUDIENCE

TOKEN: what the upstream saw in X-Sesame-Assertion; JWKS_URL: sesame's
/.sesame/jwks.json; KEY_FILE: the assertion_key. Verifies the signature
with the JWKS key named by the token's kid (after checking that key is the
public half of KEY_FILE) through the openssl command, so that it needs no
Python package. Prints "ALG KID" or exits non-zero with the reason.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

# SubjectPublicKeyInfo DER up to the key bytes (RFC 5480, RFC 8410).
P256_SPKI = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + b"\x04"
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def der_integer(b):
    b = b.lstrip(b"\x00") or b"\x00"
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + bytes([len(b)]) + b


def es256_der(sig):
    """JWS ES256 signature (r || s, RFC 7518 §3.4) as the DER openssl verifies."""
    if len(sig) != 64:
        sys.exit("ES256 signature of %d bytes, not 64" % len(sig))
    body = der_integer(sig[:32]) + der_integer(sig[32:])
    return b"\x30" + bytes([len(body)]) + body


def spki_of(jwk):
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return P256_SPKI + b64url_decode(jwk["x"]) + b64url_decode(jwk["y"])
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return ED25519_SPKI + b64url_decode(jwk["x"])
    sys.exit("JWKS key of an unexpected type: %s" % json.dumps(jwk))


def main(token, jwks_url, key_file, user, audience):
    parts = token.split(".")
    if len(parts) != 3:
        sys.exit("not a compact JWS: %r" % token[:80])
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    signature = b64url_decode(parts[2])
    with urllib.request.urlopen(jwks_url, timeout=10) as r:
        keys = json.loads(r.read())["keys"]
    found = [k for k in keys if k.get("kid") == header.get("kid")]
    if len(found) != 1:
        sys.exit("the token's kid %r is not once in %s" % (header.get("kid"), jwks_url))
    jwk = found[0]
    own = subprocess.run(["openssl", "pkey", "-in", key_file, "-pubout", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    spki = spki_of(jwk)
    if spki != own:
        sys.exit("the published key %s is not the public half of %s" % (jwk["kid"], key_file))
    alg = header.get("alg")
    if header.get("typ") != "JWT" or alg != {"EC": "ES256", "OKP": "EdDSA"}[jwk["kty"]]:
        sys.exit("unexpected header %s for a %s key" % (header, jwk["kty"]))
    with tempfile.TemporaryDirectory() as tmp:
        pub = os.path.join(tmp, "pub.pem")
        data = os.path.join(tmp, "data")
        sig = os.path.join(tmp, "sig")
        with open(pub, "w") as f:
            f.write("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % base64.b64encode(spki).decode())
        with open(data, "wb") as f:
            f.write((parts[0] + "." + parts[1]).encode())
        with open(sig, "wb") as f:
            f.write(es256_der(signature) if alg == "ES256" else signature)
        if alg == "ES256":
            cmd = ["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, data]
        else:
            cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", data,
                   "-sigfile", sig]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("the signature does not verify: %s%s" % (p.stdout, p.stderr))
    now = time.time()
    problems = []
    if claims.get("sub") != user:
        problems.append("sub %r, not %r" % (claims.get("sub"), user))
    if claims.get("aud") != audience:
        problems.append("aud %r, not %r" % (claims.get("aud"), audience))
    if not claims.get("iss") or not claims.get("jti"):
        problems.append("no iss or no jti")
    if not (isinstance(claims.get("iat"), int) and isinstance(claims.get("exp"), int)
            and claims["iat"] - 60 <= now < claims["exp"]):
        problems.append("iat %r, exp %r around now %d" % (claims.get("iat"), claims.get("exp"), now))
    if problems:
        sys.exit("claims %s: %s" % (json.dumps(claims), "; ".join(problems)))
    print(alg, header["kid"])


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])

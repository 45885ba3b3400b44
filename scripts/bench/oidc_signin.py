"""The sesame-oidc row's OpenID provider and its one sign-in (scripts/bench.sh).

  oidc_signin.py provider DIR CALLBACK_URL
      Starts the real provider of the end-to-end tests (tests/oidc/provider.mjs
      through tests/e2e/idp.py's start_provider) with one client, "sesame",
      whose redirect URI is CALLBACK_URL, and one account. Writes the client
      secret to DIR/oidc-secret (mode 0600) and the account's password to
      DIR/oidc-password, prints
        ready ISSUER CA_FILE CERT KEY
      (CA_FILE: the test CA sesame's ca_file names; CERT, KEY: a certificate
      for 127.0.0.1 that CA signed, for sesame's TLS listener, which receives
      the callback) and runs until SIGTERM, which stops the provider.

  oidc_signin.py signin BASE CALLBACK_BASE ISSUER CA_FILE PASSWORD_FILE
      Signs in once as a browser would (idp.Agent: a cookie jar, redirects one
      at a time): GET BASE/.sesame/login?provider=default&return_to=/ (302 to
      the provider), the provider's login form, then the callback on
      CALLBACK_BASE (303 with the new session cookie). Prints "sid=VALUE",
      then on a second line the sizes of the tokens the provider gives this
      client for this account and scopes (so, of those in sesame's session),
      from a code flow of its own: "tokens id=N access=N refresh=N" in bytes.

The account has the user name "bench" (preferred_username) and no groups, so
the upstream sees the same identity headers as for the sesame-mem row's
session (X-Remote-User: bench, nothing else): what differs is what the store
keeps, the provider's ID, access and refresh tokens. Access tokens are JWTs
(api_audience), as Keycloak, Entra ID and Okta issue them, not the
provider's short opaque default, so the stored tokens have the size they
have in real deployments. They live an hour: nothing expires during a bench.
"""

import base64
import json
import os
import secrets
import signal
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
import idp  # noqa: E402

ACCOUNT = "u-bench"
CLIENT_ID = "sesame"
API = "https://api.bench.test"
SCOPES = "openid profile email api"  # what the [oidc] table bench.sh writes asks for


class Env:
    """What idp.py needs of the e2e harness's Env: a work directory, a
    certificate directory, and cleanups run at the end."""

    def __init__(self, directory):
        self.workdir = directory
        self.certs_dir = os.path.join(directory, "certs")
        self.certs = {}  # sesame's own certificates, for the provider's trust bundle: none
        self.cleanups = []

    def on_cleanup(self, fn):
        self.cleanups.append(fn)

    def cleanup(self):
        for fn in self.cleanups:
            fn()


def write_private(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)


def provider(directory, callback):
    os.makedirs(directory, exist_ok=True)
    env = Env(directory)
    secret = secrets.token_urlsafe(32)
    password = secrets.token_urlsafe(16)
    write_private(os.path.join(directory, "oidc-secret"), secret)
    write_private(os.path.join(directory, "oidc-password"), password)
    # SIGTERM raises SystemExit, so the finally clause stops the provider.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        p = idp.start_provider(
            env,
            clients=[{"client_id": CLIENT_ID, "client_secret": secret, "redirect_uris": [callback]}],
            accounts={ACCOUNT: {"password": password,
                                "claims": {"preferred_username": "bench", "name": "Bench User",
                                           "email": "bench@example.test", "email_verified": True}}},
            access_ttl=3600, extra={"id_token_ttl": 3600, "session_ttl": 86400, "api_audience": API})
        tls = idp.idp_tls(env)
        print("ready", p.issuer, p.ca_file, tls.cert, tls.key, flush=True)
        signal.pause()
    finally:
        env.cleanup()


def signin(base, callback_base, issuer, ca_file, password_file):
    with open(password_file) as f:
        password = f.read().strip()
    agent = idp.Agent(ca_file)
    login = base + "/.sesame/login?" + urllib.parse.urlencode({"provider": "default", "return_to": "/"})
    r = agent.get(login)
    if r.status != 302 or not (r.location or "").startswith(issuer + "/"):
        sys.exit("GET %s answered %d %s, not a redirect to the provider" % (login, r.status, r.location))
    back = idp.provider_login(agent, r, issuer, ACCOUNT, password)
    if not back.location.startswith(callback_base + "/.sesame/oidc/callback?"):
        sys.exit("the provider sent the browser to %s, not to sesame's callback" % back.location)
    done = agent.get(back.location)
    if done.status != 303:
        sys.exit("the callback answered %d: %s" % (done.status, done.text()[:300]))
    cookie = agent.cookies().get("sid")
    if not cookie:
        sys.exit("no sid cookie after the callback")
    print("sid=" + cookie)
    print("tokens " + token_sizes(agent, callback_base + "/.sesame/oidc/callback", issuer, ca_file,
                                  os.path.join(os.path.dirname(password_file), "oidc-secret")))


def token_sizes(agent, redirect_uri, issuer, ca_file, secret_file):
    """The code flow again, as sesame ran it but with the code kept here (the
    provider session of `agent` skips the form): the token endpoint's answer."""
    with open(secret_file) as f:
        secret = f.read().strip()
    verifier, challenge = idp.pkce_pair()
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": redirect_uri, "scope": SCOPES,
             "state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
             "code_challenge": challenge, "code_challenge_method": "S256"}
    back = idp.provider_login(agent, agent.get(issuer + "/auth?" + urllib.parse.urlencode(query)), issuer,
                              ACCOUNT)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(back.location).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    basic = base64.b64encode(("%s:%s" % (CLIENT_ID, urllib.parse.quote(secret, safe=""))).encode()).decode()
    req = urllib.request.Request(issuer + "/token", data=urllib.parse.urlencode(form).encode(), method="POST",
                                 headers={"Authorization": "Basic " + basic,
                                          "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, context=idp.https_context(ca_file), timeout=10) as r:
        body = json.loads(r.read())
    return "id=%d access=%d refresh=%d" % tuple(len(body.get(k, "")) for k in
                                                ("id_token", "access_token", "refresh_token"))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "provider":
        provider(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 7 and sys.argv[1] == "signin":
        signin(*sys.argv[2:])
    else:
        sys.exit(__doc__)

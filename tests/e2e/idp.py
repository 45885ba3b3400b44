"""Identity providers for the OpenID Connect end-to-end tests (issue 12 §3).

start_provider(env, ...) runs tests/oidc/provider.mjs, a real OpenID provider
(oidc-provider); start_hostile(env) runs tests/oidc/hostile.mjs, one that
sends what a real provider never does. Both serve TLS on 127.0.0.1 with a
certificate for 127.0.0.1 and localhost signed by a test CA (idp_tls): sesame
trusts them with `ca_file = provider.ca_file`. Env.cleanup() stops them.

Without a browser, Agent (a cookie-jar HTTPS client that does not follow
redirects by itself) plus provider_login / provider_logout drive the
provider's own pages, as a person would in a browser.

Needs node and tests/oidc/node_modules (scripts/deps.sh runs npm ci there):
a test is skipped without them on a developer's machine and fails in CI (CI
set), so the suite cannot pass there without ever talking to a provider.
"""

import base64
import hashlib
import http.cookiejar
import json
import os
import secrets
import select
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

from harness import Skip, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OIDC_DIR = os.path.join(ROOT, "tests", "oidc")
PROVIDER_JS = os.path.join(OIDC_DIR, "provider.mjs")
HOSTILE_JS = os.path.join(OIDC_DIR, "hostile.mjs")
START_SECONDS = 15.0


def _missing(what):
    if os.environ.get("CI"):
        raise AssertionError("%s in CI: scripts/deps.sh should have installed it" % what)
    raise Skip("%s (make deps installs it)" % what)


def node():
    """node's path; Skip (AssertionError in CI) when it is missing."""
    path = shutil.which("node")
    if not path:
        _missing("no node on PATH")
    return path


def _need_modules():
    if not os.path.isdir(os.path.join(OIDC_DIR, "node_modules", "oidc-provider")):
        _missing("no tests/oidc/node_modules/oidc-provider (npm ci in tests/oidc)")


# ---------------------------------------------------------------- TLS


class Tls:
    """ca: the test CA's certificate (what sesame's ca_file names);
    cert, key: a server certificate for 127.0.0.1 and localhost it signed
    (the providers use it; a sesame listener may too, so that the provider's
    back-channel POST verifies it by IP)."""

    def __init__(self, directory):
        self.ca = os.path.join(directory, "ca.pem")
        self.cert = os.path.join(directory, "server.pem")
        self.key = os.path.join(directory, "server.key")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def idp_tls(env):
    """The test CA and its 127.0.0.1/localhost server certificate, made once
    per run in the shared certificate directory (built aside and renamed into
    place, so tests starting together never see half of a pair)."""
    final = os.path.join(env.certs_dir, "idp")
    if not os.path.exists(os.path.join(final, "server.key")):
        os.makedirs(env.certs_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="idp.", dir=env.certs_dir)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        _openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=sesame e2e test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-keyout", "ca.key", "-out", "ca.pem", cwd=tmp)
        _openssl("req", "-new", *ec, "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
                 "-out", "server.csr", cwd=tmp)
        with open(os.path.join(tmp, "server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-set_serial", str(secrets.randbits(63)), "-days", "2", "-extfile", "server.ext",
                 "-out", "server.pem", cwd=tmp)
        try:
            os.rename(tmp, final)
        except OSError:  # another test made it first
            shutil.rmtree(tmp, ignore_errors=True)
    return Tls(final)


def trust_bundle(env):
    """A CA file trusting the test CA and the harness's self-signed sesame
    certificates ("default" names localhost): NODE_EXTRA_CA_CERTS of the
    provider, whose back-channel logout POSTs go to sesame over TLS."""
    path = os.path.join(env.workdir, "idp-trust.pem")
    if not os.path.exists(path):
        parts = [idp_tls(env).ca] + [cert for cert, _ in env.certs.values()]
        text = "".join(open(p).read() for p in parts)
        with open(path, "w") as f:
            f.write(text)
    return path


def https_context(ca_file):
    """A client context verifying the server against `ca_file` (and its name)."""
    return ssl.create_default_context(cafile=ca_file)


# ---------------------------------------------------------------- keys and JWTs


def generate_key(kind="rsa", kid=None):
    """A new private signing JWK (dict with kid, alg, use): kind "rsa"
    (RS256, 2048 bits), "ec" (ES256, P-256) or "ed25519" (EdDSA)."""
    args = [node(), PROVIDER_JS, "--keygen", kind] + ([kid] if kid else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=30).stdout
    return json.loads(out)


def key_pem(jwk):
    """The private JWK as PKCS#8 PEM text (what a PEM key file holds)."""
    return subprocess.run([node(), PROVIDER_JS, "--pem"], input=json.dumps(jwk), check=True,
                          capture_output=True, text=True, timeout=30).stdout


def public_jwk(jwk):
    """The public half of a JWK (drops d, p, q, dp, dq, qi)."""
    return {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_parts(token):
    """(header, payload) of a compact JWS, decoded, signature NOT checked."""
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def pkce_pair():
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = b64url(secrets.token_bytes(32))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


# ---------------------------------------------------------------- processes


class _NodeServer:
    """A node script that prints "ready" once it listens; stop() ends it
    (SIGTERM, then SIGKILL after 3 s)."""

    def __init__(self, env, name):
        self.env = env
        self.name = name
        self.proc = None
        self.log_path = os.path.join(env.workdir, "%s.log" % name)
        env.on_cleanup(self.stop)

    def _start(self, args, extra_env=None):
        environ = dict(os.environ, **(extra_env or {}))
        self.proc = subprocess.Popen([node(), *args], cwd=OIDC_DIR, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=open(self.log_path, "ab"),
                                     env=environ)
        deadline = time.monotonic() + START_SECONDS
        seen = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                seen += chunk
                if b"ready\n" in seen:
                    return
                if not chunk:
                    break
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise AssertionError("%s did not start (exit %s): %s" % (self.name, self.proc.returncode,
                                                                 self.log_tail()))

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def url(self, path):
        return self.issuer + path

    def _json(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, context=https_context(self.ca_file), timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise AssertionError("%s %s: %d %s" % (method, path, e.code, e.read()[:300])) from None


class Provider(_NodeServer):
    """The real provider. issuer ("https://127.0.0.1:PORT"), port, ca_file,
    keys (private JWKs, the first signs), clients, accounts, log_path."""

    def __init__(self, env, clients, accounts, keys, access_ttl, refresh, consent, host, extra):
        super().__init__(env, "provider")
        _need_modules()
        tls = idp_tls(env)
        self.port = free_port()
        self.issuer = "https://%s:%d" % (host, self.port)
        self.ca_file = tls.ca
        self.clients = clients
        self.accounts = accounts
        self.keys = keys
        self.config_path = os.path.join(env.workdir, "provider.json")
        self.settings = dict({
            "issuer": self.issuer, "port": self.port, "cert": tls.cert, "key": tls.key,
            "cookie_keys": [secrets.token_hex(32)],
            "state_file": os.path.join(env.workdir, "provider-state.json"),
            "access_ttl": access_ttl, "refresh": refresh, "consent": consent,
            "clients": clients, "accounts": accounts,
        }, **(extra or {}))
        self.start()

    def start(self):
        self.settings["keys"] = self.keys
        with open(self.config_path, "w") as f:
            json.dump(self.settings, f, indent=1)
        self._start([PROVIDER_JS, self.config_path],
                    {"NODE_EXTRA_CA_CERTS": trust_bundle(self.env)})

    def restart(self, keys=None):
        """Stops the provider and starts it again on the same port, with
        `keys` (private JWKs, the first signs) if given. Sessions, grants and
        refresh tokens survive (state file)."""
        self.stop()
        if keys is not None:
            self.keys = keys
        self.start()

    def discovery(self):
        return self._json("GET", "/.well-known/openid-configuration")

    def jwks(self):
        return self._json("GET", "/jwks")

    def sessions(self):
        """[{account, sids: {client_id: sid}}]: the provider's live sessions."""
        return self._json("GET", "/__admin/sessions")

    def logout_account(self, account):
        """Ends every provider session of `account` and sends back-channel
        logout tokens: {"sessions": N, "backchannel": [{client_id, sid, ok,
        error?}]} (ok: the client answered 200 or 204)."""
        return self._json("POST", "/__admin/logout", {"account": account})

    def backchannel_logout(self, client_id, sub, sid=None):
        """Sends one provider-signed logout token to the client: {ok, error?}."""
        body = {"client_id": client_id, "sub": sub}
        if sid is not None:
            body["sid"] = sid
        return self._json("POST", "/__admin/backchannel", body)

    def authorization_url(self, client_id, redirect_uri, scope="openid profile email groups",
                          state=None, nonce=None, code_challenge=None, **params):
        q = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "scope": scope}
        for k, v in (("state", state), ("nonce", nonce), ("code_challenge", code_challenge)):
            if v is not None:
                q[k] = v
        if code_challenge is not None:
            q["code_challenge_method"] = "S256"
        q.update(params)
        return self.url("/auth?" + urllib.parse.urlencode(q))

    def token(self, form, client_id=None, client_secret=None):
        """POSTs `form` to the token endpoint (client_secret_basic when a
        secret is given): (status, JSON body)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if client_secret is not None:
            pair = "%s:%s" % (urllib.parse.quote(client_id, safe=""),
                              urllib.parse.quote(client_secret, safe=""))
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        req = urllib.request.Request(self.url("/token"), data=urllib.parse.urlencode(form).encode(),
                                     method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, context=https_context(self.ca_file), timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


def start_provider(env, clients=None, accounts=None, keys=None, access_ttl=20, refresh="always",
                   consent=False, host="127.0.0.1", extra=None):
    """Starts the real provider (tests/oidc/provider.mjs; see its header).

    clients: oidc-provider client metadata dicts (client_id, client_secret,
      redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, ...);
    accounts: {id: {"password": ..., "claims": {...}}} (sub = id);
    keys: private JWKs, the first signs (default: one new RSA key);
    access_ttl: access token lifetime in seconds; refresh: "always" or
      "offline_access"; consent: show the consent page; host: the issuer's
      host name (127.0.0.1 or localhost); extra: more provider.json keys
      (id_token_ttl, refresh_ttl, session_ttl)."""
    node()
    return Provider(env, clients or [], accounts or {}, keys or [generate_key("rsa")], access_ttl,
                    refresh, consent, host, extra)


class Hostile(_NodeServer):
    """The hostile provider: issuer, port, ca_file, log_path."""

    def __init__(self, env, ttl):
        super().__init__(env, "hostile")
        tls = idp_tls(env)
        self.port = free_port()
        self.issuer = "https://127.0.0.1:%d" % self.port
        self.ca_file = tls.ca
        self._start([HOSTILE_JS, "--port", str(self.port), "--cert", tls.cert, "--key", tls.key,
                     "--ttl", str(ttl)])

    def mode(self, name, client_id=None, endpoint="token", claims=None):
        """Sets what `endpoint` (token, discovery, jwks, authorize) answers,
        for `client_id` or for every client; `claims` are merged into the ID
        token (None values remove a claim)."""
        body = {"mode": name, "endpoint": endpoint, "claims": claims or {}}
        if client_id is not None:
            body["client_id"] = client_id
        self._json("POST", "/__mode", body)

    def stats(self):
        """{"requests": {endpoint: count}, "last_token_request": {...}}"""
        return self._json("GET", "/__stats")

    def reset_stats(self):
        self._json("POST", "/__reset", {})

    def sign(self, claims, header=None, key="rsa", secret=None):
        """A compact JWS of `claims` signed by the hostile provider's key
        ("rsa", "ec", "ed25519", or "rogue": not in its JWKS); header.alg
        picks the algorithm ("none", "HS256" keyed with `secret` or the RSA
        public key PEM, "PS256", ...)."""
        body = {"claims": claims, "header": header or {}, "key": key}
        if secret is not None:
            body["secret"] = secret
        return self._json("POST", "/__sign", body)["jwt"]

    def discovery(self):
        return self._json("GET", "/.well-known/openid-configuration")

    def jwks(self):
        return self._json("GET", "/jwks")


def start_hostile(env, ttl=300):
    """Starts tests/oidc/hostile.mjs (modes: see its header); ID tokens live
    `ttl` seconds."""
    node()
    return Hostile(env, ttl)


# ---------------------------------------------------------------- a browser without a browser


class Reply:
    """status, headers ({lower-case name: [values]}), body (bytes), url."""

    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url

    def header(self, name):
        values = self.headers.get(name.lower(), [])
        return values[0] if values else None

    @property
    def location(self):
        loc = self.header("location")
        return urllib.parse.urljoin(self.url, loc) if loc else None

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Reply %d %s>" % (self.status, self.url)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Agent:
    """A cookie-keeping HTTPS client, like one browser profile: every
    request returns its Reply, redirects included (follow() walks them).
    `context`: the ssl context (default: verify against `ca_file`)."""

    def __init__(self, ca_file=None, context=None):
        self.jar = http.cookiejar.CookieJar()
        self.context = context or (https_context(ca_file) if ca_file else ssl.create_default_context())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.context), urllib.request.HTTPCookieProcessor(self.jar),
            _NoRedirect())

    def request(self, method, url, form=None, headers=None, timeout=10):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        h = {"Accept": "text/html"}
        if data is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        h.update(headers or {})
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            r = self.opener.open(req, timeout=timeout)
        except urllib.error.HTTPError as e:
            r = e
        with r:
            headers_out = {}
            for name, value in r.headers.items():
                headers_out.setdefault(name.lower(), []).append(value)
            return Reply(r.code, headers_out, r.read(), url)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, form, **kw):
        return self.request("POST", url, form=form, **kw)

    def follow(self, reply, until=None, hops=10):
        """Follows redirects from `reply` with GET; stops at a non-redirect,
        or before requesting a URL for which until(url) is true (that
        redirect is returned). Returns the last Reply."""
        for _ in range(hops):
            if reply.status not in (301, 302, 303, 307, 308) or not reply.location:
                return reply
            if until is not None and until(reply.location):
                return reply
            reply = self.get(reply.location)
        raise AssertionError("more than %d redirects, last %s" % (hops, reply.url))

    def cookies(self):
        return {c.name: c.value for c in self.jar}


class _Forms(HTMLParser):
    """The forms of a page: [{"action", "method", "id", "fields": {name: value}}]."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": (a.get("method") or "get").lower(),
                               "id": a.get("id"), "fields": {}})
        elif tag in ("input", "button") and self.forms and a.get("name"):
            self.forms[-1]["fields"].setdefault(a["name"], a.get("value") or "")


def forms(reply):
    p = _Forms()
    p.feed(reply.text())
    return p.forms


def provider_login(agent, reply, issuer, account, password=None, consent=True):
    """Drives the provider's pages from `reply` (a redirect to its
    authorization endpoint, or the endpoint's answer) as a person would:
    the login form (login = the account ID), then the consent form if it
    appears. Returns the redirect that leaves the provider (to the client's
    redirect_uri, with code and state): a Reply whose .location is it."""
    off = lambda url: not url.startswith(issuer)  # noqa: E731
    reply = agent.follow(reply, until=off)
    for _ in range(4):
        if reply.status in (302, 303) and reply.location and off(reply.location):
            return reply
        assert reply.status == 200, "provider answered %d at %s: %s" % (reply.status, reply.url,
                                                                      reply.text()[:300])
        page = forms(reply)
        login = [f for f in page if f["fields"].get("prompt") == "login"]
        agree = [f for f in page if f["fields"].get("prompt") == "consent"]
        if login:
            form = {"prompt": "login", "login": account, "password": password or ""}
            action = login[0]["action"]
        elif agree and consent:
            form = {"prompt": "consent"}
            action = agree[0]["action"]
        else:
            raise AssertionError("no login or consent form at %s: %s" % (reply.url, reply.text()[:300]))
        reply = agent.follow(agent.post(urllib.parse.urljoin(reply.url, action), form), until=off)
    raise AssertionError("the provider kept asking; last page %s" % reply.url)


def provider_logout(agent, url, confirm=True):
    """RP-initiated logout: GETs `url` (the end_session_endpoint with
    id_token_hint, post_logout_redirect_uri, state, or a redirect to it) and
    submits the confirm form with logout=yes ("Yes, sign me out"): the
    provider ends its session and POSTs the back-channel logout tokens before
    it answers. Returns the provider's final redirect (to
    post_logout_redirect_uri?state=.., or its own success page)."""
    reply = agent.get(url) if isinstance(url, str) else url
    page = agent.follow(reply, until=lambda u: "/session/end" not in u)
    found = [f for f in forms(page) if f["id"] == "op.logoutForm" or "xsrf" in f["fields"]]
    assert found, "no logout form at %s (%d): %s" % (page.url, page.status, page.text()[:300])
    form = dict(found[0]["fields"])
    if confirm:
        form["logout"] = "yes"
    else:
        form.pop("logout", None)
    return agent.post(urllib.parse.urljoin(page.url, found[0]["action"]), form)

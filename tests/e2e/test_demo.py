"""`make demo` and `make demo OIDC=1` as a person runs them (issue 12 §5):
scripts/demo.sh on its fixed ports (sesame 8443 and 8080, the app 9000,
admin 9901, the OpenID provider 9443), its own certificate and files in
build/demo/. The password sign-in keeps working; with --oidc the sign-in
page also links to the provider, the whole authorization code flow runs
through the provider's own pages, the app receives the user and a signed
X-Sesame-Assertion, and sign-out goes through the provider. Stopping the
demo leaves nothing listening. Skipped when one of those ports is taken on
this machine (a `make demo` running, another service)."""

import base64
import ctypes
import fcntl
import html
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse
import urllib.request

import idp
from harness import Skip, timeout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_SH = os.path.join(ROOT, "scripts", "demo.sh")
DEMO_DIR = os.path.join(ROOT, "build", "demo")
SITE = "https://127.0.0.1:8443"
PROVIDER = "https://127.0.0.1:9443"
PORTS = (8443, 8080, 9000, 9901)
OIDC_PORTS = PORTS + (9443,)
# What demo.sh sets up: sesame's users file and the provider's accounts.
PASSWORDS = {"alice": "wonderland", "bob": "builder"}
PROVIDER_PASSWORDS = {"alice": "looking-glass", "bob": "can-we-fix-it"}
START_SECONDS = 60
PR_SET_PDEATHSIG = 1
# DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410 §4), before its 32 bytes.
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")


def busy(ports):
    taken = []
    for port in ports:
        try:
            socket.create_server(("127.0.0.1", port)).close()
        except OSError:
            taken.append(port)
    return taken


def _die_with_parent():
    # The runner SIGKILLs a test that times out: demo.sh, in its own process
    # group, then gets SIGTERM and its trap stops what it started.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Demo:
    """scripts/demo.sh BINARY [--oidc], in its own process group."""

    def __init__(self, env, ports, *args):
        # The ports are fixed: two demo tests of one run (or of two runs on
        # one machine) take turns.
        os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
        self.lock = open(os.path.join(ROOT, "build", ".demo-test.lock"), "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        taken = busy(ports)
        if taken:
            raise Skip("the demo's fixed ports are in use on 127.0.0.1: %s" %
                       ", ".join(map(str, taken)))
        self.ports = ports
        self.log_path = os.path.join(env.workdir, "demo.log")
        self.proc = subprocess.Popen(["bash", DEMO_SH, env.binary, *args], cwd=ROOT,
                                     stdin=subprocess.DEVNULL, stdout=open(self.log_path, "wb"),
                                     stderr=subprocess.STDOUT, process_group=0,
                                     preexec_fn=_die_with_parent)
        self.pgid = self.proc.pid
        env.on_cleanup(self.kill)
        self._wait_ready()
        self.ca_file = os.path.join(DEMO_DIR, "localhost.pem")

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _wait_ready(self):
        # The certificate may be made during the start: verified from here on.
        probe = ssl.create_default_context()
        probe.check_hostname = False
        probe.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("demo.sh exited with %s:\n%s" % (self.proc.returncode,
                                                                      self.log()[-3000:]))
            try:
                idp.Agent(context=probe).get(SITE + "/", timeout=2)
                if "reloads build/demo/sesame.toml" in self.log():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("the demo did not answer on %s within %ds:\n%s" % (
            SITE, START_SECONDS, self.log()[-3000:]))

    def agent(self):
        """A browser profile trusting the demo's certificate (sesame's and
        the provider's), checking the host name."""
        return idp.Agent(ca_file=self.ca_file)

    def group_alive(self):
        try:
            os.killpg(self.pgid, 0)
            return True
        except ProcessLookupError:
            return False

    def stop(self, sig, group=True):
        """Sends `sig` to the whole group (Ctrl-C in a terminal) or to
        demo.sh alone, and checks that everything it started is gone and
        its ports are free."""
        if group:
            os.killpg(self.pgid, sig)
        else:
            self.proc.send_signal(sig)
        self.proc.wait(20)
        deadline = time.monotonic() + 20
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(self.pgid)], capture_output=True,
                              text=True).stdout.strip()
        assert not self.group_alive(), "still running after demo.sh stopped:\n%s" % left
        taken = busy(self.ports)
        assert not taken, "still listening after the demo stopped: %s" % taken
        assert self.proc.returncode == 0, "demo.sh exited with %s" % self.proc.returncode

    def kill(self):
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.lock.close()


def who(reply):
    m = re.search(r'<p class="who">You are <b>([^<]*)</b>', reply.text())
    assert m, "no 'You are' line at %s (%d): %s" % (reply.url, reply.status, reply.text()[:500])
    return m.group(1)


def login_form(agent):
    r = agent.get(SITE + "/.sesame/login")
    assert r.status == 200, r
    found = [f for f in idp.forms(r) if "csrf" in f["fields"] and "password" in f["fields"]]
    assert found, "no password form on the sign-in page: %s" % r.text()[:500]
    return r, found[0]


def password_sign_in(demo, user):
    agent = demo.agent()
    _, form = login_form(agent)
    fields = dict(form["fields"], username=user, password=PASSWORDS[user])
    r = agent.post(urllib.parse.urljoin(SITE + "/.sesame/login", form["action"] or "/.sesame/login"),
                   fields)
    assert r.status == 303, (r, r.text()[:300])
    page = agent.follow(agent.get(SITE + "/private"))
    assert page.status == 200 and who(page) == user, page
    return agent


def sign_out(agent):
    r = agent.get(SITE + "/.sesame/logout")
    assert r.status == 200, r
    found = [f for f in idp.forms(r) if "csrf" in f["fields"]]
    assert found, r.text()[:500]
    return agent.post(SITE + "/.sesame/logout", {"csrf": found[0]["fields"]["csrf"]})


def answers_plain_http(port=8080):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /private HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n")
        return s.recv(4096).split(b"\r\n", 1)[0]


@timeout(120)
def test_demo_plain(env):
    demo = Demo(env, PORTS)
    agent = demo.agent()
    page = agent.get(SITE + "/")
    assert page.status == 200 and who(page) == "anonymous", page
    assert b"308" in answers_plain_http()
    r = agent.get(SITE + "/private")
    assert r.status == 302 and "/.sesame/login" in r.location, r
    alice = password_sign_in(demo, "alice")
    assert alice.get(SITE + "/admin").status == 403
    bob = password_sign_in(demo, "bob")
    assert bob.get(SITE + "/admin").status == 200
    login, _ = login_form(demo.agent())
    assert "Sign in with" not in login.text()
    # demo.sh alone, as a service manager would stop it: its trap ends the rest.
    demo.stop(signal.SIGTERM, group=False)


def assertion_of(agent, user, groups, workdir):
    """The X-Sesame-Assertion the app received at /api, checked against
    /.sesame/jwks.json (Ed25519) and the key demo.sh made."""
    r = agent.get(SITE + "/api", headers={"Accept": "application/json"})
    assert r.status == 200, r
    seen = r.json()
    assert seen["user"] == user and seen["groups"] == groups, seen
    tokens = [v for k, v in seen["headers"] if k.lower() == "x-sesame-assertion"]
    assert len(tokens) == 1, seen["headers"]
    header, claims = idp.jwt_parts(tokens[0])
    assert header["alg"] == "EdDSA", header
    assert claims["sub"] == user and claims["groups"] == groups, claims
    assert claims["aud"] == "127.0.0.1:8443", claims
    now = time.time()
    assert claims["iat"] - 5 <= now < claims["exp"], claims

    jwks = agent.get(SITE + "/.sesame/jwks.json").json()
    [jwk] = [k for k in jwks["keys"] if k.get("kid") == header["kid"]]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk, jwk
    # The published key is the public half of the one demo.sh made, and it
    # verifies the token (openssl: the e2e tests need no Python crypto).
    public_pem = "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % base64.b64encode(
        ED25519_SPKI + idp.b64url_decode(jwk["x"])).decode()
    made = subprocess.run(["openssl", "pkey", "-in", os.path.join(DEMO_DIR, "assertion.key"),
                           "-pubout"], check=True, capture_output=True, text=True).stdout
    assert made.split() == public_pem.split(), (made, public_pem)
    signing_input, _, signature = tokens[0].rpartition(".")
    files = {"key.pem": public_pem.encode(), "data": signing_input.encode(),
             "sig": idp.b64url_decode(signature)}
    for name, content in files.items():
        with open(os.path.join(workdir, name), "wb") as f:
            f.write(content)
    check = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem",
                            "-rawin", "-in", "data", "-sigfile", "sig"], cwd=workdir,
                           capture_output=True, text=True)
    assert check.returncode == 0, "the assertion's signature does not verify: %s" % check.stdout

    page = agent.get(SITE + "/")
    assert "Signed identity (X-Sesame-Assertion)" in page.text(), page.text()[:2000]


def oidc_sign_in(demo, user):
    """A browser asks for /private, picks the provider on sesame's sign-in
    page and signs in there; returns (agent, the /private page)."""
    agent = demo.agent()
    r = agent.get(SITE + "/private")
    assert r.status == 302 and "/.sesame/login" in r.location, r
    page = agent.follow(r)
    assert page.status == 200 and 'name="password"' in page.text(), page
    m = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Sign in with the demo provider', page.text())
    assert m, "no 'Sign in with the demo provider' link: %s" % page.text()[:2000]
    link = urllib.parse.urljoin(page.url, html.unescape(m.group(1)))
    to_provider = agent.get(link)
    assert to_provider.status == 302 and to_provider.location.startswith(PROVIDER + "/auth?"), \
        to_provider
    back = idp.provider_login(agent, to_provider, PROVIDER, user, PROVIDER_PASSWORDS[user])
    assert back.location.startswith(SITE + "/.sesame/oidc/callback?"), back.location
    landed = agent.get(back.location)
    assert landed.status == 303, (landed, landed.text()[:500])
    assert urllib.parse.urlsplit(landed.location).path == "/private", landed.location
    private = agent.follow(landed)
    assert private.status == 200 and who(private) == user, private
    return agent, private


def provider_control(demo, path, body=None):
    """One of the test provider's controls (tests/oidc/provider.mjs)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(PROVIDER + path, data=data,
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, context=idp.https_context(demo.ca_file), timeout=20) as r:
        return json.loads(r.read())


@timeout(180)
def test_demo_oidc(env):
    idp.node()
    idp._need_modules()
    demo = Demo(env, OIDC_PORTS, "--oidc")

    for name in ("oidc-secret", "assertion.key", "oidc-signing-key.json", "oidc-provider.json"):
        mode = os.stat(os.path.join(DEMO_DIR, name)).st_mode & 0o777
        assert mode == 0o600, "%s has mode %o" % (name, mode)
    config = open(os.path.join(DEMO_DIR, "sesame.toml")).read()
    assert "[login]" in config and "[oidc]" in config

    # The provider serves the demo's certificate, which covers 127.0.0.1.
    discovery = demo.agent().get(PROVIDER + "/.well-known/openid-configuration").json()
    assert discovery["issuer"] == PROVIDER, discovery

    # The password form still works next to the provider's link.
    login, _ = login_form(demo.agent())
    assert "Sign in with the demo provider" in login.text(), login.text()[:2000]
    alice = password_sign_in(demo, "alice")
    assertion_of(alice, "alice", ["users"], env.workdir)

    # The authorization code flow through the provider's own pages.
    agent, private = oidc_sign_in(demo, "alice")
    assert "X-Sesame-Assertion" in private.text()
    assertion_of(agent, "alice", ["users"], env.workdir)
    session = agent.get(SITE + "/.sesame/session").json()
    assert session["authenticated"] and session["user"] == "alice", session
    assert agent.get(SITE + "/admin").status == 403
    bob, _ = oidc_sign_in(demo, "bob")
    assert bob.get(SITE + "/admin").status == 200

    # Sign-out: sesame ends its session, then the provider's confirm page
    # ends the provider's and sends the browser back to the demo.
    out = sign_out(agent)
    assert out.status == 303 and out.location.startswith(PROVIDER + "/session/end?"), out
    done = idp.provider_logout(agent, out.location)
    assert done.status in (302, 303) and done.location.startswith(SITE + "/"), done
    r = agent.get(SITE + "/private")
    assert r.status == 302 and "/.sesame/login" in r.location, r
    sessions = provider_control(demo, "/__admin/sessions")
    assert [s["account"] for s in sessions] == ["bob"], sessions

    # Signed out at the provider alone: its back-channel logout token
    # reaches sesame over TLS (the provider trusts the demo's certificate)
    # and ends bob's session there too.
    ended = provider_control(demo, "/__admin/logout", {"account": "bob"})
    assert [(b["client_id"], b["ok"]) for b in ended["backchannel"]] == [
        ("sesame-demo", True)], ended
    r = bob.get(SITE + "/admin")
    assert r.status == 302 and "/.sesame/login" in r.location, r

    demo.stop(signal.SIGINT)


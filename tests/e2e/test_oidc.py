"""OpenID Connect sign-in against a real provider (issue 12 §1, §3): the real
binary, oidc-provider (tests/oidc/provider.mjs, through idp.py) on loopback
TLS, real Redis where sessions are shared. A browser is played by idp.Agent
(cookie jar, redirects one at a time); test_oidc_browser.py runs Chromium.

sesame listens with TLS on 127.0.0.1 with the test CA's certificate, so the
Agent verifies sesame and the provider alike, and the provider's
back-channel POSTs reach sesame over verified TLS. The provider must know
sesame's redirect URI and sesame the provider's issuer: sesame is set up
first (its ports), the provider started, then sesame's configuration is
completed (Site.launch).

Hostile provider behaviour (forged tokens, replayed logout tokens minted at
will, hangs) is in test_oidc_hostile.py; this file keeps to what a real
provider does.
"""

import html.parser
import http.client
import json
import os
import re
import threading
import time
import urllib.parse

import idp
from harness import free_port, timeout, toml_table
from signin import form_with
from test_session_redis import session_id, store_key

SESSION_SECRET = "oidc e2e session secret, longer than thirty-two bytes"
CLIENT_SECRET = "oidc e2e client secret 0123456789abcdef"
COOKIE = "__Host-oidc"
SCOPES = ["openid", "profile", "email", "groups"]
ACCOUNTS = {
    "u-alice": {"password": "alice's password",
                "claims": {"preferred_username": "alice", "name": "Alice", "email": "alice@example.test",
                           "email_verified": True, "groups": ["staff", "admins"]}},
    "u-bob": {"password": "bob's password",
              "claims": {"preferred_username": "bob", "email": "bob@example.test", "email_verified": True,
                         "groups": ["staff"]}},
    "u-carol": {"password": "carol's password",
                "claims": {"preferred_username": "carol", "email": "carol@example.test",
                           "email_verified": False, "groups": ["admins"]}},
    "u-dave": {"password": "dave's password",
               "claims": {"preferred_username": "dave", "email": "dave@elsewhere.test",
                          "email_verified": True, "groups": ["admins"]}},
}
ROUTES = [
    {"path": "/", "upstream": "app", "auth": "required"},
    {"path": "/pub", "upstream": "app", "auth": "public"},
]
LOGIN = "/.sesame/login"
CALLBACK = "/.sesame/oidc/callback"
BACKCHANNEL = "/.sesame/oidc/backchannel-logout"


# ---------------------------------------------------------------- set-up


class Site:
    """One sesame instance (not started until launch()). `providers` maps a
    provider name (None for a lone [oidc] table) to extra [oidc] keys; the
    issuer is filled in by launch() once the provider runs."""

    def __init__(self, env, up, providers=None, routes=ROUTES, redis=None, workers=1, plain=False,
                 session=None):
        self.env = env
        self.providers = providers if providers is not None else {None: {}}
        tls = idp.idp_tls(env)
        table = {"cookie_name": COOKIE, "secrets": [SESSION_SECRET], "store": "redis" if redis else "memory"}
        table.update(session or {})
        extra = "\n" + toml_table("[session]", table)
        if redis is not None:
            extra += "\n" + toml_table("[redis]", {"address": redis.addr, "command_timeout": "1s"})
        secret_file = env.write("oidc-secret", CLIENT_SECRET + "\n")
        os.chmod(secret_file, 0o600)
        for name, keys in self.providers.items():
            values = {"issuer": "@ISSUER:%s@" % name, "client_id": "sesame", "client_secret_file": secret_file,
                      "ca_file": tls.ca, "scopes": SCOPES, "http_timeout": "3s"}
            values.update(keys)
            extra += "\n" + toml_table("[oidc]" if name is None else "[oidc.%s]" % name, values)
        self.s = env.sesame(upstreams={"app": [up.addr]}, routes=routes, plain=plain, tls=True,
                            certs=[(tls.cert, tls.key)], extra=extra, start=False, workers=workers)
        self.base = "https://127.0.0.1:%d" % self.s.tls_port
        self.plain_base = "http://127.0.0.1:%d" % self.s.port if plain else None
        self.callback = self.base + CALLBACK
        self.started = None

    def launch(self, issuers, wait=True):
        """`issuers`: {provider name: issuer URL}; starts sesame. "@CALLBACK@"
        in a provider's keys becomes this site's callback URL."""
        text = self.s.config_text.replace("@CALLBACK@", self.callback)
        for name, issuer in issuers.items():
            text = text.replace("@ISSUER:%s@" % name, issuer)
        assert "@ISSUER:" not in text, text
        self.s.config_text = text
        with open(self.s.config_path, "w") as f:
            f.write(text)
        self.s.start(wait=wait)
        self.started = time.monotonic()
        return self

    def url(self, path):
        return self.base + path


def client(sites, client_id="sesame", backchannel=None, **more):
    """oidc-provider metadata for sesame's client, registered with the
    callback and the post-logout address of every site."""
    meta = {"client_id": client_id, "client_secret": CLIENT_SECRET,
            "redirect_uris": [s.callback for s in sites],
            "post_logout_redirect_uris": sum(([s.url("/"), s.url("/pub/bye")] for s in sites), [])}
    if backchannel:
        meta["backchannel_logout_uri"] = backchannel
    meta.update(more)
    return meta


def run_all(env, sites, clients=None, accounts=ACCOUNTS, **provider_kw):
    """Starts one provider for `sites` (one client for all of them) and the sites."""
    p = idp.start_provider(env, clients=clients or [client(sites)], accounts=accounts, **provider_kw)
    for site in sites:
        site.launch({None: p.issuer})
    return p


def query(url):
    return {k: v[0] if len(v) == 1 else v
            for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True).items()}


def path_of(url):
    return urllib.parse.urlsplit(url).path


def begin(agent, site, path="/echo", base=None):
    """A browser navigation to a protected page, up to the redirect that
    leaves sesame for the provider: (reply whose .location is the provider's
    authorization URL, the login URL sesame sent the browser to)."""
    r = agent.get((base or site.base) + path)
    assert r.status == 302, "protected page answered %d, not a redirect to sign in" % r.status
    login = r.location
    assert path_of(login) == LOGIN and query(login).get("return_to") == path, login
    r = agent.get(login)
    assert r.status == 302, "%s answered %d: %s" % (login, r.status, r.text()[:300])
    return r, login


def sign_in(agent, site, p, account, path="/echo", base=None):
    """The whole flow; returns the callback's reply (303 expected)."""
    r, _ = begin(agent, site, path, base)
    back = idp.provider_login(agent, r, p.issuer, account, ACCOUNTS.get(account, {}).get("password"))
    r = agent.get(back.location)
    assert r.status == 303, "callback answered %d: %s" % (r.status, r.text()[:400])
    return r


def echo(agent, url, **kw):
    r = agent.get(url, **kw)
    assert r.status == 200, "%s answered %d: %s" % (url, r.status, r.text()[:300])
    return r.json()


def echoed(doc, name):
    return [v for n, v in doc["headers"] if n.lower() == name.lower()]


def identity(doc):
    """(user, set of groups) as the upstream received them."""
    users = echoed(doc, "X-Remote-User")
    groups = ",".join(echoed(doc, "X-Remote-Groups"))
    return (users[0] if len(users) == 1 else users), {g for g in groups.split(",") if g}


def raw_get(base, path, cookie=None, accept="text/html", ca_file=None, timeout_s=10):
    """One request on its own TLS connection with `cookie` (the value of
    COOKIE): (status, headers dict lower-case, body)."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=idp.https_context(ca_file),
                                       timeout=timeout_s)
    headers = {"Accept": accept}
    if cookie:
        headers["Cookie"] = "%s=%s" % (COOKIE, cookie)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def stored(redis, cookie):
    """The session hash in Redis for a cookie value, field names decoded."""
    key = "sesame:s:" + store_key(session_id(cookie))
    return {k.decode(): v.decode() for k, v in redis.hgetall(key).items()}


def oidc_field(fields, name):
    """The session data field ".oidc.NAME", however the store prefixes it."""
    found = [v for k, v in fields.items() if k.endswith(".oidc." + name)]
    assert len(found) <= 1, fields.keys()
    return found[0] if found else None


class _Links(html.parser.HTMLParser):
    """The links of a page: [(href, text)], entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.href = None
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.href = dict(attrs).get("href")
            self.text = []

    def handle_data(self, data):
        if self.href is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self.href is not None:
            self.links.append((self.href, " ".join("".join(self.text).split())))
            self.href = None


def links(reply):
    parser = _Links()
    parser.feed(reply.text())
    parser.close()
    return {text: href for href, text in parser.links}


def signed_out(agent, site, path="/echo"):
    r = agent.get(site.url(path))
    return r.status == 302 and path_of(r.location) == LOGIN


# ---------------------------------------------------------------- the flow


@timeout(90)
def test_oidc_code_flow_identity_and_no_tokens_upstream(env):
    up = env.upstream()
    r = env.redis()
    a = Site(env, up, {None: {"user_claim": "preferred_username"}}, redis=r)
    # B: the flow begins on a plain-HTTP listener; the callback is the
    # configured redirect_url on its TLS listener; the user is the sub.
    b = Site(env, up, {None: {"user_claim": "sub", "redirect_url": "@CALLBACK@"}}, plain=True,
             session={"cookie_name": "sid", "secure": False})
    p = run_all(env, [a, b])
    agent = idp.Agent(p.ca_file)

    r1, login = begin(agent, a)
    pre_login = agent.cookies().get(COOKIE)
    assert pre_login, "the sign-in's state must live in a (pre-login) session: no cookie was set"
    assert "no-store" in (r1.header("cache-control") or ""), r1.headers
    auth = r1.location
    assert auth.startswith(p.discovery()["authorization_endpoint"] + "?"), auth
    q = query(auth)
    assert q["response_type"] == "code" and q["client_id"] == "sesame", q
    assert q["redirect_uri"] == a.callback, q
    assert q["code_challenge_method"] == "S256" and re.fullmatch(r"[A-Za-z0-9_-]{43}", q["code_challenge"]), q
    assert len(q["state"]) >= 22 and len(q["nonce"]) >= 22 and q["state"] != q["nonce"], q
    assert set(q["scope"].split()) == set(SCOPES), q
    for secret in (q["state"], q["nonce"]):
        assert secret not in pre_login, "the state or nonce is in the cookie"

    back = idp.provider_login(agent, r1, p.issuer, "u-alice", ACCOUNTS["u-alice"]["password"])
    assert back.location.startswith(a.callback + "?") and query(back.location)["state"] == q["state"]
    done = agent.get(back.location)
    assert done.status == 303, (done.status, done.text()[:400])
    assert done.location == a.url("/echo"), done.location
    assert "no-store" in (done.header("cache-control") or ""), done.headers
    cookie = agent.cookies()[COOKIE]
    assert cookie != pre_login, "the session ID did not change at sign-in (fixation)"
    assert raw_get(a.base, "/echo", pre_login, ca_file=p.ca_file)[0] == 302, "the pre-login cookie signs in"

    doc = echo(agent, a.url("/echo"))
    assert identity(doc) == ("alice", {"staff", "admins"}), identity(doc)

    # The tokens stay in the store; nothing of them goes upstream.
    fields = stored(r, cookie)
    tokens = {n: oidc_field(fields, n) for n in ("access_token", "id_token", "refresh_token")}
    assert all(tokens.values()), "tokens not kept in the session store: %r" % sorted(fields)
    header, claims = idp.jwt_parts(tokens["id_token"])
    assert claims["sub"] == "u-alice" and claims["aud"] == "sesame" and claims["nonce"] == q["nonce"], claims
    for name, value in doc["headers"]:
        assert "oidc" not in name.lower(), "the upstream got %s: %s" % (name, value[:60])
        for what, token in tokens.items():
            for piece in (token, token.split(".")[-1]):
                assert piece not in value, "the upstream got the %s in %s" % (what, name)
    for token in tokens.values():
        assert token not in cookie
    session_doc = agent.get(a.url("/.sesame/session"))
    assert session_doc.status == 200
    assert session_doc.json()["user"] == "alice" and session_doc.json()["authenticated"] is True
    text = session_doc.text()
    assert ".oidc" not in text and not any(t in text for t in tokens.values()), text[:500]
    assert agent.get(a.url("/echo"), headers={"Accept": "application/json"}).status == 200
    # A client cannot claim another identity.
    doc = echo(agent, a.url("/echo"), headers={"X-Remote-User": "mallory", "Accept": "text/html"})
    assert identity(doc)[0] == "alice"

    # B: plain HTTP start, the configured redirect_url, user_claim = "sub".
    r2, _ = begin(agent, b, base=b.plain_base)
    q2 = query(r2.location)
    assert q2["redirect_uri"] == b.callback and q2["state"] != q["state"], q2
    back = idp.provider_login(agent, r2, p.issuer, "u-alice")  # the provider session: no form
    done = agent.get(back.location)
    assert done.status == 303, (done.status, done.text()[:400])
    assert done.location == b.url("/echo"), done.location
    doc = echo(agent, done.location)
    assert identity(doc) == ("u-alice", {"staff", "admins"}), identity(doc)

    # An API call (or a page's script) never gets a redirect to the provider.
    api = idp.Agent(p.ca_file)
    for headers in ({"Accept": "application/json"},
                    {"Accept": "text/html", "X-Requested-With": "XMLHttpRequest"}):
        reply = api.get(a.url("/echo"), headers=headers)
        assert reply.status == 401 and reply.header("location") is None, (
            "an API call without a session (%r) got %d %s" % (headers, reply.status, reply.header("location")))


@timeout(90)
def test_oidc_callback_replay_foreign_state_and_two_tabs(env):
    up = env.upstream()
    site = Site(env, up)
    p = run_all(env, [site])

    # Replay: the same callback URL again, in the same browser and in another.
    alice = idp.Agent(p.ca_file)
    r, _ = begin(alice, site)
    callback = idp.provider_login(alice, r, p.issuer, "u-alice", ACCOUNTS["u-alice"]["password"]).location
    assert alice.get(callback).status == 303
    cookie = alice.cookies()[COOKIE]
    again = alice.get(callback)
    assert again.status == 400, "a replayed callback answered %d" % again.status
    assert alice.cookies()[COOKIE] == cookie, "a replayed callback changed the session"
    thief = idp.Agent(p.ca_file)
    stolen = thief.get(callback)
    assert stolen.status == 400, "a callback URL replayed in another browser answered %d" % stolen.status
    assert signed_out(thief, site), "the replayed callback signed another browser in"

    # A state begun in another browser (login CSRF: the attacker's code and
    # state, delivered to the victim) is refused; its owner still finishes.
    victim, attacker = idp.Agent(p.ca_file), idp.Agent(p.ca_file)
    begin(victim, site)
    r, _ = begin(attacker, site)
    planted = idp.provider_login(attacker, r, p.issuer, "u-bob", ACCOUNTS["u-bob"]["password"]).location
    refused = victim.get(planted)
    assert refused.status == 400, "a foreign state answered %d" % refused.status
    assert signed_out(victim, site), "the victim was signed in as the attacker"
    assert attacker.get(planted).status == 303
    assert identity(echo(attacker, site.url("/echo")))[0] == "u-bob"

    # Two tabs: two sign-ins begun before either comes back; both complete.
    tabs = idp.Agent(p.ca_file)
    first, _ = begin(tabs, site, "/one/echo")
    second, _ = begin(tabs, site, "/two/echo")
    assert query(first.location)["state"] != query(second.location)["state"]
    cb1 = idp.provider_login(tabs, first, p.issuer, "u-alice", ACCOUNTS["u-alice"]["password"]).location
    cb2 = idp.provider_login(tabs, second, p.issuer, "u-alice").location
    r1 = tabs.get(cb1)
    assert r1.status == 303 and r1.location == site.url("/one/echo"), (
        "the first tab's callback answered %d once a second tab had begun a sign-in" % r1.status)
    r2 = tabs.get(cb2)
    assert r2.status == 303 and r2.location == site.url("/two/echo"), (
        "the second tab's sign-in answered %d (%s) after the first tab completed" % (r2.status, r2.text()[:300]))
    assert identity(echo(tabs, site.url("/two/echo")))[0] == "u-alice"


@timeout(90)
def test_oidc_allowed_groups_and_email_domains(env):
    up = env.upstream()
    groups = Site(env, up, {None: {"user_claim": "preferred_username", "allowed_groups": ["admins"]}})
    domains = Site(env, up, {None: {"user_claim": "preferred_username",
                                    "allowed_email_domains": ["example.test"]}})
    p = run_all(env, [groups, domains])

    def attempt(site, account):
        agent = idp.Agent(p.ca_file)
        r, _ = begin(agent, site)
        back = idp.provider_login(agent, r, p.issuer, account, ACCOUNTS[account]["password"])
        return agent, agent.get(back.location)

    agent, r = attempt(groups, "u-bob")  # staff only
    assert r.status == 403, "a user outside allowed_groups got %d" % r.status
    assert "text/html" in (r.header("content-type") or "") and b"<" in r.body, r.headers
    assert signed_out(agent, groups), "a refused user has a session"
    agent, r = attempt(groups, "u-alice")
    assert r.status == 303 and identity(echo(agent, groups.url("/echo")))[0] == "alice"

    agent, r = attempt(domains, "u-alice")  # verified, in the domain
    assert r.status == 303 and identity(echo(agent, domains.url("/echo")))[0] == "alice"
    agent, r = attempt(domains, "u-carol")  # in the domain, not verified
    assert r.status == 403, "an unverified email got %d" % r.status
    assert signed_out(agent, domains)
    agent, r = attempt(domains, "u-dave")  # verified, another domain
    assert r.status == 403, "an email outside allowed_email_domains got %d" % r.status
    assert signed_out(agent, domains)


@timeout(90)
def test_oidc_several_providers(env):
    up = env.upstream()
    routes = [{"path": "/b", "upstream": "app", "auth": "required", "provider": "b"}] + ROUTES
    site = Site(env, up, {"a": {"display_name": "Provider Alpha", "user_claim": "preferred_username"},
                          "b": {"display_name": "Provider Beta", "user_claim": "preferred_username"}},
                routes=routes)
    pa = idp.start_provider(env, clients=[client([site])], accounts=ACCOUNTS)
    beta_accounts = {"u-bert": {"password": "bert's password",
                                "claims": {"preferred_username": "bert", "groups": ["beta"]}}}
    pb = idp.start_provider(env, clients=[client([site])], accounts=beta_accounts,
                            extra={"state_file": env.workdir + "/provider-b-state.json"})
    site.launch({"a": pa.issuer, "b": pb.issuer})
    agent = idp.Agent(pa.ca_file)

    r = agent.get(site.url("/echo"))
    assert r.status == 302 and path_of(r.location) == LOGIN and "provider" not in query(r.location), r.location
    page = agent.get(r.location)
    assert page.status == 200, "with two providers /.sesame/login is a page, got %d" % page.status
    found = links(page)
    wanted = {"Sign in with Provider Alpha": "a", "Sign in with Provider Beta": "b"}
    for label, name in wanted.items():
        assert label in found, "no link %r on the sign-in page: %r" % (label, found)
        href = found[label]
        assert path_of(href) == LOGIN and query(href).get("provider") == name, href
        assert query(href).get("return_to") == "/echo", href
        go = agent.get(urllib.parse.urljoin(page.url, href))
        issuer = pa.issuer if name == "a" else pb.issuer
        assert go.status == 302 and go.location.startswith(issuer + "/auth?"), (name, go.status, go.location)

    # A route naming provider b goes there directly; the user comes from b.
    r = agent.get(site.url("/b/echo"))
    assert r.status == 302, r.status
    q = query(r.location)
    assert path_of(r.location) == LOGIN and q.get("provider") == "b" and q.get("return_to") == "/b/echo", r.location
    go = agent.get(r.location)
    assert go.status == 302 and go.location.startswith(pb.issuer + "/auth?"), go.location
    back = idp.provider_login(agent, go, pb.issuer, "u-bert", "bert's password")
    done = agent.get(back.location)
    assert done.status == 303 and done.location == site.url("/b/echo"), (done.status, done.location)
    assert identity(echo(agent, site.url("/b/echo"))) == ("bert", {"beta"})


# ---------------------------------------------------------------- sign-out


@timeout(90)
def test_oidc_rp_initiated_logout(env):
    up = env.upstream()
    site = Site(env, up, {None: {"user_claim": "preferred_username", "post_logout_redirect": "/pub/bye"}})
    p = run_all(env, [site])
    agent = idp.Agent(p.ca_file)
    sign_in(agent, site, p, "u-alice")
    cookie = agent.cookies()[COOKIE]
    assert identity(echo(agent, site.url("/echo")))[0] == "alice"

    page = agent.get(site.url("/.sesame/logout"))
    assert page.status == 200, page.status
    form = form_with(page.body, "csrf")
    r = agent.post(urllib.parse.urljoin(page.url, form["action"] or "/.sesame/logout"), dict(form["fields"]))
    assert r.status == 303, (r.status, r.text()[:300])
    end = r.location
    assert end.startswith(p.discovery()["end_session_endpoint"] + "?"), end
    q = query(end)
    assert q.get("client_id") == "sesame", q
    assert q.get("post_logout_redirect_uri") == site.url("/pub/bye"), q
    _, hint = idp.jwt_parts(q["id_token_hint"])
    assert hint["iss"] == p.issuer and hint["aud"] == "sesame" and hint["sub"] == "u-alice", hint
    assert agent.cookies().get(COOKIE) != cookie, "the sign-out left the session cookie"
    assert signed_out(agent, site), "the session survived the sign-out"
    assert raw_get(site.base, "/echo", cookie, ca_file=p.ca_file)[0] == 302, "the old cookie still works"

    # The provider accepts the hint and sends the browser to the registered address.
    out = idp.provider_logout(agent, end)
    assert out.status == 303 and out.location.startswith(site.url("/pub/bye")), (out.status, out.location)
    assert not [s for s in p.sessions() if s["account"] == "u-alice"], p.sessions()


@timeout(90)
def test_oidc_backchannel_logout_on_two_instances(env):
    up = env.upstream()
    r = env.redis()
    a = Site(env, up, {None: {"user_claim": "preferred_username"}}, redis=r)
    b = Site(env, up, {None: {"user_claim": "preferred_username"}}, redis=r, workers=2)
    p = run_all(env, [a, b], clients=[client([a, b], backchannel=a.url(BACKCHANNEL))])
    on_a, on_b, bob = idp.Agent(p.ca_file), idp.Agent(p.ca_file), idp.Agent(p.ca_file)
    sign_in(on_a, a, p, "u-alice")
    sign_in(on_b, b, p, "u-alice")  # another provider session, another sid
    sign_in(bob, b, p, "u-bob")
    assert identity(echo(on_a, a.url("/echo")))[0] == "alice"
    assert identity(echo(on_b, b.url("/echo")))[0] == "alice"
    live = [s for s in p.sessions() if s["account"] == "u-alice"]
    assert len(live) == 2 and live[0]["sids"]["sesame"] != live[1]["sids"]["sesame"], live

    out = p.logout_account("u-alice")
    assert out["sessions"] == 2 and len(out["backchannel"]) == 2, out
    assert all(x["ok"] for x in out["backchannel"]), "sesame refused the provider's logout token: %r\n%s" % (
        out, a.s.stderr_tail(10))
    assert signed_out(on_a, a), "the session on A survived the back-channel logout"
    assert signed_out(on_b, b), "the session on B (same store) survived the back-channel logout"
    assert identity(echo(bob, b.url("/echo")))[0] == "bob", "another user's session ended too"
    left = [k for k in r.keys("sesame:s:*") if r.hgetall(k).get(b"user") == b"alice"]
    assert left == [], "alice's sessions are still in Redis: %r" % left


@timeout(90)
def test_oidc_backchannel_logout_token_is_good_once(env):
    """The provider's own logout token, caught on its way (a sink takes the
    back-channel POST), delivered to sesame: it ends the session once; the
    same token again is refused on both instances sharing the store."""
    from test_idp_smoke import LogoutSink

    up = env.upstream()
    r = env.redis()
    a = Site(env, up, {None: {"user_claim": "preferred_username"}}, redis=r)
    b = Site(env, up, {None: {"user_claim": "preferred_username"}}, redis=r)
    sink = LogoutSink(env)
    p = run_all(env, [a, b], clients=[client([a, b], backchannel=sink.url)])
    agent = idp.Agent(p.ca_file)
    sign_in(agent, a, p, "u-alice")
    assert p.logout_account("u-alice")["backchannel"][0]["ok"]
    assert len(sink.received) == 1, sink.received
    token = sink.received[0]["logout_token"][0]
    assert not signed_out(agent, a), "signed out before sesame got the token"

    def post(site):
        conn = http.client.HTTPSConnection("127.0.0.1", site.s.tls_port, context=idp.https_context(p.ca_file),
                                           timeout=10)
        try:
            conn.request("POST", BACKCHANNEL, urllib.parse.urlencode({"logout_token": token}),
                         {"Content-Type": "application/x-www-form-urlencoded"})
            res = conn.getresponse()
            return res.status, {k.lower(): v for k, v in res.getheaders()}
        finally:
            conn.close()

    status, headers = post(a)
    assert status == 200, "the provider's logout token got %d" % status
    assert "no-store" in headers.get("cache-control", ""), headers
    assert signed_out(agent, a)
    assert post(a)[0] == 400, "a replayed logout token was accepted"
    assert post(b)[0] == 400, "a logout token replayed on the other instance was accepted"


# ---------------------------------------------------------------- refresh


def wait_until(epoch_seconds, margin=0.3):
    delay = epoch_seconds + margin - time.time()
    if delay > 0:
        time.sleep(delay)


@timeout(120)
def test_oidc_refresh_single_flight_and_refused_refresh(env):
    """access tokens live 8 s: sesame refreshes after 6. The provider
    rotates refresh tokens and revokes the grant when a used one comes back,
    so two refreshes of one session (a race) would end it."""
    up = env.upstream()
    r = env.redis()
    a = Site(env, up, {None: {"user_claim": "preferred_username", "refresh": True}}, redis=r, workers=2)
    b = Site(env, up, {None: {"user_claim": "preferred_username", "refresh": True}}, redis=r, workers=2)
    p = run_all(env, [a, b], access_ttl=8)
    agent = idp.Agent(p.ca_file)
    sign_in(agent, a, p, "u-alice")
    cookie = agent.cookies()[COOKIE]

    def tokens():
        fields = stored(r, cookie)
        due = oidc_field(fields, "refresh_at")
        return oidc_field(fields, "access_token"), oidc_field(fields, "refresh_token"), int(due) if due else None

    access0, refresh0, due0 = tokens()
    assert access0 and refresh0 and due0, "no tokens or refresh time stored: %r" % sorted(stored(r, cookie))
    assert time.time() + 3 < due0 <= time.time() + 8, "refresh due at %s, now %s" % (due0, time.time())
    assert identity(echo(agent, a.url("/echo")))[0] == "alice"
    assert tokens()[:2] == (access0, refresh0), "refreshed before 3/4 of the lifetime"

    # Due: the next request refreshes, the session goes on.
    wait_until(due0)
    assert identity(echo(agent, a.url("/echo")))[0] == "alice"
    access1, refresh1, due1 = tokens()
    assert refresh1 != refresh0 and access1 != access0, "no refresh_token grant at the provider"
    assert due1 > due0, (due0, due1)

    # Due again: 20 requests at once, on two instances, two workers each.
    wait_until(due1, margin=0.2)
    results = []
    go = threading.Barrier(20)

    def one(i):
        site = a if i % 2 else b
        go.wait()
        try:
            results.append(raw_get(site.base, "/echo", cookie, ca_file=p.ca_file))
        except Exception as e:  # noqa: BLE001 -- reported below
            results.append((0, {}, repr(e).encode()))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(st for st, _, _ in results)
    assert statuses == [200] * 20, "parallel requests at refresh time: %r" % statuses
    users = {identity(json.loads(body))[0] for _, _, body in results}
    assert users == {"alice"}, users
    access2, refresh2, due2 = tokens()
    assert refresh2 != refresh1, "nobody refreshed"
    # Had two of them refreshed, the provider would have revoked the grant:
    # the next refresh proves it is alive.
    wait_until(due2)
    assert identity(echo(agent, b.url("/echo")))[0] == "alice", "the session ended after the parallel burst"
    access3, refresh3, due3 = tokens()
    assert refresh3 != refresh2, "the third refresh did not happen"

    # The provider ends the grant: the next due request ends the session.
    p.logout_account("u-alice")
    wait_until(due3)
    assert signed_out(agent, a), "a refresh the provider refused did not end the session"
    assert signed_out(agent, b)
    assert raw_get(a.base, "/echo", cookie, ca_file=p.ca_file)[0] == 302


# ---------------------------------------------------------------- keys, start-up


@timeout(90)
def test_oidc_provider_key_rotation(env):
    up = env.upstream()
    r = env.redis()
    site = Site(env, up, {None: {"user_claim": "preferred_username"}}, redis=r)
    k1, k2 = idp.generate_key("rsa", "old-key"), idp.generate_key("rsa", "new-key")
    p = run_all(env, [site], keys=[k1])
    first = idp.Agent(p.ca_file)
    sign_in(first, site, p, "u-alice")
    id1 = oidc_field(stored(r, first.cookies()[COOKIE]), "id_token")
    assert idp.jwt_parts(id1)[0]["kid"] == "old-key"

    p.restart(keys=[k2, k1])
    # sesame reads the key set again for an unknown kid at most once every
    # 10 s, counting the read at start.
    time.sleep(max(0.0, site.started + 11 - time.monotonic()))
    second = idp.Agent(p.ca_file)
    sign_in(second, site, p, "u-bob")
    id2 = oidc_field(stored(r, second.cookies()[COOKIE]), "id_token")
    assert idp.jwt_parts(id2)[0]["kid"] == "new-key", "the provider did not sign with the new key"
    assert identity(echo(second, site.url("/echo")))[0] == "bob"
    assert identity(echo(first, site.url("/echo")))[0] == "alice"


@timeout(60)
def test_oidc_unreachable_issuer_stops_the_start(env):
    up = env.upstream()
    site = Site(env, up, {"corp": {"display_name": "Corp"}})
    nobody = "https://127.0.0.1:%d" % free_port()
    site.launch({"corp": nobody}, wait=False)
    site.s.expect_exit = True
    try:
        status = site.s.proc.wait(20)
    except Exception:  # noqa: BLE001 -- still running: the assertion says so
        status = None
    assert status is not None, "sesame kept running with an unreachable issuer"
    assert status != 0, "sesame exited 0 with an unreachable issuer"
    err = site.s.stderr_tail(20)
    assert "corp" in err and "127.0.0.1" in err, "the message does not name the provider:\n" + err


@timeout(90)
def test_oidc_lazy_provider_comes_later(env):
    up = env.upstream()
    site = Site(env, up, {None: {"user_claim": "preferred_username", "lazy": True}})
    p = idp.start_provider(env, clients=[client([site])], accounts=ACCOUNTS)
    p.stop()
    site.launch({None: p.issuer})
    agent = idp.Agent(p.ca_file)
    assert agent.get(site.url("/pub/echo")).status == 200
    r = agent.get(site.url("/echo"))
    assert r.status == 302 and path_of(r.location) == LOGIN, (r.status, r.location)
    r = agent.get(r.location)
    assert r.status == 503, "sign-in before the provider is reached answered %d" % r.status
    assert agent.get(site.url("/echo"), headers={"Accept": "application/json"}).status == 401

    p.start()
    deadline = time.monotonic() + 25
    while True:
        r = agent.get(site.url(LOGIN + "?return_to=/echo"))
        if r.status == 302 or time.monotonic() > deadline:
            break
        assert r.status == 503, r.status
        time.sleep(0.5)
    assert r.status == 302 and r.location.startswith(p.issuer + "/auth?"), (
        "sign-in still answers %d once the provider runs" % r.status)
    back = idp.provider_login(agent, r, p.issuer, "u-alice", ACCOUNTS["u-alice"]["password"])
    assert agent.get(back.location).status == 303
    assert identity(echo(agent, site.url("/echo")))[0] == "alice"

"""[admin]: what `sesame -t` says about it, and the running admin listener:
/metrics (checked by promtool, counters asserted against the traffic sent),
/healthz, /readyz (upstream down, draining), reload outcomes."""

import re
import signal
import socket
import time
import types

import promtool
from harness import Client, free_port, request_once, toml_table
from test_session import Browser, ctl, session_extra, start

CONFIG = """\
[[listen]]
address = "127.0.0.1:%d"
[upstream.app]
servers = ["127.0.0.1:9"]
[[route]]
path = "/"
upstream = "app"
[admin]
address = "%s"
"""


def test_check_accepts_admin_address(env):
    path = env.write("admin.toml", CONFIG % (18080, "127.0.0.1:9901"))
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 0, "sesame -t rejected [admin]:\n%s%s" % (out, err)


def test_check_rejects_admin_on_a_listen_address(env):
    path = env.write("admin.toml", CONFIG % (18080, "0.0.0.0:18080"))
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 1, "exit status %d for [admin] on a listener's port" % code
    assert re.search(r"admin\.toml:9:11: admin\.address \"0\.0\.0\.0:18080\" overlaps "
                     r"listen\[0\]\.address", out + err), out + err


def test_check_rejects_unknown_admin_key(env):
    path = env.write("admin.toml", CONFIG % (18080, "127.0.0.1:9901") + "metrics = true\n")
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 1
    assert "admin.toml:10:1: unknown key admin.metrics" in out + err, out + err


# ---------------------------------------------------------------- the running listener


def admin_get(port, path, method="GET"):
    return request_once(port, path, host="admin", method=method)


def metric_values(text):
    """{'name{labels}': value} for every sample line."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return values


def scrape(port):
    r = admin_get(port, "/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8", r.raw_head
    text = r.body.decode()
    promtool.check_metrics(text)
    return metric_values(text)


def with_admin(env, up=None, **kw):
    """sesame with test_session's routes, the memory store and [admin]."""
    port = free_port()
    s, up = start(env, up, sections=[("[admin]", {"address": "127.0.0.1:%d" % port})], **kw)
    return s, up, port


def test_metrics_scrape_passes_promtool_and_counts_traffic(env):
    s, up, port = with_admin(env, workers=2)
    b = Browser(s.port)
    assert b.get("/pub/echo").status == 200
    b.login("alice", "dev")
    assert b.identity("/req/echo") == ("alice", "dev")
    assert Browser(s.port).get("/req/echo", cookie="forged-value").status in (302, 401)
    assert request_once(s.port, "/req/echo", headers=[("Accept", "application/json")]).status == 401
    m = scrape(port)
    assert m['sesame_build_info{version="0.1.0"}'] == 1
    assert m["sesame_workers"] == 2
    assert m["sesame_listeners"] == 1
    assert m['sesame_requests_total{route="/pub",status_class="2xx"}'] == 1
    assert m['sesame_requests_total{route="/req",status_class="2xx"}'] == 1
    assert m['sesame_requests_total{route="/req",status_class="4xx"}'] >= 1
    assert m['sesame_session_lookups_total{result="valid"}'] >= 1
    assert m['sesame_session_lookups_total{result="forged"}'] == 1
    assert m['sesame_session_lookups_total{result="absent"}'] >= 1
    assert m["sesame_sessions_rotated_total"] + m["sesame_sessions_created_total"] >= 1
    assert m['sesame_upstream_duration_seconds_count{upstream="app"}'] >= 3
    assert m["sesame_store_command_duration_seconds_count"] >= 2
    assert m["sesame_connections_total"] >= 4
    # Requests through sesame's own answers and the total agree with the histogram.
    total = sum(v for k, v in m.items() if k.startswith("sesame_requests_total{"))
    assert total == sum(v for k, v in m.items() if k.startswith("sesame_request_duration_seconds_count"))
    b.get(ctl(("X-Sesame-Logout", "1")))
    m2 = scrape(port)
    assert m2["sesame_sessions_destroyed_total"] == m.get("sesame_sessions_destroyed_total", 0) + 1
    b.close()


def test_metrics_count_expired_sessions_and_upstream_errors(env):
    dead = free_port()
    port = free_port()
    up = env.upstream()
    routes = [{"path": "/", "upstream": "app", "auth": "session", "accept_control": True},
              {"path": "/dead", "upstream": "dead", "auth": "public"}]
    extra = session_extra([("[admin]", {"address": "127.0.0.1:%d" % port})], idle_timeout="1s",
                          touch_interval="200ms")
    s = env.sesame(upstreams={"app": [up.addr], "dead": ["127.0.0.1:%d" % dead]}, routes=routes,
                   extra=extra)
    b = Browser(s.port)
    b.login("bob")
    time.sleep(1.3)
    b.get("/echo")
    assert request_once(s.port, "/dead/x").status == 502
    m = scrape(port)
    assert m['sesame_session_lookups_total{result="expired"}'] == 1
    assert m['sesame_upstream_errors_total{upstream="dead",kind="connect"}'] >= 1
    assert m['sesame_requests_total{route="/dead",status_class="5xx"}'] == 1


def test_metrics_count_tls_handshakes(env):
    up = env.upstream()
    port = free_port()
    s = env.sesame(up, plain=False, tls=True, extra="\n" + toml_table("[admin]", {"address": "127.0.0.1:%d" % port}))
    # The harness's own "is it listening" probe was a connection without a handshake.
    before = scrape(port)
    assert request_once(s.tls_port, "/echo", tls=True).status == 200
    raw = socket.create_connection(("127.0.0.1", s.tls_port))
    raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # plain HTTP to a TLS port
    raw.settimeout(3)
    try:
        while raw.recv(4096):
            pass
    except OSError:
        pass
    raw.close()
    deadline = time.monotonic() + 3
    while True:
        m = scrape(port)
        failed = m['sesame_tls_handshakes_total{result="failure"}']
        if failed > before['sesame_tls_handshakes_total{result="failure"}'] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert m['sesame_tls_handshakes_total{result="success"}'] == 1
    assert failed == before['sesame_tls_handshakes_total{result="failure"}'] + 1


def test_healthz_readyz_and_reload_metrics(env):
    up = env.upstream()
    s, _, port = with_admin(env, up)
    assert admin_get(port, "/healthz").status == 200
    r = admin_get(port, "/readyz")
    assert r.status == 200 and r.body.startswith(b"ready"), r
    assert admin_get(port, "/nope").status == 404
    assert admin_get(port, "/metrics", method="POST").status == 405
    # The upstream goes away: not ready, and the answer says why.
    up.proc.kill()
    up.proc.wait()
    time.sleep(1.1)  # past the readiness cache
    r = admin_get(port, "/readyz")
    assert r.status == 503, r
    assert b"upstream app" in r.body and up.addr.encode() in r.body, r.body
    assert admin_get(port, "/healthz").status == 200
    # Reloads and their outcome.
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    with open(s.config_path, "a") as f:
        f.write("\n[broken\n")
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while True:
        m = scrape(port)
        if m.get('sesame_reloads_total{outcome="failure"}') == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert m['sesame_reloads_total{outcome="success"}'] == 1
    assert m['sesame_reloads_total{outcome="failure"}'] == 1
    assert m["sesame_config_last_reload_successful"] == 0


def test_admin_address_in_use_fails_the_start(env):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        up = env.upstream()
        s = env.sesame(up, start=False, extra="\n" + toml_table("[admin]", {"address": "127.0.0.1:%d" % port}))
        s.expect_exit = True
        s.start(wait=False)
        assert s.proc.wait(5) == 1
        assert re.search(r"admin address 127\.0\.0\.1:%d: .*in use" % port, open(s.stderr_path).read())
    finally:
        blocker.close()


def test_readyz_is_503_while_draining(env):
    up = env.upstream()
    s, _, port = with_admin(env, up)
    slow = Client(s.port)
    slow.request("GET", "/pub/slow?delay=1.5")
    time.sleep(0.3)
    s.expect_exit = True
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    r = admin_get(port, "/readyz")
    assert r.status == 503, r
    assert slow.read_response().status == 200
    assert s.proc.wait(5) == 0


def test_ready_requires_without_upstreams_stays_ready_with_the_upstream_down(env):
    """ready_requires = ["listeners", "store"]: an upstream down does not
    take sesame out of rotation (every sesame behind the balancer shares
    that upstream; another instance would fail the same way), a Redis
    store down does, and a reload that adds "upstreams" back applies."""
    r = env.redis()
    dead = "127.0.0.1:%d" % free_port()
    port = free_port()
    admin = {"address": "127.0.0.1:%d" % port, "ready_requires": ["listeners", "store"]}
    s, _ = start(env, types.SimpleNamespace(addr=dead), store="redis",
                 sections=[("[redis]", {"address": r.addr}), ("[admin]", admin)])
    got = admin_get(port, "/readyz")
    assert got.status == 200 and got.body == b"ready\n", got
    r.kill()
    deadline = time.monotonic() + 5
    while admin_get(port, "/readyz").status == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    got = admin_get(port, "/readyz")
    assert got.status == 503 and got.body.startswith(b"session store: redis"), got.body
    assert b"upstream" not in got.body, got.body
    # Back to the default: the dead upstream counts again.
    from test_lifecycle import reload
    text = s.config_text.replace('ready_requires = ["listeners", "store"]\n', "")
    assert text != s.config_text
    assert "reloaded" in reload(s, text)
    time.sleep(1.1)  # past the readiness cache
    got = admin_get(port, "/readyz")
    assert got.status == 503 and b"upstream app: no server reachable" in got.body, got.body


def test_check_rejects_an_unknown_ready_requires_name(env):
    path = env.write("admin.toml", CONFIG % (18080, "127.0.0.1:9901") +
                     'ready_requires = ["upstream"]\n')
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 1
    assert re.search(r'admin\.toml:10:19: admin\.ready_requires\[0\] "upstream" is not something '
                     r'/readyz checks', out + err), out + err

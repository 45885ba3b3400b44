"""Signals and lifecycle (issue 4 §2): SIGHUP reload (good and bad files,
listeners kept, added and dropped, certificates, sessions kept, no failed
request under load), SIGTERM drain within server.shutdown_timeout, SIGUSR1
reopening the access log, and a rolling restart on the Redis store.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import Client, free_port, request_once, timeout, toml_table, under_asan
from test_session import Browser, start
from test_stream import heavy
from test_systemd import NotifySocket


def wait_log(s, pattern, seconds=5.0, after=0):
    """The first stderr line matching `pattern` (a regex) at or after line
    `after`; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        with open(s.stderr_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        for line in lines[after:]:
            if re.search(pattern, line):
                return line
        if time.monotonic() > deadline:
            raise AssertionError("no log line matching %r within %.1f s; log:\n%s" %
                                 (pattern, seconds, "\n".join(lines[-30:])))
        time.sleep(0.02)


def log_lines(s):
    with open(s.stderr_path, "rb") as f:
        return len(f.read().splitlines())


def reload(s, text=None, expect="reloaded", seconds=5.0):
    """Writes `text` (if given) over the configuration, sends SIGHUP and
    waits for the outcome line: "reloaded" or "reload failed"."""
    if text is not None:
        with open(s.config_path, "w") as f:
            f.write(text)
    mark = log_lines(s)
    s.proc.send_signal(signal.SIGHUP)
    return wait_log(s, r"\b(reloaded|reload failed)\b", seconds, after=mark) if expect else None


def served_by(port, target="/echo", **kw):
    return request_once(port, target, **kw).json()["server"]


def listening_inodes(pid):
    """Inodes of the process's TCP sockets in LISTEN state."""
    sockets = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            sockets.add(link[8:-1])
    listening = set()
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in sockets:
                    listening.add(fields[9])
    return listening


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- reload


def test_reload_switches_new_requests_and_finishes_open_connections_on_the_old(env):
    ups = env.upstream_set("a", "b")
    s = env.sesame(upstreams={"app": [ups["a"].addr]}, workers=2)
    old = Client(s.port)
    assert old.get("/echo").json()["server"] == "a"
    line = reload(s, s.config_text.replace(ups["a"].addr, ups["b"].addr))
    assert "generation 2" in line, line
    assert served_by(s.port) == "b"
    # A connection from before the reload gets its next answer from the
    # configuration it started with, marked as its last.
    r = old.get("/echo")
    assert r.json()["server"] == "a"
    assert r.header("Connection") == "close", r.raw_head
    assert old.closed_within(2.0), "the old connection stayed open after its last answer"


def test_reload_with_errors_keeps_the_running_configuration(env):
    up = env.upstream()
    s = env.sesame(up)
    good = s.config_text
    bad = good + '\n[[route]]\npath = "/x"\nupstream = "nope"\n'
    line = reload(s, bad)
    assert "reload failed" in line and "still serving configuration generation 1" in line, line
    log = open(s.stderr_path).read()
    assert re.search(r"sesame-\d+\.toml:\d+:\d+: .*\"nope\"", log), \
        "the error does not say file:line and what is wrong:\n" + log
    assert s.alive()
    assert request_once(s.port, "/echo").status == 200
    # Syntax errors, unknown keys and missing certificates fail the same way.
    for broken in ("[server\n", good + "\n[server2]\nx = 1\n",
                   good + '\n[[listen]]\naddress = "127.0.0.1:%d"\ntls = true\n' % free_port()):
        line = reload(s, broken)
        assert "reload failed" in line, (broken, line)
        assert request_once(s.port, "/echo").status == 200
    # And a good file afterwards takes effect.
    assert "reloaded" in reload(s, good)
    assert request_once(s.port, "/echo").status == 200


def test_reload_keeps_unchanged_listeners_and_binds_new_ones(env):
    up = env.upstream()
    s = env.sesame(up, workers=2)
    before = listening_inodes(s.pid)
    assert len(before) == 2, before  # one socket per worker
    extra_port = free_port()
    added = s.config_text + "\n" + toml_table("[[listen]]", {"address": "127.0.0.1:%d" % extra_port})
    reload(s, added)
    after = listening_inodes(s.pid)
    assert before <= after, "a listener whose address did not change was closed and reopened"
    assert len(after) == 4, after
    assert request_once(extra_port, "/echo").status == 200
    assert request_once(s.port, "/echo").status == 200
    # Dropping the first listener closes it and keeps the added one.
    dropped = added.replace('address = "127.0.0.1:%d"' % s.port, 'address = "127.0.0.1:%d"' % extra_port, 1)
    dropped = dropped[:dropped.rindex("[[listen]]")]
    reload(s, dropped)
    assert listening_inodes(s.pid) == after - before
    assert not accepts(s.port), "the dropped listener still accepts"
    assert request_once(extra_port, "/echo").status == 200


def test_reload_fails_when_a_new_address_is_taken(env):
    up = env.upstream()
    s = env.sesame(up)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    try:
        text = s.config_text + "\n" + toml_table("[[listen]]", {"address": "127.0.0.1:%d" % taken})
        line = reload(s, text)
        assert "reload failed" in line, line
        assert re.search(r"127\.0\.0\.1:%d.*in use" % taken, open(s.stderr_path).read()), \
            "the error does not name the address and the reason"
        assert request_once(s.port, "/echo").status == 200
    finally:
        blocker.close()


def test_reload_notifies_systemd(env):
    notify = NotifySocket(env)
    s = env.sesame(start=False)
    s.start(env={"NOTIFY_SOCKET": notify.name}, wait=False)
    notify.wait_for("READY")
    s.proc.send_signal(signal.SIGHUP)
    reloading = notify.wait_for("RELOADING")
    assert int(reloading["MONOTONIC_USEC"]) > 0, reloading
    ready = notify.wait_for("READY")
    assert "generation 2" in ready.get("STATUS", ""), ready
    with open(s.config_path, "w") as f:
        f.write("[server\n")
    s.proc.send_signal(signal.SIGHUP)
    notify.wait_for("RELOADING")
    ready = notify.wait_for("READY")
    status = ready.get("STATUS", "")
    assert "generation 2" in status, "a failed reload changed the configuration: %r" % ready
    # `systemctl status` shows that the reload failed and why, until one succeeds.
    assert re.match(r"reload failed: \S*sesame-\d+\.toml:1:\d+: .*; see the log; still serving on "
                    r"1 listener", status), status
    assert "\n" not in status
    wait_log(s, r"^sesame\[error\]: reload failed \(1 error\)")
    with open(s.config_path, "w") as f:
        f.write(s.config_text)
    s.proc.send_signal(signal.SIGHUP)
    notify.wait_for("RELOADING")
    ready = notify.wait_for("READY")
    assert ready["STATUS"].startswith("serving on 1 listener") and "generation 3" in ready["STATUS"], ready


def test_reload_rereads_certificates(env):
    up = env.upstream()
    s = env.sesame(up, plain=False, tls=True, certs=("default",))
    c = Client(s.tls_port, tls=True, server_hostname="localhost")
    cert = c.sock.getpeercert(binary_form=True)
    c.close()
    app_cert, app_key = env.certs["app"]
    default_cert, default_key = env.certs["default"]
    reload(s, s.config_text.replace(default_cert, app_cert).replace(default_key, app_key))
    c = Client(s.tls_port, tls=True, server_hostname="app.test")
    assert c.sock.getpeercert(binary_form=True) != cert, "the new certificate is not served"
    assert c.get("/echo").status == 200
    c.close()


def test_reload_keeps_memory_sessions_and_applies_new_secrets(env):
    s, up = start(env, workers=2)
    b = Browser(s.port)
    b.login("alice", "dev")
    assert b.identity("/req/echo") == ("alice", "dev")
    # A new first secret signs new cookies; the old one still verifies.
    text = s.config_text.replace('secrets = ["', 'secrets = ["%s", "' % ("n" * 43), 1)
    assert text != s.config_text
    reload(s, text)
    assert b.identity("/req/echo") == ("alice", "dev"), "a reload logged the user out"
    fresh = Browser(s.port)
    fresh.login("bob", "ops")
    assert fresh.identity("/req/echo") == ("bob", "ops")
    # Without the old secret, the old cookies stop working.
    reload(s, text.replace(', "%s"' % s.config_text.split('secrets = ["')[1].split('"')[0], ""))
    assert fresh.identity("/req/echo") == ("bob", "ops")
    assert b.get("/req/echo").status in (302, 401), "a cookie signed with a removed secret works"


@heavy
def test_reload_under_load_fails_no_request(env):
    wrk = shutil.which("wrk")
    assert wrk, "wrk is not installed (scripts/deps.sh installs it)"
    ups = env.upstream_set("a", "b")
    s = env.sesame(upstreams={"app": [ups["a"].addr]}, workers=2)
    texts = [s.config_text, s.config_text.replace(ups["a"].addr, ups["b"].addr)]
    duration = 8
    proc = subprocess.Popen([wrk, "-t2", "-c16", "-d%ds" % duration, "--latency",
                             "http://127.0.0.1:%d/echo" % s.port],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(1.0)
    for i in range(10):
        line = reload(s, texts[(i + 1) % 2])
        assert "reloaded" in line, line
        time.sleep(0.4)
    out, _ = proc.communicate(timeout=duration + 20)
    assert proc.returncode == 0, out
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    assert requests > 100, out
    assert "Socket errors" not in out, "requests failed during reloads:\n" + out
    assert "Non-2xx" not in out, "requests failed during reloads:\n" + out
    assert len(re.findall(r"\breloaded\b", open(s.stderr_path).read())) == 10


# ---------------------------------------------------------------- stop


def test_sigterm_finishes_requests_in_flight(env):
    up = env.upstream()
    s = env.sesame(up, workers=2)
    idle = Client(s.port)
    assert idle.get("/echo").status == 200
    results = {}

    def slow():
        results["r"] = request_once(s.port, "/slow?delay=1.5")

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.4)
    s.expect_exit = True
    started = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    closed = idle.closed_within(3.0)
    assert closed, "an idle keep-alive connection was kept during the stop"
    assert time.monotonic() - t0 < 1.0, "idle closed after %.2f s; buf=%r" % (time.monotonic() - t0, idle.buf)
    wait_log(s, r"stopping: closing the listeners")
    deadline = time.monotonic() + 1.0
    while accepts(s.port) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not accepts(s.port), "new connections were accepted after SIGTERM"
    t.join(5)
    assert results["r"].status == 200 and results["r"].body.startswith(b"slow"), results
    assert results["r"].header("Connection") == "close"
    assert s.proc.wait(5) == 0
    assert time.monotonic() - started < 3.0
    assert "still open" not in open(s.stderr_path).read()


def test_shutdown_timeout_cuts_what_is_left_and_exits_0(env):
    up = env.upstream()
    s = env.sesame(up, start=False)
    s.config_text = s.config_text.replace("[server]", '[server]\nshutdown_timeout = "300ms"', 1)
    with open(s.config_path, "w") as f:
        f.write(s.config_text)
    s.start()
    c = Client(s.port)
    c.request("GET", "/slow?delay=5")
    time.sleep(0.3)
    s.expect_exit = True
    started = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(5) == 0
    elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 2.0, elapsed
    assert c.closed_within(1.0)
    wait_log(s, r"shutdown_timeout \(300 ms\) passed with 1 connection still open")


def test_shutdown_timeout_is_validated(env):
    up = env.upstream()
    s = env.sesame(up, start=False)
    path = env.write("bad.toml", s.config_text.replace("[server]", '[server]\nshutdown_timeout = "soon"', 1))
    code, _, err = env.run_sesame("-t", "-c", path)
    assert code == 1 and re.search(r"bad\.toml:\d+:\d+: server\.shutdown_timeout", err), err


# ---------------------------------------------------------------- logs


def test_sigusr1_reopens_the_access_log(env):
    up = env.upstream()
    log = os.path.join(env.workdir, "access.log")
    s = env.sesame(up, workers=2, extra="\n" + toml_table("[log]", {"access": log}))
    for _ in range(3):
        assert request_once(s.port, "/echo?before").status == 200
    rotated = log + ".1"
    os.rename(log, rotated)  # what logrotate does before it signals
    mark = log_lines(s)
    s.proc.send_signal(signal.SIGUSR1)
    wait_log(s, r"SIGUSR1: reopening", after=mark)
    deadline = time.monotonic() + 3
    while not os.path.exists(log) and time.monotonic() < deadline:
        time.sleep(0.02)
    # Both workers reopen; serve enough requests that each one answers some.
    for _ in range(6):
        assert request_once(s.port, "/echo?after").status == 200
    time.sleep(0.2)
    old = open(rotated).read()
    new = open(log).read()
    assert old.count("/echo?before") == 3 and "/echo?after" not in old, old
    assert new.count("/echo?after") == 6 and "/echo?before" not in new, new
    assert oct(os.stat(log).st_mode & 0o777) == "0o640"


# ---------------------------------------------------------------- Redis


@timeout(60)
def test_rolling_restart_on_redis_keeps_sessions(env):
    r = env.redis()
    up = env.upstream()
    opts = {"address": r.addr, "command_timeout": "500ms"}
    s, _ = start(env, up, store="redis", sections=[("[redis]", opts)], workers=2)
    b = Browser(s.port)
    b.login("alice", "dev")
    assert b.identity("/req/echo") == ("alice", "dev")
    # Restart: the old process stops, a new one takes the same configuration.
    s.expect_exit = True
    assert s.stop() == 0
    b.close()  # the browser reconnects, to the new process
    s2 = env.sesame(upstreams={"app": [up.addr]}, start=False)
    s2.config_path = s.config_path
    s2.port = s.port
    s2.start()
    b.port = s2.port
    assert b.identity("/req/echo") == ("alice", "dev"), "the session did not survive the restart"
    # And a reload, which opens new Redis connections, keeps it too.
    reload(s2)
    assert b.identity("/req/echo") == ("alice", "dev")
    b.get("/req/echo")
    # The old generation's connections close with its last client connection.
    deadline = time.monotonic() + 2.0
    while r.command("CLIENT", "LIST").count(b"\n") > 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    clients = r.command("CLIENT", "LIST")
    assert clients.count(b"\n") == 3, "old Redis connections were not closed:\n%s" % clients.decode()

"""systemd integration: the notify protocol (READY, STOPPING, WATCHDOG) on a
fake NOTIFY_SOCKET, the unit file checked by systemd-analyze, and the switch
to server.user when started as root."""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from harness import Skip, request_once, timeout, toml_table

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = os.path.join(REPO, "conf", "sesame.service")
LOGROTATE = os.path.join(REPO, "conf", "logrotate.d", "sesame")


class NotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket, by path or
    (abstract=True) by an "@name" in the abstract namespace."""

    def __init__(self, env, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            self.name = "@sesame-e2e-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.sock.bind("\0" + self.name[1:])
        else:
            self.name = os.path.join(env.workdir, "notify.sock")
            self.sock.bind(self.name)
        self.messages = []  # (monotonic time, {key: value})

    def receive(self, seconds):
        """The next message as {key: value}, or None after `seconds`."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
        self.messages.append((time.monotonic(), fields))
        return fields

    def wait_for(self, key, seconds=5.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            m = self.receive(max(0.01, deadline - time.monotonic()))
            if m and key in m:
                return m
        raise AssertionError("no %s=1 within %.1f s; received %r" %
                             (key, seconds, [m for _, m in self.messages]))


def port_accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_notify_ready_after_listening_and_stopping_on_sigterm(env):
    up = env.upstream()
    notify = NotifySocket(env)
    s = env.sesame(up, workers=2, start=False)
    s.start(env={"NOTIFY_SOCKET": notify.name}, wait=False)
    ready = notify.wait_for("READY")
    # Checked the moment READY arrives: a unit ordered after sesame may connect now.
    assert port_accepts(s.port), "READY=1 sent before port %d accepted connections" % s.port
    assert "2 workers" in ready.get("STATUS", ""), "STATUS does not describe the service: %r" % ready
    assert request_once(s.port, "/echo").status == 200
    assert all("STOPPING" not in m for _, m in notify.messages), "STOPPING=1 before any signal"
    s.expect_exit = True
    s.proc.send_signal(signal.SIGTERM)
    notify.wait_for("STOPPING")
    assert s.proc.wait(5) == 0
    assert all("WATCHDOG" not in m for _, m in notify.messages), \
        "WATCHDOG=1 sent without WATCHDOG_USEC: %r" % notify.messages


def test_notify_abstract_socket(env):
    notify = NotifySocket(env, abstract=True)
    s = env.sesame(start=False)
    s.start(env={"NOTIFY_SOCKET": notify.name}, wait=False)
    notify.wait_for("READY")
    s.expect_exit = True
    s.proc.send_signal(signal.SIGINT)
    notify.wait_for("STOPPING")
    assert s.proc.wait(5) == 0


def watchdog_pings(notify, seconds):
    """Times of the WATCHDOG=1 messages received within `seconds`."""
    times = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = notify.receive(max(0.01, deadline - time.monotonic()))
        if m and "WATCHDOG" in m:
            times.append(time.monotonic())
    return times


def test_watchdog_pings_while_workers_run(env):
    notify = NotifySocket(env)
    s = env.sesame(workers=2, start=False)
    s.start(env={"NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "200000"}, wait=False)
    notify.wait_for("READY")
    pings = watchdog_pings(notify, 1.5)
    # Every WATCHDOG_USEC/2 = 100 ms: about 15 in 1.5 s.
    assert len(pings) >= 8, "only %d WATCHDOG=1 in 1.5 s with WATCHDOG_USEC=200000" % len(pings)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < 0.2, "a %.0f ms gap between pings: systemd would have killed sesame" % (
        max(gaps) * 1000)


def test_watchdog_not_for_another_pid(env):
    notify = NotifySocket(env)
    s = env.sesame(start=False)
    s.start(env={"NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"},
            wait=False)
    notify.wait_for("READY")
    assert watchdog_pings(notify, 0.6) == [], "pinged a watchdog meant for PID 1"


PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207


def worker_threads(pid):
    return sorted(int(t) for t in os.listdir("/proc/%d/task" % pid) if int(t) != pid)


@timeout(40)
def test_watchdog_stops_when_one_worker_is_wedged(env):
    """One worker thread frozen (ptrace stops that thread only, the rest of
    the process runs on): the pings stop, and come back once it runs again."""
    notify = NotifySocket(env)
    s = env.sesame(workers=2, start=False)
    s.start(env={"NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "200000"}, wait=False)
    notify.wait_for("READY")
    assert len(watchdog_pings(notify, 0.5)) >= 2
    threads = worker_threads(s.pid)
    assert len(threads) == 2, "expected 2 worker threads, found %r" % threads
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    tid = threads[0]
    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
        raise Skip("ptrace is not allowed here (%s); wedged-worker check not run" %
                   os.strerror(ctypes.get_errno()))
    try:
        assert libc.ptrace(PTRACE_INTERRUPT, tid, None, None) == 0
        os.waitpid(tid, 0x40000000)  # __WALL: the thread is in its ptrace stop
        watchdog_pings(notify, 0.3)  # a ping already in flight
        frozen = watchdog_pings(notify, 1.0)
        assert frozen == [], "%d WATCHDOG=1 while a worker was wedged" % len(frozen)
        # The other worker still serves: only the wedged one is at fault.
        assert port_accepts(s.port)
    finally:
        libc.ptrace(PTRACE_DETACH, tid, None, None)
    assert len(watchdog_pings(notify, 0.6)) >= 2, "no pings after the worker ran again"


# ---------------------------------------------------------------- the unit file


def systemd_analyze():
    path = shutil.which("systemd-analyze")
    if path is None:
        raise Skip("systemd-analyze is not installed (Debian package systemd; scripts/deps.sh)")
    return path


def test_unit_verifies(env):
    tool = systemd_analyze()
    # verify checks that ExecStart= binaries exist: point them at the one under test.
    with open(UNIT) as f:
        text = f.read()
    assert "/usr/local/sbin/sesame " in text
    unit = env.write("sesame.service", text.replace("/usr/local/sbin/sesame", env.binary))
    p = subprocess.run([tool, "verify", "--man=no", unit], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and not p.stderr.strip() and not p.stdout.strip(), \
        "systemd-analyze verify: status %d\n%s%s" % (p.returncode, p.stdout, p.stderr)
    assert re.search(r"^Type=notify$", text, re.M) and re.search(r"^WatchdogSec=", text, re.M)


def test_unit_security_exposure(env):
    tool = systemd_analyze()
    p = subprocess.run([tool, "security", "--offline=yes", "--no-pager", UNIT],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for sesame\.service: (\d+\.\d+)", p.stdout)
    assert m, "no exposure level in:\n%s%s" % (p.stdout, p.stderr)
    assert float(m.group(1)) <= 2.0, "exposure %s > 2.0:\n%s" % (m.group(1), p.stdout)


def test_unit_can_write_the_documented_access_log(env):
    """ProtectSystem=strict makes / read-only: /var/log/sesame is writable
    only through LogsDirectory=, and a umask that keeps the group bits lets
    the access log get its documented mode 0640."""
    with open(UNIT) as f:
        text = f.read()
    assert re.search(r"^ProtectSystem=strict$", text, re.M)
    assert re.search(r"^LogsDirectory=sesame$", text, re.M), "no LogsDirectory=sesame"
    assert re.search(r"^ConfigurationDirectory=sesame$", text, re.M)
    umask = int(re.search(r"^UMask=(\d+)$", text, re.M).group(1), 8)
    assert 0o640 & ~umask == 0o640, "UMask=%04o turns the access log's 0640 into %04o" % (
        umask, 0o640 & ~umask)
    assert 0o640 & ~umask & 0o007 == 0, "the umask lets other users read the access log"
    with open(os.path.join(REPO, "conf", "sesame.toml")) as f:
        assert '#access = "/var/log/sesame/access.log"' in f.read()
    with open(LOGROTATE) as f:
        assert re.search(r"^/var/log/sesame/\*\.log \{$", f.read(), re.M)


def test_make_install_puts_prefix_into_the_unit(env):
    """`make install PREFIX=/opt/sesame`: the unit runs the binary where it
    was installed, and the logrotate entry lands in /etc/logrotate.d."""
    build = os.path.dirname(os.path.abspath(env.binary))
    dest = os.path.join(env.workdir, "dest")
    # -o: the binary under test is taken as it is, never rebuilt here.
    p = subprocess.run(["make", "-s", "-C", REPO, "install", "BUILD=" + build, "-o",
                        os.path.join(build, "sesame"), "DESTDIR=" + dest, "PREFIX=/opt/sesame"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    with open(os.path.join(dest, "lib/systemd/system/sesame.service")) as f:
        unit = f.read()
    assert "ExecStart=/opt/sesame/sbin/sesame -c /etc/sesame/sesame.toml" in unit, unit
    assert not re.search(r"^Exec.*/usr/local", unit, re.M), unit
    assert os.path.exists(os.path.join(dest, "opt/sesame/sbin/sesame"))
    with open(os.path.join(dest, "etc/logrotate.d/sesame")) as f, open(LOGROTATE) as g:
        assert f.read() == g.read()


def logrotate():
    path = shutil.which("logrotate")
    if path is None:
        raise Skip("logrotate is not installed (Debian package logrotate; scripts/deps.sh)")
    return path


def logrotate_entry(user_group):
    """The shipped entry, rotating as `user_group` ("sesame sesame" needs
    that user, which a test machine may not have)."""
    with open(LOGROTATE) as f:
        text = f.read()
    assert "\tsu sesame sesame\n" in text
    return text.replace("su sesame sesame", "su " + user_group)


def test_logrotate_entry_is_valid(env):
    tool = logrotate()
    import grp
    import pwd
    try:
        pwd.getpwnam("sesame")
        grp.getgrnam("sesame")
        text = logrotate_entry("sesame sesame")
    except KeyError:
        text = logrotate_entry("nobody " + grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name)
    conf = env.write("logrotate.conf", text)
    p = subprocess.run([tool, "-d", "-s", os.path.join(env.workdir, "logrotate.state"), conf],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "error" not in (p.stdout + p.stderr).lower(), p.stdout + p.stderr
    assert "rotating pattern: /var/log/sesame/*.log" in p.stdout + p.stderr, p.stdout + p.stderr
    assert "systemctl kill -s USR1 sesame.service" in text


def test_logrotate_rotates_and_sesame_reopens(env):
    """A real rotation with the shipped entry (path and signal pointed at
    this sesame): the old lines stay in access.log.1, sesame writes new
    ones to a new access.log with mode 0640."""
    tool = logrotate()
    from test_lifecycle import log_lines, wait_log
    import grp
    import pwd
    logs = os.path.join(env.workdir, "logs")
    os.makedirs(logs, mode=0o750)
    log = os.path.join(logs, "access.log")
    up = env.upstream()
    s = env.sesame(up, workers=2, extra="\n" + toml_table("[log]", {"access": log}))
    for _ in range(3):
        assert request_once(s.port, "/echo?before").status == 200
    me = pwd.getpwuid(os.geteuid())
    text = logrotate_entry("%s %s" % (me.pw_name, grp.getgrgid(me.pw_gid).gr_name))
    text = text.replace("/var/log/sesame/", logs + "/")
    text = re.sub(r"(?s)postrotate\n.*?endscript", "postrotate\n\t\tkill -USR1 %d\n\tendscript" % s.pid,
                  text)
    conf = env.write("logrotate.conf", text)
    mark = log_lines(s)
    p = subprocess.run([tool, "-f", "-s", os.path.join(env.workdir, "logrotate.state"), conf],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    wait_log(s, r"SIGUSR1: reopening", after=mark)
    deadline = time.monotonic() + 3
    while not os.path.exists(log) and time.monotonic() < deadline:
        time.sleep(0.02)
    for _ in range(6):
        assert request_once(s.port, "/echo?after").status == 200
    time.sleep(0.2)
    # delaycompress: the first rotation stays uncompressed.
    old = open(log + ".1").read()
    new = open(log).read()
    assert old.count("/echo?before") == 3 and "/echo?after" not in old, old
    assert new.count("/echo?after") == 6 and "/echo?before" not in new, new
    assert os.stat(log).st_mode & 0o777 == 0o640 & ~os.umask(os.umask(0))


def test_sysusers_and_tmpfiles_entries(env):
    """Applied to a scratch root: the sesame user and group, and /etc/sesame
    readable by that group only."""
    sysusers, tmpfiles = shutil.which("systemd-sysusers"), shutil.which("systemd-tmpfiles")
    if sysusers is None or tmpfiles is None:
        raise Skip("systemd-sysusers / systemd-tmpfiles are not installed")
    root = os.path.join(env.workdir, "root")
    os.makedirs(os.path.join(root, "etc"))
    for name in ("passwd", "group"):
        shutil.copy("/etc/" + name, os.path.join(root, "etc", name))
    subprocess.run([sysusers, "--root=" + root, os.path.join(REPO, "conf/sysusers.d/sesame.conf")],
                   check=True, capture_output=True, timeout=30)
    with open(os.path.join(root, "etc/passwd")) as f:
        entry = [l.split(":") for l in f if l.startswith("sesame:")]
    assert entry, "systemd-sysusers made no sesame user"
    uid, gid, shell = int(entry[0][2]), int(entry[0][3]), entry[0][6].strip()
    assert 0 < uid < 1000 and shell.endswith("nologin"), entry
    subprocess.run([tmpfiles, "--root=" + root, "--create",
                    os.path.join(REPO, "conf/tmpfiles.d/sesame.conf")],
                   check=True, capture_output=True, timeout=30)
    for d in ("etc/sesame", "etc/sesame/tls"):
        st = os.stat(os.path.join(root, d))
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o750, 0, gid), (d, oct(st.st_mode))


# ---------------------------------------------------------------- privileges


def ids(pid, task=None):
    path = "/proc/%d/task/%d/status" % (pid, task) if task else "/proc/%d/status" % pid
    fields = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                fields[key] = value.split()
    return fields


def with_server_key(s, line):
    s.config_text = s.config_text.replace("[server]\n", "[server]\n%s\n" % line, 1)
    with open(s.config_path, "w") as f:
        f.write(s.config_text)


def test_root_switches_to_server_user(env):
    if os.geteuid() != 0:
        raise Skip("not root, so sesame cannot switch users; run the tests as root")
    import pwd
    nobody = pwd.getpwnam("nobody")
    up = env.upstream()
    # TLS keys in the root-only certificate directory: read before the switch or never.
    s = env.sesame(up, tls=True, workers=3, start=False)
    with_server_key(s, 'user = "nobody"')
    # The ports accept before the switch (they are bound first): READY=1 says
    # it is done. Abstract, since nobody cannot reach the root-only workdir.
    notify = NotifySocket(env, abstract=True)
    s.start(env={"NOTIFY_SOCKET": notify.name}, wait=False)
    notify.wait_for("READY")
    want = {"Uid": [str(nobody.pw_uid)] * 4, "Gid": [str(nobody.pw_gid)] * 4,
            "Groups": [str(nobody.pw_gid)]}
    tasks = [int(t) for t in os.listdir("/proc/%d/task" % s.pid)]
    assert len(tasks) >= 4, "expected the main thread and 3 workers, found %r" % tasks
    assert ids(s.pid) == want, "process ids %r, want %r" % (ids(s.pid), want)
    for t in tasks:
        assert ids(s.pid, t) == want, "thread %d ids %r, want %r" % (t, ids(s.pid, t), want)
    assert request_once(s.port, "/echo").status == 200
    assert request_once(s.tls_port, "/echo", tls=True).status == 200
    log = open(s.stderr_path).read()
    assert "switched to user nobody" in log, log


def test_root_without_server_user_warns(env):
    if os.geteuid() != 0:
        raise Skip("not root; the running-as-root warning cannot be seen")
    notify = NotifySocket(env)
    s = env.sesame(start=False)
    s.start(env={"NOTIFY_SOCKET": notify.name}, wait=False)
    notify.wait_for("READY")
    log = open(s.stderr_path).read()
    assert re.search(r"running as root: set server\.user.*User=", log), log


def test_server_user_unknown_is_a_config_error(env):
    s = env.sesame(start=False)
    with_server_key(s, 'user = "no-such-user-sesame"')
    code, out, err = env.run_sesame("-t", "-c", s.config_path)
    assert code == 1
    assert re.search(r":2:8: server\.user \"no-such-user-sesame\" is not a user", out + err), out + err

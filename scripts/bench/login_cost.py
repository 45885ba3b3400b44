#!/usr/bin/env python3
"""How long a sign-in at sesame's own form takes at each hash cost, and that
an unknown user costs what a known one does (the enumeration defence).

Usage: login_cost.py [--rounds N] [--server-cpu C] [--upstream-port P]
                     [--dir DIR] [--max-hash-seconds S] SESAME

Starts two sesames on loopback, pinned to cpu C (taskset), each with a
[login] users file (made here: yescrypt by `SESAME hash-password`, the rest
by libxcrypt, the library sesame checks with):
  mixed   3 yescrypt users (libxcrypt's default cost, j9T), one each of
          sha512crypt (default 5000 rounds), bcrypt 10, 12 and 14: its most
          common kind is yescrypt, so an unknown name is checked against a
          yescrypt hash;
  bcrypt  2 bcrypt 12 users and 1 yescrypt: an unknown name is checked
          against bcrypt 12.
bcrypt 14 is left out when making its hash here took more than S seconds
(default 3). Then N rounds (default 20); each round makes one sign-in per row
below, in an order that starts one row later every round, so the machine's
noise falls on every row alike. A sign-in is a new browser's: GET the form,
POST it (scripts/bench/login_client.py); the table has the POST's latency
(median and p90 over the rounds) and the CPU time sesame's threads spent on
it (from /proc/PID/task/*/schedstat, in ns: unlike the latency, other load on
the machine does not inflate it). "x ref" is a row's median latency over its
reference row's, then p10..p90 of the rounds' own ratios, and "cpu x ref" the
same for the CPU medians: a known user with a wrong password and an unknown
user must cost the same, or the answer's time tells which names exist. "empty password" is answered without hashing: it is
what the HTTP exchange itself costs. Sign-ins run one at a time, so sesame's
hash_threads (its default, 2) does not matter here; max_failures is raised
so that the failing rows are never locked out. Prints the table; exits 1 when
a sign-in did not answer as expected.
"""

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from login_client import SignIn, make_hash  # noqa: E402

CONFIG = """[server]
workers = 1

[[listen]]
address = "127.0.0.1:{port}"

[upstream.app]
servers = ["127.0.0.1:{upstream}"]

[session]
store = "memory"
secure = false
cookie_name = "sid"
secrets = ["{secret}"]

[login]
users_file = "{users}"
max_failures = 1000000

[[route]]
path = "/"
upstream = "app"
auth = "required"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def yescrypt(sesame, password):
    p = subprocess.run([sesame, "hash-password"], input=password + "\n", capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0 or not p.stdout.startswith("$y$"):
        sys.exit("login_cost: %s hash-password failed: %s" % (sesame, p.stderr.strip()))
    return p.stdout.strip()


def cpu_ns(pid):
    """CPU time of every thread of `pid` so far, in ns."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total


class Sesame:
    def __init__(self, name, sesame, workdir, users, cpu, upstream):
        self.name = name
        self.port = free_port()
        users_path = os.path.join(workdir, "users-" + name)
        with open(users_path, "w") as f:
            f.write("".join("%s:%s\n" % (u, h) for u, h in users))
        os.chmod(users_path, 0o600)
        conf = os.path.join(workdir, "login-cost-%s.toml" % name)
        with open(conf, "w") as f:
            f.write(CONFIG.format(port=self.port, upstream=upstream, secret=secrets.token_hex(32),
                                  users=users_path))
        check = subprocess.run([sesame, "-t", "-c", conf], capture_output=True, text=True)
        if check.returncode != 0:
            sys.exit("login_cost: sesame -t rejected %s: %s" % (conf, check.stderr.strip()))
        self.log = open(os.path.join(workdir, "login-cost-%s.out" % name), "w")
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu), sesame, "-c", conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit("login_cost: sesame %s exited; see %s" % (name, self.log.name))
                time.sleep(0.05)
        else:
            sys.exit("login_cost: sesame %s did not listen on port %d" % (name, self.port))
        self.client = SignIn(self.port)

    def stop(self):
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


class Row:
    def __init__(self, label, server, user, password, status, ref=None):
        self.label, self.server, self.user, self.password = label, server, user, password
        self.status, self.ref = status, ref
        self.latency = {}  # round -> seconds
        self.cpu = {}  # round -> seconds of sesame CPU

    def sign_in(self, round_):
        client = self.server.client
        cookie, token = client.form()
        before = cpu_ns(self.server.proc.pid)
        status, seconds, _ = client.post(cookie, self.user, self.password, token)
        # Read once the answer has arrived: the hash, the session and the
        # answer are done; the GET above is not counted.
        after = cpu_ns(self.server.proc.pid)
        if status != self.status:
            sys.exit("login_cost: %s: POST /.sesame/login answered %d, not %d" % (
                self.label, status, self.status))
        if round_ is not None:
            self.latency[round_] = seconds
            self.cpu[round_] = (after - before) / 1e9


def percentile(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sesame")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--upstream-port", type=int, default=0,
                    help="the route's upstream (never contacted; default: an unused port)")
    ap.add_argument("--dir", help="where configs and logs go (default: a temporary directory)")
    ap.add_argument("--max-hash-seconds", type=float, default=3.0)
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    workdir = args.dir or tempfile.mkdtemp(prefix="login-cost.")
    os.makedirs(workdir, exist_ok=True)
    upstream = args.upstream_port or free_port()

    pw = {name: "bench-%s-%s" % (name, secrets.token_hex(8)) for name in
          ("y1", "y2", "y3", "s6", "b10", "b12", "b14", "c1", "c2", "cy")}
    start = time.perf_counter()
    b14 = make_hash(pw["b14"], "$2b$", 14)
    b14_seconds = time.perf_counter() - start
    mixed_users = [("y1", yescrypt(args.sesame, pw["y1"])), ("y2", yescrypt(args.sesame, pw["y2"])),
                   ("y3", yescrypt(args.sesame, pw["y3"])), ("s6", make_hash(pw["s6"], "$6$")),
                   ("b10", make_hash(pw["b10"], "$2b$", 10)), ("b12", make_hash(pw["b12"], "$2b$", 12))]
    with_b14 = b14_seconds <= args.max_hash_seconds
    if with_b14:
        mixed_users.append(("b14", b14))
    bcrypt_users = [("c1", make_hash(pw["c1"], "$2b$", 12)), ("c2", make_hash(pw["c2"], "$2b$", 12)),
                    ("cy", yescrypt(args.sesame, pw["cy"]))]
    yes_cost = mixed_users[0][1].split("$")[2]

    servers = []
    try:
        mixed = Sesame("mixed", args.sesame, workdir, mixed_users, args.server_cpu, upstream)
        servers.append(mixed)
        bcrypt = Sesame("bcrypt", args.sesame, workdir, bcrypt_users, args.server_cpu, upstream)
        servers.append(bcrypt)
        yes = Row("yescrypt %s (default)" % yes_cost, mixed, "y1", pw["y1"], 303)
        yes_wrong = Row("yescrypt, wrong password", mixed, "y2", "wrong", 401)
        b12_wrong = Row("bcrypt 12, wrong password", bcrypt, "c1", "wrong", 401)
        rows = [
            Row("sha512crypt 5000 rounds", mixed, "s6", pw["s6"], 303, yes),
            yes,
            Row("bcrypt 10", mixed, "b10", pw["b10"], 303, yes),
            Row("bcrypt 12", mixed, "b12", pw["b12"], 303, yes),
        ]
        if with_b14:
            rows.append(Row("bcrypt 14", mixed, "b14", pw["b14"], 303, yes))
        rows += [
            yes_wrong,
            Row("unknown user", mixed, "nobody-here", "wrong", 401, yes_wrong),
            Row("empty password (no hash)", mixed, "y3", "", 401, yes),
            b12_wrong,
            Row("unknown user", bcrypt, "nobody-here", "wrong", 401, b12_wrong),
        ]
        for row in rows:  # warm-up, unrecorded: checks every answer first
            row.sign_in(None)
        for r in range(args.rounds):
            for i in range(len(rows)):
                rows[(i + r) % len(rows)].sign_in(r)
    finally:
        for s in servers:
            s.stop()
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)

    print("sign-in cost: POST /.sesame/login on loopback, sesame on cpu %s, client on cpu %s; %d rounds,"
          % (args.server_cpu, ",".join(map(str, sorted(os.sched_getaffinity(0)))), args.rounds))
    print("each a sign-in per row, interleaved. ms: the POST's latency (median, p90) and the CPU time of")
    print("sesame's threads for it (median). x ref: median latency over the ref row's, then p10..p90 of")
    print("the rounds' own ratios; cpu x ref: the same for the CPU medians")
    print("users files: mixed = 3 yescrypt, 1 each of the others (an unknown name hashes as yescrypt);")
    print("             bcrypt = 2 bcrypt 12, 1 yescrypt (an unknown name hashes as bcrypt 12)")
    if not with_b14:
        print("bcrypt 14 left out: making its hash took %.1f s here (limit %.1f s)"
              % (b14_seconds, args.max_hash_seconds))
    print()
    fmt = "%-26s %-6s %6s %8s %8s %8s %7s %13s %7s  %s"
    print(fmt % ("", "users", "", "latency", "latency", "cpu", "", "", "cpu", ""))
    print(fmt % ("row", "file", "status", "median", "p90", "median", "x ref", "(p10..p90)", "x ref", "ref"))
    for row in rows:
        lat = list(row.latency.values())
        med = statistics.median(lat)
        cpu = statistics.median(row.cpu.values())
        ratio = spread = cpu_ratio = ref = ""
        if row.ref is not None:
            ratios = [row.latency[r] / row.ref.latency[r] for r in row.latency if row.ref.latency.get(r)]
            ratio = "%.2fx" % (med / statistics.median(row.ref.latency.values()))
            spread = "(%.2f..%.2f)" % (percentile(ratios, 0.1), percentile(ratios, 0.9))
            ref_cpu = statistics.median(row.ref.cpu.values())
            cpu_ratio = "%.2fx" % (cpu / ref_cpu) if ref_cpu > 0 else "-"
            ref = row.ref.label + ("" if row.ref.server is row.server else " (" + row.ref.server.name + ")")
        print(fmt % (row.label, row.server.name, row.status, "%.1f" % (med * 1e3),
                     "%.1f" % (percentile(lat, 0.9) * 1e3), "%.1f" % (cpu * 1e3), ratio, spread,
                     cpu_ratio, ref))


if __name__ == "__main__":
    main()

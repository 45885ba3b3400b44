"""Harness for sesame's end-to-end tests: real processes on loopback ports.

Each test receives an Env. Env starts upstream servers (upstream.py) and the
real sesame binary with a generated TOML configuration, and kills every
process it started when the test ends, whatever the outcome. Clients are raw
sockets (plain or TLS) so tests see exactly the bytes on the wire.
"""

import json
import os
import random
import resource
import select
import signal
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PATTERN = bytes(range(256)) * 256
WINDOW = PATTERN * 17
WINDOW_VIEW = memoryview(WINDOW)
CHUNK = 1 << 20
TIMEOUT = 5.0
MIB = 1 << 20


class Skip(Exception):
    """Raised by a test that cannot run on this machine (not root, a tool
    missing): the runner reports it as skipped with the reason, never as a pass."""


def timeout(seconds):
    """Decorator: the runner kills a test (and its processes) after `seconds`."""

    def mark(fn):
        fn.timeout = seconds
        return fn

    return mark


def under_asan(binary):
    """Sanitizer builds are slow and keep freed memory in quarantine."""
    return "asan" in os.path.basename(os.path.dirname(os.path.abspath(binary))) or bool(
        os.environ.get("SESAME_E2E_SANITIZED"))


# ---------------------------------------------------------------- ports


PORT_RANGE = (20000, 32000)
_given_ports = set()


def free_port():
    """A loopback port below the ephemeral range, free right now.

    Staying below net.ipv4.ip_local_port_range keeps our listeners from
    colliding with the source ports of outgoing connections made by other
    tests running in parallel. A port is only checked, not held, until
    sesame or redis binds it: so that two tests running at once never pick
    the same one, each runner slot (SESAME_E2E_SLOT of SESAME_E2E_SLOTS, set
    by run.py) draws from its own share of the range, and a test never gets
    the same port twice (a port left unbound on purpose, a dead upstream,
    must stay dead)."""
    slots = max(1, int(os.environ.get("SESAME_E2E_SLOTS", "1")))
    slot = int(os.environ.get("SESAME_E2E_SLOT", "0")) % slots
    share = (PORT_RANGE[1] - PORT_RANGE[0]) // slots
    low = PORT_RANGE[0] + slot * share
    rng = random.Random(os.getpid() * 7919 + time.monotonic_ns())
    for _ in range(200):
        port = rng.randrange(low, low + share)
        if port in _given_ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            _given_ports.add(port)
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port in %d-%d" % (low, low + share - 1))


def wait_listening(port, proc, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


# ---------------------------------------------------------------- certificates


CERTS = {
    # name: (key type, subject CN, SAN DNS names)
    "default": ("ec", "default.test", ["default.test", "localhost"]),
    "app": ("ec", "app.test", ["app.test"]),
    "wild": ("rsa", "*.wild.test", ["*.wild.test"]),
}


def make_cert(directory, name, kind, cn, dns):
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    if os.path.exists(cert) and os.path.exists(key):
        return cert, key
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec" else [
        "-newkey", "rsa:2048"]
    tmp_cert, tmp_key = cert + ".%d.tmp" % os.getpid(), key + ".%d.tmp" % os.getpid()
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=" + ",".join("DNS:" + d for d in dns),
                    "-keyout", tmp_key, "-out", tmp_cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.replace(tmp_key, key)
    os.replace(tmp_cert, cert)
    return cert, key


def ensure_certs(directory):
    os.makedirs(directory, exist_ok=True)
    return {name: make_cert(directory, name, *spec) for name, spec in CERTS.items()}


def cert_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


# ---------------------------------------------------------------- TOML


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def toml_table(header, values):
    lines = [header]
    lines += ["%s = %s" % (k, toml_value(v)) for k, v in values.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- processes


class Upstream:
    """A running upstream.py; `addr` is "127.0.0.1:PORT"."""

    def __init__(self, env, name, args):
        self.name = name
        self.log_path = os.path.join(env.workdir, "upstream-%s.log" % name)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "upstream.py"), "--name", name, *args],
            stdout=subprocess.PIPE, stderr=open(self.log_path, "wb"), text=True)
        self.port = None
        self.addr = None

    def wait_ready(self):
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError("upstream %s did not start: %r" % (self.name, line))
        self.port = int(line.split()[1])
        self.addr = "127.0.0.1:%d" % self.port
        return self

    def stats(self, log=False, settle=0.2):
        """Counters straight from the upstream (not through sesame)."""
        time.sleep(settle)
        c = Client(self.port)
        try:
            c.send(b"GET /stats%s HTTP/1.1\r\nHost: stats\r\nConnection: close\r\n\r\n" %
                   (b"?log=1" if log else b""))
            return json.loads(c.read_response().body)
        finally:
            c.close()


class Sesame:
    """The real binary with a generated configuration."""

    def __init__(self, env, upstreams, routes, plain, tls, redirect, workers, tls_settings, certs,
                 limits, timeouts, extra, start, server=None, listen=None):
        self.env = env
        self.port = free_port() if plain else None
        self.tls_port = free_port() if tls else None
        self.redirect_port = free_port() if redirect else None
        parts = [toml_table("[server]", dict({"workers": workers}, **(server or {})))]
        for port, is_tls, redir in ((self.port, False, False), (self.tls_port, True, False),
                                    (self.redirect_port, False, True)):
            if port:
                listen_table = {"address": "127.0.0.1:%d" % port, "tls": is_tls}
                listen_table.update(listen or {})
                if redir:
                    listen_table["redirect_https"] = True
                parts.append(toml_table("[[listen]]", listen_table))
        if tls:
            parts.append(toml_table("[tls]", tls_settings))
            for name in certs:
                cert, key = env.certs[name] if isinstance(name, str) else name
                parts.append(toml_table("[[tls.certificate]]", {"cert": cert, "key": key}))
        for name, servers in upstreams.items():
            parts.append(toml_table("[upstream.%s]" % name, {"servers": servers}))
        for route in routes:
            parts.append(toml_table("[[route]]", route))
        if limits:
            parts.append(toml_table("[limits]", limits))
        if timeouts:
            parts.append(toml_table("[timeouts]", timeouts))
        self.config_text = "\n".join(parts) + extra
        self.config_path = env.write("sesame-%d.toml" % len(env.sesames), self.config_text)
        self.stderr_path = self.config_path + ".stderr"
        self.proc = None
        self.expect_exit = False
        if start:
            self.start()

    def start(self, nofile=None, env=None, wait=True):
        """Starts the binary; `nofile` caps its descriptor limit (RLIMIT_NOFILE),
        `env` adds environment variables (NOTIFY_SOCKET), `wait=False` returns
        without waiting for the ports."""
        limit = None
        if nofile is not None:
            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        environ = dict(os.environ, **env) if env else None
        self.proc = subprocess.Popen([self.env.binary, "-c", self.config_path], stdin=subprocess.DEVNULL,
                                     stdout=open(self.stderr_path + ".stdout", "wb"),
                                     stderr=open(self.stderr_path, "wb"), preexec_fn=limit, env=environ)
        if not wait:
            return
        for port in (self.port, self.tls_port, self.redirect_port):
            if port and not wait_listening(port, self.proc):
                raise AssertionError("sesame did not listen on %d within 5 s (exit status %s)" %
                                     (port, self.proc.poll()))

    @property
    def pid(self):
        return self.proc.pid

    def stderr_tail(self, lines=30):
        try:
            with open(self.stderr_path, "rb") as f:
                data = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(data[-lines:])

    def cpu_seconds(self):
        """User plus system CPU time the process has used so far."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def proc_status(self, field):
        """A /proc/PID/status field in KiB (VmRSS, VmHWM)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    def reset_peak_rss(self):
        """Resets VmHWM to the current RSS (Linux clear_refs, value 5)."""
        with open("/proc/%d/clear_refs" % self.pid, "w") as f:
            f.write("5")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after 3 s. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Env:
    """Everything one test starts; cleanup() kills it all."""

    def __init__(self, binary, workdir, certs_dir):
        self.binary = os.path.abspath(binary)
        self.workdir = workdir
        self.certs_dir = certs_dir
        self._certs = None
        self.upstreams = []
        self.sesames = []
        self.redises = []
        self.cleanups = []  # callables run first by cleanup(): other processes a test started

    @property
    def certs(self):
        if self._certs is None:
            self._certs = ensure_certs(self.certs_dir)
        return self._certs

    def write(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def upstream(self, name="app", idle_close=None, drop_after=None):
        args = []
        if idle_close is not None:
            args += ["--idle-close", str(idle_close)]
        if drop_after is not None:
            args += ["--drop-after", str(drop_after)]
        up = Upstream(self, name, args)
        self.upstreams.append(up)
        return up.wait_ready()

    def upstream_set(self, *names):
        """Several plain upstreams, started in parallel: {name: Upstream}."""
        ups = [Upstream(self, name, []) for name in names]
        self.upstreams.extend(ups)
        return {up.name: up.wait_ready() for up in ups}

    def sesame(self, upstream=None, upstreams=None, routes=None, plain=True, tls=False, redirect=False,
               workers=1, tls_settings=None, certs=("default",), limits=None, timeouts=None, extra="",
               start=True, server=None, listen=None):
        """Starts sesame. `upstream` (an Upstream) is shorthand for one
        upstream "app" with a route "/" to it; `upstreams` maps names to
        lists of "host:port" and `routes` lists route tables; `server` adds
        keys to [server] and `listen` to every [[listen]] (not to the
        redirect listener's redirect_https)."""
        if upstreams is None:
            upstreams = {"app": [upstream.addr]} if upstream else {"app": ["127.0.0.1:%d" % free_port()]}
        if routes is None:
            routes = [{"path": "/", "upstream": next(iter(upstreams))}]
        s = Sesame(self, upstreams, routes, plain, tls, redirect, workers, tls_settings or {}, certs,
                   limits or {}, timeouts or {}, extra, start=False, server=server, listen=listen)
        self.sesames.append(s)
        if start:
            s.start()
        return s

    def run_sesame(self, *args, timeout=10):
        """Runs the binary to completion (-t, --version, --help)."""
        p = subprocess.run([self.binary, *args], capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def died(self):
        """Sesame processes that exited while the test still needed them."""
        return [s for s in self.sesames if s.proc and s.proc.poll() is not None and not s.expect_exit]

    def redis(self, **opts):
        """A private redis-server on a free loopback port (see RedisServer);
        `opts` become extra command-line options (requirepass="pw")."""
        r = RedisServer(self, opts)
        self.redises.append(r)
        return r

    def on_cleanup(self, fn):
        self.cleanups.append(fn)

    def cleanup(self):
        for fn in self.cleanups:
            fn()
        for s in self.sesames:
            s.stop()
        for r in self.redises:
            r.kill()
        for up in self.upstreams:
            if up.proc.poll() is None:
                up.proc.kill()
            up.proc.wait()
            up.proc.stdout.close()


class RespError(Exception):
    """An error reply (-ERR ...) from Redis."""


class RespClient:
    """A minimal RESP2 client over a plain socket: enough to inspect what
    sesame left in Redis. Bulk strings come back as bytes."""

    def __init__(self, port, password=None, timeout=TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = bytearray()
        if password is not None:
            self.command("AUTH", password)

    def command(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("redis closed the connection")
            self.buf += data
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("redis closed the connection")
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n + 2]
        return out

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise AssertionError("bad RESP reply %r" % line)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RedisServer:
    """/usr/bin/redis-server on a loopback port, no persistence, killed by
    Env.cleanup(). `addr` is "127.0.0.1:PORT"; helpers answer from a fresh
    RespClient connection each time unless told otherwise."""

    BINARY = "/usr/bin/redis-server"

    def __init__(self, env, opts):
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.password = opts.get("requirepass")
        self.log_path = os.path.join(env.workdir, "redis-%d.log" % self.port)
        args = [self.BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", env.workdir,
                "--logfile", self.log_path]
        for k, v in opts.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.stopped = False
        deadline = time.monotonic() + 5
        while True:
            try:
                c = self.client()
                try:
                    if c.command("PING") == "PONG":
                        break
                finally:
                    c.close()
            except (OSError, EOFError, RespError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("redis-server did not answer PING on %d (exit %s)" %
                                     (self.port, self.proc.poll()))
            time.sleep(0.02)

    def client(self, db=0):
        c = RespClient(self.port, self.password)
        if db:
            c.command("SELECT", db)
        return c

    def command(self, *args, db=0):
        c = self.client(db)
        try:
            return c.command(*args)
        finally:
            c.close()

    def dbsize(self, db=0):
        return self.command("DBSIZE", db=db)

    def keys(self, pattern="*", db=0):
        return sorted(self.command("KEYS", pattern, db=db))

    def hgetall(self, key, db=0):
        flat = self.command("HGETALL", key, db=db)
        return dict(zip(flat[::2], flat[1::2]))

    def info(self, section="commandstats"):
        """INFO `section` as {field: value} (strings)."""
        text = self.command("INFO", section).decode()
        out = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def command_calls(self):
        """{command: calls} from INFO commandstats."""
        out = {}
        for k, v in self.info("commandstats").items():
            if k.startswith("cmdstat_"):
                fields = dict(x.split("=", 1) for x in v.split(","))
                out[k[len("cmdstat_"):]] = int(fields["calls"])
        return out

    def reset_stats(self):
        self.command("CONFIG", "RESETSTAT")

    def pause(self):
        """SIGSTOP: connections stay open but nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


# ---------------------------------------------------------------- clients


class Response:
    def __init__(self, version, status, reason, headers, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] as received
        self.raw_head = raw_head
        self.body = b""
        self.framing = None  # "length", "chunked", "close" or "none"
        self.informational = []  # 1xx responses before this one

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header(self, name):
        values = self.all(name)
        assert len(values) <= 1, "%s appears %d times: %r" % (name, len(values), values)
        return values[0] if values else None

    def connection_tokens(self):
        return {t.strip().lower() for v in self.all("connection") for t in v.split(",") if t.strip()}

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r body=%d bytes>" % (self.status, self.headers, len(self.body))


class Client:
    """A raw HTTP/1.1 client connection (plain or TLS) to 127.0.0.1."""

    def __init__(self, port, tls=False, server_hostname="default.test", context=None, session=None,
                 timeout=TIMEOUT, source=None):
        # `source`: another loopback address to connect from ("127.0.0.2"),
        # so the client is not the load balancer's 127.0.0.1.
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                        source_address=(source, 0) if source else None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls or context is not None:
            context = context or client_context()
            sock = context.wrap_socket(sock, server_hostname=server_hostname, session=session)
        self.sock = sock
        self.buf = bytearray()
        self.scratch = bytearray(CHUNK)

    def send(self, data):
        self.sock.sendall(data)

    def readable(self, seconds=0.0):
        """True when sesame has sent something (or closed): a sender should
        stop, since writing after its close could reset the connection and
        discard the answer it sent."""
        if self.buf or (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
            return True
        return bool(select.select([self.sock], [], [], seconds)[0])

    def request(self, method, target, host="app.test", headers=(), body=b"", version="HTTP/1.1"):
        lines = ["%s %s %s" % (method, target, version)]
        if host is not None:
            lines.append("Host: " + host)
        lines += ["%s: %s" % h for h in headers]
        if body and not any(n.lower() in ("content-length", "transfer-encoding") for n, _ in headers):
            lines.append("Content-Length: %d" % len(body))
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def get(self, target, host="app.test", headers=(), **kw):
        self.request("GET", target, host, headers)
        return self.read_response(**kw)

    def _fill(self):
        n = self.sock.recv_into(self.scratch)
        if n == 0:
            raise EOFError("connection closed by sesame")
        self.buf += self.scratch[:n]

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        out = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise AssertionError("response head over 1 MiB")
            self._fill()
        i = self.buf.index(b"\r\n\r\n")
        raw = bytes(self.buf[:i + 4])
        del self.buf[:i + 4]
        lines = raw[:-4].split(b"\r\n")
        version, _, rest = lines[0].decode("latin-1").partition(" ")
        code, _, reason = rest.partition(" ")
        assert version in ("HTTP/1.0", "HTTP/1.1"), "bad status line %r" % lines[0]
        headers = []
        for line in lines[1:]:
            name, sep, value = line.decode("latin-1").partition(":")
            assert sep and name == name.strip(), "bad response field %r" % line
            headers.append((name, value.strip()))
        return Response(version, int(code), reason, headers, raw)

    def read_response(self, method="GET", skip_1xx=True, read_body=True):
        informational = []
        while True:
            r = self.read_head()
            if skip_1xx and 100 <= r.status < 200 and r.status != 101:
                informational.append(r)
                continue
            break
        r.informational = informational
        if read_body:
            self.read_body(r, method)
        return r

    def read_body(self, r, method="GET"):
        te = ",".join(r.all("transfer-encoding")).lower()
        cl = r.all("content-length")
        if method == "HEAD" or r.status in (204, 304) or 100 <= r.status < 200:
            r.framing = "none"
        elif te:
            assert te.split(",")[-1].strip() == "chunked", "response TE %r" % te
            assert not cl, "response has both Content-Length and Transfer-Encoding"
            r.framing = "chunked"
            parts = []
            while True:
                size = int(self.read_line().split(b";")[0], 16)
                if size == 0:
                    while self.read_line():
                        pass
                    break
                parts.append(self.read_exact(size))
                assert self.read_exact(2) == b"\r\n", "chunk not followed by CRLF"
            r.body = b"".join(parts)
        elif cl:
            assert len(cl) == 1, "several Content-Length: %r" % cl
            r.framing = "length"
            r.body = self.read_exact(int(cl[0]))
        else:
            r.framing = "close"
            r.body = self.read_until_close()
        return r

    def read_until_close(self, seconds=TIMEOUT):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._fill()
            except EOFError:
                break
            except (ConnectionResetError, ssl.SSLError):
                break
        else:
            raise AssertionError("connection still open after %.1f s" % seconds)
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def closed_within(self, seconds):
        """True if sesame closes the connection within `seconds` (bytes it
        sends meanwhile are kept in self.buf)."""
        deadline = time.monotonic() + seconds
        old = self.sock.gettimeout()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                try:
                    self._fill()
                except EOFError:
                    return True
                except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                    return True
                except (socket.timeout, TimeoutError):
                    return False
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def client_context(minimum=None, maximum=None, alpn=None, insecure_ciphers=False):
    """A client context that does not verify (tests compare certificates)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if insecure_ciphers:
        # Debian's client default (SECLEVEL 2) refuses TLS < 1.2 itself; drop
        # to level 0 so a refusal we observe is the server's.
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def request_once(port, target, host="app.test", method="GET", headers=(), body=b"", **client_kw):
    c = Client(port, **client_kw)
    try:
        c.request(method, target, host, headers, body)
        return c.read_response(method)
    finally:
        c.close()


def pattern_matches(buf, offset, n):
    """buf[:n] equals the pattern at `offset`, without allocating."""
    start = offset % len(PATTERN)
    return buf.startswith(WINDOW_VIEW[start:start + n]) if n else True


def send_pattern(sock, n):
    block = WINDOW_VIEW[:CHUNK]
    while n > 0:
        piece = min(n, CHUNK)
        sock.sendall(block[:piece])
        n -= piece


def pattern_sha256(n):
    import hashlib
    h = hashlib.sha256()
    block = WINDOW_VIEW[:CHUNK]
    while n > 0:
        piece = min(n, CHUNK)
        h.update(block[:piece])
        n -= piece
    return h.hexdigest()


def assert_closed(client, seconds=3.0, what="connection"):
    assert client.closed_within(seconds), "%s still open %.1f s after the response" % (what, seconds)


def assert_upstream_untouched(up):
    st = up.stats()
    assert st["requests"] == 0, "upstream received %d request(s): %r" % (
        st["requests"], up.stats(log=True, settle=0)["log"])
    assert st["bad_framing"] == 0, "upstream saw malformed framing"

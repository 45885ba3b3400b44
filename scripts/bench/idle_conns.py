#!/usr/bin/env python3
"""Holds N idle keep-alive TLS connections open against a server, so that
scripts/bench.sh can measure what idle connections cost the server in memory.

Usage: idle_conns.py [--concurrency C] [--path P] [--plain] HOST PORT N

Each connection is a full TLS 1.3 handshake (a fresh SSL object, no session
offered) followed by one keep-alive GET whose whole response is read. Once all
N are idle the script prints one line

    ready OPEN FAILED SECONDS

and holds them until SIGTERM or SIGINT, then closes them and exits 0. Before
the line, it checks that the server has not closed or written to any of them.
Exits 1 (after the ready line) when a connection failed, 2 on usage errors.
At most C connections are in progress at a time, so the upstream behind a
proxy sees at most C concurrent requests. --plain skips TLS, to tell what the
TLS state of an idle connection costs from what the server's own state does.
"""

import argparse
import errno
import resource
import selectors
import signal
import socket
import ssl
import sys
import time

CONNECTING, HANDSHAKE, SENDING, RECEIVING = range(4)


class Conn:
    __slots__ = ("sock", "state", "out", "buf", "need")

    def __init__(self, sock):
        self.sock = sock
        self.state = CONNECTING
        self.out = b""
        self.buf = bytearray()
        self.need = None  # total bytes of head + body once the head is parsed


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft >= want:
        return
    if hard == resource.RLIM_INFINITY or hard >= want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        return
    try:  # raising the hard limit needs CAP_SYS_RESOURCE
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        sys.exit("idle_conns: RLIMIT_NOFILE hard limit %d < %d (raise it: ulimit -n)" % (hard, want))


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def response_complete(c):
    """True when c.buf holds one whole response; raises ValueError when the
    response cannot be kept alive or is not a 200."""
    if c.need is None:
        end = c.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(c.buf[:end]).decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 200 "):
            raise ValueError("status line %r" % lines[0])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip().lower()
        if "close" in fields.get("connection", ""):
            raise ValueError("server asked to close the connection")
        if "content-length" in fields:
            c.need = end + 4 + int(fields["content-length"])
        elif fields.get("transfer-encoding") == "chunked":
            c.need = -1
        else:
            raise ValueError("response delimited by close")
    if c.need == -1:
        return c.buf.endswith(b"\r\n0\r\n\r\n") or c.buf.endswith(b"\n0\r\n\r\n")
    if len(c.buf) > c.need:
        raise ValueError("%d bytes past the response" % (len(c.buf) - c.need))
    return len(c.buf) == c.need


class Opener:
    def __init__(self, addr, n, concurrency, request, tls):
        self.addr = addr
        self.n = n
        self.concurrency = concurrency
        self.request = request
        self.ctx = client_context() if tls else None
        self.sel = selectors.DefaultSelector()
        self.started = 0
        self.idle = []
        self.failures = {}

    def fail(self, c, why):
        if c.sock in self.sel.get_map():
            self.sel.unregister(c.sock)
        c.sock.close()
        self.failures[why] = self.failures.get(why, 0) + 1

    def start_one(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(self.addr)
        self.started += 1
        c = Conn(sock)
        self.sel.register(sock, selectors.EVENT_WRITE, c)
        if err not in (0, errno.EINPROGRESS):
            self.fail(c, "connect: " + errno.errorcode.get(err, str(err)))

    def want(self, c, events):
        self.sel.modify(c.sock, events, c)

    def step(self, c):
        if c.state == CONNECTING:
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return self.fail(c, "connect: " + errno.errorcode.get(err, str(err)))
            if self.ctx is None:
                c.state = SENDING
                c.out = self.request
            else:
                self.sel.unregister(c.sock)
                c.sock = self.ctx.wrap_socket(c.sock, do_handshake_on_connect=False)
                self.sel.register(c.sock, selectors.EVENT_WRITE, c)
                c.state = HANDSHAKE
        if c.state == HANDSHAKE:
            try:
                c.sock.do_handshake()
            except ssl.SSLWantReadError:
                return self.want(c, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                return self.want(c, selectors.EVENT_WRITE)
            c.state = SENDING
            c.out = self.request
        if c.state == SENDING:
            while c.out:
                try:
                    c.out = c.out[c.sock.send(c.out):]
                except (ssl.SSLWantWriteError, BlockingIOError):
                    return self.want(c, selectors.EVENT_WRITE)
                except ssl.SSLWantReadError:
                    return self.want(c, selectors.EVENT_READ)
            c.state = RECEIVING
        while True:
            try:
                data = c.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                return self.want(c, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                return self.want(c, selectors.EVENT_WRITE)
            if not data:
                return self.fail(c, "closed before the whole response")
            c.buf += data
            try:
                done = response_complete(c)
            except ValueError as e:
                return self.fail(c, str(e))
            if done:
                self.sel.unregister(c.sock)
                self.idle.append(c.sock)
                return None

    def run(self):
        while self.started < self.n or self.sel.get_map():
            while self.started < self.n and len(self.sel.get_map()) < self.concurrency:
                self.start_one()
            for key, _ in self.sel.select(timeout=10):
                try:
                    self.step(key.data)
                except (OSError, ssl.SSLError) as e:
                    self.fail(key.data, type(e).__name__ + ": " + str(e).split("(")[0].strip())


def still_idle(socks):
    """Drops and counts the sockets on which the server closed or wrote
    something since their response: an idle connection stays silent."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    broken = set()
    for key, _ in sel.select(timeout=0):
        s = key.fileobj
        try:
            s.recv(1)  # b"" (closed) or bytes nobody asked for
            broken.add(s)
        except (ssl.SSLWantReadError, BlockingIOError):
            pass  # a post-handshake message (a session ticket), not data
        except (OSError, ssl.SSLError):
            broken.add(s)
    sel.close()
    for s in broken:
        s.close()
    return [s for s in socks if s not in broken], len(broken)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("n", type=int)
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--path", default="/")
    p.add_argument("--plain", action="store_true", help="no TLS")
    args = p.parse_args()
    if args.n < 1 or args.concurrency < 1:
        p.error("N and --concurrency must be positive")
    raise_nofile(args.n)

    # Held until now so that a signal cannot interrupt the opening half way.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sesame-idle-bench\r\n\r\n"
               % (args.path, args.host)).encode()
    opener = Opener((args.host, args.port), args.n, args.concurrency, request, not args.plain)
    t0 = time.monotonic()
    opener.run()
    socks, broken = still_idle(opener.idle)
    if broken:
        opener.failures["closed or written to while idle"] = broken
    print("ready %d %d %.1f" % (len(socks), args.n - len(socks), time.monotonic() - t0), flush=True)
    for why, count in sorted(opener.failures.items()):
        print("idle_conns: %d failed: %s" % (count, why), file=sys.stderr, flush=True)

    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    for s in socks:
        s.close()
    return 1 if opener.failures else 0


if __name__ == "__main__":
    sys.exit(main())

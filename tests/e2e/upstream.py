#!/usr/bin/env python3
"""Upstream HTTP/1.1 server for sesame's end-to-end tests.

A real, threaded, keep-alive origin with endpoints that make every framing
case reachable (see ENDPOINTS below). It parses requests strictly so that a
proxy which forwards a malformed or ambiguous request is caught: such input
increments `bad_framing` in /stats instead of being served.

Usage: upstream.py [--name NAME] [--idle-close SECONDS] [--drop-after N]
Prints "READY <port>" on stdout once listening on 127.0.0.1.
"""

import argparse
import base64
import hashlib
import json
import socket
import sys
import threading
import time
import urllib.parse

ENDPOINTS = """
/echo            method, target, version, headers as received, body length + sha256 (JSON)
/control?h=N:V   like /echo, plus each h=NAME:VALUE as a response header (X-Sesame-* control
                 headers); delay=S answers after S seconds
/bytes?n=N       N bytes of the pattern with Content-Length
/chunked?n=N&c=C N bytes of the pattern, chunked, chunks of C bytes
/close?n=N       N bytes of the pattern delimited by closing the connection
/slow?delay=S    sleeps S seconds, then answers "slow"
/status?code=C   answers status C (cl=N adds Content-Length: N without a body for 204/304)
/early           103 Early Hints, then 200
/hop             a response carrying every hop-by-hop header
/cookies         two Set-Cookie fields and an empty field
/ws              WebSocket echo (RFC 6455)
/upload          reads the body (CL or chunked) incrementally: length + sha256
                 (check=pattern compares against the pattern instead of hashing;
                 slow=S reads slowly for S seconds first)
/raw?kind=K      a deliberately malformed response (see RAW)
/stats           counters, not counted themselves; log=1 adds recent requests
"""

PATTERN = bytes(range(256)) * 256  # 64 KiB period
WINDOW = PATTERN * 17  # lets any slice of up to 1 MiB start at any phase
WINDOW_VIEW = memoryview(WINDOW)
CHUNK = 1 << 20
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

RAW = {
    "cl_te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    "dup_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "bad_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello",
    "neg_cl": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello",
    "nul": b"HTTP/1.1 200 OK\r\nX-Smuggled: a\x00b\r\nContent-Length: 5\r\n\r\nhello",
    "bad_status": b"HTTP/1.1 20 OK\r\nContent-Length: 5\r\n\r\nhello",
    "http2": b"HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "garbage": b"this is not http\r\n\r\n",
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-Smuggled: a\r\n b\r\nContent-Length: 5\r\n\r\nhello",
    "space_colon": b"HTTP/1.1 200 OK\r\nX-Smuggled : 1\r\nContent-Length: 5\r\n\r\nhello",
    "short_body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
    "short_chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nonly ten b",
    "bad_chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\nX-Smuggled-Body\r\n0\r\n\r\n",
    # Names its own framing as a connection option: a proxy that obeyed would
    # send the body unframed and the client would read it as a response.
    "conn_cl": b"HTTP/1.1 200 OK\r\nConnection: close, Content-Length\r\nContent-Length: 5\r\n\r\n"
    b"hello",
    # Names its own HSTS field as a connection option: sesame must not count
    # on a field that it then removes.
    "conn_hsts": b"HTTP/1.1 200 OK\r\nConnection: Strict-Transport-Security\r\n"
    b"Strict-Transport-Security: max-age=1\r\nContent-Length: 2\r\n\r\nok",
    # Switches to a protocol the request did not offer (RFC 9110 §7.8).
    "switch_h2c": b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
}


class Bad(Exception):
    """The peer sent something a strict HTTP/1.1 server must refuse."""


class Closed(Exception):
    """The peer closed the connection (or it timed out)."""


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.completed = 0
        self.bad_framing = 0
        self.log = []

    def add(self, field, n=1):
        with self.lock:
            setattr(self, field, getattr(self, field) + n)

    def record(self, entry):
        with self.lock:
            self.log.append(entry)
            del self.log[:-50]

    def snapshot(self, with_log):
        with self.lock:
            out = {
                "connections": self.connections,
                "requests": self.requests,
                "completed": self.completed,
                "bad_framing": self.bad_framing,
            }
            if with_log:
                out["log"] = list(self.log)
        return out


class Reader:
    """Buffered reads over a socket with large recv_into calls."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.scratch = bytearray(CHUNK)

    def _fill(self):
        n = self.sock.recv_into(self.scratch)
        if n == 0:
            raise Closed()
        self.buf += self.scratch[:n]

    def head(self, limit=65536):
        """Bytes up to and including the blank line ending a head."""
        start = 0
        while True:
            i = self.buf.find(b"\r\n\r\n", max(0, start - 3))
            if i >= 0:
                out = bytes(self.buf[: i + 4])
                del self.buf[: i + 4]
                return out
            start = len(self.buf)
            if start > limit:
                raise Bad("head too long")
            self._fill()

    def line(self, limit=4096):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                if not out.endswith(b"\r\n") or b"\r" in out[:-2]:
                    raise Bad("bare LF or CR in chunk framing")
                return out[:-2]
            if len(self.buf) > limit:
                raise Bad("line too long")
            self._fill()

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def stream(self, n, sink):
        """Passes n bytes to sink(memoryview) without accumulating them."""
        if self.buf:
            take = min(n, len(self.buf))
            sink(memoryview(bytes(self.buf[:take])))
            del self.buf[:take]
            n -= take
        view = memoryview(self.scratch)
        while n > 0:
            got = self.sock.recv_into(view[: min(n, CHUNK)])
            if got == 0:
                raise Closed()
            sink(view[:got])
            n -= got


def parse_head(raw):
    """Request line and fields, strictly; raises Bad on anything ambiguous."""
    lines = raw[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not all(parts):
        raise Bad("request line")
    method, target, version = (p.decode("latin-1") for p in parts)
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise Bad("version")
    headers = []
    for line in lines[1:]:
        if not line or line[:1] in (b" ", b"\t"):
            raise Bad("obs-fold or empty line")
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or b" " in name:
            raise Bad("field name")
        if any(c < 0x20 and c != 0x09 or c == 0x7F for c in line):
            raise Bad("control character")
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return method, target, version, headers


def get_all(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


class Body:
    """Reads a request body with the framing its head declares."""

    def __init__(self, reader, headers):
        self.reader = reader
        te = get_all(headers, "transfer-encoding")
        cl = get_all(headers, "content-length")
        if te and cl:
            raise Bad("both Content-Length and Transfer-Encoding")
        if len(te) > 1 or len(cl) > 1:
            raise Bad("repeated framing header")
        self.chunked = bool(te)
        if te and te[0].lower() != "chunked":
            raise Bad("transfer coding " + te[0])
        if cl and not cl[0].isdigit():
            raise Bad("content-length " + cl[0])
        self.length = int(cl[0]) if cl else 0

    def consume(self, sink):
        if not self.chunked:
            self.reader.stream(self.length, sink)
            return self.length
        total = 0
        while True:
            size_line = self.reader.line().split(b";", 1)[0]
            if not size_line or any(c not in b"0123456789abcdefABCDEF" for c in size_line):
                raise Bad("chunk size %r" % size_line)
            size = int(size_line, 16)
            if size == 0:
                while self.reader.line():
                    pass
                return total
            self.reader.stream(size, sink)
            total += size
            if self.reader.exact(2) != b"\r\n":
                raise Bad("chunk data longer than its size")


class Handler:
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.reader = Reader(sock)
        self.served = 0
        self.counted = False

    def send(self, data):
        self.sock.sendall(data)

    def respond(self, status, headers, body=b"", head_only=False, reason="X"):
        out = ["HTTP/1.1 %d %s" % (status, reason)]
        out += ["%s: %s" % h for h in headers]
        out.append("X-Server: " + self.server.name)
        framed = any(n.lower() in ("content-length", "transfer-encoding") for n, _ in headers)
        if status not in (204, 304) and not framed:
            out.append("Content-Length: %d" % len(body))
        data = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
        self.send(data if head_only else data + body)

    def run(self):
        try:
            while self.one():
                self.served += 1
        except Bad:
            self.server.stats.add("bad_framing")
        except (Closed, OSError):
            pass
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def one(self):
        if self.served and self.server.idle_close:
            self.sock.settimeout(self.server.idle_close)
            try:
                raw = self.reader.head()
            except (socket.timeout, TimeoutError):
                return False
            self.sock.settimeout(None)
        else:
            raw = self.reader.head()
        method, target, version, headers = parse_head(raw)
        url = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/stats":
            body = json.dumps(self.server.stats.snapshot("log" in query)).encode()
            self.respond(200, [("Content-Type", "application/json")], body)
            return True
        if not self.counted:  # connections that only asked for /stats do not count
            self.counted = True
            self.server.stats.add("connections")
        self.server.stats.add("requests")
        self.server.stats.record({"method": method, "target": target, "headers": headers})
        if self.server.drop_after is not None and self.served >= self.server.drop_after:
            return False  # the pooled-connection race: request read, never answered
        conn_tokens = ",".join(get_all(headers, "connection")).lower()
        keep = ("close" not in conn_tokens) if version == "HTTP/1.1" else ("keep-alive" in conn_tokens)
        body = Body(self.reader, headers)
        if "100-continue" in ",".join(get_all(headers, "expect")).lower():
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        q = lambda k, d=None: query.get(k, [d])[0]
        # Dispatch on the last segment so route prefixes (/api/v2/echo) work.
        route = ROUTES.get("/" + url.path.rsplit("/", 1)[-1], Handler.not_found)
        keep = route(self, method, target, version, headers, body, q) and keep
        self.server.stats.add("completed")
        return keep

    def not_found(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        self.respond(404, [("Content-Type", "text/plain")], b"upstream: no such endpoint\n")
        return True

    def echo(self, method, target, version, headers, body, q):
        digest = hashlib.sha256()
        length = body.consume(digest.update)
        out = {
            "server": self.server.name,
            "method": method,
            "target": target,
            "version": version,
            "headers": headers,
            "body_length": length,
            "body_sha256": digest.hexdigest(),
            "chunked": body.chunked,
        }
        data = json.dumps(out).encode()
        self.respond(200, [("Content-Type", "application/json")], data,
                     head_only=method == "HEAD")
        return True

    def control(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
        extra = [tuple(x.strip() for x in h.split(":", 1)) for h in query.get("h", [])]
        time.sleep(float(q("delay", "0")))
        data = json.dumps({"server": self.server.name, "method": method, "target": target,
                           "headers": headers}).encode()
        self.respond(200, [("Content-Type", "application/json")] + extra, data,
                     head_only=method == "HEAD")
        return True

    def bytes_(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        n = int(q("n", "0"))
        self.respond(200, [("Content-Length", str(n)), ("Content-Type", "application/octet-stream")],
                     head_only=True)
        if method != "HEAD":
            send_pattern(self.sock, n)
        return True

    def chunked(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        n, size = int(q("n", "0")), int(q("c", "16384"))
        self.respond(200, [("Transfer-Encoding", "chunked")], head_only=True)
        off = 0
        while off < n:
            piece = min(size, n - off, CHUNK)
            start = off % len(PATTERN)
            self.send(b"%x\r\n" % piece + WINDOW[start:start + piece] + b"\r\n")
            off += piece
        self.send(b"0\r\n\r\n")
        return True

    def close(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        self.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
        send_pattern(self.sock, int(q("n", "0")))
        return False

    def slow(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        time.sleep(float(q("delay", "1")))
        self.respond(200, [("Content-Type", "text/plain")], b"slow\n")
        return True

    def status(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        code = int(q("code", "200"))
        extra = [("X-Status", str(code))]
        if q("cl"):
            extra.append(("Content-Length", q("cl")))
        payload = b"" if code in (204, 304) else b"status body\n"
        self.respond(code, extra, payload, head_only=method == "HEAD")
        return True

    def early(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        self.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        self.respond(200, [("Content-Type", "text/plain")], b"after early hints\n")
        return True

    def hop(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        self.respond(200, [
            ("Connection", "x-resp-hop"),
            ("X-Resp-Hop", "secret"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Trailer"),
            ("Upgrade", "foo/1"),
            ("X-Kept", "yes"),
        ], b"hop\n")
        return True

    def cookies(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        self.respond(200, [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/, c=3"),
                           ("X-Empty", "")], b"cookies\n")
        return True

    def upload(self, method, target, version, headers, body, q):
        slow_until = time.monotonic() + float(q("slow", "0"))
        digest = hashlib.sha256()
        state = {"off": 0, "ok": True}

        def sink(mv):
            if q("check") == "pattern":
                start = state["off"] % len(PATTERN)
                # startswith on the exporter is a memcmp; slicing would
                # allocate (and fault in) a fresh MiB per call.
                if state["ok"] and not mv.obj.startswith(WINDOW_VIEW[start:start + len(mv)]):
                    state["ok"] = False
            else:
                digest.update(mv)
            state["off"] += len(mv)
            if time.monotonic() < slow_until:
                time.sleep(0.05)

        if time.monotonic() < slow_until:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            self.reader.scratch = bytearray(16384)
        length = body.consume(sink)
        self.reader.scratch = bytearray(CHUNK)
        out = {"server": self.server.name, "body_length": length, "chunked": body.chunked}
        if q("check") == "pattern":
            out["pattern_ok"] = state["ok"]
        else:
            out["body_sha256"] = digest.hexdigest()
        self.respond(200, [("Content-Type", "application/json")], json.dumps(out).encode())
        return True

    def raw(self, method, target, version, headers, body, q):
        body.consume(lambda mv: None)
        self.send(RAW[q("kind")])
        return False

    def ws(self, method, target, version, headers, body, q):
        key = (get_all(headers, "sec-websocket-key") or [""])[0].encode()
        connection = ",".join(get_all(headers, "connection")).lower()
        upgrade = ",".join(get_all(headers, "upgrade")).lower()
        if "websocket" not in upgrade or "upgrade" not in connection or not key:
            self.respond(400, [], b"not a websocket handshake\n")
            return False
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
        self.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
        while True:
            opcode, payload = ws_read(self.reader, expect_mask=True)
            if opcode == 0x8:
                self.send(ws_frame(0x8, payload))
                return False
            self.send(ws_frame(0xA if opcode == 0x9 else opcode, payload))


ROUTES = {
    "/echo": Handler.echo,
    "/control": Handler.control,
    "/bytes": Handler.bytes_,
    "/chunked": Handler.chunked,
    "/close": Handler.close,
    "/slow": Handler.slow,
    "/status": Handler.status,
    "/early": Handler.early,
    "/hop": Handler.hop,
    "/upload": Handler.upload,
    "/cookies": Handler.cookies,
    "/raw": Handler.raw,
    "/ws": Handler.ws,
}


def send_pattern(sock, n):
    block = memoryview(WINDOW)[:CHUNK]  # a multiple of the period: phase stays 0
    while n > 0:
        piece = min(n, CHUNK)
        sock.sendall(block[:piece])
        n -= piece


def ws_frame(opcode, payload, mask=None):
    head = bytearray([0x80 | opcode])
    mbit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head.append(mbit | n)
    elif n < 65536:
        head += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mbit | 127]) + n.to_bytes(8, "big")
    if mask:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(head) + payload


def ws_read(reader, expect_mask):
    b0, b1 = reader.exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(reader.exact(2), "big")
    elif n == 127:
        n = int.from_bytes(reader.exact(8), "big")
    if bool(b1 & 0x80) != expect_mask:
        raise Bad("websocket mask bit")
    mask = reader.exact(4) if b1 & 0x80 else None
    payload = reader.exact(n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return b0 & 0x0F, payload


class Server:
    def __init__(self, args):
        self.name = args.name
        self.idle_close = args.idle_close
        self.drop_after = args.drop_after
        self.stats = Stats()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", args.port))
        self.sock.listen(512)

    def serve(self):
        while True:
            conn, _ = self.sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=Handler(self, conn).run, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__ + ENDPOINTS,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--name", default="upstream")
    ap.add_argument("--idle-close", type=float, default=0.0,
                    help="close a keep-alive connection idle this many seconds")
    ap.add_argument("--drop-after", type=int, default=None,
                    help="on each connection, read request N+1 and close without answering")
    args = ap.parse_args()
    server = Server(args)
    print("READY %d" % server.sock.getsockname()[1], flush=True)
    server.serve()


if __name__ == "__main__":
    main()

"""Streaming: 1 GiB each way through sesame with bounded memory, also when
the receiving side reads slowly (backpressure)."""

import hashlib
import threading
import time

from harness import CHUNK, MIB, Client, pattern_matches, send_pattern, timeout, under_asan

GIB = 1 << 30
RSS_LIMIT_KIB = 32 * 1024


def heavy(fn):
    fn.heavy = True  # the runner runs these one at a time
    return timeout(150)(fn)


class RssWatch:
    """Peak RSS growth of sesame over a transfer: VmHWM after resetting it
    (clear_refs), and VmRSS sampled every 20 ms as a fallback."""

    def __init__(self, sesame):
        self.sesame = sesame
        self.baseline = sesame.proc_status("VmRSS")
        try:
            sesame.reset_peak_rss()
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.sampled = self.baseline
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while self.running:
            try:
                self.sampled = max(self.sampled, self.sesame.proc_status("VmRSS"))
            except (OSError, KeyError):
                return
            time.sleep(0.02)

    def growth_kib(self):
        self.running = False
        self.thread.join()
        peak = self.sampled
        if self.hwm_reset:
            peak = max(peak, self.sesame.proc_status("VmHWM"))
        return peak - self.baseline

    def check(self):
        growth = self.growth_kib()
        print("sesame RSS: baseline %d KiB, growth %d KiB (hwm reset: %s)" % (
            self.baseline, growth, self.hwm_reset), flush=True)
        if under_asan(self.sesame.env.binary):
            return  # ASan's quarantine keeps freed buffers resident by design
        assert growth < RSS_LIMIT_KIB, "sesame's RSS grew by %.1f MiB (limit 32 MiB)" % (growth / 1024)


def size_for(env):
    return GIB // 4 if under_asan(env.binary) else GIB


def warm_up(port):
    """One small request first so startup allocations are not counted."""
    c = Client(port)
    c.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100000\r\n\r\n" + b"w" * 100000)
    assert c.read_response().status == 200
    assert c.get("/bytes?n=100000").status == 200
    c.close()


def download(c, n, slow_seconds=0.0):
    """Reads a /bytes?n=N response, checking every byte against the pattern."""
    c.send(b"GET /bytes?n=%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % n)
    r = c.read_head()
    assert r.status == 200 and r.header("Content-Length") == str(n), r
    got = len(c.buf)
    assert pattern_matches(c.buf, 0, got), "corrupt body at offset 0"
    c.buf.clear()
    view = memoryview(c.scratch)
    slow_until = time.monotonic() + slow_seconds
    c.sock.settimeout(30)
    while got < n:
        slow = time.monotonic() < slow_until
        k = c.sock.recv_into(view[:16384] if slow else view[:min(CHUNK, n - got)])
        assert k > 0, "connection closed after %d of %d bytes" % (got, n)
        assert pattern_matches(c.scratch, got, min(k, n - got)), "corrupt body near offset %d" % got
        got += k
        if slow:
            time.sleep(0.05)
    assert got == n, "received %d bytes, expected %d" % (got, n)


def upload(c, n, query=b"check=pattern"):
    c.send(b"POST /upload?%s HTTP/1.1\r\nHost: app.test\r\nContent-Length: %d\r\n\r\n" % (query, n))
    c.sock.settimeout(60)
    send_pattern(c.sock, n)
    r = c.read_response()
    assert r.status == 200, r
    return r.json()


@heavy
def test_download_1gib_bounded_memory(env):
    up = env.upstream()
    s = env.sesame(up)
    warm_up(s.port)
    n = size_for(env)
    c = Client(s.port)
    watch = RssWatch(s)
    download(c, n)
    watch.check()
    assert c.get("/echo").status == 200, "connection unusable after the download"


@heavy
def test_download_1gib_slow_reader(env):
    up = env.upstream()
    s = env.sesame(up)
    warm_up(s.port)
    n = size_for(env)
    c = Client(s.port)
    watch = RssWatch(s)
    download(c, n, slow_seconds=4.0)
    watch.check()


@heavy
def test_upload_1gib_bounded_memory(env):
    up = env.upstream()
    s = env.sesame(up)
    warm_up(s.port)
    n = size_for(env)
    c = Client(s.port)
    watch = RssWatch(s)
    e = upload(c, n)
    watch.check()
    assert e["body_length"] == n and e["pattern_ok"], e


@heavy
def test_upload_1gib_slow_upstream(env):
    up = env.upstream()
    s = env.sesame(up)
    warm_up(s.port)
    n = size_for(env)
    c = Client(s.port)
    watch = RssWatch(s)
    e = upload(c, n, b"check=pattern&slow=4")
    watch.check()
    assert e["body_length"] == n and e["pattern_ok"], e


@heavy
def test_upload_chunked_256mib_sha256(env):
    up = env.upstream()
    s = env.sesame(up)
    warm_up(s.port)
    n = 256 * MIB
    c = Client(s.port)
    c.sock.settimeout(60)
    watch = RssWatch(s)
    c.send(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n")
    digest = hashlib.sha256()
    block = memoryview(bytes(range(256)) * 4096)  # 1 MiB, whole pattern periods
    sent = 0
    while sent < n:
        piece = min(len(block), n - sent) if sent else 1000  # an odd first chunk
        c.send(b"%x\r\n" % piece)
        c.send(block[:piece])
        c.send(b"\r\n")
        digest.update(block[:piece])
        sent += piece
    c.send(b"0\r\n\r\n")
    r = c.read_response()
    watch.check()
    assert r.status == 200, r
    e = r.json()
    assert e["body_length"] == n and e["body_sha256"] == digest.hexdigest(), e

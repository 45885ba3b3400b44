"""WebSocket (and Upgrade in general): 101 turns the connection into a tunnel."""

import base64
import hashlib
import os
import time

from harness import Client, assert_closed

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload):
    """A masked client frame (RFC 6455 §5.2)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytearray([0x80 | opcode])
    if n < 126:
        head.append(0x80 | n)
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(head) + mask + masked


def read_frame(c):
    b0, b1 = c.read_exact(2)
    assert not b1 & 0x80, "server frames must not be masked"
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(c.read_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(c.read_exact(8), "big")
    return b0 & 0x0F, c.read_exact(n)


def handshake(port, host="app.test", **kw):
    c = Client(port, **kw)
    key = base64.b64encode(os.urandom(16))
    c.send(b"GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (host.encode(), key))
    r = c.read_head()
    assert r.status == 101, r
    assert r.header("Upgrade").lower() == "websocket", r.headers
    assert "upgrade" in r.connection_tokens(), r.headers
    expected = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    assert r.header("Sec-WebSocket-Accept") == expected, r.headers
    return c


def echo(c, opcode, payload):
    c.send(frame(opcode, payload))
    op, data = read_frame(c)
    assert op == opcode and data == payload, "echo mismatch: opcode %d, %d bytes" % (op, len(data))


def test_websocket_echo(env):
    up = env.upstream()
    s = env.sesame(up)
    c = handshake(s.port)
    echo(c, 0x1, b"hello through sesame")
    echo(c, 0x2, bytes(range(256)) * 300)  # 64-bit length form
    echo(c, 0x2, b"x" * 1000)  # 16-bit length form
    c.send(frame(0x9, b"ping"))
    assert read_frame(c) == (0xA, b"ping")
    c.send(frame(0x8, b"\x03\xe8bye"))
    assert read_frame(c)[0] == 0x8
    assert_closed(c, what="tunnel after the upstream closed")


def test_websocket_echo_over_tls(env):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    c = handshake(s.tls_port, tls=True)
    echo(c, 0x1, b"hello over tls")
    echo(c, 0x2, os.urandom(200000))


def test_websocket_tunnel_idle_timeout(env):
    up = env.upstream()
    s = env.sesame(up, timeouts={"tunnel_idle": "1s", "idle": "30s"})
    c = handshake(s.port)
    for _ in range(3):  # traffic keeps the tunnel open past the idle timeout
        time.sleep(0.5)
        echo(c, 0x1, b"keepalive")
    start = time.monotonic()
    assert c.closed_within(4), "idle tunnel still open 4 s after the last frame (tunnel_idle = 1s)"
    waited = time.monotonic() - start
    assert waited > 0.7, "tunnel closed after %.2f s, before tunnel_idle" % waited


def test_upgrade_refused_by_upstream_is_plain_response(env):
    """Without a 101 the connection stays HTTP: the next request works."""
    up = env.upstream()
    s = env.sesame(up)
    c = Client(s.port)
    c.send(b"GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    r = c.read_response()
    assert r.status == 400, r  # upstream refuses: no Sec-WebSocket-Key
    if "close" not in r.connection_tokens():
        assert c.get("/echo").status == 200

"""TLS termination: versions, ALPN, SNI certificate selection, resumption, HSTS."""

import socket
import ssl
import subprocess
import threading
import time

from harness import Client, cert_der, client_context, request_once, under_asan


def tls_request(port, ctx, server_hostname="app.test", session=None, host="app.test"):
    c = Client(port, context=ctx, server_hostname=server_hostname, session=session)
    r = c.get("/echo", host=host)
    return c, r


def test_tls12_works(env):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    ctx = client_context(minimum=ssl.TLSVersion.TLSv1_2, maximum=ssl.TLSVersion.TLSv1_2)
    c, r = tls_request(s.tls_port, ctx)
    assert c.sock.version() == "TLSv1.2"
    assert r.status == 200 and r.json()["method"] == "GET"


def test_tls13_works(env):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    ctx = client_context(minimum=ssl.TLSVersion.TLSv1_3)
    c, r = tls_request(s.tls_port, ctx)
    assert c.sock.version() == "TLSv1.3"
    assert r.status == 200
    assert c.get("/echo?again=1").status == 200, "keep-alive over TLS"


def test_tls11_refused(env):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    cert, key = env.certs["app"]
    # Control: a local server that allows TLS 1.1 completes the handshake
    # with the same client settings.
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    server_ctx.set_ciphers("ALL:@SECLEVEL=0")
    server_ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    control = {}

    def serve():
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                control["version"] = tls.version()
        except (ssl.SSLError, OSError) as e:
            control["error"] = str(e)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    ctx = client_context(minimum=ssl.TLSVersion.TLSv1_1, maximum=ssl.TLSVersion.TLSv1_1,
                         insecure_ciphers=True)
    try:
        with ctx.wrap_socket(socket.create_connection(listener.getsockname(), timeout=5),
                             server_hostname="app.test") as tls:
            control_ok = tls.version() == "TLSv1.1"
    except (ssl.SSLError, OSError):
        control_ok = False
    th.join(5)
    listener.close()
    if not control_ok:
        raise AssertionError("control failed: this OpenSSL cannot do TLS 1.1 at all (%r)" % control)
    try:
        c = Client(s.tls_port, context=ctx, server_hostname="app.test")
    except (ssl.SSLError, ConnectionResetError, OSError):
        return
    raise AssertionError("sesame accepted a TLS 1.1 handshake (%s)" % c.sock.version())


def test_min_version_13_refuses_12(env):
    up = env.upstream()
    s = env.sesame(up, tls=True, tls_settings={"min_version": "1.3"})
    ctx12 = client_context(maximum=ssl.TLSVersion.TLSv1_2)
    try:
        c = Client(s.tls_port, context=ctx12)
    except (ssl.SSLError, ConnectionResetError, OSError):
        c = None
    assert c is None, "min_version = 1.3 but TLS 1.2 was accepted"
    c, r = tls_request(s.tls_port, client_context())
    assert c.sock.version() == "TLSv1.3" and r.status == 200


def test_alpn_http11(env):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    ctx = client_context(alpn=["h2", "http/1.1"])
    c, r = tls_request(s.tls_port, ctx)
    assert c.sock.selected_alpn_protocol() == "http/1.1"
    assert r.status == 200


def test_sni_selects_certificate(env):
    up = env.upstream()
    s = env.sesame(up, tls=True, certs=("default", "app", "wild"))
    cases = [("app.test", "app"), ("x.wild.test", "wild"), ("other.wild.test", "wild"),
             ("unknown.test", "default"), ("default.test", "default")]
    for sni, name in cases:
        c = Client(s.tls_port, context=client_context(), server_hostname=sni)
        got = c.sock.getpeercert(binary_form=True)
        assert got == cert_der(env.certs[name][0]), "SNI %s did not get the %s certificate" % (sni, name)
        r = c.get("/echo", host=sni)
        assert r.status == 200
        c.close()


def test_no_sni_gets_default_certificate(env):
    up = env.upstream()
    s = env.sesame(up, tls=True, certs=("app", "wild"))
    ctx = client_context()
    raw = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
    tls = ctx.wrap_socket(raw, server_hostname=None)
    assert tls.getpeercert(binary_form=True) == cert_der(env.certs["app"][0])
    tls.close()


def test_rsa_and_ecdsa_certificates(env):
    up = env.upstream()
    s = env.sesame(up, tls=True, certs=("app", "wild"))
    ctx = client_context(maximum=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    c = Client(s.tls_port, context=ctx, server_hostname="a.wild.test")
    assert c.sock.getpeercert(binary_form=True) == cert_der(env.certs["wild"][0])
    assert c.get("/echo").status == 200
    ctx = client_context(maximum=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    c = Client(s.tls_port, context=ctx, server_hostname="app.test")
    assert c.sock.getpeercert(binary_form=True) == cert_der(env.certs["app"][0])
    assert c.get("/echo").status == 200


def resumption(env, version):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    ctx = client_context(minimum=version, maximum=version)
    c, r = tls_request(s.tls_port, ctx)  # a TLS 1.3 ticket arrives after the handshake
    assert r.status == 200
    session = c.sock.session
    c.close()
    assert session is not None
    c2, r2 = tls_request(s.tls_port, ctx, session=session)
    assert r2.status == 200
    assert c2.sock.session_reused, "%s session was not resumed" % version.name


def test_session_resumption_tls12(env):
    resumption(env, ssl.TLSVersion.TLSv1_2)


def test_session_resumption_tls13(env):
    resumption(env, ssl.TLSVersion.TLSv1_3)


def test_hsts_on_tls_only(env):
    up = env.upstream()
    s = env.sesame(up, tls=True, tls_settings={"hsts": "365d"})
    _, r = tls_request(s.tls_port, client_context())
    assert r.status == 200
    sts = r.header("Strict-Transport-Security") or ""
    assert sts.split(";")[0].strip() == "max-age=31536000", r.headers
    r = request_once(s.port, "/echo")
    assert r.status == 200
    assert r.header("Strict-Transport-Security") is None, "HSTS sent over plain HTTP"


def test_hsts_absent_by_default(env):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    _, r = tls_request(s.tls_port, client_context())
    assert r.header("Strict-Transport-Security") is None


def test_tls_pipelining_and_large_body(env):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    c = Client(s.tls_port, context=client_context(), server_hostname="app.test")
    c.send(b"GET /bytes?n=5000000 HTTP/1.1\r\nHost: app.test\r\n\r\nGET /echo HTTP/1.1\r\nHost: app.test\r\n\r\n")
    r = c.read_response()
    assert len(r.body) == 5000000
    assert c.read_response().json()["method"] == "GET"


def test_tls12_weak_ciphers_refused(env):
    """Mozilla intermediate: TLS 1.2 only with ECDHE/DHE and AEAD ciphers."""
    up = env.upstream()
    s = env.sesame(up, tls=True, certs=("app", "wild"))
    for cipher in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"):
        ctx = client_context(maximum=ssl.TLSVersion.TLSv1_2, insecure_ciphers=True)
        ctx.set_ciphers(cipher + ":@SECLEVEL=0")
        try:
            c = Client(s.tls_port, context=ctx, server_hostname="x.wild.test")
        except (ssl.SSLError, ConnectionResetError, OSError):
            continue
        raise AssertionError("weak TLS 1.2 cipher %s accepted (%r)" % (cipher, c.sock.cipher()))


def test_tls_renegotiation_refused(env):
    up = env.upstream()
    s = env.sesame(up, tls=True)
    p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls_port, "-tls1_2",
                          "-servername", "app.test"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(1)
        p.stdin.write(b"R\n")  # s_client: renegotiate
        p.stdin.flush()
        time.sleep(1)
        out = p.communicate(timeout=5)[0].decode("utf-8", "replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "RENEGOTIATING" in out, out[-2000:]
    after = out.split("RENEGOTIATING", 1)[1].lower()
    assert "no renegotiation" in after or "alert" in after, "renegotiation was not refused:\n" + after


def idle_cost_kib(s, port, n, tls):
    ctx = client_context()
    base = s.proc_status("VmRSS")
    conns = []
    for _ in range(n):
        c = Client(port, context=ctx if tls else None, server_hostname="app.test")
        assert c.get("/echo").status == 200
        conns.append(c)
    time.sleep(0.5)
    cost = (s.proc_status("VmRSS") - base) / n
    for c in conns:
        c.close()
    return cost


def test_idle_tls_connections_stay_small(env):
    """SSL_MODE_RELEASE_BUFFERS and no idle buffers: an idle keep-alive TLS
    connection costs less than one TLS record buffer (16 KiB); an idle plain
    one less than 8 KiB."""
    up = env.upstream()
    s = env.sesame(up, tls=True)
    if under_asan(env.binary):
        return
    plain = idle_cost_kib(s, s.port, 200, tls=False)
    tls = idle_cost_kib(s, s.tls_port, 200, tls=True)
    print("idle connection cost: plain %.1f KiB, TLS %.1f KiB" % (plain, tls))
    assert plain < 8, "an idle plain keep-alive connection costs %.1f KiB" % plain
    assert tls < 16, "an idle TLS keep-alive connection costs %.1f KiB" % tls

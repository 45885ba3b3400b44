"""Command line: -t checks a configuration, --version, --help."""

import re
import subprocess

BAD = """\
[server]
workers = "two"
[[listen]]
address = "127.0.0.1:1"
tls = false
bogus_key = 1
[upstream.app]
servers = ["127.0.0.1:9"]
[[route]]
path = "/"
upstream = "nope"
[timeouts]
idle = "10 parsecs"
"""
BAD_LINES = (2, 6, 11, 13)


def errors_at(output, name):
    return {int(m.group(1)) for m in re.finditer(re.escape(name) + r":(\d+):(\d+): \S", output)}


def test_check_good_config(env):
    up = env.upstream()
    s = env.sesame(up, tls=True, certs=("default", "app", "wild"), redirect=True, start=False,
                   limits={"header_bytes": 8192, "header_count": 50, "body_bytes": 0},
                   timeouts={"header": "10s", "idle": "60s", "upstream_connect": "3s",
                             "upstream_read": "250ms"},
                   tls_settings={"min_version": "1.2", "hsts": "365d"})
    code, out, err = env.run_sesame("-t", "-c", s.config_path)
    assert code == 0, "sesame -t rejected a good config:\n%s%s\n--- config:\n%s" % (out, err, s.config_text)


def test_check_bad_config_reports_every_error(env):
    path = env.write("bad.toml", BAD)
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 1, "exit status %d for a bad config" % code
    lines = errors_at(out + err, "bad.toml")
    missing = [n for n in BAD_LINES if n not in lines]
    assert not missing, "no FILE:LINE:COL error for line(s) %s; output:\n%s%s" % (missing, out, err)


def test_check_syntax_error_has_position(env):
    path = env.write("syntax.toml", "[server]\nworkers = 1\n[[listen]\naddress = \"127.0.0.1:1\"\n")
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 1
    assert 3 in errors_at(out + err, "syntax.toml"), out + err


def test_check_key_not_matching_certificate(env):
    up = env.upstream()
    cert, _ = env.certs["app"]
    _, other_key = env.certs["default"]
    s = env.sesame(up, tls=True, certs=[(cert, other_key)], start=False)
    code, out, err = env.run_sesame("-t", "-c", s.config_path)
    assert code == 1, "sesame -t accepted a key that does not match its certificate"
    text = out + err
    assert "default.key" in text or "app.pem" in text, "the error does not name the files:\n" + text


def test_check_missing_certificate_file(env):
    up = env.upstream()
    s = env.sesame(up, tls=True, certs=[("/nonexistent/cert.pem", "/nonexistent/key.pem")], start=False)
    code, out, err = env.run_sesame("-t", "-c", s.config_path)
    assert code == 1
    assert "/nonexistent/cert.pem" in out + err


def test_start_with_bad_config_fails(env):
    path = env.write("bad.toml", BAD)
    p = subprocess.run([env.binary, "-c", path], capture_output=True, timeout=10)
    assert p.returncode != 0
    assert errors_at((p.stdout + p.stderr).decode(), "bad.toml"), p.stderr


def test_version(env):
    code, out, err = env.run_sesame("--version")
    assert code == 0
    assert re.search(r"sesame\S* v?\d+\.\d+", out + err), out + err


def test_help(env):
    code, out, err = env.run_sesame("--help")
    assert code == 0
    assert "-c" in out + err and "-t" in out + err, out + err

"""[admin]: what `sesame -t` says about it. Scrapes of the admin listener
(/metrics through promtool.check_metrics, /healthz, /readyz) belong here
once the listener is started by the server."""

import re

CONFIG = """\
[[listen]]
address = "127.0.0.1:%d"
[upstream.app]
servers = ["127.0.0.1:9"]
[[route]]
path = "/"
upstream = "app"
[admin]
address = "%s"
"""


def test_check_accepts_admin_address(env):
    path = env.write("admin.toml", CONFIG % (18080, "127.0.0.1:9901"))
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 0, "sesame -t rejected [admin]:\n%s%s" % (out, err)


def test_check_rejects_admin_on_a_listen_address(env):
    path = env.write("admin.toml", CONFIG % (18080, "0.0.0.0:18080"))
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 1, "exit status %d for [admin] on a listener's port" % code
    assert re.search(r"admin\.toml:9:11: admin\.address \"0\.0\.0\.0:18080\" overlaps "
                     r"listen\[0\]\.address", out + err), out + err


def test_check_rejects_unknown_admin_key(env):
    path = env.write("admin.toml", CONFIG % (18080, "127.0.0.1:9901") + "metrics = true\n")
    code, out, err = env.run_sesame("-t", "-c", path)
    assert code == 1
    assert "admin.toml:10:1: unknown key admin.metrics" in out + err, out + err

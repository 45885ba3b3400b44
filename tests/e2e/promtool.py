"""`promtool check metrics` for end-to-end tests of the admin /metrics endpoint.

    import promtool
    promtool.check_metrics(body)   # raises AssertionError with promtool's words

promtool comes with Debian's prometheus package (scripts/deps.sh installs
it); without it a test cannot check and raises harness.Skip.
"""

import shutil
import subprocess

import harness


def check_metrics(text):
    """Lints a Prometheus text exposition; passes only on exit status 0 with
    no output (promtool prints lint problems and exits 3, parse errors exit 1)."""
    if shutil.which("promtool") is None:
        raise harness.Skip("promtool is not installed (Debian package prometheus)")
    if isinstance(text, str):
        text = text.encode()
    done = subprocess.run(["promtool", "check", "metrics"], input=text,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    said = done.stdout.decode(errors="replace").strip()
    assert done.returncode == 0 and not said, \
        "promtool check metrics exited %d:\n%s" % (done.returncode, said)

"""Helpers for tests of sesame's built-in sign-in (issue 11): users files
with real crypt(3) hashes, and the fields of the HTML forms sesame serves."""

import html.parser
import os
import subprocess


def hash_password(env, password):
    """A crypt(3) hash of `password`: `sesame hash-password` (yescrypt) when
    the binary under test has that command, else `openssl passwd -6`
    (sha512crypt, which sesame verifies too)."""
    try:
        p = subprocess.run([env.binary, "hash-password"], input=password + "\n", capture_output=True,
                           text=True, timeout=30)
        hashed = p.stdout.strip()
        if p.returncode == 0 and hashed.startswith("$y$"):
            return hashed
    except (OSError, subprocess.TimeoutExpired):
        pass
    p = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n", capture_output=True,
                       text=True, check=True)
    return p.stdout.strip()


def users_file(env, users, name="users"):
    """Writes a users file (`user:hash[:group,group]` lines, mode 0600) from
    {user: (password, [groups])} and returns its path."""
    lines = ["# written by an e2e test"]
    for user, (password, groups) in users.items():
        line = "%s:%s" % (user, hash_password(env, password))
        if groups:
            line += ":" + ",".join(groups)
        lines.append(line)
    path = env.write(name, "\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


class _Forms(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.current = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.current = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                            "fields": {}, "types": {}}
            self.forms.append(self.current)
        elif tag in ("input", "button", "textarea", "select") and self.current is not None:
            name = a.get("name")
            if name:
                self.current["fields"].setdefault(name, a.get("value", ""))
                self.current["types"].setdefault(name, a.get("type", "text").lower())

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def forms(page):
    """The forms of an HTML page (bytes or text): a list of {"action",
    "method" (lower-case), "fields": {name: initial value}, "types": {name:
    input type}}, entities decoded."""
    parser = _Forms()
    parser.feed(page.decode("utf-8", "replace") if isinstance(page, bytes) else page)
    parser.close()
    return parser.forms


def form_with(page, field):
    """The one form of `page` that has a field named `field`."""
    found = [f for f in forms(page) if field in f["fields"]]
    assert len(found) == 1, "expected one form with a %r field, found %d in:\n%s" % (
        field, len(found), page[:2000])
    return found[0]

"""What scripts/bench/login_cost.py and login_load.py share: a browser's
sign-in against sesame's own form, and crypt(3) hashes made with libxcrypt.

A sign-in is what tests/e2e/test_login.py does: GET /.sesame/login (HTML)
gives an anonymous session cookie and the form's CSRF token bound to it, then
POST /.sesame/login with username, password and csrf, form-encoded, with that
cookie. A right password answers 303 with a new session cookie; a wrong one,
or an unknown user, 401 with the form again. Only the POST checks a password,
so only its latency is the hash's; each sign-in starts without a cookie, as a
new browser would, on one keep-alive connection per client.
"""

import ctypes
import ctypes.util
import html
import http.client
import re
import time
import urllib.parse

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
_TOKEN = re.compile(rb'name="csrf" value="([^"]+)"')


class SignInError(Exception):
    pass


class SignIn:
    """Sign-ins over one keep-alive connection to sesame on HOST:PORT."""

    def __init__(self, port, host="127.0.0.1", cookie_name="sid", timeout=60):
        self.port = port
        self.host = host
        self.cookie_name = cookie_name
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _request(self, method, target, headers, body=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, target, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if r.will_close:
            self.close()
        return r, data

    def _cookie(self, r):
        for value in r.msg.get_all("Set-Cookie") or ():
            pair = value.split(";", 1)[0].strip()
            if pair.startswith(self.cookie_name + "="):
                return pair
        return None

    def form(self):
        """GET the form: returns (cookie, csrf token)."""
        r, body = self._request("GET", "/.sesame/login", HTML)
        cookie = self._cookie(r)
        m = _TOKEN.search(body)
        if r.status != 200 or cookie is None or m is None:
            raise SignInError("GET /.sesame/login answered %d%s%s" % (
                r.status, "" if cookie else ", no session cookie", "" if m else ", no csrf field"))
        return cookie, html.unescape(m.group(1).decode())

    def post(self, cookie, user, password, token):
        """POST the form: returns (status, seconds the POST took, new cookie or None)."""
        body = urllib.parse.urlencode([("username", user), ("password", password), ("csrf", token)])
        headers = dict(FORM, Cookie=cookie)
        start = time.perf_counter()
        r, _ = self._request("POST", "/.sesame/login", headers, body.encode())
        return r.status, time.perf_counter() - start, self._cookie(r)

    def sign_in(self, user, password):
        """One sign-in as a new browser: returns (POST status, POST seconds)."""
        cookie, token = self.form()
        status, seconds, _ = self.post(cookie, user, password, token)
        return status, seconds


_libcrypt = None


def _crypt_lib():
    global _libcrypt
    if _libcrypt is None:
        lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
        lib.crypt_gensalt.restype = ctypes.c_char_p
        lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
        lib.crypt.restype = ctypes.c_char_p
        lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        _libcrypt = lib
    return _libcrypt


def make_hash(password, prefix, cost=0):
    """crypt(3) hash of `password` by libxcrypt (the library sesame checks
    with): prefix "$2b$" with cost 12 is bcrypt 12, "$6$" with 0 sha512crypt
    at its default 5000 rounds, "$y$" with 0 yescrypt at libxcrypt's default.
    Python's crypt module is gone from 3.13, hence ctypes."""
    lib = _crypt_lib()
    setting = lib.crypt_gensalt(prefix.encode(), cost, None, 0)
    if not setting:
        raise ValueError("crypt_gensalt(%r, %d) failed" % (prefix, cost))
    out = lib.crypt(password.encode(), setting)
    if not out or out.startswith(b"*"):
        raise ValueError("crypt failed for setting %r" % setting)
    return out.decode()

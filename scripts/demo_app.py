#!/usr/bin/env python3
"""The application behind `make demo`: a tiny app that lets sesame do its sessions.

It has no session or login code of its own: sesame signs users in with its
own form (/.sesame/login, users from a users file) and out (/.sesame/logout).
The app trusts the identity headers sesame adds (X-Remote-User,
X-Remote-Groups, X-Session-<Key>) and asks sesame to store session data, or
to end every session of the user, with X-Sesame-* response headers. That is
safe only behind sesame, which strips those request headers from every
client; never expose this port (127.0.0.1:9000) directly. With
`make demo OIDC=1` sesame also sends X-Sesame-Assertion, a JWT it signs,
which the pages decode for show.

GET  /                     who you are, your session data, every header received
GET  /api                  the same as JSON
GET  /private, /admin      pages sesame lets through only for logged-in users
                           (/admin: group "admins")
POST /cart/add?item=NAME   appends NAME to the session's cart
POST /cart/clear           empties the cart
POST /logout-everywhere    ends every session of the user (X-Sesame-Logout: all)
Python standard library only; plain HTTP/1.1 with keep-alive.
"""
import argparse
import base64
import binascii
import html
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

USER_HEADER = "X-Remote-User"
GROUPS_HEADER = "X-Remote-Groups"
# make demo OIDC=1: a JWT sesame signs for each logged-in request.
ASSERTION_HEADER = "X-Sesame-Assertion"
DATA_PREFIX = "X-Session-"
SET_BY_SESAME = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host")
MAX_ITEM = 40
MAX_CART = 20
MAX_BODY = 64 * 1024

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; }
td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; vertical-align: top; word-break: break-all; }
td:first-child { font-weight: 600; white-space: nowrap; word-break: normal; }
tr.sesame { background: #e8f5e9; }
tr.identity { background: #e3f2fd; }
code { background: #f3f3f3; padding: 0 .25rem; }
pre { background: #e3f2fd; padding: .5rem; overflow-x: auto; }
nav a, nav form { margin-right: 1rem; }
nav form, form.inline { display: inline; }
.who { font-size: 1.2rem; padding: .6rem .8rem; background: #fff8e1; border-left: 4px solid #ffb300; }
.note { color: #666; font-size: .9rem; }
.error { color: #b00020; }
"""

NAV = """<nav>
<a href="/">home</a>
<a href="/private">/private</a>
<a href="/admin">/admin</a>
<a href="/.sesame/login">sign in</a>
<a href="/.sesame/logout">sign out</a>
<a href="/.sesame/session">/.sesame/session</a>
</nav>"""


def utf8(value):
    """A header value as text: http.server decodes header bytes as Latin-1,
    sesame passes names and data as the UTF-8 bytes they were stored as."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def esc(value):
    return html.escape(value, quote=True)


def page(title, body):
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)} - sesame demo</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{NAV}\n<h1>{esc(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sesame-demo-app"

    # What sesame told us about the requester.

    def user(self):
        return utf8(self.headers.get(USER_HEADER, ""))

    def groups(self):
        value = self.headers.get(GROUPS_HEADER, "")
        return [g for g in value.split(",") if g]

    def session_data(self):
        n = len(DATA_PREFIX)
        return {
            k[n:].lower(): utf8(v)
            for k, v in self.headers.items()
            if k.lower().startswith(DATA_PREFIX.lower())
        }

    def cart(self):
        value = self.session_data().get("cart", "")
        return [item for item in value.split(",") if item]

    def identity(self):
        return {
            "user": self.user() or None,
            "groups": self.groups(),
            "session_data": self.session_data(),
        }

    def who_html(self):
        user = self.user()
        if not user:
            return '<p class="who">You are <b>anonymous</b>.</p>'
        groups = ", ".join(self.groups()) or "none"
        return f'<p class="who">You are <b>{esc(user)}</b> (groups: {esc(groups)}).</p>'

    def headers_html(self):
        def row_class(name):
            lname = name.lower()
            if lname in SET_BY_SESAME:
                return ' class="sesame"'
            if lname in (
                USER_HEADER.lower(),
                GROUPS_HEADER.lower(),
                ASSERTION_HEADER.lower(),
            ) or lname.startswith(DATA_PREFIX.lower()):
                return ' class="identity"'
            return ""

        rows = "\n".join(
            f"<tr{row_class(k)}><td>{esc(k)}</td><td>{esc(utf8(v))}</td></tr>"
            for k, v in self.headers.items()
        )
        return f"<table>\n{rows}\n</table>"

    def assertion_html(self):
        """The signed identity, decoded for show: this page does NOT check the
        signature; an app relying on it verifies it against
        /.sesame/jwks.json with a JWT library."""
        token = self.headers.get(ASSERTION_HEADER)
        if not token:
            return ""
        parts = token.split(".")
        try:
            decoded = [
                json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
                for p in parts[:2]
            ]
        except (binascii.Error, ValueError):
            decoded = None
        if len(parts) != 3 or decoded is None:
            return f'<p class="error">{ASSERTION_HEADER} is not a compact JWT.</p>'
        header, claims = (esc(json.dumps(d, indent=2, ensure_ascii=False)) for d in decoded)
        return f"""<h2>Signed identity ({ASSERTION_HEADER})</h2>
<p>sesame also sent a JSON Web Token it signed, so the app can verify who
you are with any JWT library (the key: <a href="/.sesame/jwks.json">/.sesame/jwks.json</a>)
instead of trusting a bare header. Decoded here, signature not checked:</p>
<pre>{header}</pre>
<pre>{claims}</pre>"""

    def text_summary(self):
        lines = [f"user:    {self.user() or '(anonymous)'}"]
        lines.append(f"groups:  {', '.join(self.groups()) or '(none)'}")
        data = self.session_data()
        lines.append(
            "session: " + (", ".join(f"{k}={v}" for k, v in data.items()) or "(no data)")
        )
        lines.append("headers received:")
        lines.extend(f"  {k}: {utf8(v)}" for k, v in self.headers.items())
        return "\n".join(lines) + "\n"

    # Plumbing.

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        self.head = head
        path = urlsplit(self.path).path
        routes = {
            "/": self.home,
            "/api": self.api,
            "/private": self.private,
            "/admin": self.admin,
        }
        handler = routes.get(path)
        if handler is None:
            if path in ("/cart/add", "/cart/clear"):
                return self.reply(405, "text/plain", b"use POST\n", [("Allow", "POST")])
            return self.not_found()
        handler()

    def do_POST(self):
        self.head = False
        body = self.read_body()
        if body is None:
            return
        path = urlsplit(self.path).path
        routes = {
            "/logout-everywhere": self.logout_everywhere,
            "/cart/add": self.cart_add,
            "/cart/clear": self.cart_clear,
        }
        handler = routes.get(path)
        if handler is None:
            return self.reply(405, "text/plain", b"not here\n", [("Allow", "GET, HEAD")])
        handler(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))

    def read_body(self):
        """The request body, or None after answering an unreadable one."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    n = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    self.reply(400, "text/plain", b"bad chunk\n")
                    return None
                if n == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                size += n
                if size > MAX_BODY:
                    self.close_connection = True
                    self.reply(413, "text/plain", b"too large\n")
                    return None
                chunks.append(self.rfile.read(n))
                self.rfile.readline(1024)
            return b"".join(chunks)
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self.reply(413, "text/plain", b"too large\n")
            return None
        return self.rfile.read(length)

    def reply(self, status, content_type, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if not self.head:
            self.wfile.write(body)

    def html(self, status, title, body, headers=()):
        self.reply(status, "text/html; charset=utf-8", page(title, body).encode(), headers)

    def wants_html(self):
        return "text/html" in self.headers.get("Accept", "")

    def see_other(self, location, headers=()):
        """303: the browser follows with a GET, so a reload does not re-post."""
        self.reply(
            303,
            "text/plain; charset=utf-8",
            f"see {location}\n".encode(),
            [("Location", location), *headers],
        )

    def not_found(self):
        self.html(404, "Not found", f"<p>Nothing at <code>{esc(self.path)}</code>.</p>")

    def log_message(self, fmt, *args):
        print("demo app: " + fmt % args, flush=True)

    # Pages.

    def home(self):
        if not self.wants_html():
            return self.reply(200, "text/plain; charset=utf-8", self.text_summary().encode())
        cart = self.cart()
        items = "".join(f"<li>{esc(item)}</li>" for item in cart) or "<li>(empty)</li>"
        data = self.session_data()
        data_rows = "\n".join(
            f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in data.items()
        )
        body = f"""{self.who_html()}
<p>This page comes from a small Python app on <code>127.0.0.1:9000</code>
that has no session or login code at all. sesame, in front of it, keeps the
session: it gave your browser a cookie, looks the session up on every
request and tells the app who you are in request headers
(<code>{USER_HEADER}</code>, <code>{GROUPS_HEADER}</code>,
<code>{DATA_PREFIX}*</code>). sesame also signs you in itself, with its own
form at <a href="/.sesame/login">/.sesame/login</a> and the users in
<code>build/demo/users</code>. The app stores data by answering with
<code>X-Sesame-*</code> headers, which sesame consumes.</p>

<h2>Session data</h2>
<table>
{data_rows or '<tr><td>(none)</td><td></td></tr>'}
</table>
<p>Your cart (kept by sesame as session data <code>cart</code>, even
before you log in):</p>
<ul>{items}</ul>
<form class="inline" method="post" action="/cart/add?item=tea"><button>add tea</button></form>
<form class="inline" method="post" action="/cart/add?item=biscuits"><button>add biscuits</button></form>
<form class="inline" method="post" action="/cart/add">
<input name="item" maxlength="{MAX_ITEM}" placeholder="anything else" required>
<button>add</button></form>
<form class="inline" method="post" action="/cart/clear"><button>empty the cart</button></form>

<h2>Try</h2>
<ul>
<li><a href="/private">/private</a> needs a logged-in user: sesame sends you
to its sign-in page first and brings you back.</li>
<li><a href="/admin">/admin</a> also needs the group <code>admins</code>;
other users get 403 from sesame.</li>
<li><a href="/.sesame/logout">/.sesame/logout</a> ends the session.</li>
<li><a href="/.sesame/session">/.sesame/session</a> is what front-end code
can ask sesame about the session (JSON, no session ID).</li>
</ul>
<form method="post" action="/logout-everywhere"><button>sign out everywhere</button>
(the app answers <code>X-Sesame-Logout: all</code>: every session of this
user, in every browser)</form>

{self.assertion_html()}
<h2>Headers the app received</h2>
<p><code>{esc(self.command)} {esc(self.path)}</code> from
<code>{esc(self.client_address[0])}</code>. Look for what is <em>not</em> here:
no <code>Cookie</code> with sesame's session cookie (sesame keeps it to
itself) and no identity header a client made up: sesame removes
<code>{USER_HEADER}</code>, <code>{GROUPS_HEADER}</code>,
<code>{DATA_PREFIX}*</code> and <code>X-Sesame-*</code> from every request
and adds the real ones (blue). Green rows are the X-Forwarded-* fields sesame
sets.</p>
{self.headers_html()}
<p>The same as JSON: <a href="/api">/api</a>.</p>"""
        self.html(200, "Hello through sesame", body)

    def api(self):
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "peer": self.client_address[0],
                **self.identity(),
                "headers": [[k, v] for k, v in self.headers.items()],
            },
            indent=2,
        ).encode()
        self.reply(200, "application/json", body + b"\n")

    def protected(self, title, what):
        if not self.wants_html():
            return self.reply(
                200, "text/plain; charset=utf-8", f"{title}\n{self.text_summary()}".encode()
            )
        body = f"""{self.who_html()}
<p>{what}</p>
<p>The app did not check anything: it trusts <code>{USER_HEADER}</code>
because only sesame can set it.</p>
{self.assertion_html()}
<h2>Headers the app received</h2>
{self.headers_html()}"""
        self.html(200, title, body)

    def private(self):
        self.protected(
            "Private",
            'The route <code>/private</code> has <code>auth = "required"</code>: '
            "sesame forwarded this request only because your session is logged in.",
        )

    def admin(self):
        self.protected(
            "Admin",
            'The route <code>/admin</code> has <code>auth = "required"</code> and '
            '<code>groups = ["admins"]</code>: sesame forwarded this request only '
            "because your session's user is in the group admins.",
        )

    # Actions.

    def logout_everywhere(self, form):
        self.see_other("/", [("X-Sesame-Logout", "all")])

    def cart_add(self, form):
        item = (form.get("item") or parse_qs(urlsplit(self.path).query).get("item") or [""])[0]
        item = " ".join(item.replace(",", " ").split())[:MAX_ITEM]
        if not item:
            return self.reply(400, "text/plain; charset=utf-8", b"item is missing\n")
        cart = (self.cart() + [item])[-MAX_CART:]
        # X-Sesame-Set values are percent-encoded: any byte may be stored.
        value = quote(",".join(cart), safe="")
        self.see_other("/", [("X-Sesame-Set", f"cart={value}")])

    def cart_clear(self, form):
        self.see_other("/", [("X-Sesame-Unset", "cart")])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"demo app: listening on http://127.0.0.1:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

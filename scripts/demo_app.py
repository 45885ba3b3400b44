#!/usr/bin/env python3
"""The application behind `make demo`: shows what reached it through sesame.

GET /     an HTML page listing every request header it received, with the
          ones sesame sets (X-Forwarded-For, -Proto, -Host) highlighted
GET /api  the same as JSON
Python standard library only; plain HTTP/1.1 with keep-alive.
"""
import argparse
import html
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SET_BY_SESAME = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host")

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sesame demo</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
td {{ border-bottom: 1px solid #ddd; padding: .35rem .5rem; vertical-align: top; word-break: break-all; }}
td:first-child {{ font-weight: 600; white-space: nowrap; word-break: normal; }}
tr.sesame {{ background: #e8f5e9; }}
code {{ background: #f3f3f3; padding: 0 .25rem; }}
</style>
</head>
<body>
<h1>Hello through sesame</h1>
<p>This page comes from a small Python app on <code>127.0.0.1:9000</code>.
You reached it through sesame, which terminated TLS, checked the request
strictly and forwarded it. These are the headers the app received; sesame
set the highlighted rows: X-Forwarded-Proto and -Host replace whatever a
client sent, X-Forwarded-For gets the client's address appended.</p>
<p><code>{method} {path}</code> from <code>{peer}</code></p>
<table>
{rows}
</table>
<p>The same as JSON: <a href="/api">/api</a>.</p>
</body>
</html>
"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sesame-demo-app"

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        self.head = head
        if self.path.split("?", 1)[0] == "/api":
            body = json.dumps(
                {
                    "method": self.command,
                    "path": self.path,
                    "peer": self.client_address[0],
                    "headers": [[k, v] for k, v in self.headers.items()],
                },
                indent=2,
            ).encode()
            self.reply(200, "application/json", body)
            return
        rows = "\n".join(
            '<tr{}><td>{}</td><td>{}</td></tr>'.format(
                ' class="sesame"' if k.lower() in SET_BY_SESAME else "",
                html.escape(k),
                html.escape(v),
            )
            for k, v in self.headers.items()
        )
        page = PAGE.format(
            method=html.escape(self.command),
            path=html.escape(self.path),
            peer=html.escape(self.client_address[0]),
            rows=rows,
        )
        self.reply(200, "text/html; charset=utf-8", page.encode())

    def reply(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not self.head:
            self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("demo app: " + fmt % args, flush=True)


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

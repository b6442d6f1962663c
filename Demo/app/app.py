#!/usr/bin/env python3
"""A sample app that knows nothing about Baton: it trusts the identity headers its
reverse proxy sets (see Demo/nginx/ and Demo/caddy/) and shows who is signed in.

    python3 Demo/app/app.py [--port 8091]      # binds 127.0.0.1 only

Pages: `/` and any other path (an HTML page), `/whoami` (the same as JSON; also
`/staff/whoami` and any other path ending in `/whoami`), and `/staff/...`,
`/admins/...` (the proxy lets only those groups through). It answers
GET, HEAD, POST, PUT and DELETE alike. Every response also carries `X-App-User` and
`X-App-Method`, so a HEAD request can be checked too.

The app must be reachable only through the proxy: anyone who can connect to it
directly can send any `Baton-User` they like. Hence 127.0.0.1.
"""
import argparse
import html
import json
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOGIN_ORIGIN = "http://login.localhost:8080"
# The five headers of PROTOCOL.md "Forward auth", in the order the page shows them.
IDENTITY = [("user", "Baton-User"), ("subject", "Baton-Subject"), ("name", "Baton-Name"),
            ("email", "Baton-Email"), ("groups", "Baton-Groups")]


def identity(headers):
    """The identity the proxy vouches for; a header that is absent counts as empty."""
    seen = {key: headers.get(name, "") for key, name in IDENTITY}
    # Baton-Name is UTF-8 percent-encoded, so any display name fits in a header.
    seen["name"] = urllib.parse.unquote(seen["name"], errors="replace")
    return seen


def baton_like_headers(headers):
    """Every received header whose name looks like an identity header, spelled with '-'
    or '_', in any case: what the tests read to prove no forged value got through."""
    return [[name, value] for name, value in headers.items()
            if name.lower().replace("_", "-").startswith("baton-")]


def section(path):
    for prefix, label in (("/staff/", "Staff only"), ("/admins/", "Admins only")):
        if path.startswith(prefix):
            return label
    return "Anyone signed in"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "BatonSampleApp"

    def do_GET(self):
        self.answer()

    def do_HEAD(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def do_PUT(self):
        self.answer()

    def do_DELETE(self):
        self.answer()

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1 << 20:
            return self.reply(413, "text/plain; charset=utf-8", b"too large\n")
        body = self.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(self.path).path
        who = identity(self.headers)
        facts = {
            **who,
            "method": self.command,
            "path": self.path,
            "section": section(path),
            "body_bytes": len(body),
            "received_identity_headers": baton_like_headers(self.headers),
        }
        if path.rsplit("/", 1)[-1] == "whoami":
            data = json.dumps(facts, indent=2, ensure_ascii=False).encode() + b"\n"
            return self.reply(200, "application/json", data, who)
        return self.reply(200, "text/html; charset=utf-8", render(facts).encode(), who)

    def reply(self, status, content_type, data, who=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        self.send_header("Referrer-Policy", "no-referrer")
        if who is not None:
            # Header-safe: the proxy's values are printable; anything else is dropped.
            user = who["user"] if who["user"].isprintable() else ""
            self.send_header("X-App-User", user)
            self.send_header("X-App-Method", self.command)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("app: %s %s\n" % (self.address_string(), fmt % args))


def render(facts):
    e = html.escape
    rows = "\n".join(
        f'  <dt>{e(label)}</dt><dd id="{e(element)}">{e(facts[key])}</dd>'
        for key, label, element in [
            ("user", "Username (Baton-User)", "baton-user"),
            ("subject", "Subject (Baton-Subject)", "baton-subject"),
            ("name", "Name (Baton-Name)", "baton-name"),
            ("email", "Email (Baton-Email)", "baton-email"),
            ("groups", "Groups (Baton-Groups)", "baton-groups"),
            ("method", "Method", "request-method"),
            ("path", "Path and query", "request-path"),
            ("section", "Section", "section"),
        ])
    greeting = f"Hello, {e(facts['name'] or facts['user'])}" if facts["user"] else "Nobody is signed in"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>App · {e(facts['user'] or 'signed out')}</title>
<link rel="stylesheet" href="/sso/baton.css">
</head>
<body>
<main class="card">
<p class="brand">App <small>(a sample upstream behind a reverse proxy)</small></p>
<h1 id="greeting">{greeting}</h1>
<p>This app never sees a password or a token: the proxy asked Baton's <code>/sso/auth</code>
and passed on who you are in five headers.</p>
<dl>
{rows}
</dl>
<p>
  <a class="button" id="sign-out-app" href="/sso/logout">Sign out of this app</a>
  <a class="button" id="sign-out-everywhere" href="{e(LOGIN_ORIGIN)}/">Sign out everywhere</a>
</p>
<p><a href="/">Home</a> · <a href="/staff/">Staff page</a> · <a href="/admins/">Admins page</a> · <a href="/whoami">/whoami</a></p>
</main>
</body>
</html>
"""


def main():
    parser = argparse.ArgumentParser(description="Baton's sample upstream app (behind a forward-auth proxy)")
    parser.add_argument("--port", type=int, default=8091)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    # SIGTERM stops it cleanly like Ctrl-C does: shutdown() must run off the serving thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"sample app on http://127.0.0.1:{args.port}/ (reach it through the proxy)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()

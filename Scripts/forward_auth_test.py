#!/usr/bin/env python3
"""Forward auth through real proxies: Baton's `/sso/auth` in front of an app that knows
nothing about Baton, behind nginx (Demo/nginx/) and then Caddy (Demo/caddy/Caddyfile).

    python3 Scripts/forward_auth_test.py BATON_BINARY

Starts its own `baton demo --data-dir TMP` (ports 8080-8083 must be free), adds `bob`
(no email, no groups), and for each proxy starts the proxy (127.0.0.1:8090) and the
sample app (Demo/app/app.py, 127.0.0.1:8091), then checks over real HTTP through the
proxy with `Host: app.localhost:8090`: the sign-in round trip back to the exact path,
the identity the app sees, forged identity headers (alice and bob), XHR and POST
answered 401, HEAD/POST/PUT/DELETE signed in, group rules, single logout within 2 s,
a replayed callback, open-redirect attempts through X-Forwarded-Uri / X-Original-URI
and the request path, junk session cookies (nothing written), and the attack suite's
forward-auth group when the binary has it.

One `PASS name: detail` / `FAIL name: detail` line per check, `N passed, N failed`
last; exit status 1 on any failure. The whole run is bounded (BOUND_SECONDS).
"""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batonlib import Browser, Report, hidden_inputs, path_of  # noqa: E402
from demo_proxy import DEMO_HOSTS, ProxyStack, healthz, port_in_use  # noqa: E402

BOUND_SECONDS = 240
APP = "http://app.localhost:8090"
LOGIN = "http://login.localhost:8080"
ROUTES = {"login.localhost": 8080, "dashboard.localhost": 8081, "reports.localhost": 8082, "app.localhost": 8090}
ALICE = ("alice", "wonderland")
BOB = ("bob", "correct-horse-battery-bob")
IDENTITY_HEADERS = ["Baton-User", "Baton-Subject", "Baton-Name", "Baton-Email", "Baton-Groups"]

HTML = [("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")]
JSON = [("Accept", "application/json")]
XHR = [("Accept", "application/json"), ("X-Requested-With", "XMLHttpRequest")]
# Everything a client might send to pass for someone else: the five names, and the
# underscore spellings that CGI-style frameworks read as the same variables.
FORGED = [("Baton-User", "admin"), ("Baton-Groups", "admins"), ("Baton-Email", "mallory@evil.example"),
          ("Baton-Name", "Mallory"), ("Baton-Subject", "forged-subject"),
          ("Baton_User", "admin"), ("Baton_Groups", "admins"), ("baton_email", "mallory@evil.example"),
          ("BATON_NAME", "Mallory"), ("Baton_Subject", "forged-subject")]
FORGED_VALUES = {"admin", "admins", "mallory@evil.example", "Mallory", "forged-subject"}
EVIL_URIS = ["//evil.example", "//evil.example/x", "/\\evil", "/\\/evil.example", "https://evil.example",
             "https://evil.example/x", "/%2F%2Fevil.example", "/%5Cevil", "/ok%0d%0aSet-Cookie:%20injected=1"]


class OutOfTime(Exception):
    pass


def local_path(raw):
    """PROTOCOL.md's rule for return_to, as the tests read it (Redirects.localPath)."""
    if not raw or not raw.startswith("/") or len(raw) > 2048 or raw.startswith("//") or "\\" in raw:
        return False
    if not all(0x20 < ord(c) < 0x7f for c in raw):
        return False
    decoded = urllib.parse.unquote(raw)
    return (decoded.startswith("/") and not decoded.startswith("//") and "\\" not in decoded
            and all(ord(c) > 0x1f and ord(c) != 0x7f for c in decoded))


def return_to_of(url):
    """The return_to of a sign-in URL on the app's origin; None for any other URL."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != APP or parts.path != "/sso/start":
        return None
    values = urllib.parse.parse_qs(parts.query, keep_blank_values=True).get("return_to", [])
    return values[0] if len(values) == 1 else None


def brief(response):
    if response is None:
        return "no response"
    where = f" -> {response.location}" if response.location else ""
    error = f" Baton-Error {response.error}" if response.error else ""
    return f"{response.status}{where}{error}"


def whoami(browser, path="/whoami", headers=(), method="GET", body=None):
    """(response, the app's JSON or None)."""
    response = browser.exchange(method, APP + path, JSON + list(headers), body=body)
    data = None
    if response.status == 200 and (response.header("Content-Type") or "").startswith("application/json"):
        data = json.loads(response.text)
    return response, data


def follow_html(browser, url, hops=12):
    """Navigates like a browser (Accept text/html), following 302/303; every response."""
    chain = []
    for _ in range(hops):
        response = browser.exchange("GET", url, HTML)
        chain.append(response)
        if response.status not in (302, 303) or not response.location:
            break
        url = response.location
    return chain


def sign_in(browser, url, user):
    """Navigates to url signed out, signs in on the login form, follows back. Returns
    (first response, callback URL or None, the last response) or raises AssertionError."""
    chain = follow_html(browser, url)
    form = chain[-1]
    if not (form.status == 200 and path_of(form.url) == "/login"):
        raise AssertionError(f"the navigation did not reach the login form: {' | '.join(brief(r) for r in chain)}")
    posted = browser.submit_login(LOGIN, form.text, *user)
    if posted.status != 303 or not posted.location:
        raise AssertionError(f"signing in as {user[0]} was refused: {brief(posted)}")
    back = follow_html(browser, posted.location)
    callback = next((r.url for r in back if path_of(r.url) == "/sso/callback"), None)
    return chain[0], callback, back[-1]


def raw_exchange(request_bytes, timeout=10):
    """Sends bytes as they are to the proxy; (status, [(name, value)], body) or (None, [], error)."""
    with socket.create_connection(("127.0.0.1", 8090), timeout=timeout) as sock:
        sock.sendall(request_bytes)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
        except (http.client.HTTPException, OSError) as error:
            return None, [], str(error)
        body = response.read() if response.status != 304 else b""
        return response.status, response.getheaders(), body.decode("utf-8", "replace")


def sign_in_urls(status, headers):
    return [v for k, v in headers if k.lower() in ("location", "baton-sign-in")]


def find_app_database(data_dir):
    """The `app` relying party's SQLite file: app.sqlite in the data dir, else any file
    there with an rp_sessions table."""
    candidates = [os.path.join(data_dir, "app.sqlite")]
    for root, _, files in os.walk(data_dir):
        candidates += [os.path.join(root, f) for f in sorted(files) if f.endswith((".sqlite", ".db", ".sqlite3"))]
    for path in candidates:
        if not os.path.isfile(path):
            continue
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
                db.execute("SELECT COUNT(*) FROM rp_sessions").fetchone()
            return path
        except sqlite3.Error:
            continue
    return None


def row_counts(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("rp_sessions", "pending_sign_ins", "used_tokens") if table in tables}


class Run:
    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.data = os.path.join(work, "state")
        self.report = Report()
        self.demo = None
        self.stack = None
        self.subjects = {}  # proxy -> alice's subject, compared across proxies
        self.proxy_dirs = []

    # ---- the demo ----------------------------------------------------------------
    def start_demo(self):
        busy = [port for port in (8080, 8081, 8082, 8083, 8090, 8091) if port_in_use(port)]
        if busy:
            raise SystemExit(f"FAIL setup: port(s) {', '.join(map(str, busy))} on 127.0.0.1 are in use: this test starts its own "
                             "baton demo (8080-8083), proxy (8090) and app (8091); stop whatever runs there first")
        log = open(os.path.join(self.work, "demo.log"), "ab")
        self.demo = subprocess.Popen([self.binary, "demo", "--data-dir", self.data], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, cwd=self.work, start_new_session=True)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            missing = [port for port, host in DEMO_HOSTS.items() if not healthz(port, host, timeout=1)]
            if not missing:
                return
            if self.demo.poll() is not None:
                raise SystemExit(f"FAIL setup: baton demo exited with {self.demo.returncode}; see {self.work}/demo.log")
            time.sleep(0.1)
        raise SystemExit(f"FAIL setup: baton demo did not answer /healthz on {missing} within 40 s "
                         f"(a binary without the `app` relying party on 8083?); see {self.work}/demo.log")

    def add_bob(self):
        result = subprocess.run([self.binary, "users", "add", BOB[0], "--data-dir", self.data],
                                input=(BOB[1] + "\n").encode(), capture_output=True, timeout=60)
        self.report(result.returncode == 0, "setup/users-add-bob",
                    "`baton users add bob --data-dir TMP` (password on stdin, no email, no groups) "
                    + ("succeeded" if result.returncode == 0 else
                       f"failed with {result.returncode}: {result.stderr.decode(errors='replace').strip()[:300]}"))

    def stop_all(self):
        if self.stack is not None:
            self.stack.stop()
            self.stack = None
        if self.demo is not None and self.demo.poll() is None:
            self.demo.send_signal(signal.SIGTERM)
            try:
                self.demo.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.demo.pid, signal.SIGKILL)
                self.demo.wait()
        self.demo = None

    # ---- one proxy -----------------------------------------------------------------
    def proxy_suite(self, proxy):
        check = lambda ok, name, detail: self.report(ok, f"{proxy}/{name}", detail)  # noqa: E731
        # Its own temporary folder, not one inside self.work (0700): as root, nginx's
        # workers must be able to reach their temp folders (see demo_proxy).
        self.stack = ProxyStack(proxy)
        self.proxy_dirs.append(self.stack.dir)
        print(f"== {proxy}: logs in {self.stack.dir}", flush=True)
        try:
            self.stack.start()
        except RuntimeError as error:
            check(False, "start", str(error))
            self.stack.stop()
            self.stack = None
            return
        try:
            self.signed_out_checks(check)
            self.redirect_checks(check)
            alice = self.alice_checks(check, proxy)
            bob = self.bob_checks(check)
            if alice is not None:
                self.junk_cookie_checks(check, alice)
                self.logout_checks(check, alice)
            self.attack_suite(check)
            dead = self.stack.dead()
            check(not dead, "processes", "the proxy and the app ran throughout" if not dead else f"exited: {dead}")
            del bob
        finally:
            self.stack.stop()
            self.stack = None

    def signed_out_checks(self, check):
        anon = Browser(ROUTES)
        r = anon.exchange("GET", APP + "/dashboard", XHR)
        check(r.status == 401 and r.location is None and return_to_of(r.header("Baton-Sign-In")) == "/dashboard",
              "xhr-signed-out", f"signed out, GET with Accept: application/json and X-Requested-With: XMLHttpRequest "
              f"-> {brief(r)}, Baton-Sign-In {r.header('Baton-Sign-In')!r} (want 401, no Location, sign-in URL back to /dashboard)")
        r = anon.exchange("GET", APP + "/api/data", [("Accept", "*/*")])
        check(r.status == 401 and r.location is None, "fetch-signed-out",
              f"signed out, GET with Accept: */* (fetch's default) -> {brief(r)} (want 401, never a redirect)")
        r = anon.exchange("POST", APP + "/form", HTML + [("Content-Type", "application/x-www-form-urlencoded")], body="a=1")
        check(r.status == 401 and r.location is None, "post-signed-out",
              f"signed out, a form POST with Accept: text/html -> {brief(r)} (want 401, never a redirect)")
        r = anon.exchange("DELETE", APP + "/thing", HTML)
        check(r.status == 401 and r.location is None, "delete-signed-out", f"signed out, DELETE -> {brief(r)} (want 401)")
        r = anon.exchange("HEAD", APP + "/page?h=1", HTML)
        check(r.status == 303 and return_to_of(r.location) == "/page?h=1", "head-navigation-signed-out",
              f"signed out, HEAD with Accept: text/html -> {brief(r)} (want 303 to sign in, back to /page?h=1)")
        r = anon.exchange("GET", APP + "/staff/", HTML)
        check(r.status == 303 and return_to_of(r.location) == "/staff/", "staff-signed-out",
              f"signed out, a navigation to /staff/ -> {brief(r)} (want 303 to sign in, back to /staff/)")
        r = anon.exchange("GET", APP + "/_baton/auth", HTML)
        check(r.status in (303, 401, 404) and "Baton-User" not in {k for k, _ in r.headers},
              "internal-locations-hidden", f"GET /_baton/auth from outside -> {brief(r)} (never an auth answer)")
        r = anon.exchange("GET", APP + "/sso/baton.css", [("Accept", "text/css")])
        check(r.status == 200, "sso-not-behind-auth", f"signed out, GET /sso/baton.css -> {brief(r)} (the relying "
              "party's pages are never behind auth)")

    def redirect_checks(self, check):
        anon = Browser(ROUTES)
        bad_nav = []
        for evil in EVIL_URIS:
            r = anon.exchange("GET", APP + "/page?n=1", HTML + [("X-Forwarded-Uri", evil), ("X-Original-URI", evil)])
            if r.status != 303 or return_to_of(r.location) != "/page?n=1":
                bad_nav.append(f"{evil!r}: {brief(r)}")
        check(not bad_nav, "forged-forwarded-uri-navigation",
              f"a navigation to /page?n=1 with client-sent X-Forwarded-Uri and X-Original-URI set to {len(EVIL_URIS)} "
              "hostile values always signs in back to exactly /page?n=1 (the proxy overwrites both)"
              + (f"; wrong: {bad_nav}" if bad_nav else ""))
        bad_path = []
        for evil in ["//evil.example/x", "/\\evil", "/%2F%2Fevil.example", "/%5Cevil", "/ok%0d%0aSet-Cookie:%20injected=1"]:
            r = anon.exchange("GET", APP + evil, HTML)
            rt = return_to_of(r.location)
            if r.status >= 500 or (r.status == 303 and not local_path(rt)) or r.header("Set-Cookie"):
                bad_path.append(f"{evil!r}: {brief(r)}")
        check(not bad_path, "hostile-request-path", "navigations to //evil.example/x, /\\evil, /%2F%2Fevil.example, "
              "/%5Cevil and a %0d%0a path get a sign-in URL whose return_to is a local path, no 5xx, no cookie"
              + (f"; wrong: {bad_path}" if bad_path else ""))
        bad_auth = []
        for evil in EVIL_URIS:
            for name in ("X-Forwarded-Uri", "X-Original-URI"):
                r = anon.exchange("GET", APP + "/sso/auth", JSON + [(name, evil)])
                rt = return_to_of(r.header("Baton-Sign-In"))
                if r.status != 401 or not local_path(rt):
                    bad_auth.append(f"{name}: {evil!r}: {brief(r)} sign-in {r.header('Baton-Sign-In')!r}")
                r = anon.exchange("GET", APP + "/sso/auth?redirect=1", HTML + [(name, evil)])
                if r.status != 303 or not local_path(return_to_of(r.location)):
                    bad_auth.append(f"redirect=1 {name}: {evil!r}: {brief(r)}")
        check(not bad_auth, "forged-forwarded-uri-sso-auth",
              f"GET /sso/auth through the proxy with {len(EVIL_URIS)} hostile X-Forwarded-Uri and X-Original-URI values: "
              "401 with a Baton-Sign-In whose return_to is a local path, and with redirect=1 a 303 to one"
              + (f"; wrong: {bad_auth}" if bad_auth else ""))
        bad_crlf = []
        seen = []
        raw_cases = [
            ("obs-fold in X-Forwarded-Uri", b"X-Forwarded-Uri: /a\r\n Set-Cookie: injected=1\r\n"),
            ("obs-fold in X-Original-URI", b"X-Original-URI: /a\r\n\tInjected: 1\r\n"),
            ("bare CR in X-Forwarded-Uri", b"X-Forwarded-Uri: /a\rInjected: 1\r\n"),
            ("encoded CRLF in X-Forwarded-Uri", b"X-Forwarded-Uri: /a%0d%0aInjected:%201\r\n"),
        ]
        for label, extra in raw_cases:
            for target in (b"/sso/auth?redirect=1", b"/page"):
                request = (b"GET " + target + b" HTTP/1.1\r\nHost: app.localhost:8090\r\nAccept: text/html\r\n"
                           + extra + b"Connection: close\r\n\r\n")
                status, headers, _ = raw_exchange(request)
                seen.append(f"{label} to {target.decode()}: {status}")
                names = {k.lower() for k, _ in headers}
                urls = sign_in_urls(status, headers)
                if status is None or status >= 500 or "injected" in names or \
                        any("injected" in v.lower() for k, v in headers if k.lower() == "set-cookie") or \
                        any(not local_path(return_to_of(u)) for u in urls if u.startswith(APP + "/sso/start")):
                    bad_crlf.append(f"{label} to {target.decode()}: {status} {headers}")
        check(not bad_crlf, "crlf-in-forwarded-uri",
              "raw requests with CR/LF in X-Forwarded-Uri / X-Original-URI (obs-fold, bare CR, encoded CRLF), to /sso/auth and "
              "to an app page: refused (4xx) or signed in back to a local path; never 5xx, never an injected header ("
              + ", ".join(seen) + ")" + (f"; wrong: {bad_crlf}" if bad_crlf else ""))

    def alice_checks(self, check, proxy):
        alice = Browser(ROUTES)
        try:
            first, callback, last = sign_in(alice, APP + "/reports?q=1&x=2", ALICE)
        except AssertionError as error:
            check(False, "sign-in-alice", str(error))
            return None
        check(first.status == 303 and return_to_of(first.location) == "/reports?q=1&x=2", "signed-out-navigation",
              f"signed out, a navigation to /reports?q=1&x=2 -> {brief(first)} (want 303 to {APP}/sso/start, "
              "return_to=/reports?q=1&x=2)")
        page_path = re.search(r'id="request-path">([^<]*)<', last.text)
        landed = page_path and page_path.group(1).replace("&amp;", "&")
        check(last.status == 200 and last.url == APP + "/reports?q=1&x=2" and landed == "/reports?q=1&x=2" and callback,
              "sign-in-returns-to-path", f"after signing in as alice the browser lands on {last.url} ({last.status}), "
              f"the app was asked for {landed!r}, via the callback {'seen' if callback else 'NOT seen'}")
        r, me = whoami(alice)
        want = {"user": "alice", "name": "Alice Liddell", "email": "alice@example.com", "groups": "staff"}
        got = {k: (me or {}).get(k) for k in want}
        ok = me is not None and got == want and bool(me.get("subject"))
        if ok:
            self.subjects[proxy] = me["subject"]
        same = len(set(self.subjects.values())) <= 1
        check(ok and same, "identity-alice",
              f"the app sees {got}, subject {me and me.get('subject')!r} (want {want}, a subject"
              + (", the same behind every proxy)" if same else f", but it differs between proxies: {self.subjects})"))
        raw_name = dict((me or {}).get("received_identity_headers", [])).get("Baton-Name")
        check(raw_name in ("Alice%20Liddell",), "name-percent-encoded",
              f"Baton-Name reaches the app as {raw_name!r} (UTF-8 percent-encoded), shown as {got.get('name')!r}")
        cookies_set = [brief(x) for x in (r,) if x.header("Set-Cookie")]
        check(not cookies_set, "no-set-cookie-signed-in", "a signed-in request through auth carries no Set-Cookie"
              + (f"; got one on {cookies_set}" if cookies_set else ""))
        if not ok:
            check(False, "forged-headers-alice", "precondition failed: alice is not signed in on the app")
            return alice
        r, forged = whoami(alice, headers=FORGED)
        received = (forged or {}).get("received_identity_headers", [])
        leaked = [pair for pair in received if pair[1] in FORGED_VALUES or pair[0] not in IDENTITY_HEADERS]
        got = {k: (forged or {}).get(k) for k in want}
        check(forged is not None and got == want and forged.get("subject") == me["subject"] and not leaked,
              "forged-headers-alice", f"precondition: alice signed in (whoami {me['user']!r} just before). With "
              f"{len(FORGED)} forged Baton-*/Baton_* headers the app sees {got}, and every identity-like header it "
              f"received: {received}" + (f"; FORGED VALUES GOT THROUGH: {leaked}" if leaked else ""))
        results = []
        r = alice.exchange("HEAD", APP + "/page", HTML)
        results.append(("HEAD", r.status == 200 and r.header("X-App-User") == "alice" and r.header("X-App-Method") == "HEAD",
                        f"{r.status} X-App-User {r.header('X-App-User')!r}"))
        for method in ("POST", "PUT", "DELETE"):
            r, data = whoami(alice, method=method, body="a=1&b=2",
                             headers=[("Content-Type", "application/x-www-form-urlencoded")])
            results.append((method, data is not None and data["user"] == "alice" and data["method"] == method
                            and data["body_bytes"] == 7, f"{r.status} {data and (data['user'], data['method'], data['body_bytes'])}"))
        bad = [f"{m}: {d}" for m, ok2, d in results if not ok2]
        check(not bad, "methods-signed-in", "signed in as alice, HEAD reaches the app (X-App-User alice) and POST, PUT, "
              "DELETE reach it with identity and body: " + "; ".join(f"{m} {d}" for m, _, d in results))
        big = "x" * (512 * 1024)
        r, data = whoami(alice, method="POST", body=big, headers=[("Content-Type", "application/octet-stream")])
        check(data is not None and data["body_bytes"] == len(big) and data["user"] == "alice", "large-body",
              f"a 512 KiB POST (buffered to the proxy's temp folder) -> {brief(r)}, the app read "
              f"{data and data['body_bytes']} bytes")
        r, data = whoami(alice, path="/staff/whoami")
        check(data is not None and data["user"] == "alice" and data["section"] == "Staff only", "staff-admits-alice",
              f"alice (group staff) GET /staff/whoami -> {brief(r)} as {data and data['user']!r}")
        outcomes = []
        for path in ("/admins/", "/admins", "/ADMINS/x"):
            r = alice.exchange("GET", APP + path, JSON)
            outcomes.append((path, r))
        check(all(r.status == 403 and r.error == "not_permitted" for _, r in outcomes), "admins-refuses-alice",
              "alice (not in admins): " + ", ".join(f"{p} -> {brief(r)}" for p, r in outcomes)
              + " (want 403 Baton-Error not_permitted)")
        alice.callback = callback
        alice.subject = me["subject"]
        return alice

    def bob_checks(self, check):
        bob = Browser(ROUTES)
        try:
            _, _, last = sign_in(bob, APP + "/", BOB)
        except AssertionError as error:
            check(False, "sign-in-bob", str(error))
            return None
        _, me = whoami(bob)
        check(last.status == 200 and me is not None and me["user"] == "bob" and me["email"] == "" and me["groups"] == ""
              and bool(me["subject"]), "identity-bob",
              f"bob lands on {last.url} ({last.status}); the app sees user {me and me['user']!r}, email "
              f"{me and me['email']!r}, groups {me and me['groups']!r}, name {me and me['name']!r} (want bob, '', '')")
        if me is None or me["user"] != "bob":
            check(False, "forged-headers-bob", "precondition failed: bob is not signed in on the app")
            return bob
        r, forged = whoami(bob, headers=FORGED)
        received = (forged or {}).get("received_identity_headers", [])
        leaked = [pair for pair in received if pair[1] in FORGED_VALUES or pair[0] not in IDENTITY_HEADERS]
        check(forged is not None and forged["user"] == "bob" and forged["email"] == "" and forged["groups"] == ""
              and forged["name"] == me["name"] and forged["subject"] == me["subject"] and not leaked,
              "forged-headers-bob", f"precondition: bob signed in (no email, no groups). With forged headers the app "
              f"sees user {forged and forged['user']!r}, email {forged and forged['email']!r}, groups "
              f"{forged and forged['groups']!r}; identity-like headers received: {received}"
              + (f"; FORGED VALUES GOT THROUGH: {leaked}" if leaked else ""))
        outcomes = []
        for path in ("/staff/", "/staff", "/STAFF/whoami", "/staff/whoami"):
            r = bob.exchange("GET", APP + path, JSON)
            outcomes.append((path, r))
        r = bob.exchange("GET", APP + "/staff/", JSON + [("Baton-Groups", "staff"), ("Baton_Groups", "staff")])
        outcomes.append(("/staff/ with a forged Baton-Groups: staff", r))
        check(all(r.status == 403 and r.error == "not_permitted" for _, r in outcomes), "staff-refuses-bob",
              "bob (no groups): " + ", ".join(f"{p} -> {brief(r)}" for p, r in outcomes)
              + " (want 403 Baton-Error not_permitted)")
        return bob

    def junk_cookie_checks(self, check, alice):
        database = find_app_database(self.data)
        if database is None:
            check(False, "junk-cookies", f"cannot find the app relying party's SQLite file (rp_sessions) under {self.data}")
            return
        real = alice.jar.get("app.localhost", {}).get("__Host-baton_session")
        before = row_counts(database)
        junk = "x" * 4096
        cases = [
            ("junk", [("Cookie", "__Host-baton_session=junk")]),
            ("4 KiB", [("Cookie", "__Host-baton_session=" + junk)]),
            ("two in one header", [("Cookie", "__Host-baton_session=aaaa; __Host-baton_session=bbbb")]),
            ("two Cookie lines", [("Cookie", "__Host-baton_session=aaaa"), ("Cookie", "__Host-baton_session=bbbb")]),
            ("empty", [("Cookie", "__Host-baton_session=")]),
            ("no name", [("Cookie", "=; ;;__Host-baton_session")]),
            ("quoted", [("Cookie", '__Host-baton_session="junk"')]),
            ("non-ASCII", [("Cookie", "__Host-baton_session=caf\u00e9\u00ff")]),
        ]
        wrong = []
        for label, headers in cases:
            anon = Browser(ROUTES)
            r = anon.exchange("GET", APP + "/whoami", XHR + headers, jar=False)
            if r.status != 401 or r.location:
                wrong.append(f"{label} (XHR): {brief(r)}")
            r = anon.exchange("GET", APP + "/page", HTML + headers, jar=False)
            if r.status != 303 or return_to_of(r.location) != "/page":
                wrong.append(f"{label} (navigation): {brief(r)}")
        # With alice's real cookie beside a junk one, which one counts is the host's
        # choice: either alice or signed out, never a 5xx and never anyone else.
        mixed = []
        for label, value in (("real then junk", f"__Host-baton_session={real}; __Host-baton_session=junk"),
                             ("junk then real", f"__Host-baton_session=junk; __Host-baton_session={real}")):
            r, data = whoami(Browser(ROUTES), headers=[("Cookie", value)])
            mixed.append(f"{label}: {r.status}{' as ' + data['user'] if data else ''}")
            if not (r.status == 401 or (data is not None and data["user"] == "alice")):
                wrong.append(f"{label}: {brief(r)}")
        after = row_counts(database)
        check(not wrong and before == after, "junk-cookies",
              f"{len(cases)} kinds of junk session cookie (junk, 4 KiB, duplicated in one header and in two, empty, "
              f"nameless, quoted, non-ASCII): XHR 401 and navigations 303 to sign in; {'; '.join(mixed)}; rows in "
              f"{os.path.basename(database)} before {before}, after {after}" + (f"; wrong: {wrong}" if wrong else ""))

    def logout_checks(self, check, alice):
        if alice.callback:
            r = Browser(ROUTES).get(alice.callback)
            check(r.status == 403 and r.error == "token_replayed", "replayed-callback",
                  f"alice's callback URL opened again in another browser on {APP} -> {brief(r)} (want 403 token_replayed)")
        else:
            check(False, "replayed-callback", "precondition failed: no callback URL was seen when alice signed in")
        _, me = whoami(alice)
        if me is None or me["user"] != "alice":
            check(False, "logout-everywhere", "precondition failed: alice is not signed in on the app")
            return
        home = alice.get(LOGIN + "/")
        fields = hidden_inputs(home.text)
        if home.status != 200 or "csrf" not in fields:
            check(False, "logout-everywhere", f"precondition failed: the login host's home page {brief(home)} has no "
                  "sign-out form with a CSRF token")
            return
        posted = alice.post(LOGIN + "/logout", {"csrf": fields["csrf"]})
        started = time.monotonic()
        status = None
        while time.monotonic() - started < 2.0:
            r, _ = whoami(alice)
            status = r.status
            if status == 401:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        r = alice.exchange("GET", APP + "/after-logout", HTML)
        check(posted.status in (302, 303) and status == 401 and r.status == 303 and return_to_of(r.location) == "/after-logout",
              "logout-everywhere", f"precondition: alice signed in on the app. POST /logout on the login host -> "
              f"{brief(posted)}; the app answered alice {status} after {elapsed * 1000:.0f} ms (want 401 within 2 s), "
              f"and a navigation then -> {brief(r)}")

    def attack_suite(self, check):
        try:
            help_text = subprocess.run([self.binary, "attack", "--help"], capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            check(False, "attack-forward-auth", "`baton attack --help` did not answer within 20 s")
            return
        text = (help_text.stdout + help_text.stderr).decode(errors="replace")
        if "--app" not in text or "--app-origin" not in text:
            print(f"NOTE {self.stack.proxy}/attack-forward-auth: skipped: `baton attack --help` has no --app/--app-origin "
                  "flags yet (the forward-auth group is not in this binary)", flush=True)
            return
        argv = [self.binary, "attack", "--login", "http://127.0.0.1:8080", "--dashboard", "http://127.0.0.1:8081",
                "--reports", "http://127.0.0.1:8082", "--login-origin", LOGIN,
                "--dashboard-origin", "http://dashboard.localhost:8081", "--reports-origin", "http://reports.localhost:8082",
                "--app", "http://127.0.0.1:8090", "--app-origin", APP,
                "--user", ALICE[0], "--password-stdin", "--only", "forward-auth"]
        try:
            result = subprocess.run(argv, input=(ALICE[1] + "\n").encode(), capture_output=True, timeout=90)
        except subprocess.TimeoutExpired:
            check(False, "attack-forward-auth", "`baton attack --only forward-auth` did not finish within 90 s")
            return
        out = result.stdout.decode(errors="replace")
        summary = re.findall(r"^(\d+) passed, (\d+) failed$", out, re.M)
        failures = [line for line in out.splitlines() if line.startswith("FAIL")]
        passed = summary and summary[-1][0]
        check(result.returncode == 0 and summary and summary[-1][1] == "0" and int(passed) > 0, "attack-forward-auth",
              f"`baton attack --only forward-auth --app http://127.0.0.1:8090 --app-origin {APP}`: "
              + (f"{summary[-1][0]} passed, {summary[-1][1]} failed" if summary else
                 f"exit {result.returncode}, no summary: {(out + result.stderr.decode(errors='replace'))[-500:]}")
              + (f"; {failures[:10]}" if failures else ""))


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    missing = [tool for tool in ("nginx", "caddy") if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}")]
    if missing:
        print(f"FAIL setup: {', '.join(missing)} not installed (Debian: apt-get install nginx caddy)")
        return 1
    work = tempfile.mkdtemp(prefix="baton-forward-auth-")
    run = Run(binary, work)

    def out_of_time(*_):
        raise OutOfTime()

    signal.signal(signal.SIGALRM, out_of_time)
    # `timeout` in Scripts/test sends SIGTERM: stop what was started, then report.
    signal.signal(signal.SIGTERM, out_of_time)
    signal.alarm(BOUND_SECONDS)
    started = time.monotonic()
    status = 1
    try:
        run.start_demo()
        run.add_bob()
        for proxy in ("nginx", "caddy"):
            run.proxy_suite(proxy)
        status = 0
    except OutOfTime:
        run.report(False, "bound", f"stopped: the run took longer than {BOUND_SECONDS} s, or got SIGTERM")
    except SystemExit as stop:
        print(stop, flush=True)
        run.report(False, "setup", "could not start (see the line above)")
    finally:
        signal.alarm(0)
        run.stop_all()
    print(f"forward auth: {time.monotonic() - started:.1f} s; logs in {work} {' '.join(run.proxy_dirs)}")
    result = run.report.finish()
    if result == 0 and status == 0:
        for folder in [work] + run.proxy_dirs:
            shutil.rmtree(folder, ignore_errors=True)
    return result or status


if __name__ == "__main__":
    sys.exit(main())

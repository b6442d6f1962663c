#!/usr/bin/env python3
"""The load measurements behind Scripts/bench (which builds the release binary and
calls this): Baton's hosts as `baton serve` processes on free ports of 127.0.0.1 with
their state in a temporary folder, every phase driven by wrk (2 threads, 16
connections, on the same 2 cores as the hosts), each figure beside its ceiling.

  bench.py BATON [--duration S]      one run: the ceilings, then every phase
  bench.py BATON --soak SECONDS      redemptions at about half of peak for that long,
                                     a line of growth figures every 30 s
  bench.py BATON --perf DIR          the one run with perf record on both hosts during
                                     /sso/auth and redeem; reports in DIR

Ceilings: nginx answering a static 302 (the HTTP ceiling for /sso/start, /sso/auth and
/healthz) and `openssl speed -multi 2 ed25519` (sign/s for minting, verify/s for
redeeming). Phases: /healthz, /sso/auth with a signed-in session cookie, /sso/start,
mint (/handoff for a signed-in browser, each request with its own valid state), redeem
(/sso/callback with distinct fresh tokens, each sent once with its own state cookie), and
redeem again at half of the peak rate, paced by the Lua script's delay(); and the
back-channel lookup (/api/sessions/{sid} with the relying party's credentials) on its
own, the login host's half of every redemption.

The login host's tokens live 60 s here (`token_lifetime_seconds`, the most the config
allows; the demo's are 10 s) so that a batch can be minted, paired with its states and
redeemed well within every token's lifetime; tokens older than 45 s are never sent.
Everything started here is stopped, and the folder removed, on exit and on SIGINT/SIGTERM.
"""
import argparse
import base64
import glob
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batonlib import Browser, ServeProcesses, free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# Found beside the checkout by default; given, so a binary built elsewhere works too.
TEMPLATES = os.path.join(os.path.dirname(HERE), "Templates")
LUA = os.path.join(HERE, "bench.lua")
LOGIN_ORIGIN = "http://login.localhost:8080"
RP_ORIGIN = "http://dashboard.localhost:8081"
RETURN_TO = "/bench"
# The relying party's `metrics_token`: its /metrics answers only with it.
METRICS_TOKEN = "bench-metrics-token-0123456789abcdef"
DASHBOARD_SECRET = "bench-dashboard-secret-0123456789"
RETURN_COOKIE = base64.urlsafe_b64encode(RETURN_TO.encode()).rstrip(b"=").decode()
THREADS, CONNECTIONS = 2, 16
TOKEN_LIFETIME = 60
# A token older than this is never sent: its 60 s lifetime leaves a wide margin.
FRESH_FOR = 45
SOAK_REPORT_EVERY = 30
SOAK_MAX_SECONDS = 12 * 3600


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""


def on_signal(signum, _frame):
    # Once: a second signal (Ctrl-C reaches the whole process group, and Scripts/bench
    # sends SIGTERM too) must not interrupt the cleanup the first one started.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


# -- the stack: the hosts and nginx -------------------------------------------------

class Stack(ServeProcesses):
    """A login host and a relying party `dashboard` from generated configs, plus nginx
    serving a static 302, all on free ports of 127.0.0.1 under one temporary folder."""

    def __init__(self, binary):
        super().__init__(binary, prefix="baton-bench-")
        self.nginx = None
        self.login_port, self.rp_port, self.nginx_port = free_port(), free_port(), free_port()
        secret = DASHBOARD_SECRET
        self.write_config("login", {
            "listen": {"port": self.login_port}, "public_origin": LOGIN_ORIGIN, "database": "login.sqlite",
            "signing_keys": "keys.json", "bcrypt_cost": 4, "token_lifetime_seconds": TOKEN_LIFETIME,
            "templates": TEMPLATES,
            "clients": [{"client_id": "dashboard", "client_secret": secret,
                         "redirect_uris": [RP_ORIGIN + "/sso/callback"]}]})
        self.write_config("dashboard", {
            "listen": {"port": self.rp_port}, "client_id": "dashboard", "client_secret": secret,
            "public_origin": RP_ORIGIN, "issuer": LOGIN_ORIGIN,
            "login_backchannel_url": f"http://127.0.0.1:{self.login_port}", "database": "dashboard.sqlite",
            "templates": TEMPLATES, "metrics_token": METRICS_TOKEN})
        try:
            self.add_user("login", "alice", "wonderland", "Alice Liddell")
            self.start("login", "login", self.login_port)
            self.start("dashboard", "dashboard", self.rp_port)
        except BaseException:
            self.close()
            raise
        self.routes = {"login.localhost": self.login_port, "dashboard.localhost": self.rp_port}

    def start_nginx(self):
        root = os.path.join(self.dir, "nginx")
        os.makedirs(root, exist_ok=True)
        conf = os.path.join(root, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off;
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{self.nginx_port};
        location / {{ return 302 http://login.localhost:8080/handoff; }}
    }}
}}
""")
        log = open(os.path.join(root, "stderr.log"), "ab")
        self.nginx = subprocess.Popen(["nginx", "-p", root, "-e", f"{root}/error.log", "-c", conf],
                                      stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.nginx_port, timeout=2)
                conn.request("GET", "/")
                if conn.getresponse().status == 302:
                    return
            except OSError:
                pass
            if self.nginx.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not start; see {root}/error.log")

    def stop_nginx(self):
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.nginx = None

    def close(self):
        self.stop_nginx()
        self.stop_all()
        shutil.rmtree(self.dir, ignore_errors=True)

    def pid(self, name):
        return self.processes[name].pid

    def alive(self):
        return all(process.poll() is None for process in self.processes.values())


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def row_counts(path, tables):
    """Rows per table, read through a read-only connection (WAL readers write nothing)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}
    finally:
        db.close()


def first_login_sid(path):
    """The handle of the login host's oldest session (alice's), read-only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT sid FROM login_sessions ORDER BY auth_time LIMIT 1").fetchone()[0]
    finally:
        db.close()


def redemptions(stack):
    """The relying party's own count of redemptions by result (its /metrics)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.rp_port, timeout=10)
    conn.request("GET", "/metrics", headers={"Host": RP_ORIGIN.split("//")[1], "Authorization": "Bearer " + METRICS_TOKEN})
    text = conn.getresponse().read().decode()
    counts = {}
    for result, value in re.findall(r'^baton_redemptions(?:_total)?\{[^}]*result="([^"]+)"[^}]*\}\s+([0-9.e+]+)', text, re.M):
        counts[result] = counts.get(result, 0) + int(float(value))
    return counts


# -- wrk ------------------------------------------------------------------------------

def wrk(url, seconds, host=None, cookie=None, expect=200, lines=None, out=None, rate=None,
        connections=CONNECTIONS, workdir=None, authorization=None):
    """Runs wrk with bench.lua; its BENCH line as a dict (plus `rps` and the
    Locations received when `out` is given)."""
    env = dict(os.environ, BENCH_THREADS=str(THREADS), BENCH_EXPECT=str(expect))
    if host:
        env["BENCH_HOST"] = host
    if cookie:
        env["BENCH_COOKIE"] = cookie
    if authorization:
        env["BENCH_AUTH"] = authorization
    if lines is not None:
        path = os.path.join(workdir, f"in-{time.monotonic_ns()}.txt")
        with open(path, "w") as f:
            f.writelines(f"{extra}\t{target}\n" for extra, target in lines)
        env["BENCH_IN"] = path
    prefix = None
    if out:
        prefix = os.path.join(workdir, f"out-{time.monotonic_ns()}")
        env["BENCH_OUT"] = prefix
    if rate:
        env["BENCH_RATE"] = f"{rate / THREADS:.3f}"
    argv = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", LUA, url]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}")
    result = json.loads(line[len("BENCH "):])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if lines is not None:
        os.unlink(env["BENCH_IN"])
    if prefix:
        locations = []
        for name in sorted(glob.glob(prefix + ".*")):
            with open(name) as f:
                locations += [l.strip() for l in f if l.strip()]
            os.unlink(name)
        result["locations"] = locations
    return result


def target(location):
    parts = urllib.parse.urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


# -- the pipeline: states, tokens, redemptions ------------------------------------------

class Pipeline:
    """Makes what each phase sends: handoff URLs with fresh states (from /sso/start),
    tokens minted for them (from /handoff), paired back with their states."""

    def __init__(self, stack, login_cookie, more_cookies=()):
        self.stack = stack
        self.login_cookie = login_cookie
        # Handoffs go round-robin over everyone signed in: one login session each.
        self.login_cookies = [login_cookie] + list(more_cookies)
        self.rp_url = f"http://127.0.0.1:{stack.rp_port}"
        self.login_url = f"http://127.0.0.1:{stack.login_port}"
        # Sign-ins per second /sso/start last managed: how long to run it for a batch.
        self.start_rate = 200.0

    def start(self, seconds, rate=None):
        result = wrk(self.rp_url + "/sso/start?return_to=" + urllib.parse.quote(RETURN_TO, safe=""), seconds,
                     host=RP_ORIGIN.split("//")[1], expect=303, out=True, rate=rate, workdir=self.stack.dir)
        result["handoffs"] = [target(l) for l in result.pop("locations") if "/handoff?" in l]
        self.start_rate = max(50.0, len(result["handoffs"]) / seconds)
        return result

    def mint(self, handoffs, seconds, rate=None):
        minted_at = time.monotonic()
        cookies = self.login_cookies
        result = wrk(self.login_url + "/handoff", seconds, host=LOGIN_ORIGIN.split("//")[1], expect=302,
                     lines=[(f"__Host-baton_login={cookies[n % len(cookies)]}", h) for n, h in enumerate(handoffs)],
                     out=True, rate=rate, workdir=self.stack.dir)
        states = {}
        for handoff in handoffs:
            state = urllib.parse.parse_qs(urllib.parse.urlsplit(handoff).query)["state"][0]
            states[base64.urlsafe_b64encode(hashlib.sha256(state.encode()).digest()).rstrip(b"=").decode()] = state
        tokens = []
        for location in result.pop("locations"):
            if "token=" not in location:
                continue
            # The token says which state it was minted for only through its nonce,
            # SHA-256(state): wrk's response() does not say which request it answers.
            token = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["token"][0]
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            state = states.pop(claims["nonce"], None)
            if state is not None:
                # A return path other than / travels in its own cookie, which the state's MAC covers.
                tokens.append((f"__Host-baton_state={state}; __Host-baton_return={RETURN_COOKIE}", target(location)))
        result["tokens"] = tokens
        result["minted_at"] = minted_at
        return result

    def tokens(self, count):
        """`count` fresh tokens with their state cookies, minted now (unmeasured), and
        when the first of them was minted."""
        batch, oldest = [], None
        for _ in range(20):
            if len(batch) >= count:
                return batch[:count], oldest
            need = count - len(batch) + CONNECTIONS * 2
            started = self.start(min(60, max(2, int(need / self.start_rate * 1.2) + 1)))
            minted = self.mint(started["handoffs"][:need], 120)
            batch += minted["tokens"]
            oldest = oldest or minted["minted_at"]
        raise RuntimeError(f"could not make {count} tokens ({len(batch)} made)")

    def redeem(self, tokens, seconds, rate=None, connections=CONNECTIONS):
        """Sends every token once with its own state cookie; success is a 303 that set a
        session cookie, counted by the relying party itself (baton_redemptions ok) and
        by the rows added to rp_sessions, besides wrk's count of 303s."""
        before_metrics = redemptions(self.stack)
        before_rows = row_counts(os.path.join(self.stack.dir, "dashboard.sqlite"), ["rp_sessions"])["rp_sessions"]
        result = wrk(self.rp_url + "/sso/callback", seconds, host=RP_ORIGIN.split("//")[1], expect=303,
                     lines=tokens, rate=rate, connections=connections, workdir=self.stack.dir)
        time.sleep(0.2)  # requests still in flight when wrk stopped
        after_metrics = redemptions(self.stack)
        after_rows = row_counts(os.path.join(self.stack.dir, "dashboard.sqlite"), ["rp_sessions"])["rp_sessions"]
        result["succeeded"] = after_metrics.get("ok", 0) - before_metrics.get("ok", 0)
        result["new_sessions"] = after_rows - before_rows
        result["refused"] = {k: v - before_metrics.get(k, 0) for k, v in after_metrics.items()
                             if k != "ok" and v != before_metrics.get(k, 0)}
        # Refused: the relying party answered with an error. Unanswered: sent in the
        # run's last moment and dropped with the connection when wrk stopped, so the
        # relying party never saw it (neither a success nor a refusal).
        result["failed"] = sum(result["refused"].values())
        result["unanswered"] = max(0, result["sent"] - result["succeeded"] - result["failed"])
        result["redeemed_rps"] = result["succeeded"] / (result["duration_us"] / 1e6)
        return result


# -- the figures ----------------------------------------------------------------------

def openssl_ed25519(seconds):
    done = subprocess.run(["openssl", "speed", "-multi", "2", "-seconds", str(seconds), "ed25519"],
                          capture_output=True, text=True, timeout=seconds * 4 + 60)
    for line in done.stdout.splitlines():
        if "EdDSA (Ed25519)" in line:
            numbers = re.findall(r"[0-9.]+", line.split(")")[-1])
            return float(numbers[-2]), float(numbers[-1])
    raise RuntimeError("openssl speed printed no Ed25519 line:\n" + done.stdout[-500:])


def ms(us):
    return f"{us / 1000:.2f}"


def sign_in(stack):
    """alice's login cookie and a relying-party session cookie, by the real flow."""
    browser = Browser(stack.routes)
    form = browser.get(LOGIN_ORIGIN + "/login")
    posted = browser.submit_login(LOGIN_ORIGIN, form.text, "alice", "wonderland")
    if posted.status != 303:
        raise RuntimeError(f"sign-in answered {posted.status}")
    chain = browser.follow(RP_ORIGIN + "/sso/start?return_to=%2F")
    session = browser.jar.get("dashboard.localhost", {}).get("__Host-baton_session")
    if not session:
        raise RuntimeError(f"no relying-party session after {[r.status for r in chain]}")
    return browser.jar["login.localhost"]["__Host-baton_login"], session


def more_users(stack, count):
    """`count` more people, each signed in with a login session of their own: rows copied
    from alice's (same password hash) straight into the login host's SQLite file, then a
    real sign-in each. Redemptions then spread over them, so the relying party's table
    of sessions grows as a real one does (at most 20 sessions per person)."""
    import sqlite3
    database = sqlite3.connect(os.path.join(stack.dir, "login.sqlite"), timeout=10)
    with database:
        alice = database.execute("SELECT password_hash, created_at FROM users WHERE username = 'alice'").fetchone()
        database.executemany(
            "INSERT INTO users (id, username, display_name, email, groups, password_hash, created_at) VALUES (?, ?, ?, '', '', ?, ?)",
            [(f"bench-user-{n}", f"user{n}", f"User {n}", alice[0], alice[1]) for n in range(count)])
    database.close()
    cookies = []
    for n in range(count):
        browser = Browser(stack.routes)
        form = browser.get(LOGIN_ORIGIN + "/login")
        posted = browser.submit_login(LOGIN_ORIGIN, form.text, f"user{n}", "wonderland")
        if posted.status != 303:
            raise RuntimeError(f"user{n}'s sign-in answered {posted.status}")
        cookies.append(browser.jar["login.localhost"]["__Host-baton_login"])
    return cookies


def cpu_seconds(pid):
    """User plus system CPU time a process has used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_cpu(stack, run, count_key="requests"):
    """Runs a phase and adds what it cost each host in CPU per request (microseconds):
    a figure that a noisy machine moves less than requests a second."""
    before = {host: cpu_seconds(stack.pid(host)) for host in ("login", "dashboard")}
    result = run()
    count = max(1, result[count_key])
    result["cpu_us"] = {host: (cpu_seconds(stack.pid(host)) - before[host]) * 1e6 / count for host in before}
    return result


def print_row(name, result, ceiling_name, ceiling_rps, ceiling_p50=None, ceiling_p99=None, rps_key="rps", note=""):
    rps = result[rps_key]
    row = f"{name:<26} {rps:>9.0f} /s  p50 {ms(result['p50_us']):>7} ms  p99 {ms(result['p99_us']):>7} ms   " \
          f"{rps / ceiling_rps:6.1%} of {ceiling_name}"
    if ceiling_p50:
        row += f"; p50 x{result['p50_us'] / ceiling_p50:.1f}, p99 x{result['p99_us'] / ceiling_p99:.1f} of its latency"
    if "cpu_us" in result:
        cpu = result["cpu_us"]
        row += f"; CPU per request: login {cpu['login']:.0f} us, RP {cpu['dashboard']:.0f} us"
    print(row + (f"  {note}" if note else ""), flush=True)


class Profiler:
    """`perf record -g` on the hosts while a phase runs (--perf DIR): a report per phase
    and host, top functions first, Swift names demangled. The figures of a profiled
    run are a little lower than without it."""

    def __init__(self, stack, folder):
        self.stack = stack
        self.folder = os.path.abspath(folder) if folder else None
        if self.folder:
            os.makedirs(self.folder, exist_ok=True)

    def around(self, phase, run):
        if not self.folder:
            return run()
        recorders = {}
        for host in ("login", "dashboard"):
            data = os.path.join(self.folder, f"{phase}-{host}.data")
            recorders[host] = (data, subprocess.Popen(
                ["perf", "record", "-g", "-F", "499", "-p", str(self.stack.pid(host)), "-o", data],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            return run()
        finally:
            for host, (data, recorder) in recorders.items():
                recorder.send_signal(signal.SIGINT)
                try:
                    recorder.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    recorder.kill()
                    recorder.wait()
                self.report(data, os.path.join(self.folder, f"{phase}-{host}.txt"))

    @staticmethod
    def report(data, text):
        report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,symbol",
                                 "--percent-limit", "1", "-g", "none"], capture_output=True, text=True, timeout=300)
        demangler = shutil.which("swift-demangle") or shutil.which("swift")
        output = report.stdout
        if demangler:
            argv = [demangler, "--simplified"] if demangler.endswith("demangle") else [demangler, "demangle",
                                                                                       "--simplified"]
            output = subprocess.run(argv, input=output, capture_output=True, text=True, timeout=120).stdout
        with open(text, "w") as f:
            f.write(output)


def bench(stack, pipeline, session_cookie, seconds, profiler):
    print(f"== ceilings (wrk -t{THREADS} -c{CONNECTIONS} -d{seconds}s; openssl speed -multi 2 ed25519)", flush=True)
    sign_rate, verify_rate = openssl_ed25519(max(3, seconds // 3))
    # Per-operation time on one core: the floor under a mint's or a redemption's latency.
    sign_us, verify_us = 2e6 / sign_rate, 2e6 / verify_rate
    print(f"Ed25519 (openssl, 2 processes): {sign_rate:.0f} sign/s, {verify_rate:.0f} verify/s "
          f"({sign_us:.0f} us and {verify_us:.0f} us per operation on one core)", flush=True)
    stack.start_nginx()
    nginx = wrk(f"http://127.0.0.1:{stack.nginx_port}/", seconds, expect=302, workdir=stack.dir)
    stack.stop_nginx()
    print(f"nginx static 302 (2 workers): {nginx['rps']:.0f} /s, p50 {ms(nginx['p50_us'])} ms, "
          f"p99 {ms(nginx['p99_us'])} ms", flush=True)

    print("== phases", flush=True)
    host = RP_ORIGIN.split("//")[1]
    rp = f"http://127.0.0.1:{stack.rp_port}"
    healthz = with_cpu(stack, lambda: wrk(rp + "/healthz", seconds, host=host, expect=200, workdir=stack.dir))
    auth = with_cpu(stack, lambda: profiler.around("auth", lambda: wrk(
        rp + "/sso/auth", seconds, host=host, cookie=f"__Host-baton_session={session_cookie}", expect=200,
        workdir=stack.dir)))
    # The login host's half of every redemption on its own: the relying party's
    # authenticated lookup of alice's session.
    sid = first_login_sid(os.path.join(stack.dir, "login.sqlite"))
    credentials = base64.b64encode(f"dashboard:{DASHBOARD_SECRET}".encode()).decode()
    lookup = with_cpu(stack, lambda: wrk(
        f"http://127.0.0.1:{stack.login_port}/api/sessions/{sid}", seconds, host=f"127.0.0.1:{stack.login_port}",
        expect=200, authorization="Basic " + credentials, workdir=stack.dir))
    start = with_cpu(stack, lambda: pipeline.start(seconds))
    # Enough fresh states that minting does not run out before its time is up.
    handoffs = start["handoffs"] + pipeline.start(seconds * 2)["handoffs"]
    mint = with_cpu(stack, lambda: pipeline.mint(handoffs, seconds))
    tokens = mint["tokens"]
    age = time.monotonic() - mint["minted_at"]
    if age > FRESH_FOR - seconds:
        raise RuntimeError(f"tokens are {age:.0f} s old before redemption starts")
    redeem = with_cpu(stack, lambda: profiler.around("redeem", lambda: pipeline.redeem(tokens, seconds)),
                      count_key="succeeded")
    half_rate = redeem["redeemed_rps"] / 2
    batch, oldest = pipeline.tokens(int(half_rate * seconds * 1.1) + 50)
    if time.monotonic() - oldest > FRESH_FOR - seconds:
        raise RuntimeError(f"tokens are {time.monotonic() - oldest:.0f} s old before redemption starts")
    half = with_cpu(stack, lambda: pipeline.redeem(batch, seconds, rate=half_rate), count_key="succeeded")

    print_row("GET /healthz", healthz, "nginx 302", nginx["rps"], nginx["p50_us"], nginx["p99_us"])
    print_row("/sso/auth (signed in)", auth, "nginx 302", nginx["rps"], nginx["p50_us"], nginx["p99_us"])
    print_row("back-channel lookup", lookup, "nginx 302", nginx["rps"], nginx["p50_us"], nginx["p99_us"])
    print_row("/sso/start", start, "nginx 302", nginx["rps"], nginx["p50_us"], nginx["p99_us"])
    print_row("mint (/handoff -> 302)", mint, "Ed25519 sign", sign_rate, sign_us, sign_us,
              note=f"({len(tokens)} tokens from {len(handoffs)} states)")
    print_row("redeem (/sso/callback)", redeem, "Ed25519 verify", verify_rate, verify_us, verify_us,
              rps_key="redeemed_rps")
    print_row(f"redeem at {half_rate:.0f}/s (half)", half, "Ed25519 verify", verify_rate, verify_us, verify_us,
              rps_key="redeemed_rps")
    for name, result in (("redeem", redeem), ("redeem at half", half)):
        print(f"{name}: {result['sent']} distinct fresh tokens sent once each, {result['succeeded']} succeeded "
              f"(303 + session cookie, per the RP's baton_redemptions; {result['new_sessions']} new rp_sessions rows; "
              f"wrk saw {result['ok']} 303s), {result['failed']} failed {result['refused'] or ''}, "
              f"{result['unanswered']} cut off unanswered when wrk stopped", flush=True)
    failed = [name for name, result in (("healthz", healthz), ("auth", auth), ("lookup", lookup), ("start", start),
                                        ("mint", mint))
              if result["bad"] or result["status_errors"]]
    for name in failed:
        print(f"warning: {name} had unexpected answers", flush=True)
    return 0 if redeem["failed"] == 0 and half["failed"] == 0 and not failed else 1


def soak(stack, pipeline, seconds):
    print(f"== soak for {seconds} s: measuring peak redemption rate first", flush=True)
    probe_tokens, _ = pipeline.tokens(4000)
    probe = pipeline.redeem(probe_tokens, 5)
    rate = max(10.0, probe["redeemed_rps"] / 2)
    window = 10
    print(f"peak {probe['redeemed_rps']:.0f}/s; redeeming at {rate:.0f}/s in {window} s windows, the next batch "
          f"minted while one is redeemed", flush=True)
    deadline = time.monotonic() + seconds
    ready = []
    lock = threading.Condition()
    stop = threading.Event()
    totals = {"sent": 0, "succeeded": 0, "failed": 0, "unanswered": 0, "stale": 0}
    failures = []

    def producer():
        try:
            while not stop.is_set():
                with lock:
                    while len(ready) >= 1 and not stop.is_set():
                        lock.wait(0.5)
                if stop.is_set():
                    return
                batch, made_at = pipeline.tokens(int(rate * window))
                with lock:
                    ready.append((batch, made_at))
                    lock.notify_all()
        except Exception as error:  # reported by the main loop
            failures.append(error)
            stop.set()

    def consumer():
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                with lock:
                    while not ready and not stop.is_set():
                        lock.wait(0.5)
                    if stop.is_set():
                        return
                    batch, made_at = ready.pop(0)
                    lock.notify_all()
                if time.monotonic() - made_at > FRESH_FOR - window:
                    totals["stale"] += len(batch)
                    continue
                left = deadline - time.monotonic()
                if left < 1:
                    return
                result = pipeline.redeem(batch, int(min(window + 5, left)) or 1, rate=rate)
                for key in ("sent", "succeeded", "failed", "unanswered"):
                    totals[key] += result[key]
        except Exception as error:
            failures.append(error)
            stop.set()

    threads = [threading.Thread(target=producer, daemon=True), threading.Thread(target=consumer, daemon=True)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    database = os.path.join(stack.dir, "dashboard.sqlite")
    last_at, last_ok = started, redemptions(stack).get("ok", 0)
    print(f"{'t':>6}  {'login RSS':>10}  {'RP RSS':>10}  {'used_tokens':>11}  {'rp_sessions':>11}  "
          f"{'redeemed/s':>10}", flush=True)
    rows = row_counts(database, ["used_tokens", "rp_sessions"])
    print(f"{0:>5.0f}s  {rss_kib(stack.pid('login')) / 1024:>7.1f} MiB  {rss_kib(stack.pid('dashboard')) / 1024:>7.1f} MiB  "
          f"{rows['used_tokens']:>11}  {rows['rp_sessions']:>11}  {'-':>10}", flush=True)
    status = 0
    try:
        while time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.5)
            now = time.monotonic()
            if now - last_at < SOAK_REPORT_EVERY and now < deadline:
                continue
            if not stack.alive():
                raise RuntimeError("a host exited during the soak")
            ok = redemptions(stack).get("ok", 0)
            rows = row_counts(database, ["used_tokens", "rp_sessions"])
            print(f"{now - started:>5.0f}s  {rss_kib(stack.pid('login')) / 1024:>7.1f} MiB  "
                  f"{rss_kib(stack.pid('dashboard')) / 1024:>7.1f} MiB  {rows['used_tokens']:>11}  "
                  f"{rows['rp_sessions']:>11}  {(ok - last_ok) / (now - last_at):>10.0f}", flush=True)
            last_at, last_ok = now, ok
    finally:
        stop.set()
        with lock:
            lock.notify_all()
        for thread in threads:
            thread.join(timeout=90)
    if failures:
        print(f"soak stopped early: {failures[0]}", flush=True)
        status = 1
    print(f"soak: {totals['sent']} tokens sent, {totals['succeeded']} succeeded, {totals['failed']} failed, "
          f"{totals['unanswered']} cut off unanswered, {totals['stale']} never sent (too old)", flush=True)
    return 1 if totals["failed"] or status else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("baton", help="the baton binary (a release build)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per phase (5-60, default 10)")
    parser.add_argument("--users", type=int, default=1,
                        help="people the redemptions spread over (1-100000, default 1: alice), so that the relying "
                             "party's sessions grow as real ones do")
    parser.add_argument("--perf", metavar="DIR",
                        help="profile the hosts with perf record during /sso/auth and redeem; reports in DIR")
    parser.add_argument("--soak", type=int, metavar="SECONDS",
                        help=f"redeem at about half of peak for this long (60-{SOAK_MAX_SECONDS})")
    args = parser.parse_args()
    if not 5 <= args.duration <= 60:
        parser.error("--duration must be 5 to 60 seconds")
    if args.soak is not None and not 60 <= args.soak <= SOAK_MAX_SECONDS:
        parser.error(f"--soak must be 60 to {SOAK_MAX_SECONDS} seconds")
    for tool in ("wrk", "nginx", "openssl") + (("perf",) if args.perf else ()):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is needed (apt-get install wrk nginx openssl linux-perf)")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stack = None
    try:
        stack = Stack(os.path.abspath(args.baton))
        print(f"hosts: login 127.0.0.1:{stack.login_port} (pid {stack.pid('login')}), "
              f"dashboard 127.0.0.1:{stack.rp_port} (pid {stack.pid('dashboard')}); state in {stack.dir}", flush=True)
        login_cookie, session_cookie = sign_in(stack)
        more = more_users(stack, args.users - 1) if args.users > 1 else []
        if more:
            print(f"{len(more) + 1} people signed in; handoffs go round-robin over them", flush=True)
        pipeline = Pipeline(stack, login_cookie, more)
        if args.soak is not None:
            return soak(stack, pipeline, args.soak)
        return bench(stack, pipeline, session_cookie, args.duration, Profiler(stack, args.perf))
    except Stopped as stopped:
        print(f"bench: stopped by {stopped}", file=sys.stderr)
        return 130
    finally:
        if stack is not None:
            stack.close()


if __name__ == "__main__":
    sys.exit(main())

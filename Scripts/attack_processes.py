#!/usr/bin/env python3
"""Process-level attacks that need control of the hosts: they start `baton serve`
processes themselves (127.0.0.1, free ports, a temporary folder) and stop every
process they started.

  crash     redeem a token, kill -9 the dashboard, restart it within the token's
            lifetime, replay -> token_replayed; then the same while redemptions are in
            flight (target 200/s), several crashes, then PRAGMA integrity_check and
            "no token succeeded twice".
  replicas  two dashboard processes sharing one SQLite file; one token sent 100 ways
            split across both, 50 rounds -> exactly one success per round.

Usage: attack_processes.py BATON_BINARY [crash] [replicas]
Prints one line per check and 'N passed, N failed'; exits 1 on any failure.
"""
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

RESULTS = []


def report(ok, name, detail):
    RESULTS.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hosts:
    """A login host and dashboard replicas run as separate `baton serve` processes."""

    def __init__(self, binary, replicas=1):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="baton-processes-")
        self.login_port = free_port()
        self.rp_ports = [free_port() for _ in range(replicas)]
        self.login_origin = "http://login.localhost:8080"
        self.rp_origin = "http://dashboard.localhost:8081"
        secret = "process-attack-secret-0123456789"
        with open(f"{self.dir}/login.json", "w") as f:
            json.dump({"listen": {"port": self.login_port}, "public_origin": self.login_origin,
                       "database": "login.sqlite", "signing_keys": "keys.json", "bcrypt_cost": 4,
                       "clients": [{"client_id": "dashboard", "client_secret": secret,
                                    "redirect_uris": [self.rp_origin + "/sso/callback"]}]}, f)
        for index, port in enumerate(self.rp_ports):
            with open(f"{self.dir}/rp{index}.json", "w") as f:
                json.dump({"listen": {"port": port}, "client_id": "dashboard", "client_secret": secret,
                           "public_origin": self.rp_origin, "issuer": self.login_origin,
                           "login_backchannel_url": f"http://127.0.0.1:{self.login_port}",
                           "database": "dashboard.sqlite"}, f)
        self.processes = {}
        subprocess.run([binary, "users", "add", "alice", "--config", f"{self.dir}/login.json"],
                       input=b"wonderland\n", check=True, stdout=subprocess.DEVNULL)
        self.start("login", ["serve", "login", "--config", f"{self.dir}/login.json"], self.login_port)
        for index, port in enumerate(self.rp_ports):
            self.start_rp(index)

    def start(self, name, args, port):
        log = open(f"{self.dir}/{name}.log", "ab")
        self.processes[name] = subprocess.Popen([self.binary] + args, stdout=log, stderr=log, cwd=self.dir)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited early; see {self.dir}/{name}.log")
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not start within 20 s")

    def start_rp(self, index):
        self.start(f"rp{index}", ["serve", "dashboard", "--config", f"{self.dir}/rp{index}.json"], self.rp_ports[index])

    def kill9(self, name):
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = {}


class Browser:
    """One cookie jar per host name; Host header set to the public name."""

    def __init__(self, hosts):
        self.hosts = hosts
        self.jar = {}

    def port_for(self, host, replica=0):
        return self.hosts.login_port if host.startswith("login.") else self.hosts.rp_ports[replica]

    def get(self, url, replica=0, method="GET", form=None):
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection("127.0.0.1", self.port_for(parts.hostname, replica), timeout=20)
        headers = {"Host": parts.netloc}
        cookies = self.jar.get(parts.hostname, {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                val = rest.split(";")[0]
                if "max-age=0" in value.lower():
                    self.jar.get(parts.hostname, {}).pop(key, None)
                else:
                    self.jar.setdefault(parts.hostname, {})[key] = val
        conn.close()
        return response.status, response.getheader("Location"), response.getheader("Baton-Error"), text

    def sign_in(self):
        status, location, _, page = self.get(self.hosts.login_origin + "/login")
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        fields.update(username="alice", password="wonderland")
        status, _, _, _ = self.get(self.hosts.login_origin + "/login", method="POST", form=fields)
        if status != 303:
            raise RuntimeError(f"sign-in answered {status}")

    def fresh_callback(self, replica=0):
        """A signed-in browser's fresh, unredeemed callback URL (and its state cookie in the jar)."""
        status, location, _, _ = self.get(self.hosts.rp_origin + "/sso/start?return_to=%2F", replica)
        if status != 303:
            raise RuntimeError(f"/sso/start answered {status}")
        status, callback, _, _ = self.get(location)
        if status != 302 or "token=" not in (callback or ""):
            raise RuntimeError(f"/handoff answered {status}")
        return callback

    def clone(self):
        other = Browser(self.hosts)
        other.jar = {host: dict(cookies) for host, cookies in self.jar.items()}
        return other


def redeemed(result):
    status, _, _, _ = result
    return status == 303


def crash(binary):
    hosts = Hosts(binary)
    try:
        browser = Browser(hosts)
        browser.sign_in()
        # 1. Redeem, kill -9, restart within the token's lifetime, replay.
        callback = browser.fresh_callback()
        first = browser.clone().get(callback)
        started = time.monotonic()
        hosts.kill9("rp0")
        hosts.start_rp(0)
        restart = time.monotonic() - started
        replay = Browser(hosts).get(callback)
        report(redeemed(first) and replay[0] == 403 and replay[2] == "token_replayed", "crash/replay-after-kill-9",
               f"redeemed {first[0]}, dashboard killed and back in {restart:.2f} s, replay answered {replay[0]} {replay[2]}")

        # 2. The same while redemptions are in flight.
        successes = {}
        lock = threading.Lock()
        stop = threading.Event()
        attempts = [0]
        errors = [0]

        def worker():
            mine = browser.clone()
            while not stop.is_set():
                try:
                    url = mine.fresh_callback()
                except Exception:
                    errors[0] += 1
                    time.sleep(0.01)
                    continue
                try:
                    result = mine.clone().get(url)
                except Exception:
                    result = (0, None, None, "")
                with lock:
                    attempts[0] += 1
                    successes.setdefault(url, 0)
                    if redeemed(result):
                        successes[url] += 1

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(24)]
        load_started = time.monotonic()
        for thread in threads:
            thread.start()
        crashes = 5
        for _ in range(crashes):
            time.sleep(1.5)
            hosts.kill9("rp0")
            hosts.start_rp(0)
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        elapsed = time.monotonic() - load_started
        # Replay every token of the run once more: none may succeed a second time.
        replayer = browser.clone()
        for url in list(successes):
            if redeemed(replayer.clone().get(url)):
                successes[url] += 1
        twice = sum(1 for count in successes.values() if count > 1)
        rate = attempts[0] / elapsed if elapsed else 0
        report(twice == 0 and attempts[0] > 0, "crash/no-token-succeeds-twice-across-crashes",
               f"{attempts[0]} redemptions in {elapsed:.1f} s ({rate:.0f}/s, target 200/s) across {crashes} kill -9; "
               f"{sum(1 for c in successes.values() if c >= 1)} succeeded once, {twice} twice")
        integrity = sqlite3.connect(f"{hosts.dir}/dashboard.sqlite").execute("PRAGMA integrity_check").fetchone()[0]
        report(integrity == "ok", "crash/sqlite-integrity-check", f"PRAGMA integrity_check: {integrity}")
    finally:
        hosts.stop()


def replicas(binary):
    hosts = Hosts(binary, replicas=2)
    try:
        browser = Browser(hosts)
        browser.sign_in()
        rounds, ways, exact = 50, 100, 0
        summary = []
        for round_number in range(rounds):
            callback = browser.fresh_callback(replica=round_number % 2)
            barrier = threading.Barrier(ways)
            results = [None] * ways

            def race(index):
                racer = browser.clone()
                racer.jar.pop("dashboard.localhost", None)
                racer.jar["dashboard.localhost"] = {"__Host-baton_state": browser.jar["dashboard.localhost"]["__Host-baton_state"]}
                barrier.wait(timeout=30)
                try:
                    results[index] = racer.get(callback, replica=index % 2)
                except Exception as error:
                    results[index] = (0, None, str(error), "")

            threads = [threading.Thread(target=race, args=(i,)) for i in range(ways)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            wins = sum(1 for r in results if r and redeemed(r))
            replays = sum(1 for r in results if r and r[2] == "token_replayed")
            summary.append(wins)
            if wins == 1 and replays == ways - 1:
                exact += 1
            else:
                others = sorted({f"{r[0]} {r[2]}" for r in results if r and not redeemed(r) and r[2] != "token_replayed"})
                print(f"  round {round_number}: {wins} success(es), {replays} token_replayed, others: {others}", flush=True)
        report(exact == rounds, "replicas/exactly-one-success-per-round",
               f"{exact}/{rounds} rounds of {ways} concurrent redemptions split across 2 replicas had exactly one success "
               f"(successes per round: min {min(summary)}, max {max(summary)})")
        integrity = sqlite3.connect(f"{hosts.dir}/dashboard.sqlite").execute("PRAGMA integrity_check").fetchone()[0]
        report(integrity == "ok", "replicas/sqlite-integrity-check", f"PRAGMA integrity_check: {integrity}")
    finally:
        hosts.stop()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    binary = os.path.abspath(sys.argv[1])
    which = sys.argv[2:] or ["crash", "replicas"]
    for name in which:
        try:
            {"crash": crash, "replicas": replicas}[name](binary)
        except Exception as error:
            report(False, f"{name}/setup", f"could not run: {error}")
    print(f"{RESULTS.count(True)} passed, {RESULTS.count(False)} failed")
    sys.exit(0 if all(RESULTS) else 1)


if __name__ == "__main__":
    main()

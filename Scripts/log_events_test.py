#!/usr/bin/env python3
"""JSON logs under attack: starts a login host and two relying parties with `baton serve`
(free ports of 127.0.0.1, a temporary folder, BATON_LOG_LEVEL=debug; JSON logs from the
files' `log_format` for two of them and from BATON_LOG_FORMAT=json for the third), runs
the whole `baton attack` suite against them, then a redemption while another connection
holds the dashboard's SQLite write lock (store_unavailable). Then every line each host
wrote to standard error must be one JSON object (timestamp, level, label, message,
metadata of strings), the per-request lines must be there at debug, every security event
below must appear at its level, and no line may hold a token (a JWT-shaped string), a
client secret, the password (or a mistyped one), a metrics token, a cookie value this script saw, or any
base64url run of 43 or more characters that is not one of the login host's key ids.

Usage: log_events_test.py BATON_BINARY
Prints one line per check and 'N passed, N failed'; exits 1 on any failure (the hosts'
logs then stay, and their folder is printed).
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batonlib import Browser, Report, ServeProcesses, free_port, path_of  # noqa: E402

report = Report()
LOGIN = "http://login.localhost:8080"
DASHBOARD = "http://dashboard.localhost:8081"
REPORTS = "http://reports.localhost:8082"
PASSWORD = "wonderland-under-attack"
# A near miss of alice's password, as a person mistyping it sends: a refused sign-in
# must not log the password it was given either.
TYPO = "wonderland-under-attacj"
SECRETS = {"dashboard": "log-test-dashboard-secret-0123456789abcdef", "reports": "log-test-reports-secret-0123456789abcdef"}
METRICS_TOKEN = "log-test-metrics-token-0123456789abcdef"
# Each must appear at least once, at this level.
EVENTS = {
    "token_replayed": "warning", "state_mismatch": "warning", "state_missing": "warning",
    "token_invalid_signature": "warning", "token_unknown_key": "warning", "sign_in_throttled": "warning",
    "not_permitted": "warning", "store_unavailable": "warning", "token_malformed": "warning",
    "token_unsupported_alg": "warning", "token_wrong_audience": "warning", "csrf_invalid": "warning",
    "handoff_refused": "warning", "backchannel_unauthorized": "warning", "sign_in_refused": "warning",
}


class Hosts(ServeProcesses):
    """Each host's standard error in NAME.log (its JSON lines), standard output in NAME.out."""

    def __init__(self, binary):
        super().__init__(binary, prefix="baton-logs-")
        self.port = {name: free_port() for name in ("login", "dashboard", "reports")}
        self.write_config("login", {
            "listen": {"port": self.port["login"]}, "public_origin": LOGIN, "database": "login.sqlite",
            "signing_keys": "keys.json", "bcrypt_cost": 4, "metrics_token": METRICS_TOKEN, "log_format": "json",
            "clients": [
                {"client_id": name, "client_secret": SECRETS[name], "redirect_uris": [origin + "/sso/callback"],
                 "backchannel_logout_uri": f"http://127.0.0.1:{self.port[name]}/sso/backchannel-logout"}
                for name, origin in [("dashboard", DASHBOARD), ("reports", REPORTS)]]})
        for name, origin in [("dashboard", DASHBOARD), ("reports", REPORTS)]:
            config = {"listen": {"port": self.port[name]}, "client_id": name, "client_secret": SECRETS[name],
                      "public_origin": origin, "issuer": LOGIN, "metrics_token": METRICS_TOKEN,
                      "login_backchannel_url": f"http://127.0.0.1:{self.port['login']}", "database": f"{name}.sqlite"}
            if name == "reports":
                config["log_format"] = "json"  # the dashboard's JSON comes from BATON_LOG_FORMAT instead
            self.write_config(name, config)
        subprocess.run([binary, "users", "add", "alice", "--display-name", "Alice Liddell", "--email", "alice@example.com",
                        "--group", "staff", "--config", f"{self.dir}/login.json"],
                       input=(PASSWORD + "\n").encode(), check=True, stdout=subprocess.DEVNULL)
        for name, role in [("login", "login"), ("dashboard", "dashboard"), ("reports", "dashboard")]:
            env = dict(os.environ, BATON_LOG_LEVEL="debug")
            env.pop("BATON_LOG_FORMAT", None)
            if name == "dashboard":
                env["BATON_LOG_FORMAT"] = "json"
            self.start(name, role, self.port[name], env=env)

    def start(self, name, role, port, env=None):
        err = open(f"{self.dir}/{name}.log", "ab")
        out = open(f"{self.dir}/{name}.out", "ab")
        self.processes[name] = subprocess.Popen(
            [self.binary, "serve", role, "--config", f"{self.dir}/{name}.json"], stdout=out, stderr=err, cwd=self.dir, env=env)
        self.ports[name] = port
        browser = Browser({})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if browser.get(f"http://127.0.0.1:{port}/healthz", port=port).status == 200:
                    return
            except OSError:
                pass
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited early; see {self.dir}/{name}.log")
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not start within 20 s")


def sign_in(browser):
    chain = browser.follow(DASHBOARD + "/")
    posted = browser.submit_login(LOGIN, chain[-1].text, "alice", PASSWORD)
    chain = browser.follow(posted.location)
    if chain[-1].status != 200:
        raise RuntimeError(f"sign-in ended with {chain[-1].status} at {chain[-1].url}")
    return next(r.url for r in chain if path_of(r.url) == "/sso/callback")


def redemption_while_locked(hosts, browser):
    """A redemption while another connection holds the dashboard's write lock: 503."""
    start = browser.get(DASHBOARD + "/sso/start?return_to=%2F")
    minted = browser.get(start.location)
    if "token=" not in (minted.location or ""):
        raise RuntimeError(f"/handoff answered {minted.status} {minted.location}: no token to redeem")
    db = sqlite3.connect(f"{hosts.dir}/dashboard.sqlite", isolation_level=None, timeout=10)
    try:
        db.execute("BEGIN IMMEDIATE")
        began = time.monotonic()
        answer = browser.get(minted.location)
        took = time.monotonic() - began
    finally:
        db.execute("ROLLBACK")
        db.close()
    return answer, took, minted.location


def main():
    binary = sys.argv[1]
    hosts = Hosts(binary)
    routes = {"login.localhost": hosts.port["login"], "dashboard.localhost": hosts.port["dashboard"],
              "reports.localhost": hosts.port["reports"]}
    seen = set()  # cookie values and tokens this script handled
    try:
        alice = Browser(routes)
        callback = sign_in(alice)
        seen.add(callback.split("token=", 1)[1])
        typo = Browser(routes)
        refused = typo.submit_login(LOGIN, typo.get(LOGIN + "/login").text, "alice", TYPO)
        report(refused.status == 401, "a mistyped password is refused", f"{refused.status}")
        print("== baton attack (the whole suite) against hosts logging JSON at debug", flush=True)
        attack = subprocess.run(
            [binary, "attack", "--login", f"http://127.0.0.1:{hosts.port['login']}",
             "--dashboard", f"http://127.0.0.1:{hosts.port['dashboard']}", "--reports", f"http://127.0.0.1:{hosts.port['reports']}",
             "--login-origin", LOGIN, "--dashboard-origin", DASHBOARD, "--reports-origin", REPORTS,
             "--user", "alice", "--password-stdin"],
            input=(PASSWORD + "\n").encode(), capture_output=True, timeout=600)
        tail = attack.stdout.decode().strip().splitlines()[-1:] or ["(nothing)"]
        failed_cases = [line for line in attack.stdout.decode().splitlines() if line.startswith("FAIL")]
        report(attack.returncode == 0, "the attack suite passes against them", tail[0] + ("; " + "; ".join(failed_cases[:3]) if failed_cases else ""))
        # Signed in anew: the suite ends alice's sessions on the way (logout cases, the cap).
        alice = Browser(routes)
        seen.add(sign_in(alice).split("token=", 1)[1])
        answer, took, locked_callback = redemption_while_locked(hosts, alice)
        seen.add(locked_callback.split("token=", 1)[1])
        report(answer.status == 503 and answer.error == "store_unavailable", "a redemption while the store is locked",
               f"{answer.status} {answer.error} after {took:.1f} s")
        for cookies in alice.jar.values():
            seen.update(v for v in cookies.values() if v)
        jwks = json.loads(alice.get(LOGIN + "/.well-known/jwks.json").text)
        kids = {key["kid"] for key in jwks["keys"]}
    finally:
        hosts.stop_all()

    lines = []
    for name in ("login", "dashboard", "reports"):
        with open(f"{hosts.dir}/{name}.log", encoding="utf-8", errors="replace") as f:
            lines += [(name, number, line.rstrip("\n")) for number, line in enumerate(f, 1) if line.strip()]

    # -- every line is one JSON object ---------------------------------------------------------------
    parsed, bad = [], []
    for name, number, line in lines:
        try:
            entry = json.loads(line)
            ok = (isinstance(entry, dict) and set(entry) == {"timestamp", "level", "label", "message", "metadata"}
                  and all(isinstance(entry[k], str) for k in ("timestamp", "level", "label", "message"))
                  and isinstance(entry["metadata"], dict) and all(isinstance(v, str) for v in entry["metadata"].values())
                  and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["timestamp"]))
        except ValueError:
            ok = False
        if ok:
            parsed.append((name, entry))
        else:
            bad.append(f"{name}.log:{number}: {line[:120]}")
    report(lines and not bad, "every line of the hosts' logs is one JSON object",
           f"{len(lines)} lines from 3 hosts" if not bad else f"{len(bad)} of {len(lines)} are not: " + " | ".join(bad[:3]))
    requests = [e for _, e in parsed if e["message"] == "request" and e["level"] == "debug"]
    report(len(requests) > 100 and all("?" not in e["metadata"].get("path", "") for e in requests),
           "per-request lines at debug, paths without their query", f"{len(requests)} request lines")

    # -- the events ------------------------------------------------------------------------------------
    found = {}
    for name, entry in parsed:
        event = entry["metadata"].get("event")
        if event:
            found.setdefault(event, set()).add((entry["level"], name))
    for event, level in EVENTS.items():
        levels = {lvl for lvl, _ in found.get(event, set())}
        report(levels == {level}, f"event {event}", f"at {', '.join(sorted(levels)) or 'nowhere'} on "
               f"{', '.join(sorted({host for _, host in found.get(event, set())})) or 'no host'} (expected {level})")

    # -- no secret in any line -------------------------------------------------------------------------------
    for token in list(seen):
        seen.update(token.split("."))
    secrets = {s for s in seen if len(s) >= 16} | set(SECRETS.values()) | {PASSWORD, TYPO, METRICS_TOKEN}
    jwt = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.")
    long_run = re.compile(r"[A-Za-z0-9_-]{43,}")
    leaks = []
    for name, number, line in lines:
        if jwt.search(line):
            leaks.append(f"{name}.log:{number}: a JWT")
        for secret in secrets:
            if secret in line:
                leaks.append(f"{name}.log:{number}: {secret[:10]}…")
        for run in long_run.findall(line):
            if run not in kids:
                leaks.append(f"{name}.log:{number}: a {len(run)}-character base64url run {run[:10]}…")
    report(not leaks, "no token, cookie, client secret, password or long base64url string in any line",
           f"{len(lines)} lines against {len(secrets)} secrets, JWT shapes and 43+ character runs (key ids {len(kids)} allowed)"
           if not leaks else "; ".join(leaks[:5]))

    failed = report.results.count(False)
    if failed:
        print(f"  kept for inspection: {hosts.dir}")
    else:
        shutil.rmtree(hosts.dir, ignore_errors=True)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

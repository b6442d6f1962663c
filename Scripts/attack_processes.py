#!/usr/bin/env python3
"""Process-level attacks that need control of the hosts: they start `baton serve`
processes themselves (127.0.0.1, free ports, a temporary folder) and stop every
process they started.

  crash     redeem a token, kill -9 the dashboard, restart it within the token's
            lifetime, replay -> token_replayed; then the same while redemptions are in
            flight (target 200/s), several crashes, redemptions succeeding after each
            restart; then every token replayed with its own state cookie within its
            lifetime (tokens live 60 s here) -> token_replayed for each one that
            succeeded, no token succeeding twice, and PRAGMA integrity_check.
  replicas  two dashboard processes sharing one SQLite file; one token sent 100 ways
            split across both, 50 rounds -> exactly one success per round.

Usage: attack_processes.py BATON_BINARY [crash] [replicas]
Prints one line per check and 'N passed, N failed'; exits 1 on any failure.
"""
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from batonlib import Browser as BaseBrowser, Report, ServeProcesses, free_port

report = Report()


class Hosts(ServeProcesses):
    """A login host and `replicas` dashboard processes sharing one SQLite file."""

    def __init__(self, binary, replicas=1, token_lifetime=10):
        super().__init__(binary, prefix="baton-processes-")
        self.token_lifetime = token_lifetime
        self.login_origin = "http://login.localhost:8080"
        self.rp_origin = "http://dashboard.localhost:8081"
        self.login_port = free_port()
        self.rp_ports = [free_port() for _ in range(replicas)]
        secret = "process-attack-secret-0123456789"
        self.write_config("login", {
            "listen": {"port": self.login_port}, "public_origin": self.login_origin, "database": "login.sqlite",
            "signing_keys": "keys.json", "bcrypt_cost": 4, "token_lifetime_seconds": token_lifetime,
            "clients": [{"client_id": "dashboard", "client_secret": secret, "redirect_uris": [self.rp_origin + "/sso/callback"]}]})
        for index, port in enumerate(self.rp_ports):
            self.write_config(f"rp{index}", {
                "listen": {"port": port}, "client_id": "dashboard", "client_secret": secret, "public_origin": self.rp_origin,
                "issuer": self.login_origin, "login_backchannel_url": f"http://127.0.0.1:{self.login_port}",
                "database": "dashboard.sqlite"})
        try:
            self.add_user("login", "alice", "wonderland", "Alice Liddell")
            self.start("login", "login", self.login_port)
            for index in range(replicas):
                self.start_rp(index)
        except BaseException:
            self.stop_all()
            raise

    def start_rp(self, index):
        self.start(f"rp{index}", "dashboard", self.rp_ports[index])

    def kill9(self, name):
        self.stop(name, signal.SIGKILL)

    def finish(self, failures_before):
        """Stops every process; removes the folder unless a check of this group failed
        (its logs and database then stay, and their path is printed)."""
        self.stop_all()
        if report.results.count(False) > failures_before:
            print(f"  kept for inspection: {self.dir}", flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Browser(BaseBrowser):
    """A browser that can aim at one dashboard replica."""

    def __init__(self, hosts):
        super().__init__({"login.localhost": hosts.login_port, "dashboard.localhost": hosts.rp_ports[0]})
        self.hosts = hosts

    def clone(self):
        other = Browser(self.hosts)
        other.jar = {host: dict(cookies) for host, cookies in self.jar.items()}
        return other

    def at(self, url, replica=0):
        port = self.hosts.rp_ports[replica] if url.startswith(self.hosts.rp_origin) else None
        return self.get(url, port=port)

    def sign_in(self):
        form = self.get(self.hosts.login_origin + "/login")
        posted = self.submit_login(self.hosts.login_origin, form.text, "alice", "wonderland")
        if posted.status != 303:
            raise RuntimeError(f"sign-in answered {posted.status}")

    def state_cookie(self):
        return self.jar.get("dashboard.localhost", {}).get("__Host-baton_state")

    def holding_state(self, state):
        """A browser that holds only `state`: no session, so a burned jti can only be a replay."""
        other = Browser(self.hosts)
        other.jar = {"dashboard.localhost": {"__Host-baton_state": state}}
        return other

    def fresh_callback(self, replica=0):
        """A fresh, unredeemed callback URL (its sign-in's state cookie is in the jar)."""
        start = self.at(self.hosts.rp_origin + "/sso/start?return_to=%2F", replica)
        if start.status != 303:
            raise RuntimeError(f"/sso/start answered {start.status}")
        minted = self.get(start.location)
        if minted.status != 302 or "token=" not in (minted.location or ""):
            raise RuntimeError(f"/handoff answered {minted.status}")
        return minted.location


def report_integrity(hosts, group):
    """The shared dashboard database must come through every race and crash sound."""
    integrity = sqlite3.connect(f"{hosts.dir}/dashboard.sqlite").execute("PRAGMA integrity_check").fetchone()[0]
    report(integrity == "ok", f"{group}/sqlite-integrity-check", f"PRAGMA integrity_check: {integrity}")


def redeemed(response):
    """A redemption that made a session: a 303 that sets the session cookie (a reload
    that continues is a 303 without one)."""
    return response.status == 303 and any(
        value.startswith("__Host-baton_session=") and "max-age=0" not in value.lower()
        for value in response.header_values("Set-Cookie"))


def crash(binary):
    # Tokens live 60 s (the most the config allows), so every token of the load phase
    # can still be replayed, with its own state cookie, after the last crash.
    lifetime = 60
    failures_before = report.results.count(False)
    hosts = Hosts(binary, token_lifetime=lifetime)
    try:
        browser = Browser(hosts)
        browser.sign_in()
        # 1. Redeem, kill -9, restart within the token's lifetime, replay.
        callback = browser.fresh_callback()
        first = browser.clone().at(callback)
        started = time.monotonic()
        hosts.kill9("rp0")
        hosts.start_rp(0)
        restart = time.monotonic() - started
        replay = browser.holding_state(browser.state_cookie()).at(callback)
        report(redeemed(first) and replay.status == 403 and replay.error == "token_replayed", "crash/replay-after-kill-9",
               f"redeemed {first.status}, dashboard killed and back in {restart:.2f} s, replay with its own state "
               f"cookie answered {replay.status} {replay.error}")

        # 2. The same while redemptions are in flight: every token is recorded with its
        # own state cookie, when it was minted and whether its first redemption succeeded.
        tokens = []  # [url, state, minted_at, first_succeeded]
        successes_at = []
        lock = threading.Lock()
        stop = threading.Event()
        errors = [0]

        def worker():
            mine = browser.clone()
            while not stop.is_set():
                try:
                    minted_at = time.monotonic()
                    url = mine.fresh_callback()
                    state = mine.state_cookie()
                except Exception:
                    with lock:
                        errors[0] += 1
                    time.sleep(0.01)
                    continue
                try:
                    ok = redeemed(mine.holding_state(state).at(url))
                except Exception:
                    ok = False
                with lock:
                    tokens.append([url, state, minted_at, ok])
                    if ok:
                        successes_at.append(time.monotonic())

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(24)]
        load_started = time.monotonic()
        for thread in threads:
            thread.start()
        crashes = 5
        restarted_at = []
        killed_at = []
        for _ in range(crashes):
            time.sleep(1.5)
            killed_at.append(time.monotonic())
            hosts.kill9("rp0")
            hosts.start_rp(0)
            restarted_at.append(time.monotonic())
        time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        elapsed = time.monotonic() - load_started
        window_ends = killed_at[1:] + [time.monotonic()]
        after_restart = [sum(1 for t in successes_at if begin <= t < end) for begin, end in zip(restarted_at, window_ends)]
        report(all(count > 0 for count in after_restart), "crash/redemptions-succeed-after-every-restart",
               f"successful redemptions after each of the {crashes} restarts: {after_restart}")

        # Replay every token of the run with its own state cookie, within its lifetime:
        # a token that made a session must answer token_replayed (a store that forgot the
        # burn lets the replay reach the state check, which answers state_missing); one
        # whose first redemption died in a crash may succeed now, but only once.
        outcomes = {"replayed": 0, "late": 0, "second": 0, "first-now": 0, "other": []}

        def replay_one(record):
            url, state, minted_at, first_ok = record
            if time.monotonic() - minted_at > lifetime - 5:
                return "late", None
            try:
                answer = browser.holding_state(state).at(url)
            except Exception as error:
                return "other", f"no answer ({error.__class__.__name__})"
            if answer.status == 403 and answer.error == "token_replayed":
                return "replayed", None
            if redeemed(answer):
                return ("second", None) if first_ok else ("first-now", None)
            return "other", f"{answer.status} {answer.error} (first {'succeeded' if first_ok else 'failed'})"

        replay_started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for kind, detail in pool.map(replay_one, tokens):
                if kind == "other":
                    outcomes["other"].append(detail)
                else:
                    outcomes[kind] += 1
        replay_time = time.monotonic() - replay_started
        first_successes = sum(1 for record in tokens if record[3])
        rate = len(tokens) / elapsed if elapsed else 0
        others = sorted(set(outcomes["other"]))
        ok = (first_successes > 0 and outcomes["second"] == 0 and outcomes["late"] == 0 and not others
              and outcomes["replayed"] + outcomes["first-now"] == len(tokens))
        report(ok, "crash/no-token-succeeds-twice-across-crashes",
               f"{len(tokens)} redemptions in {elapsed:.1f} s ({rate:.0f}/s, target 200/s) across {crashes} kill -9, "
               f"{first_successes} succeeded; replayed with their own state cookies in {replay_time:.1f} s: "
               f"{outcomes['replayed']} token_replayed, {outcomes['second']} succeeded twice, "
               f"{outcomes['first-now']} first succeeded on replay (their first try died in a crash), "
               f"{outcomes['late']} too late to replay, {len(outcomes['other'])} other answers {others[:5]}")
        report_integrity(hosts, "crash")
    finally:
        hosts.finish(failures_before)


def replicas(binary):
    failures_before = report.results.count(False)
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
                racer.jar["dashboard.localhost"] = {"__Host-baton_state": browser.jar["dashboard.localhost"]["__Host-baton_state"]}
                barrier.wait(timeout=30)
                try:
                    results[index] = racer.at(callback, replica=index % 2)
                except Exception:
                    results[index] = None

            threads = [threading.Thread(target=race, args=(i,)) for i in range(ways)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            wins = sum(1 for r in results if r and redeemed(r))
            replays = sum(1 for r in results if r and r.error == "token_replayed")
            summary.append(wins)
            if wins == 1 and replays == ways - 1:
                exact += 1
            else:
                others = sorted({f"{r.status} {r.error}" if r else "no answer" for r in results
                                 if not r or (not redeemed(r) and r.error != "token_replayed")})
                print(f"  round {round_number}: {wins} success(es), {replays} token_replayed, others: {others}", flush=True)
        report(exact == rounds, "replicas/exactly-one-success-per-round",
               f"{exact}/{rounds} rounds of {ways} concurrent redemptions split across 2 replicas had exactly one success "
               f"(successes per round: min {min(summary)}, max {max(summary)})")
        report_integrity(hosts, "replicas")
    finally:
        hosts.finish(failures_before)


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
    sys.exit(report.finish())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Single logout across real processes: a login host and two relying parties run as
separate `baton serve` processes (127.0.0.1, free ports, a temporary folder; every
process it starts is stopped). Revalidation is off, so only back-channel logout can
end a relying-party session here.

  1. logout on the login host ends both relying parties' sessions: the time it takes
     is measured and must be under 2 s;
  2. with `reports` down during logout, the dashboard's session still ends at once,
     the logout page does not wait, the login host is killed (-9) and restarted with
     the delivery pending, `reports` comes back, and its session ends too;
  3. `baton sessions list` / `baton sessions revoke --user` from another process: the
     running login host delivers the queued logouts.

Usage: logout_processes.py BATON_BINARY    (prints one line per check, then 'N passed, N failed')
"""
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse

from batonlib import Browser as BaseBrowser, Report, ServeProcesses, free_port, hidden_inputs, path_of, wait_until

report = Report()
ORIGINS = {"login": "http://login.localhost:8080", "dashboard": "http://dashboard.localhost:8081",
           "reports": "http://reports.localhost:8082"}


class Hosts(ServeProcesses):
    def __init__(self, binary):
        super().__init__(binary, prefix="baton-logout-")
        self.port_of = {"login": free_port(), "dashboard": free_port(), "reports": free_port()}
        secrets = {rp: f"logout-test-{rp}-secret-0123456789" for rp in ("dashboard", "reports")}
        self.write_config("login", {
            "listen": {"port": self.port_of["login"]}, "public_origin": ORIGINS["login"], "database": "login.sqlite",
            "signing_keys": "keys.json", "bcrypt_cost": 4,
            "clients": [{"client_id": rp, "client_secret": secrets[rp], "redirect_uris": [ORIGINS[rp] + "/sso/callback"],
                         "backchannel_logout_uri": f"http://127.0.0.1:{self.port_of[rp]}/sso/backchannel-logout"}
                        for rp in ("dashboard", "reports")]})
        for rp in ("dashboard", "reports"):
            self.write_config(rp, {
                "listen": {"port": self.port_of[rp]}, "client_id": rp, "client_secret": secrets[rp],
                "public_origin": ORIGINS[rp], "issuer": ORIGINS["login"],
                "login_backchannel_url": f"http://127.0.0.1:{self.port_of['login']}",
                "database": f"{rp}.sqlite", "revalidate_seconds": 0})
        try:
            self.add_user("login", "alice", "wonderland", "Alice Liddell")
            for name in ("login", "dashboard", "reports"):
                self.start_host(name)
        except BaseException:
            self.stop_all()
            raise

    def start_host(self, name):
        self.start(name, "login" if name == "login" else "dashboard", self.port_of[name])

    def pending_deliveries(self):
        return sqlite3.connect(f"{self.dir}/login.sqlite").execute("SELECT COUNT(*) FROM logout_deliveries").fetchone()[0]


class Browser(BaseBrowser):
    def __init__(self, hosts):
        super().__init__({f"{name}.localhost": port for name, port in hosts.port_of.items()})

    def sign_in_everywhere(self):
        chain = self.follow(ORIGINS["dashboard"] + "/")
        if path_of(chain[-1].url) == "/login":
            posted = self.submit_login(ORIGINS["login"], chain[-1].text, "alice", "wonderland")
            chain = self.follow(posted.location)
        ok = chain[-1].status == 200 and "Alice Liddell" in chain[-1].text
        chain = self.follow(ORIGINS["reports"] + "/")
        return ok and chain[-1].status == 200 and "Alice Liddell" in chain[-1].text

    def answer(self, rp):
        """What the relying party's `/` says: "signed in" (200, alice's page), "signed out"
        (303 to its own /sso/start?return_to=/), or anything else as it came (a 500, a
        crash, another redirect), which is neither."""
        try:
            response = self.get(ORIGINS[rp] + "/")
        except OSError as error:
            return f"no answer ({error.__class__.__name__})"
        if response.status == 200 and "Alice Liddell" in response.text:
            return "signed in"
        target = urllib.parse.urlsplit(response.location or "")
        if (response.status == 303 and f"{target.scheme}://{target.netloc}" == ORIGINS[rp] and target.path == "/sso/start"
                and urllib.parse.parse_qs(target.query) == {"return_to": ["/"]}):
            return "signed out"
        return f"HTTP {response.status}" + (f" to {response.location}" if response.location else "")

    def signed_in(self, rp):
        return self.answer(rp) == "signed in"

    def signed_out(self, *rps):
        """Every one of `rps` gives the signed-out answer; the last answers are kept for the report."""
        self.last_answers = {rp: self.answer(rp) for rp in rps}
        return all(answer == "signed out" for answer in self.last_answers.values())

    def answers(self):
        return ", ".join(f"{rp}: {answer}" for rp, answer in getattr(self, "last_answers", {}).items())

    def log_out_of_login(self):
        home = self.get(ORIGINS["login"] + "/")
        started = time.monotonic()
        response = self.post(ORIGINS["login"] + "/logout", {"csrf": hidden_csrf(home.text)})
        return response.status, time.monotonic() - started


def hidden_csrf(page):
    return hidden_inputs(page).get("csrf", "")


def main():
    binary = os.path.abspath(sys.argv[1])
    hosts = Hosts(binary)
    try:
        # 1. Both relying parties up.
        browser = Browser(hosts)
        report(browser.sign_in_everywhere(), "logout/sign-in-on-both", "alice signed in on dashboard and reports")
        status, page_time = browser.log_out_of_login()
        ended = wait_until(5, lambda: browser.signed_out("dashboard", "reports"))
        report(status == 303 and ended is not None and ended + page_time < 2.0, "logout/ends-both-rp-sessions-within-2s",
               f"logout page answered in {page_time * 1000:.0f} ms; both RP sessions ended "
               f"{'never (' + browser.answers() + ')' if ended is None else f'{(ended + page_time) * 1000:.0f} ms'} "
               "after the logout was sent")

        # 2. reports is down during logout; the login host restarts with the delivery pending.
        browser = Browser(hosts)
        report(browser.sign_in_everywhere(), "logout/sign-in-again", "alice signed in on both again")
        hosts.stop("reports")
        status, page_time = browser.log_out_of_login()
        report(status == 303 and page_time < 1.0, "logout/unreachable-rp-does-not-block-the-logout-page",
               f"answered {status} in {page_time * 1000:.0f} ms with reports down")
        ended = wait_until(2, lambda: browser.signed_out("dashboard"))
        report(ended is not None, "logout/reachable-rp-ends-at-once",
               f"dashboard ended in {ended * 1000:.0f} ms" if ended is not None else f"dashboard never ended: {browser.answers()}")
        wait_until(3, lambda: hosts.pending_deliveries() == 1)
        report(hosts.pending_deliveries() == 1, "logout/delivery-to-the-down-rp-is-pending",
               f"{hosts.pending_deliveries()} delivery pending in the login host's store")
        hosts.stop("login", signal.SIGKILL)
        hosts.start_host("login")
        hosts.start_host("reports")
        ended = wait_until(40, lambda: browser.signed_out("reports"))
        report(ended is not None and hosts.pending_deliveries() == 0, "logout/delivered-after-rp-and-login-restart",
               f"reports' session ended {'never (' + browser.answers() + ')' if ended is None else f'{ended:.1f} s'} after it came back "
               f"(login host killed -9 and restarted meanwhile); {hosts.pending_deliveries()} pending")

        # 3. An operator revokes alice's sessions from the command line while the hosts run.
        browser = Browser(hosts)
        report(browser.sign_in_everywhere(), "logout/sign-in-a-third-time", "alice signed in on both")
        listed = subprocess.run([hosts.binary, "sessions", "list", "alice", "--config", f"{hosts.dir}/login.json"],
                                capture_output=True, text=True)
        report(listed.returncode == 0 and "dashboard,reports" in listed.stdout, "logout/cli-sessions-list",
               f"{len(listed.stdout.splitlines())} session(s) listed, with the sites that used them")
        revoked = subprocess.run([hosts.binary, "sessions", "revoke", "--user", "alice", "--config", f"{hosts.dir}/login.json"],
                                 capture_output=True, text=True)
        ended = wait_until(3, lambda: browser.signed_out("dashboard", "reports"))
        report(revoked.returncode == 0 and ended is not None, "logout/cli-revoke-ends-every-site",
               f"revoked from the CLI; both RP sessions ended "
               f"{'never (' + browser.answers() + ')' if ended is None else f'{ended * 1000:.0f} ms'} later")
    except Exception as error:
        report(False, "logout/setup", f"could not run: {error}")
    finally:
        hosts.stop_all()
    sys.exit(report.finish())


if __name__ == "__main__":
    main()

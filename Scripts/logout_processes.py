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
    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="baton-logout-")
        self.ports = {"login": free_port(), "dashboard": free_port(), "reports": free_port()}
        self.origins = {"login": "http://login.localhost:8080", "dashboard": "http://dashboard.localhost:8081",
                        "reports": "http://reports.localhost:8082"}
        secrets = {rp: f"logout-test-{rp}-secret-0123456789" for rp in ("dashboard", "reports")}
        with open(f"{self.dir}/login.json", "w") as f:
            json.dump({"listen": {"port": self.ports["login"]}, "public_origin": self.origins["login"],
                       "database": "login.sqlite", "signing_keys": "keys.json", "bcrypt_cost": 4,
                       "clients": [{"client_id": rp, "client_secret": secrets[rp],
                                    "redirect_uris": [self.origins[rp] + "/sso/callback"],
                                    "backchannel_logout_uri": f"http://127.0.0.1:{self.ports[rp]}/sso/backchannel-logout"}
                                   for rp in ("dashboard", "reports")]}, f)
        for rp in ("dashboard", "reports"):
            with open(f"{self.dir}/{rp}.json", "w") as f:
                json.dump({"listen": {"port": self.ports[rp]}, "client_id": rp, "client_secret": secrets[rp],
                           "public_origin": self.origins[rp], "issuer": self.origins["login"],
                           "login_backchannel_url": f"http://127.0.0.1:{self.ports['login']}",
                           "database": f"{rp}.sqlite", "revalidate_seconds": 0}, f)
        subprocess.run([binary, "users", "add", "alice", "--display-name", "Alice Liddell", "--config", f"{self.dir}/login.json"],
                       input=b"wonderland\n", check=True, stdout=subprocess.DEVNULL)
        self.processes = {}
        for name in ("login", "dashboard", "reports"):
            self.start(name)

    def start(self, name):
        role = "login" if name == "login" else "dashboard"
        log = open(f"{self.dir}/{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [self.binary, "serve", role, "--config", f"{self.dir}/{name}.json"], stdout=log, stderr=log, cwd=self.dir)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.ports[name], timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited early; see {self.dir}/{name}.log")
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not start within 20 s")

    def stop(self, name, sig=signal.SIGTERM):
        process = self.processes.pop(name)
        process.send_signal(sig)
        process.wait(timeout=15)

    def stop_all(self):
        for name in list(self.processes):
            self.stop(name)

    def pending_deliveries(self):
        return sqlite3.connect(f"{self.dir}/login.sqlite").execute("SELECT COUNT(*) FROM logout_deliveries").fetchone()[0]


class Browser:
    def __init__(self, hosts):
        self.hosts = hosts
        self.jar = {}

    def request(self, method, url, form=None):
        parts = urllib.parse.urlsplit(url)
        name = parts.hostname.split(".")[0]
        conn = http.client.HTTPConnection("127.0.0.1", self.hosts.ports[name], timeout=10)
        headers = {"Host": parts.netloc}
        if self.jar.get(parts.hostname):
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar[parts.hostname].items())
        body = urllib.parse.urlencode(form) if form is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for key, value in response.getheaders():
            if key.lower() == "set-cookie":
                cookie, _, _ = value.partition(";")
                k, _, v = cookie.partition("=")
                if "max-age=0" in value.lower():
                    self.jar.get(parts.hostname, {}).pop(k, None)
                else:
                    self.jar.setdefault(parts.hostname, {})[k] = v
        location = response.getheader("Location")
        if location and location.startswith("/"):
            location = f"{parts.scheme}://{parts.netloc}{location}"
        return response.status, location, text

    def follow(self, url):
        for _ in range(10):
            status, location, text = self.request("GET", url)
            if status not in (302, 303) or not location:
                return status, url, text
            url = location
        return status, url, text

    def sign_in_everywhere(self):
        status, url, page = self.follow(self.hosts.origins["dashboard"] + "/")
        if "/login" in urllib.parse.urlsplit(url).path:
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
            fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
            fields.update(username="alice", password="wonderland")
            _, location, _ = self.request("POST", self.hosts.origins["login"] + "/login", form=fields)
            status, url, page = self.follow(location)
        ok = status == 200 and "Alice Liddell" in page
        status, url, page = self.follow(self.hosts.origins["reports"] + "/")
        return ok and status == 200 and "Alice Liddell" in page

    def signed_in(self, rp):
        status, _, _ = self.request("GET", self.hosts.origins[rp] + "/")
        return status == 200

    def log_out_of_login(self):
        _, _, home = self.request("GET", self.hosts.origins["login"] + "/")
        csrf = re.search(r'name="csrf" value="([^"]*)"', home).group(1)
        started = time.monotonic()
        status, _, _ = self.request("POST", self.hosts.origins["login"] + "/logout", form={"csrf": csrf})
        return status, time.monotonic() - started


def wait_until(seconds, condition):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def main():
    binary = os.path.abspath(sys.argv[1])
    hosts = Hosts(binary)
    try:
        # 1. Both relying parties up.
        browser = Browser(hosts)
        report(browser.sign_in_everywhere(), "logout/sign-in-on-both", "alice signed in on dashboard and reports")
        status, page_time = browser.log_out_of_login()
        start = time.monotonic()
        ended = wait_until(5, lambda: not browser.signed_in("dashboard") and not browser.signed_in("reports"))
        report(status == 303 and ended is not None and ended + page_time < 2.0, "logout/ends-both-rp-sessions-within-2s",
               f"logout page answered in {page_time * 1000:.0f} ms; both RP sessions ended "
               f"{'never' if ended is None else f'{(ended + page_time) * 1000:.0f} ms'} after the logout was sent")

        # 2. reports is down during logout; the login host restarts with the delivery pending.
        browser = Browser(hosts)
        report(browser.sign_in_everywhere(), "logout/sign-in-again", "alice signed in on both again")
        hosts.stop("reports")
        status, page_time = browser.log_out_of_login()
        report(status == 303 and page_time < 1.0, "logout/unreachable-rp-does-not-block-the-logout-page",
               f"answered {status} in {page_time * 1000:.0f} ms with reports down")
        ended = wait_until(2, lambda: not browser.signed_in("dashboard"))
        report(ended is not None, "logout/reachable-rp-ends-at-once", f"dashboard ended in {(ended or 0) * 1000:.0f} ms")
        wait_until(3, lambda: hosts.pending_deliveries() == 1)
        report(hosts.pending_deliveries() == 1, "logout/delivery-to-the-down-rp-is-pending",
               f"{hosts.pending_deliveries()} delivery pending in the login host's store")
        hosts.stop("login", signal.SIGKILL)
        hosts.start("login")
        hosts.start("reports")
        came_back = time.monotonic()
        ended = wait_until(40, lambda: not browser.signed_in("reports"))
        report(ended is not None and hosts.pending_deliveries() == 0, "logout/delivered-after-rp-and-login-restart",
               f"reports' session ended {'never' if ended is None else f'{ended:.1f} s'} after it came back "
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
        ended = wait_until(3, lambda: not browser.signed_in("dashboard") and not browser.signed_in("reports"))
        report(revoked.returncode == 0 and ended is not None, "logout/cli-revoke-ends-every-site",
               f"revoked from the CLI; both RP sessions ended {'never' if ended is None else f'{ended * 1000:.0f} ms'} later")
    except Exception as error:
        report(False, "logout/setup", f"could not run: {error}")
    finally:
        hosts.stop_all()
    print(f"{RESULTS.count(True)} passed, {RESULTS.count(False)} failed")
    sys.exit(0 if all(RESULTS) else 1)


if __name__ == "__main__":
    main()

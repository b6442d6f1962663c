#!/usr/bin/env python3
"""/metrics of real hosts: `baton serve` processes (a login host and two relying
parties on free ports of 127.0.0.1, in a temporary folder) scraped with their
metrics_token and parsed with PyPI's prometheus-client parser. The values must move as
things happen — a handoff, a replay, refusals, forward-auth checks, sign-ins that fail
or are throttled, a back-channel logout sent and one left pending — no label value may
be a token, cookie, sid, username or secret the flow used, and /metrics must be 401
without the token (or with a wrong one) and 404 on a host that has none.

Usage: metrics_test.py BATON_BINARY
prometheus-client comes from this python, Debian's python3-prometheus-client (under
/usr/bin/python3), or else a virtual environment under .build/metrics-venv made on first
run. Prints one line per check and 'N passed, N failed'; exits 1 on any failure.
"""
import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(ROOT, ".build", "metrics-venv")


def ensure_parser():
    """Re-runs this script under a python that has prometheus-client: this one, else
    Debian's /usr/bin/python3 with python3-prometheus-client (.ci/run installs it), else
    a virtual environment under .build/metrics-venv with the package from PyPI."""
    try:
        import prometheus_client.parser  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("BATON_METRICS_REEXEC") == "1":
        sys.exit("prometheus-client is not importable by " + sys.executable)
    os.environ["BATON_METRICS_REEXEC"] = "1"
    system = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(system) and os.path.exists(system) and subprocess.run(
            [system, "-c", "import prometheus_client.parser"], capture_output=True).returncode == 0:
        os.execv(system, [system, os.path.abspath(__file__)] + sys.argv[1:])
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python) or subprocess.run([python, "-c", "import prometheus_client"],
                                                    capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                        "prometheus-client>=0.16,<1"], check=True)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


ensure_parser()
sys.path.insert(0, HERE)
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from batonlib import Browser, Report, ServeProcesses, free_port, hidden_inputs, path_of, wait_until  # noqa: E402

report = Report()
LOGIN = "http://login.localhost:8080"
DASHBOARD = "http://dashboard.localhost:8081"
REPORTS = "http://reports.localhost:8082"
LOGIN_TOKEN = "metrics-test-login-token-0123456789abcdef"
RP_TOKEN = "metrics-test-dashboard-token-0123456789abcdef"
SECRETS = {"dashboard": "metrics-test-dashboard-secret-0123456789", "reports": "metrics-test-reports-secret-0123456789"}
PASSWORD = "wonderland"
# Every label a Baton metric may carry: fixed words, codes and client ids, and `le`.
LABEL_NAMES = {"result", "outcome", "action", "client_id", "token", "operation", "reason", "le"}


class Hosts(ServeProcesses):
    def __init__(self, binary):
        super().__init__(binary, prefix="baton-metrics-")
        self.port = {"login": free_port(), "dashboard": free_port(), "reports": free_port()}
        # Nothing listens here: a back-channel logout to it stays pending.
        self.dead_port = free_port()
        self.write_config("login", {
            "listen": {"port": self.port["login"]}, "public_origin": LOGIN, "database": "login.sqlite",
            "signing_keys": "keys.json", "bcrypt_cost": 4, "metrics_token": LOGIN_TOKEN,
            "clients": [
                {"client_id": "dashboard", "client_secret": SECRETS["dashboard"], "redirect_uris": [DASHBOARD + "/sso/callback"],
                 "backchannel_logout_uri": f"http://127.0.0.1:{self.port['dashboard']}/sso/backchannel-logout"},
                {"client_id": "reports", "client_secret": SECRETS["reports"], "redirect_uris": [REPORTS + "/sso/callback"],
                 "backchannel_logout_uri": f"http://127.0.0.1:{self.dead_port}/sso/backchannel-logout"}]})
        for name, origin, token in [("dashboard", DASHBOARD, RP_TOKEN), ("reports", REPORTS, None)]:
            config = {"listen": {"port": self.port[name]}, "client_id": name, "client_secret": SECRETS[name],
                      "public_origin": origin, "issuer": LOGIN,
                      "login_backchannel_url": f"http://127.0.0.1:{self.port['login']}", "database": f"{name}.sqlite"}
            if token:
                config["metrics_token"] = token
            self.write_config(name, config)
        self.add_user("login", "alice", PASSWORD, "Alice Liddell")
        self.start("login", "login", self.port["login"])
        self.start("dashboard", "dashboard", self.port["dashboard"])
        self.start("reports", "dashboard", self.port["reports"])

    def raw(self, name, path, headers=()):
        conn = http.client.HTTPConnection("127.0.0.1", self.port[name], timeout=10)
        try:
            conn.request("GET", path, headers=dict(headers))
            response = conn.getresponse()
            return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def scrape(self, name, token):
        status, _, text = self.raw(name, "/metrics", [("Authorization", "Bearer " + token)])
        if status != 200:
            raise RuntimeError(f"{name} /metrics answered {status}")
        return Scrape(text)


class Scrape:
    """One exposition, parsed: every sample by (name, labels)."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.families = list(text_string_to_metric_families(text))
        for family in self.families:
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def label_values(self):
        for family in self.families:
            for sample in family.samples:
                for name, value in sample.labels.items():
                    yield family.name, name, value


def moved(before, after, name, **labels):
    return after.value(name, **labels) - before.value(name, **labels)


def check_moved(before, after, expected, name, **labels):
    delta = moved(before, after, name, **labels)
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    report(delta == expected, f"{name}{{{label_text}}}", f"moved by {delta:g} (expected {expected})")


def sign_in(browser, rp_origin):
    """The whole handoff at rp_origin: the callback URL redeemed, and the chain."""
    chain = browser.follow(rp_origin + "/")
    if path_of(chain[-1].url) == "/login":
        posted = browser.submit_login(LOGIN, chain[-1].text, "alice", PASSWORD)
        if posted.status != 303:
            raise RuntimeError(f"sign-in answered {posted.status}")
        chain = browser.follow(posted.location)
    callback = next((r.url for r in chain if path_of(r.url) == "/sso/callback"), None)
    if callback is None or chain[-1].status != 200:
        raise RuntimeError(f"no handoff: {[(r.status, r.url) for r in chain]}")
    return callback


def fresh_callback(browser, rp_origin):
    """A minted, unredeemed callback URL (its state cookie in the jar)."""
    start = browser.get(rp_origin + "/sso/start?return_to=%2F")
    minted = browser.get(start.location)
    if minted.status != 302 or "token=" not in (minted.location or ""):
        raise RuntimeError(f"/handoff answered {minted.status}")
    return minted.location


def wrong_password(hosts, username):
    browser = Browser(hosts.routes)
    form = browser.get(LOGIN + "/login")
    return browser.submit_login(LOGIN, form.text, username, "wrong-password").status


def main():
    binary = sys.argv[1]
    hosts = Hosts(binary)
    hosts.routes = {"login.localhost": hosts.port["login"], "dashboard.localhost": hosts.port["dashboard"],
                    "reports.localhost": hosts.port["reports"]}
    used = set()  # every token, cookie, sid and secret the flow saw: none may be a label value
    try:
        # -- the token --------------------------------------------------------------
        for name, token in [("login", LOGIN_TOKEN), ("dashboard", RP_TOKEN)]:
            for headers, what in [([], "no Authorization"), ([("Authorization", "Bearer " + token + "x")], "a wrong token"),
                                  ([("Authorization", "Bearer " + token[:-1])], "a token one character short"),
                                  ([("Authorization", "Basic " + base64.b64encode(token.encode()).decode())], "Basic")]:
                status, headers_back, body = hosts.raw(name, "/metrics", headers)
                report(status == 401 and headers_back.get("www-authenticate") == "Bearer" and "# TYPE" not in body,
                       f"{name}: /metrics with {what}", f"{status}, WWW-Authenticate: {headers_back.get('www-authenticate')}")
            status, _, body = hosts.raw(name, "/metrics", [("Authorization", "Bearer " + token)])
            report(status == 200 and "# TYPE" in body, f"{name}: /metrics with its token", f"{status}")
        for headers, what in [([], "no Authorization"), ([("Authorization", "Bearer " + RP_TOKEN)], "another host's token")]:
            status, _, _ = hosts.raw("reports", "/metrics", headers)
            unknown, _, _ = hosts.raw("reports", "/no-such-page", headers)
            report(status == 404 and unknown == 404, f"reports (no metrics_token): /metrics with {what}",
                   f"{status}, as an unknown path ({unknown})")

        login0, rp0 = hosts.scrape("login", LOGIN_TOKEN), hosts.scrape("dashboard", RP_TOKEN)

        # -- a handoff ----------------------------------------------------------------
        alice = Browser(hosts.routes)
        callback = sign_in(alice, DASHBOARD)
        used.add(callback.split("token=", 1)[1])
        login1, rp1 = hosts.scrape("login", LOGIN_TOKEN), hosts.scrape("dashboard", RP_TOKEN)
        check_moved(login0, login1, 1, "baton_sign_ins_total", outcome="accepted")
        check_moved(login0, login1, 1, "baton_handoffs_minted_total", client_id="dashboard")
        check_moved(login0, login1, 1, "baton_mint_duration_seconds_count")
        check_moved(login0, login1, 1, "baton_backchannel_lookups_total", result="answered")
        check_moved(rp0, rp1, 1, "baton_redemptions_total", result="ok")
        check_moved(rp0, rp1, 1, "baton_redemption_duration_seconds_count")
        check_moved(rp0, rp1, 1, "baton_backchannel_lookups_total", result="ok")
        check_moved(rp0, rp1, 1, "baton_store_operations_total", operation="burn_creating_session")
        check_moved(rp0, rp1, 1, "baton_store_operation_duration_seconds_count", operation="burn_creating_session")
        report(rp1.value("baton_jwks_fetches_total", result="ok") >= 1, "baton_jwks_fetches_total{result=\"ok\"}",
               f"{rp1.value('baton_jwks_fetches_total', result='ok'):g} after the first redemption")
        report(rp1.value("baton_redemption_duration_seconds_sum") > 0, "baton_redemption_duration_seconds_sum",
               f"{rp1.value('baton_redemption_duration_seconds_sum'):.6f} s")

        # -- a replay, and refusals -----------------------------------------------------
        replay = Browser(hosts.routes).get(callback)
        report(replay.error == "token_replayed", "the replay is refused", f"{replay.status} {replay.error}")
        mallory = Browser(hosts.routes)
        mallory.jar = {"login.localhost": dict(alice.jar.get("login.localhost", {}))}
        forged = fresh_callback(mallory, DASHBOARD)
        used.add(forged.split("token=", 1)[1])
        head, payload, signature = forged.split("token=", 1)[1].split(".")
        # A character of R, in the middle: still strict base64url, no longer the signature.
        signature = signature[:10] + ("B" if signature[10] != "B" else "C") + signature[11:]
        tampered = forged.split("token=", 1)[0] + "token=" + ".".join([head, payload, signature])
        refused = mallory.get(tampered)
        report(refused.error == "token_invalid_signature", "a tampered signature is refused", f"{refused.status} {refused.error}")
        malformed = Browser(hosts.routes).get(DASHBOARD + "/sso/callback?token=a.b.c")
        rp2 = hosts.scrape("dashboard", RP_TOKEN)
        check_moved(rp1, rp2, 1, "baton_replays_total", token="handoff")
        check_moved(rp1, rp2, 1, "baton_redemptions_total", result="token_replayed")
        check_moved(rp1, rp2, 1, "baton_redemptions_total", result="token_invalid_signature")
        check_moved(rp1, rp2, 1 if malformed.error == "token_malformed" else 0, "baton_redemptions_total", result="token_malformed")
        check_moved(rp1, rp2, 0, "baton_redemptions_total", result="ok")
        check_moved(rp1, rp2, 3, "baton_redemption_duration_seconds_count")

        # -- forward auth -----------------------------------------------------------------
        ok = alice.get(DASHBOARD + "/sso/auth")
        signed_out = Browser(hosts.routes).get(DASHBOARD + "/sso/auth")
        not_permitted = alice.get(DASHBOARD + "/sso/auth?group=admins")
        rp3 = hosts.scrape("dashboard", RP_TOKEN)
        report((ok.status, signed_out.status, not_permitted.status) == (200, 401, 403), "forward-auth answers",
               f"{ok.status} {signed_out.status} {not_permitted.status}")
        check_moved(rp2, rp3, 1, "baton_forward_auth_checks_total", result="ok")
        check_moved(rp2, rp3, 1, "baton_forward_auth_checks_total", result="signed_out")
        check_moved(rp2, rp3, 1, "baton_forward_auth_checks_total", result="not_permitted")
        check_moved(rp2, rp3, 3, "baton_forward_auth_duration_seconds_count")

        # -- sign-ins refused and throttled, a back-channel lookup refused ----------------------
        statuses = [wrong_password(hosts, "nobody") for _ in range(6)]
        status, _, _ = hosts.raw("login", "/api/sessions/whatever", [
            ("Host", "login.localhost:8080"), ("Authorization", "Basic " + base64.b64encode(b"dashboard:wrong-secret").decode())])
        login2 = hosts.scrape("login", LOGIN_TOKEN)
        report(statuses == [401] * 5 + [429] and status == 401, "five wrong passwords, then 429; a wrong client secret 401",
               f"{statuses}, {status}")
        check_moved(login1, login2, 5, "baton_sign_ins_total", outcome="refused")
        check_moved(login1, login2, 1, "baton_sign_ins_total", outcome="throttled")
        check_moved(login1, login2, 1, "baton_sign_in_throttle_total", action="refused")
        check_moved(login1, login2, 1, "baton_backchannel_lookups_total", result="refused")
        check_moved(login1, login2, 0, "baton_sign_ins_total", outcome="accepted")

        # -- back-channel logout: one delivered, one left pending -------------------------------
        sign_in(alice, REPORTS)
        hosts.stop("reports")  # its backchannel_logout_uri points nowhere anyway; its sessions are gone with it
        home = alice.get(LOGIN + "/")
        logout = alice.post(LOGIN + "/logout", hidden_inputs(home.text))
        report(logout.status == 303, "alice signs out on the login host", f"{logout.status}")

        def delivered():
            login_now = hosts.scrape("login", LOGIN_TOKEN)
            return (moved(login2, login_now, "baton_logout_deliveries_total", result="sent") >= 1
                    and moved(login2, login_now, "baton_logout_deliveries_total", result="failed") >= 1)
        waited = wait_until(10, delivered, step=0.2)
        time.sleep(1.2)
        login3, rp4 = hosts.scrape("login", LOGIN_TOKEN), hosts.scrape("dashboard", RP_TOKEN)
        report(waited is not None, "one logout sent, one failed", f"within {waited if waited is None else round(waited, 2)} s")
        check_moved(login2, login3, 1, "baton_logout_deliveries_total", result="sent")
        check_moved(rp3, rp4, 1, "baton_backchannel_logouts_total", result="ok")
        report(login3.value("baton_logout_deliveries_pending") == 1, "baton_logout_deliveries_pending",
               f"{login3.value('baton_logout_deliveries_pending'):g} (the delivery to the relying party that is down)")
        report(login3.value("baton_logout_delivery_oldest_pending_seconds") >= 1, "baton_logout_delivery_oldest_pending_seconds",
               f"{login3.value('baton_logout_delivery_oldest_pending_seconds'):.2f} s")
        for scrape, name in [(login3, "login"), (rp4, "dashboard")]:
            rss = scrape.value("process_resident_memory_bytes")
            fds = scrape.value("process_open_fds")
            report(rss > 5e6 and 5 < fds < 10000, f"{name}: process gauges", f"{rss / 2**20:.1f} MiB resident, {fds:g} open fds")

        # -- no label value is a secret ----------------------------------------------------------
        for browser in (alice, mallory):
            for cookies in browser.jar.values():
                used.update(v for v in cookies.values() if v)
        for token in list(used):
            parts = token.split(".")
            used.update(parts)
            if len(parts) == 3:
                claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
                used.update(str(claims[k]) for k in ("sid", "jti", "nonce") if k in claims)
        used.update(SECRETS.values())
        used.update([LOGIN_TOKEN, RP_TOKEN, PASSWORD, "alice", "Alice Liddell", "nobody"])
        problems = []
        for scrape, name in [(login3, "login"), (rp4, "dashboard")]:
            for family, label, value in scrape.label_values():
                if label not in LABEL_NAMES:
                    problems.append(f"{name} {family}: label {label}")
                if any(secret and (secret == value or (len(secret) >= 8 and secret in value)) for secret in used):
                    problems.append(f"{name} {family}{{{label}={value!r}}}")
                if label != "le" and not re.fullmatch(r"[a-z0-9_]{1,40}", value):
                    problems.append(f"{name} {family}{{{label}={value!r}}}: not a fixed word")
            for secret in used:
                if len(secret) >= 8 and secret in scrape.text:
                    problems.append(f"{name}: the exposition contains {secret[:12]}…")
        labels = sum(1 for scrape in (login3, rp4) for _ in scrape.label_values())
        report(not problems, "no label value is a token, cookie, sid, username or secret",
               f"{labels} label values checked against {len(used)} values the flow used" if not problems else "; ".join(problems[:5]))
    finally:
        hosts.stop_all()
    failed = report.results.count(False)
    if failed:
        print(f"  kept for inspection: {hosts.dir}")
    else:
        shutil.rmtree(hosts.dir, ignore_errors=True)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

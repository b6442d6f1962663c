#!/usr/bin/env python3
"""Drives the handoff of a running `baton demo` over real sockets, like a browser
(see batonlib.Browser).

  python3 Scripts/flow.py              sign in on dashboard and reports, replay refused
  python3 Scripts/flow.py --wait-only  exit 0 once all three hosts answer /healthz
"""
import sys

from batonlib import Browser, path_of

ROUTES = {"login.localhost": 8080, "dashboard.localhost": 8081, "reports.localhost": 8082}


def check(condition, message):
    if not condition:
        print("FAIL " + message)
        sys.exit(1)
    print("ok   " + message)


def main():
    if "--wait-only" in sys.argv:
        # The app relying party listens on 8083; its public origin is the proxy's (8090).
        hosts = {**ROUTES, "app.localhost": 8083}
        for host, port in hosts.items():
            if Browser(hosts).get(f"http://{host}:{port}/healthz").status != 200:
                sys.exit(1)
        return
    browser = Browser(ROUTES)
    form = browser.follow("http://dashboard.localhost:8081/")[-1]
    check(form.status == 200 and path_of(form.url) == "/login", "the dashboard sends a signed-out person to the login form")
    posted = browser.submit_login("http://login.localhost:8080", form.text, "alice", "wonderland")
    check(posted.status == 303, "signing in as alice is accepted")
    chain = browser.follow(posted.location)
    callback = next((r.url for r in chain if path_of(r.url) == "/sso/callback"), None)
    check(callback is not None and "token=" in callback, "the login host hands back a token")
    check(chain[-1].status == 200 and "Alice Liddell" in chain[-1].text, "the dashboard shows alice, signed in")
    check(all("token=" not in r.text for r in chain), "no page shows the token")
    chain = browser.follow("http://reports.localhost:8082/")
    check(chain[-1].status == 200 and "Alice Liddell" in chain[-1].text and all(path_of(r.url) != "/login" for r in chain),
          "reports signs alice in without a password")
    replay = Browser(ROUTES).get(callback)
    check(replay.status == 403 and replay.error == "token_replayed", "a replayed token is refused with token_replayed")


if __name__ == "__main__":
    main()

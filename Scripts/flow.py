#!/usr/bin/env python3
"""Drives the handoff of a running `baton demo` over real sockets, like a browser
(see batonlib.Browser).

  python3 Scripts/flow.py              sign in on dashboard and reports, replay refused
  python3 Scripts/flow.py --wait-only  exit 0 once all three hosts answer /healthz
  python3 Scripts/flow.py --save-cookie FILE
                                       the same, then keep the login host's cookie in FILE
  python3 Scripts/flow.py --reuse-cookie FILE
                                       a browser holding only that login cookie is signed in
                                       on the dashboard without a password (the login
                                       session survived, e.g. a restart)
"""
import json
import sys

from batonlib import Browser, path_of

ROUTES = {"login.localhost": 8080, "dashboard.localhost": 8081, "reports.localhost": 8082}


def check(condition, message):
    if not condition:
        print("FAIL " + message)
        sys.exit(1)
    print("ok   " + message)


def option(name):
    """The value after `name` on the command line, or None."""
    if name not in sys.argv:
        return None
    index = sys.argv.index(name)
    if index + 1 >= len(sys.argv):
        print(f"{name} needs a FILE")
        sys.exit(2)
    return sys.argv[index + 1]


def reuse_cookie(path):
    with open(path) as f:
        saved = json.load(f)
    check(saved.get("__Host-baton_login"), "a login cookie was saved before")
    browser = Browser(ROUTES)
    browser.jar["login.localhost"] = {"__Host-baton_login": saved["__Host-baton_login"]}
    chain = browser.follow("http://dashboard.localhost:8081/")
    check(all(path_of(r.url) != "/login" for r in chain), "the saved login cookie still signs in: no sign-in form on the way")
    check(chain[-1].status == 200 and "Alice Liddell" in chain[-1].text, "the dashboard shows alice, signed in by the saved login session")


def main():
    if option("--reuse-cookie"):
        reuse_cookie(option("--reuse-cookie"))
        return
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
    save = option("--save-cookie")
    if save:
        login_cookie = browser.jar.get("login.localhost", {}).get("__Host-baton_login")
        check(login_cookie, "the login host set its session cookie")
        with open(save, "w") as f:
            json.dump({"__Host-baton_login": login_cookie}, f)


if __name__ == "__main__":
    main()

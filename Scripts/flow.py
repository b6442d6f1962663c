#!/usr/bin/env python3
"""Drives the handoff of a running `baton demo` over real sockets, like a browser:
connects to 127.0.0.1 and sends the public *.localhost names as Host, keeps one
cookie jar per host name, and follows no redirect by itself.

  python3 Scripts/flow.py              sign in on dashboard and reports, replay refused
  python3 Scripts/flow.py --wait-only  exit 0 once all three hosts answer /healthz
"""
import http.client
import re
import sys
import urllib.parse

PORTS = {"login.localhost": 8080, "dashboard.localhost": 8081, "reports.localhost": 8082}


class Browser:
    def __init__(self):
        self.jar = {}

    def request(self, method, url, form=None):
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        conn = http.client.HTTPConnection("127.0.0.1", PORTS[host], timeout=10)
        target = parts.path + ("?" + parts.query if parts.query else "")
        headers = {"Host": parts.netloc}
        cookies = self.jar.get(host, {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie, _, attributes = value.partition(";")
                key, _, val = cookie.partition("=")
                if "max-age=0" in attributes.lower():
                    self.jar.get(host, {}).pop(key, None)
                else:
                    self.jar.setdefault(host, {})[key] = val
        conn.close()
        location = response.getheader("Location")
        if location and location.startswith("/"):
            location = f"{parts.scheme}://{parts.netloc}{location}"
        return response.status, location, text, response.getheader("Baton-Error")

    def follow(self, url, hops=10):
        chain = []
        for _ in range(hops):
            status, location, text, error = self.request("GET", url)
            chain.append((url, status, location, text, error))
            if status not in (302, 303) or not location:
                break
            url = location
        return chain


def check(condition, message):
    if not condition:
        print("FAIL " + message)
        sys.exit(1)
    print("ok   " + message)


def main():
    if "--wait-only" in sys.argv:
        for host in PORTS:
            status, _, _, _ = Browser().request("GET", f"http://{host}:{PORTS[host]}/healthz")
            if status != 200:
                sys.exit(1)
        return
    browser = Browser()
    chain = browser.follow("http://dashboard.localhost:8081/")
    url, status, _, page, _ = chain[-1]
    check(status == 200 and "/login" in url, "the dashboard sends a signed-out person to the login form")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    fields = {k: v.replace("&amp;", "&").replace("&#x2F;", "/").replace("&#x3D;", "=") for k, v in fields.items()}
    fields.update(username="alice", password="wonderland")
    status, location, _, _ = browser.request("POST", "http://login.localhost:8080/login", form=fields)
    check(status == 303, "signing in as alice is accepted")
    chain = browser.follow(location)
    callback = next((c[0] for c in chain if "/sso/callback" in c[0]), None)
    check(callback is not None and "token=" in callback, "the login host hands back a token")
    check(chain[-1][1] == 200 and "Alice Liddell" in chain[-1][3], "the dashboard shows alice, signed in")
    check(all("token=" not in c[3] for c in chain), "no page shows the token")
    chain = browser.follow("http://reports.localhost:8082/")
    check(chain[-1][1] == 200 and "Alice Liddell" in chain[-1][3] and all(urllib.parse.urlsplit(c[0]).path != "/login" for c in chain),
          "reports signs alice in without a password")
    thief = Browser()
    status, _, _, error = thief.request("GET", callback)
    check(status == 403 and error == "token_replayed", "a replayed token is refused with token_replayed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""SIGTERM under load: a host stops cleanly while handoffs run without pause.

  python3 Scripts/shutdown_test.py BATON_BINARY

Starts a real login host and relying party (`baton serve`, free ports, a temporary
folder), keeps 8 browsers signing in and redeeming fresh tokens in a loop, then sends
SIGTERM to the relying party: every request that was answered got a whole answer (no
reset mid-response, no 5xx), the process exits 0 within shutdown_timeout_seconds, and
after a restart every token that was redeemed is refused as a replay (none accepted
twice). Then the same for the login host. Stops everything it starts.
"""
import http.client
import os
import signal
import socket
import sys
import threading
import time

from batonlib import Browser, Report, ServeProcesses, free_port

report = Report()
SHUTDOWN_TIMEOUT = 5


def worker(routes, login_cookie, stop, results, requests, lock):
    """One browser in a loop: /sso/start, /handoff, /sso/callback. Every HTTP request is
    recorded on its own (host, start, end, status or error), every redemption too."""
    browser = Browser(routes)
    browser.jar["login.localhost"] = {"__Host-baton_login": login_cookie}

    def get(host, url):
        started = time.monotonic()
        try:
            response = browser.get(url)
            answer = response.status
        except (ConnectionError, OSError, http.client.HTTPException) as error:
            response, answer = None, type(error).__name__
        with lock:
            requests.append((host, started, time.monotonic(), answer))
        return response

    while not stop.is_set():
        start = get("rp", "http://dashboard.localhost:8081/sso/start?return_to=/")
        if start is None or not start.location:
            continue
        minted = get("login", start.location)
        if minted is None or minted.status != 302 or "token=" not in (minted.location or ""):
            continue
        state = browser.jar.get("dashboard.localhost", {}).get("__Host-baton_state")
        redeemed = get("rp", minted.location)
        if redeemed is not None:
            with lock:
                results.append((minted.location, state, redeemed.status, redeemed.error))


def slow_request(port, host_header, path, answers):
    """A form post whose body takes 1.5 s to arrive: in flight across the signal for sure."""
    body = b"csrf=" + b"x" * 35
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n"
                               f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                               f"Connection: close\r\n\r\n".encode())
            for index in range(len(body)):
                connection.sendall(body[index:index + 1])
                time.sleep(1.5 / len(body))
            reply = b""
            while chunk := connection.recv(4096):
                reply += chunk
        answers.append(reply.split(b"\r\n", 1)[0].decode(errors="replace"))
    except OSError as error:
        answers.append(f"cut off: {type(error).__name__}")


def load(hosts, routes, login_cookie, victim, seconds_before=2.0):
    """Runs the workers, SIGTERMs `victim` after a while; returns (results, signal time, exit code, seconds to exit)."""
    stop, lock, results, requests = threading.Event(), threading.Lock(), [], []
    threads = [threading.Thread(target=worker, args=(routes, login_cookie, stop, results, requests, lock), daemon=True)
               for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(seconds_before - 0.5)
    slow_answers = []
    port, host_header = ((routes["dashboard.localhost"], "dashboard.localhost:8081") if victim == "rp"
                         else (routes["login.localhost"], "login.localhost:8080"))
    slow = threading.Thread(target=slow_request, args=(port, host_header, "/logout", slow_answers), daemon=True)
    slow.start()
    time.sleep(0.5)
    process = hosts.processes[victim]
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=SHUTDOWN_TIMEOUT + 5)
    except Exception:
        process.kill()
        code = "killed after the bound"
    exited = time.monotonic() - signalled
    del hosts.processes[victim]
    time.sleep(0.3)
    stop.set()
    for thread in threads + [slow]:
        thread.join(timeout=30)
    return results, requests, signalled, code, exited, slow_answers


def main():
    binary = os.path.abspath(sys.argv[1])
    hosts = ServeProcesses(binary, prefix="baton-shutdown-")
    try:
        login_port, rp_port = free_port(), free_port()
        secret = "shutdown-test-secret-0123456789abcdef"
        hosts.write_config("login", {
            "listen": {"port": login_port}, "public_origin": "http://login.localhost:8080", "database": "login.sqlite",
            "signing_keys": "keys.json", "bcrypt_cost": 4, "shutdown_timeout_seconds": SHUTDOWN_TIMEOUT,
            "clients": [{"client_id": "dashboard", "client_secret": secret,
                         "redirect_uris": ["http://dashboard.localhost:8081/sso/callback"]}]})
        hosts.write_config("rp", {
            "listen": {"port": rp_port}, "client_id": "dashboard", "client_secret": secret,
            "public_origin": "http://dashboard.localhost:8081", "issuer": "http://login.localhost:8080",
            "login_backchannel_url": f"http://127.0.0.1:{login_port}", "database": "dashboard.sqlite",
            "shutdown_timeout_seconds": SHUTDOWN_TIMEOUT})
        hosts.add_user("login", "alice", "wonderland", "Alice Liddell")
        hosts.start("login", "login", login_port)
        hosts.start("rp", "dashboard", rp_port)
        routes = {"login.localhost": login_port, "dashboard.localhost": rp_port}
        browser = Browser(routes)
        form = browser.follow("http://dashboard.localhost:8081/")[-1]
        posted = browser.submit_login("http://login.localhost:8080", form.text, "alice", "wonderland")
        login_cookie = browser.jar["login.localhost"]["__Host-baton_login"]
        report(posted.status == 303, "sign-in", "alice signed in: the workers reuse her login session")

        for victim in ["rp", "login"]:
            results, requests, signalled, code, exited, slow = load(hosts, routes, login_cookie, victim)
            report(slow and slow[0].startswith("HTTP/1.1 "), f"{victim}/a-slow-request-across-the-signal-finishes",
                   f"a form post trickled over 1.5 s, the signal in its middle, was answered: {slow[0] if slow else 'nothing'}")
            # Requests to the stopping host that it had accepted before the signal (with a
            # margin for the signal's delivery) must all get a whole answer.
            in_flight = [r for r in requests if r[0] == victim and r[1] < signalled - 0.02]
            cut_off = [r for r in in_flight if not isinstance(r[3], int)]
            errors = [r for r in in_flight if isinstance(r[3], int) and r[3] >= 500]
            across = [r for r in in_flight if r[2] > signalled]
            redeemed = [r for r in results if r[2] == 303]
            report(len(redeemed) > 20, f"{victim}/load", f"{len(redeemed)} handoffs redeemed, {len(requests)} requests")
            report(not cut_off and not errors, f"{victim}/requests-in-flight-finish",
                   f"{len(in_flight)} requests sent before the signal, {len(across)} of them still running when it came: "
                   f"{len(cut_off)} cut off, {len(errors)} 5xx")
            report(code == 0 and exited <= SHUTDOWN_TIMEOUT + 1, f"{victim}/exit-0-within-the-timeout",
                   f"exit status {code} {exited:.2f} s after SIGTERM (shutdown_timeout_seconds {SHUTDOWN_TIMEOUT})")
            hosts.start(victim, "dashboard" if victim == "rp" else "login", rp_port if victim == "rp" else login_port)
            twice = 0
            for callback, state, _, _ in redeemed:
                replay = Browser(routes)
                if state:
                    replay.jar["dashboard.localhost"] = {"__Host-baton_state": state}
                again = replay.get(callback)
                if again.status == 303 or again.error != "token_replayed":
                    twice += 1
            report(twice == 0, f"{victim}/no-token-accepted-twice",
                   f"{len(redeemed)} redeemed tokens replayed with their own state cookies after the restart: "
                   f"{twice} not refused as token_replayed")
    finally:
        hosts.stop_all()
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

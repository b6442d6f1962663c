#!/usr/bin/env python3
"""Connections across real processes: a `baton serve login` and a `baton serve dashboard`
(127.0.0.1, free ports, a temporary folder; every process it starts is stopped), each
started with a soft RLIMIT_NOFILE of 1,024, as CI machines often give, so the checks
below hold only because baton raises its own soft limit to the hard one.

For each host:
  1. baton raised its soft open-file limit to the hard one (/proc/PID/limits);
  2. with 1,500 silent connections open (connected, nothing sent), a new /healthz and
     a real page (the sign-in form; the relying party's /sso/start) answer within 1 s;
  3. a request whose body trickles one byte every 200 ms is closed within
     request_timeout_seconds (3 here) + 2 s.

Usage: connections_test.py BATON_BINARY    (prints one line per check, then 'N passed, N failed')
"""
import os
import resource
import select
import shutil
import signal
import socket
import sys
import time

from batonlib import Browser, Report, ServeProcesses, free_port, wait_until

report = Report()
SILENT = 1500
REQUEST_TIMEOUT = 3
CHILD_SOFT_LIMIT = 1024
ORIGINS = {"login": "http://login.localhost:8080", "dashboard": "http://dashboard.localhost:8081"}


def ci_soft_limit():
    """Runs in each baton child before exec: the soft limit CI would give it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(CHILD_SOFT_LIMIT, hard), hard))


class Hosts(ServeProcesses):
    def __init__(self, binary):
        super().__init__(binary, prefix="baton-connections-")
        self.port_of = {"login": free_port(), "dashboard": free_port()}
        secret = "connections-test-secret-0123456789"
        self.write_config("login", {
            "listen": {"port": self.port_of["login"]}, "public_origin": ORIGINS["login"], "database": "login.sqlite",
            "signing_keys": "keys.json", "bcrypt_cost": 4, "request_timeout_seconds": REQUEST_TIMEOUT,
            "clients": [{"client_id": "dashboard", "client_secret": secret,
                         "redirect_uris": [ORIGINS["dashboard"] + "/sso/callback"]}]})
        self.write_config("dashboard", {
            "listen": {"port": self.port_of["dashboard"]}, "client_id": "dashboard", "client_secret": secret,
            "public_origin": ORIGINS["dashboard"], "issuer": ORIGINS["login"],
            "login_backchannel_url": f"http://127.0.0.1:{self.port_of['login']}", "database": "dashboard.sqlite",
            "request_timeout_seconds": REQUEST_TIMEOUT})
        try:
            for name in ("login", "dashboard"):
                self.start(name, name, self.port_of[name], preexec_fn=ci_soft_limit)
        except BaseException:
            self.stop_all()
            raise


def open_files_limit(pid):
    """(soft, hard) 'Max open files' of process pid, or None without /proc."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    soft, hard = line.split()[3:5]
                    return soft, hard
    except OSError:
        return None
    return None


def open_silent(port, count, pid):
    """count connections to port that send nothing, opened one after another in batches the
    host (process pid) has accepted before the next: a flood would overflow the listen
    backlog (dropped SYNs, retried a second later) or meet SYN cookies (sockets that look
    connected but were never accepted). Stops at the first that does not connect in 3 s."""
    connected = []
    while len(connected) < count:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        except OSError:
            break
        sock.setblocking(False)
        connected.append(sock)
        if len(connected) % 100 == 0:
            wait_until(2, lambda: (server_sockets(pid) or len(connected)) >= len(connected))
    return connected


def server_sockets(pid):
    """How many sockets process pid holds open, or None without /proc."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return None
    return sum(link.startswith("socket:") for link in links)


def still_open(sockets):
    """How many of sockets (non-blocking) the server has not closed."""
    alive = 0
    for sock in sockets:
        try:
            alive += sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def timed(request):
    started = time.monotonic()
    try:
        result = request()
    except Exception as error:  # a refused or timed-out connection is the failure being measured
        result = error
    return result, time.monotonic() - started


def describe(result):
    return f"{type(result).__name__}: {result}" if isinstance(result, Exception) else f"{result.status}"


def trickle_body(port, host_header, path):
    """Sends a head with Content-Length: 100, then a body byte every 200 ms; seconds from the
    first byte until the server closed the connection, None if it had not within the bound,
    or the error if it could not connect."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError as error:
        return error
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n")
        started = time.monotonic()
        sock.sendall(head.encode())
        sent = 0
        # Bounded: a second past the allowed time, and never the whole body.
        while time.monotonic() - started < REQUEST_TIMEOUT + 3 and sent < 99:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                try:
                    if sock.recv(4096) == b"":
                        return time.monotonic() - started
                except OSError:
                    return time.monotonic() - started
                continue  # an answer (408) before the close: wait for the close itself
            try:
                sock.send(b"a")
                sent += 1
            except OSError:
                return time.monotonic() - started
        return None
    finally:
        sock.close()


def check_host(hosts, name):
    port = hosts.port_of[name]
    browser = Browser({f"{host}.localhost": p for host, p in hosts.port_of.items()})

    limits = open_files_limit(hosts.processes[name].pid)
    if limits is not None:
        report(limits[0] == limits[1], f"{name}/raises-open-file-limit-to-hard",
               f"started with soft {CHILD_SOFT_LIMIT}; baton's soft/hard RLIMIT_NOFILE now {limits[0]}/{limits[1]}")

    pid = hosts.processes[name].pid
    silent = open_silent(port, SILENT, pid)
    try:
        # The host must hold them itself, not leave them queued in the kernel.
        wait_until(3, lambda: (server_sockets(pid) or 0) >= SILENT)
        held = server_sockets(pid)
        alive = still_open(silent)
        report(len(silent) == SILENT and alive == SILENT and (held is None or held >= SILENT),
               f"{name}/holds-{SILENT}-silent-connections",
               f"{len(silent)} of {SILENT} connected, {alive} still open; "
               f"the host holds {'(no /proc)' if held is None else held} sockets")
        health, took = timed(lambda: browser.request("GET", ORIGINS[name] + "/healthz", timeout=2))
        report(not isinstance(health, Exception) and health.status == 200 and took < 1.0,
               f"{name}/healthz-within-1s-beside-{SILENT}-silent-connections",
               f"answered {describe(health)} in {took * 1000:.0f} ms")
        if name == "login":
            page, took = timed(lambda: browser.request("GET", ORIGINS["login"] + "/login", timeout=2))
            ok = not isinstance(page, Exception) and page.status == 200 and "<form" in page.text
            what = "the sign-in form"
        else:
            page, took = timed(lambda: browser.request("GET", ORIGINS["dashboard"] + "/sso/start?return_to=%2F", timeout=2))
            ok = (not isinstance(page, Exception) and page.status == 303
                  and (page.location or "").startswith(ORIGINS["login"] + "/handoff"))
            what = "/sso/start (a pending sign-in stored, 303 to the login host)"
        report(ok and took < 1.0, f"{name}/real-page-within-1s-beside-{SILENT}-silent-connections",
               f"{what} answered {describe(page)} in {took * 1000:.0f} ms")
    finally:
        for sock in silent:
            sock.close()

    path = "/login" if name == "login" else "/sso/backchannel-logout"
    closed = trickle_body(port, ORIGINS[name].split("//")[1], path)
    health, _ = timed(lambda: browser.request("GET", ORIGINS[name] + "/healthz", timeout=2))
    if closed is None:
        outcome = "still open"
    elif isinstance(closed, Exception):
        outcome = f"could not connect ({describe(closed)})"
    else:
        outcome = f"closed after {closed:.2f} s"
    report(isinstance(closed, float) and closed <= REQUEST_TIMEOUT + 2
           and not isinstance(health, Exception) and health.status == 200,
           f"{name}/trickled-body-closed-within-request-timeout",
           f"POST {path} with Content-Length: 100, a byte every 200 ms: {outcome} "
           f"(request_timeout_seconds {REQUEST_TIMEOUT} + 2 s allowed); /healthz then {describe(health)}")


def main():
    binary = os.path.abspath(sys.argv[1])
    # `timeout` in Scripts/test sends SIGTERM: stop the hosts on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < SILENT + 100:
        report(False, "connections/hard-open-file-limit",
               f"the hard RLIMIT_NOFILE is {hard}, below {SILENT + 100}: this machine cannot hold {SILENT} connections "
               "in one process, so nothing was tested (raise the hard limit, e.g. `ulimit -Hn 4096` as root)")
        return report.finish()
    # This script holds the silent connections itself.
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hosts = Hosts(binary)
    try:
        for name in ("login", "dashboard"):
            check_host(hosts, name)
    finally:
        hosts.stop_all()
    if all(report.results):
        shutil.rmtree(hosts.dir, ignore_errors=True)
    else:
        print(f"the hosts' logs are in {hosts.dir}")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

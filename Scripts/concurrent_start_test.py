#!/usr/bin/env python3
"""Replicas starting together on one fresh store (PROTOCOL.md "Storage and replicas":
migrations run exactly once however many processes start together).

Each round makes a fresh folder with no database yet and starts, at the same moment,
two login-host replicas and two relying-party replicas that share one SQLite file: the
login replicas run from one configuration file with `--listen` each and
`signing_keys: "database"`, the relying parties from another. Every process must start
(/readyz 200 within 30 s), and the two login replicas must publish the same JWKS with
exactly one key: the key ring was created once. One line per round, then
`N passed, N failed`; exit status 1 when any round fails. Stops every process it starts.

Usage: concurrent_start_test.py BATON_BINARY [--rounds N] [--one-config-each]

--one-config-each gives every process a configuration file of its own (its own
`listen`, one shared key file, /healthz instead of /readyz): the migration race
alone, for binaries from before `--listen`, `signing_keys: "database"` and /readyz.
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batonlib import Report, free_port  # noqa: E402

SECRET = "concurrent-start-secret-0123456789"
LOGIN_ORIGIN = "http://login.localhost:8080"
RP_ORIGIN = "http://dashboard.localhost:8081"


def get(port, path):
    """(status, body) of GET path on 127.0.0.1:port, or None when nothing answers."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        conn.close()


def write(path, config):
    with open(path, "w") as f:
        json.dump(config, f)


def login_config(port, signing_keys):
    return {"listen": {"port": port}, "public_origin": LOGIN_ORIGIN, "database": "shared.sqlite",
            "signing_keys": signing_keys, "bcrypt_cost": 4,
            "clients": [{"client_id": "dashboard", "client_secret": SECRET,
                         "redirect_uris": [RP_ORIGIN + "/sso/callback"]}]}


def rp_config(port):
    return {"listen": {"port": port}, "client_id": "dashboard", "client_secret": SECRET,
            "public_origin": RP_ORIGIN, "issuer": LOGIN_ORIGIN, "database": "shared.sqlite"}


def one_round(binary, index, one_config_each):
    folder = tempfile.mkdtemp(prefix=f"baton-start-{index}-")
    ports = {name: free_port() for name in ("login0", "login1", "rp0", "rp1")}
    commands = {}
    if one_config_each:
        for name, port in ports.items():
            config = login_config(port, "keys.json") if name.startswith("login") else rp_config(port)
            write(f"{folder}/{name}.json", config)
            role = "login" if name.startswith("login") else "dashboard"
            commands[name] = [binary, "serve", role, "--config", f"{folder}/{name}.json"]
    else:
        # The files' own `listen` is a port nobody uses: every replica overrides it.
        write(f"{folder}/login.json", login_config(1, "database"))
        write(f"{folder}/rp.json", rp_config(1))
        for name, port in ports.items():
            role, config = ("login", "login.json") if name.startswith("login") else ("dashboard", "rp.json")
            commands[name] = [binary, "serve", role, "--config", f"{folder}/{config}", "--listen", f"127.0.0.1:{port}"]
    processes = {}
    try:
        for name, command in commands.items():
            log = open(f"{folder}/{name}.log", "wb")
            processes[name] = subprocess.Popen(command, stdout=log, stderr=log, cwd=folder)
        probe = "/healthz" if one_config_each else "/readyz"
        waiting = set(processes)
        failures = []
        deadline = time.monotonic() + 30
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                answer = get(ports[name], probe)
                if answer and answer[0] == 200:
                    waiting.discard(name)
                elif processes[name].poll() is not None:
                    waiting.discard(name)
                    with open(f"{folder}/{name}.log", errors="replace") as f:
                        lines = [line.strip() for line in f if line.strip()]
                    said = ([line for line in lines if line.startswith("Error")] or lines or ["(no output)"])[-1]
                    failures.append(f"{name} exited {processes[name].returncode}: {said[:200]}")
            time.sleep(0.05)
        failures += [f"{name} did not answer {probe} 200 within 30 s" for name in sorted(waiting)]
        if not failures:
            jwks = [get(ports[name], "/.well-known/jwks.json") for name in ("login0", "login1")]
            kids = [sorted(key["kid"] for key in json.loads(body)["keys"]) if answer == 200 else None
                    for answer, body in (j or (None, None) for j in jwks)]
            if kids[0] is None or kids[0] != kids[1] or len(kids[0]) != 1:
                failures.append(f"the login replicas publish {kids[0]} and {kids[1]}, not one and the same key")
        return failures
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    binary = os.path.abspath(args[0])
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 10
    one_config_each = "--one-config-each" in args
    report = Report()
    for index in range(rounds):
        failures = one_round(binary, index, one_config_each)
        report(not failures, f"concurrent-start/round-{index + 1}",
               "; ".join(failures) or "4 processes started together on one fresh SQLite file; one key ring")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Every file Baton writes is its owner's only, even when started under umask 022:
keys (and the key file's temporary file), client secrets, SQLite databases with their
-wal and -shm from the first open, and the folders Baton creates (0700).

  python3 Scripts/private_files_test.py BATON_BINARY

Starts a real login host and relying party (`baton serve`, free ports, a temporary
folder), signs alice in across both so every file exists and has been written, runs the
store commands (`users add`, `keys rotate`, the demo's `--data-dir` setup), then checks
the mode of every file and folder under the state folders. Stops what it starts.
"""
import os
import stat
import subprocess
import sys

from batonlib import Browser, Report, ServeProcesses, free_port, path_of

report = Report()


def permissive_umask():
    os.umask(0o022)


def modes(root):
    """(path, mode) of every file and folder below root, root excluded."""
    found = []
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            found.append((path, stat.S_IMODE(os.lstat(path).st_mode)))
    return found


def main():
    binary = os.path.abspath(sys.argv[1])
    hosts = ServeProcesses(binary, prefix="baton-private-files-")
    try:
        login_port, rp_port = free_port(), free_port()
        secret = "private-files-secret-0123456789abcdef"
        state = "state/nested"  # folders Baton must create itself
        hosts.write_config("login", {
            "listen": {"port": login_port}, "public_origin": "http://login.localhost:8080",
            "database": f"{state}/login.sqlite", "signing_keys": f"{state}/keys/login-keys.json", "bcrypt_cost": 4,
            "clients": [{"client_id": "dashboard", "client_secret": secret,
                         "redirect_uris": ["http://dashboard.localhost:8081/sso/callback"]}]})
        hosts.write_config("rp", {
            "listen": {"port": rp_port}, "client_id": "dashboard", "client_secret": secret,
            "public_origin": "http://dashboard.localhost:8081", "issuer": "http://login.localhost:8080",
            "login_backchannel_url": f"http://127.0.0.1:{login_port}", "database": f"{state}/rp/dashboard.sqlite"})
        run = dict(preexec_fn=permissive_umask, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([binary, "users", "add", "alice", "--config", f"{hosts.dir}/login.json"],
                       input=b"wonderland\n", check=True, **run)
        hosts.start("login", "login", login_port, preexec_fn=permissive_umask)
        hosts.start("rp", "dashboard", rp_port, preexec_fn=permissive_umask)
        browser = Browser({"login.localhost": login_port, "dashboard.localhost": rp_port})
        form = browser.follow("http://dashboard.localhost:8081/")[-1]
        posted = browser.submit_login("http://login.localhost:8080", form.text, "alice", "wonderland")
        final = browser.follow(posted.location)[-1]
        report(final.status == 200 and path_of(final.url) == "/", "sign-in",
               f"alice signed in across both hosts ({final.status} at {final.url}): every file has been written")
        # While the hosts run: their databases' -wal and -shm exist (a clean stop removes them).
        checked = modes(os.path.join(hosts.dir, "state"))
        hosts.stop_all()
        subprocess.run([binary, "keys", "rotate", "--config", f"{hosts.dir}/login.json"], check=True, **run)
        demo = os.path.join(hosts.dir, "demo-state")
        subprocess.run([binary, "users", "add", "bob", "--data-dir", demo], input=b"bob-password\n", check=True, **run)
        checked += modes(os.path.join(hosts.dir, "state")) + modes(demo)
        names = {os.path.basename(path) for path, _ in checked}
        for wanted in ["login.sqlite", "login.sqlite-wal", "login.sqlite-shm", "dashboard.sqlite", "dashboard.sqlite-wal",
                       "login-keys.json", "login-keys.json.lock", "demo-client-secrets.json"]:
            report(wanted in names, f"exists/{wanted}", "written by the run" if wanted in names else "never created: the check would be empty")
        open_to_others = [f"{path} {mode:o}" for path, mode in checked if mode & 0o077]
        report(not open_to_others, "files-and-folders-owner-only",
               f"{len(checked)} files and folders, all owner-only" if not open_to_others
               else "readable or writable by others: " + ", ".join(open_to_others))
        folders = [f"{path} {mode:o}" for path, mode in checked if os.path.isdir(path) and mode != 0o700]
        report(not folders, "folders-0700", "every folder Baton created is 0700" if not folders else ", ".join(folders))
    finally:
        hosts.stop_all()
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

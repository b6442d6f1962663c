#!/usr/bin/env python3
"""HTTPS end to end with real TLS handshakes: a login host and relying parties as
`baton serve` processes, each serving HTTPS with self-signed certificates that
`openssl` makes here (P-256, subject alternative names login.localhost,
dashboard.localhost, reports.localhost, noca.localhost and IP 127.0.0.1), on free
ports of 127.0.0.1, in a temporary folder; every process it starts is stopped.

  - handshakes: a client trusting the certificate verifies it for each host's public
    name and for 127.0.0.1; TLS 1.2 or later; a TLS 1.1 client is refused; Python's
    default context (the system's trust store) refuses the certificate;
  - a full handoff over https: the dashboard's back channel (JWKS, /api/sessions)
    trusts the certificate through its `ca_file`, and the login host's back-channel
    logout reaches the dashboard through its own `ca_file` (revalidation is off, so
    only that delivery can end the session); `Strict-Transport-Security:
    max-age=31536000` on every response, error pages and 404s included;
  - fail closed: `reports` has no `ca_file` (its keys come from a JWKS file, so the
    sign-in gets as far as the back-channel lookup): its callback is 503
    `store_unavailable` and no session; `noca` has neither: its callback is refused and
    no session is made;
  - plain HTTP sent to a TLS port gets no HTTP answer, only a closed connection;
  - SIGHUP with a new certificate: a new handshake sees the new serial, a connection
    opened before the reload is still served (with the old one), a sign-in works after
    it; a reload with a broken certificate or a key readable by others keeps the
    current pair and logs an error.

Usage: tls_test.py BATON_BINARY    (one line per check, then 'N passed, N failed')
"""
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

from batonlib import Browser, LoopbackHTTPSConnection, Report, ServeProcesses, free_port, hidden_inputs, path_of, wait_until

report = Report()
HSTS = "max-age=31536000"
NAMES = ("login", "dashboard", "reports", "noca")


def make_certificate(directory, name, serial):
    """A self-signed P-256 certificate (serial `serial`, hex) and its key, mode 0600."""
    cert, key = f"{directory}/{name}.pem", f"{directory}/{name}.key"
    sans = ",".join([f"DNS:{n}.localhost" for n in NAMES] + ["IP:127.0.0.1"])
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN=Baton TLS test {name}", "-set_serial", "0x" + serial,
         "-addext", f"subjectAltName={sans}", "-addext", "basicConstraints=critical,CA:FALSE",
         "-addext", "extendedKeyUsage=serverAuth"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return cert, key


def install(source_cert, source_key, cert, key, key_mode=0o600):
    """Puts a pair in place the way an operator's renewal would: new files renamed over the old."""
    for source, target, mode in ((source_cert, cert, 0o644), (source_key, key, key_mode)):
        with open(source, "rb") as f:
            data = f.read()
        with open(target + ".new", "wb") as f:
            f.write(data)
        os.chmod(target + ".new", mode)
        os.replace(target + ".new", target)


class Hosts(ServeProcesses):
    def __init__(self, binary):
        super().__init__(binary, prefix="baton-tls-")
        d = self.dir
        self.first = make_certificate(d, "first", "1001")
        self.second = make_certificate(d, "second", "1002")
        # Both certificates are trusted from the start: the reload test swaps one for the other.
        with open(f"{d}/trusted.pem", "w") as out:
            for cert in (self.first[0], self.second[0]):
                out.write(open(cert).read())
        self.cert, self.key = f"{d}/server.pem", f"{d}/server.key"
        install(*self.first, self.cert, self.key)
        self.trusting = ssl.create_default_context(cafile=f"{d}/trusted.pem")
        self.port_of = {name: free_port() for name in NAMES}
        self.origin = {name: f"https://{name}.localhost:{port}" for name, port in self.port_of.items()}
        secrets = {rp: f"tls-test-{rp}-secret-0123456789abcdef" for rp in NAMES[1:]}
        tls = {"certificate": "server.pem", "key": "server.key"}
        self.write_config("login", {
            "listen": {"port": self.port_of["login"]}, "public_origin": self.origin["login"], "database": "login.sqlite",
            "signing_keys": "keys.json", "bcrypt_cost": 4, "tls": tls, "ca_file": "trusted.pem",
            "clients": [{"client_id": rp, "client_secret": secrets[rp], "redirect_uris": [self.origin[rp] + "/sso/callback"],
                         "backchannel_logout_uri": f"https://127.0.0.1:{self.port_of[rp]}/sso/backchannel-logout"}
                        for rp in NAMES[1:]]})
        for rp in NAMES[1:]:
            config = {
                "listen": {"port": self.port_of[rp]}, "client_id": rp, "client_secret": secrets[rp],
                "public_origin": self.origin[rp], "issuer": self.origin["login"],
                "login_backchannel_url": f"https://127.0.0.1:{self.port_of['login']}",
                "database": f"{rp}.sqlite", "revalidate_seconds": 0, "tls": tls}
            if rp == "dashboard":
                config["ca_file"] = "trusted.pem"
            if rp == "reports":
                config["trusted_keys"] = "jwks.json"
            self.write_config(rp, config)
        try:
            self.add_user("login", "alice", "wonderland", "Alice Liddell")
            self.start("login", "login", self.port_of["login"], tls=self.trusting)
            # reports takes the login host's keys from a file, fetched here over verified TLS.
            conn = LoopbackHTTPSConnection("login.localhost", self.port_of["login"], self.trusting)
            conn.request("GET", "/.well-known/jwks.json", headers={"Host": f"login.localhost:{self.port_of['login']}"})
            with open(f"{d}/jwks.json", "wb") as f:
                f.write(conn.getresponse().read())
            conn.close()
            for rp in NAMES[1:]:
                self.start(rp, "dashboard", self.port_of[rp], tls=self.trusting)
        except BaseException:
            self.stop_all()
            raise

    def browser(self):
        return Browser({f"{name}.localhost": port for name, port in self.port_of.items()}, tls=self.trusting)

    def log(self, name):
        with open(f"{self.dir}/{name}.log", errors="replace") as f:
            return f.read()


def handshake(port, context, hostname="login.localhost"):
    """(TLS version, peer certificate serial) of a fresh handshake, or raises."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname=hostname) as tls:
            return tls.version(), tls.getpeercert().get("serialNumber")


def refused(port, context, hostname="login.localhost"):
    """The handshake's failure, or None if it succeeded."""
    try:
        handshake(port, context, hostname)
        return None
    except (ssl.SSLError, OSError) as error:
        return error


def check_handshakes(hosts):
    for name in NAMES:
        port = hosts.port_of[name]
        version, serial = handshake(port, hosts.trusting, f"{name}.localhost")
        ip_version, _ = handshake(port, hosts.trusting, "127.0.0.1")
        report(version in ("TLSv1.2", "TLSv1.3") and ip_version == version and serial == "1001",
               f"handshake/{name}", f"{version}, certificate serial {serial}, verified for {name}.localhost and 127.0.0.1")
    error = refused(hosts.port_of["login"], ssl.create_default_context())
    report(isinstance(error, ssl.SSLCertVerificationError), "handshake/untrusting-client",
           f"a client with the system's trust store refuses the certificate: {error!r}")
    wrong_name = refused(hosts.port_of["login"], hosts.trusting, "elsewhere.example")
    report(isinstance(wrong_name, ssl.SSLCertVerificationError), "handshake/wrong-name",
           f"a name the certificate does not carry is refused: {wrong_name!r}")
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(f"{hosts.dir}/trusted.pem")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    tls11 = refused(hosts.port_of["login"], old)
    report(tls11 is not None, "handshake/tls1.1-refused", f"a client offering at most TLS 1.1 gets no connection: {tls11!r}")
    tls12 = ssl.create_default_context(cafile=f"{hosts.dir}/trusted.pem")
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    report(handshake(hosts.port_of["login"], tls12)[0] == "TLSv1.2", "handshake/tls1.2-accepted", "TLS 1.2 is still served")


def hsts_of(responses):
    """The responses whose Strict-Transport-Security is not exactly HSTS."""
    return [f"{r.status} {r.url}: {r.header_values('Strict-Transport-Security')}" for r in responses
            if r.header_values("Strict-Transport-Security") != [HSTS]]


def sign_in(hosts, browser, rp):
    """Every response on the way from the relying party's / to its signed-in page."""
    chain = browser.follow(hosts.origin[rp] + "/")
    if path_of(chain[-1].url) == "/login":
        posted = browser.submit_login(hosts.origin["login"], chain[-1].text, "alice", "wonderland")
        chain += [posted] + browser.follow(posted.location)
    return chain


def check_handoff(hosts):
    browser = hosts.browser()
    chain = sign_in(hosts, browser, "dashboard")
    callback = next((r for r in chain if path_of(r.url) == "/sso/callback"), None)
    report(chain[-1].status == 200 and "Alice Liddell" in chain[-1].text and callback is not None
           and all(r.url.startswith("https://") for r in chain), "handoff/dashboard",
           f"signed in over https through {len(chain)} responses, the back channel trusting ca_file")
    others = [browser.get(url) for url in (
        hosts.origin["login"] + "/", hosts.origin["login"] + "/healthz", hosts.origin["login"] + "/.well-known/jwks.json",
        hosts.origin["login"] + "/no-such-page", hosts.origin["login"] + "/handoff?client_id=unknown",
        hosts.origin["dashboard"] + "/healthz", hosts.origin["dashboard"] + "/no-such-page",
        hosts.origin["dashboard"] + "/sso/callback")]
    replay = hosts.browser().get(callback.url) if callback else None
    responses = chain + others + ([replay] if replay else [])
    missing = hsts_of(responses)
    report(not missing, "hsts/every-response",
           f"{HSTS} on all {len(responses)} responses (pages, redirects, JWKS, 400, 403, 404)" if not missing else "; ".join(missing))
    report(replay is not None and replay.status == 403 and replay.error == "token_replayed", "handoff/replay",
           f"the callback again from another browser: {replay and replay.status} {replay and replay.error}")
    return browser


def check_fail_closed(hosts, browser):
    """browser is signed in on the login host: each relying party gets a real token."""
    for rp, expected in (("reports", {"store_unavailable"}), ("noca", None)):
        chain = browser.follow(hosts.origin[rp] + "/")
        callback = next((r for r in chain if path_of(r.url) == "/sso/callback"), None)
        cookies = [v for r in chain for v in r.header_values("Set-Cookie") if v.startswith("__Host-baton_session=") and "Max-Age=0" not in v]
        after = browser.get(hosts.origin[rp] + "/")
        refused_ok = (callback is not None and callback.status in (401, 503) and not cookies
                      and (expected is None or (callback.status == 503 and callback.error in expected))
                      and after.status == 303 and path_of(after.location or "") == "/sso/start")
        why = "no ca_file (JWKS from a file)" if rp == "reports" else "no ca_file and no trusted_keys"
        report(refused_ok, f"fail-closed/{rp}",
               f"{why}: callback {callback and callback.status} {callback and callback.error}, "
               f"{len(cookies)} session cookies, then / answers {after.status}")
    # The line may reach the file a moment after the response.
    logged = wait_until(5, lambda: "store_unavailable" in hosts.log("reports") and "redemption refused" in hosts.log("reports"), step=0.1)
    report(logged is not None, "fail-closed/reports-logged",
           "the refusal is in the relying party's log")


def check_logout(hosts, browser):
    # Its precondition first: without a session on the dashboard, "signed out" proves nothing.
    before = browser.get(hosts.origin["dashboard"] + "/")
    report(before.status == 200 and "Alice Liddell" in before.text, "logout/signed-in-before",
           f"the dashboard's / before the logout: {before.status}")
    home = browser.get(hosts.origin["login"] + "/")
    csrf = hidden_inputs(home.text).get("csrf", "")
    posted = browser.post(hosts.origin["login"] + "/logout", {"csrf": csrf})

    def signed_out():
        answer = browser.get(hosts.origin["dashboard"] + "/")
        return answer.status == 303 and path_of(answer.location or "") == "/sso/start"

    took = wait_until(10, signed_out, step=0.1)
    report(posted.status == 303 and took is not None, "logout/backchannel-over-https",
           f"logout on the login host ended the dashboard's session in {took and round(took, 2)} s "
           "(delivered over https, trusted through the login host's ca_file)")


def plain_http(port, request):
    """What a plain-HTTP request to a TLS port gets back before the connection closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        started = time.monotonic()
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    return received, "closed", time.monotonic() - started
                received += chunk
        except ConnectionResetError:
            return received, "reset", time.monotonic() - started
        except socket.timeout:
            return received, "still open after 5 s", time.monotonic() - started


def check_plain_http(hosts):
    for name in ("login", "dashboard"):
        host = f"{name}.localhost:{hosts.port_of[name]}"
        for label, request in (("GET", f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()),
                               ("POST", f"POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\n\r\na=b".encode()),
                               ("OPTIONS", f"OPTIONS * HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())):
            received, ending, took = plain_http(hosts.port_of[name], request)
            report(b"HTTP/" not in received and ending in ("closed", "reset") and len(received) <= 7,
                   f"plain-http/{name}-{label}",
                   f"{len(received)} bytes back {received[:16]!r}, then the connection was {ending} after {took:.2f} s")
    report(handshake(hosts.port_of["login"], hosts.trusting)[1] == "1001", "plain-http/host-still-up",
           "a TLS handshake still succeeds afterwards")


def check_reload(hosts):
    port = hosts.port_of["login"]
    host = f"login.localhost:{port}"
    before = LoopbackHTTPSConnection("login.localhost", port, hosts.trusting)
    before.request("GET", "/healthz", headers={"Host": host})
    first = before.getresponse()
    first.read()
    old_serial = before.sock.getpeercert().get("serialNumber")
    install(*hosts.second, hosts.cert, hosts.key)
    for name in ("login", "dashboard"):
        hosts.processes[name].send_signal(signal.SIGHUP)
    took = wait_until(10, lambda: handshake(port, hosts.trusting)[1] == "1002", step=0.05)
    report(took is not None, "reload/new-handshake-new-certificate",
           f"after SIGHUP a new handshake sees serial 1002 (was {old_serial}) within {took and round(took, 2)} s")
    before.request("GET", "/healthz", headers={"Host": host})
    again = before.getresponse()
    again.read()
    still = before.sock.getpeercert().get("serialNumber")
    report(first.status == 200 and again.status == 200 and old_serial == "1001" and still == "1001",
           "reload/open-connection-still-served",
           f"the connection opened before the reload answered {again.status} on it, still with serial {still}")
    before.close()
    report(all(hosts.processes[n].poll() is None for n in NAMES), "reload/processes-alive", "SIGHUP ended no process")
    browser = hosts.browser()
    chain = sign_in(hosts, browser, "dashboard")
    report(chain[-1].status == 200 and "Alice Liddell" in chain[-1].text and not hsts_of(chain), "reload/handoff-after",
           "a full sign-in over https after the reload, HSTS on each response")
    # A broken certificate file: the current pair stays, an error is logged.
    with open(hosts.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    hosts.processes["login"].send_signal(signal.SIGHUP)
    logged = wait_until(10, lambda: "TLS certificate reload failed" in hosts.log("login"), step=0.05)
    report(logged is not None and handshake(port, hosts.trusting)[1] == "1002", "reload/broken-certificate-kept-old",
           "a certificate file that does not parse: the error is logged, handshakes go on with serial 1002")
    # A key others can read: refused like the signing key file, the current pair stays.
    install(*hosts.first, hosts.cert, hosts.key, key_mode=0o644)
    hosts.processes["login"].send_signal(signal.SIGHUP)
    logged = wait_until(10, lambda: "must not be readable by group or others" in hosts.log("login"), step=0.05)
    report(logged is not None and handshake(port, hosts.trusting)[1] == "1002", "reload/readable-key-kept-old",
           "a key file of mode 0644 is refused, handshakes go on with serial 1002")
    os.chmod(hosts.key, 0o600)
    hosts.processes["login"].send_signal(signal.SIGHUP)
    back = wait_until(10, lambda: handshake(port, hosts.trusting)[1] == "1001", step=0.05)
    report(back is not None, "reload/fixed-pair-taken", "once the key is 0600, the next SIGHUP serves serial 1001 again")


def main():
    binary = os.path.abspath(sys.argv[1])
    hosts = Hosts(binary)
    try:
        check_handshakes(hosts)
        browser = check_handoff(hosts)
        check_fail_closed(hosts, browser)
        check_logout(hosts, browser)
        check_plain_http(hosts)
        check_reload(hosts)
        leaked = [name for name in NAMES if "token=" in hosts.log(name)]
        report(not leaked, "logs/no-token", f"no token in any host's log{': ' + ', '.join(leaked) if leaked else ''}")
    finally:
        hosts.stop_all()
    status = report.finish()
    if status:
        print(f"logs and files kept in {hosts.dir}")
    sys.exit(status)


if __name__ == "__main__":
    main()

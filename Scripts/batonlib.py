"""What the Python test scripts share: a browser-like client for Baton's hosts over
plain HTTP (or HTTPS, for https URLs), and `baton serve` processes started and stopped
by the scripts.

The client connects to 127.0.0.1 and sends the public `*.localhost` name as Host
(plain clients do not resolve `*.localhost`), keeps one cookie jar per host name
(ports do not separate cookies), and follows no redirect unless asked to.
"""
import http.client
import json
import random
import re
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
from typing import NamedTuple, Optional


class Response(NamedTuple):
    url: str
    status: int
    location: Optional[str]  # absolute: relative Locations are resolved against url
    error: Optional[str]  # the Baton-Error header
    text: str
    headers: tuple = ()  # every (name, value) received, in order

    def header(self, name):
        """The first value of the header `name` (any case), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def header_values(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class LoopbackHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1, with the certificate verified for `hostname` (also sent as SNI),
    as a browser that resolved the public name to loopback would."""

    def __init__(self, hostname, port, context, timeout=20):
        super().__init__(hostname, port, timeout=timeout, context=context)

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Browser:
    def __init__(self, routes, tls=None):
        """routes: host name -> port on 127.0.0.1. tls: the ssl.SSLContext for https URLs
        (the system's default context when None)."""
        self.routes = routes
        self.tls = tls
        self.jar = {}

    def clone(self):
        other = Browser(self.routes, self.tls)
        other.jar = {host: dict(cookies) for host, cookies in self.jar.items()}
        return other

    def _connection(self, parts, port, timeout):
        port = port or self.routes[parts.hostname]
        if parts.scheme == "https":
            return LoopbackHTTPSConnection(parts.hostname, port, self.tls or ssl.create_default_context(), timeout)
        return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method, url, form=None, port=None, timeout=20):
        parts = urllib.parse.urlsplit(url)
        conn = self._connection(parts, port, timeout)
        headers = {"Host": parts.netloc}
        cookies = self.jar.get(parts.hostname, {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        return self._received(url, parts, response, text)

    def exchange(self, method, url, headers=(), body=None, jar=True, port=None, timeout=20):
        """One request with headers of the caller's choosing: (name, value) pairs, sent
        in order and as given (repeats allowed, e.g. two Cookie lines); the jar's
        cookies go first in one Cookie header unless jar=False. body: bytes or str.
        The jar learns the response's cookies as with request()."""
        parts = urllib.parse.urlsplit(url)
        conn = self._connection(parts, port, timeout)
        if isinstance(body, str):
            body = body.encode()
        try:
            conn.putrequest(method, parts.path + ("?" + parts.query if parts.query else ""),
                            skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", parts.netloc)
            cookies = self.jar.get(parts.hostname, {}) if jar else {}
            if cookies:
                conn.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body or b"")))
            conn.endheaders(body)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        return self._received(url, parts, response, text)

    def _received(self, url, parts, response, text):
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie = value.split(";")[0]
                key, _, val = cookie.partition("=")
                if "max-age=0" in value.lower():
                    self.jar.get(parts.hostname, {}).pop(key, None)
                else:
                    self.jar.setdefault(parts.hostname, {})[key] = val
        location = response.getheader("Location")
        if location and location.startswith("/"):
            location = f"{parts.scheme}://{parts.netloc}{location}"
        return Response(url, response.status, location, response.getheader("Baton-Error"), text,
                        tuple(response.getheaders()))

    def get(self, url, port=None):
        return self.request("GET", url, port=port)

    def post(self, url, form, port=None):
        return self.request("POST", url, form=form, port=port)

    def follow(self, url, hops=10):
        """GET url and every redirect after it; every response, in order."""
        chain = []
        for _ in range(hops):
            response = self.get(url)
            chain.append(response)
            if response.status not in (302, 303) or not response.location:
                break
            url = response.location
        return chain

    def submit_login(self, login_origin, form_page, username, password):
        """Posts the sign-in form found on form_page with its hidden inputs."""
        fields = hidden_inputs(form_page)
        fields.update(username=username, password=password)
        return self.post(login_origin + "/login", fields)


def hidden_inputs(page):
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return {k: v.replace("&amp;", "&").replace("&#x2F;", "/").replace("&#x3D;", "=") for k, v in fields.items()}


def path_of(url):
    return urllib.parse.urlsplit(url).path


_HANDED_OUT = set()


def free_port(low=20000, high=32000, avoid=()):
    """A free port on 127.0.0.1 in [low, high), by default below Linux's ephemeral range
    (32768-60999): a port the kernel hands out for binding to 0 can be taken by the next
    outgoing connection before our server binds it, and the load tests open many. Never
    one of `avoid`, nor one handed out before."""
    for _ in range(200):
        candidate = random.randrange(low, high)
        if candidate in _HANDED_OUT or candidate in avoid:
            continue
        _HANDED_OUT.add(candidate)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return candidate
    raise RuntimeError(f"no free port between {low} and {high}")


def wait_until(seconds, condition, step=0.02):
    """Seconds until condition() held, or None if it never did within the bound."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(step)
    return None


class Report:
    """'PASS name: detail' / 'FAIL name: detail' lines, then 'N passed, N failed'."""

    def __init__(self):
        self.results = []

    def __call__(self, ok, name, detail):
        self.results.append(bool(ok))
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)

    def finish(self):
        print(f"{self.results.count(True)} passed, {self.results.count(False)} failed")
        return 0 if all(self.results) else 1


class ServeProcesses:
    """`baton serve` processes in a temporary folder, each on 127.0.0.1; every process
    started here is stopped by stop_all()."""

    def __init__(self, binary, prefix="baton-processes-"):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.processes = {}
        self.ports = {}

    def write_config(self, name, config):
        with open(f"{self.dir}/{name}.json", "w") as f:
            json.dump(config, f)

    def add_user(self, config_name, username, password, display_name):
        subprocess.run([self.binary, "users", "add", username, "--display-name", display_name,
                        "--config", f"{self.dir}/{config_name}.json"],
                       input=(password + "\n").encode(), check=True, stdout=subprocess.DEVNULL)

    def start(self, name, role, port, config=None, preexec_fn=None, tls=None, args=()):
        """Starts `baton serve ROLE --config DIR/(config or name).json [ARGS…]` and waits for
        /healthz on `port`. preexec_fn runs in the child before baton does (e.g. to lower a
        resource limit); args go after the config (e.g. `--listen 127.0.0.1:PORT`).
        tls: an ssl.SSLContext when the host serves HTTPS (checked for 127.0.0.1)."""
        log = open(f"{self.dir}/{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [self.binary, "serve", role, "--config", f"{self.dir}/{config or name}.json", *args],
            stdout=log, stderr=log, cwd=self.dir, preexec_fn=preexec_fn)
        self.ports[name] = port
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                conn = (LoopbackHTTPSConnection("127.0.0.1", port, tls, timeout=2) if tls
                        else http.client.HTTPConnection("127.0.0.1", port, timeout=2))
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited early; see {self.dir}/{name}.log")
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not start within 20 s")

    def stop(self, name, sig=None):
        process = self.processes.pop(name)
        if sig is None:
            process.terminate()
        else:
            process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self):
        for name in list(self.processes):
            self.stop(name)

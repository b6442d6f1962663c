"""The sample app (Demo/app/app.py) and a reverse proxy in front of it (nginx with
Demo/nginx/, or Caddy with Demo/caddy/Caddyfile), run beside `baton demo` from a
temporary folder: what Scripts/demo-app, Scripts/forward_auth_test.py and the browser
test share.

Everything binds 127.0.0.1: the proxy 8090 (http://app.localhost:8090, the `app`
relying party's public origin), the app 8091; the demo's `app` relying party is 8083.
Each child runs in its own process group (Ctrl-C in a terminal reaches only the
script, which stops them in order), and stop() ends only the processes started here.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROXY_PORT = 8090
APP_PORT = 8091
APP_ORIGIN = "http://app.localhost:8090"
DEMO_HOSTS = {8080: "login.localhost:8080", 8081: "dashboard.localhost:8081",
              8082: "reports.localhost:8082", 8083: "app.localhost:8090"}
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CADDY = shutil.which("caddy") or "/usr/bin/caddy"


def port_in_use(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def healthz(port, host, timeout=2):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/healthz", headers={"Host": host})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def demo_missing():
    """The demo ports that do not answer /healthz with 200 (empty when the demo runs)."""
    return [port for port, host in DEMO_HOSTS.items() if not healthz(port, host)]


def answers_http(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("HEAD", "/sso/baton.css", headers={"Host": "app.localhost:8090"})
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False
    except http.client.HTTPException:
        return False


def ancestors(path):
    """The folders above path, up to /."""
    found = []
    path = os.path.dirname(os.path.abspath(path))
    while True:
        found.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            return found
        path = parent


class ProxyStack:
    """The sample app and one proxy (`nginx` or `caddy`), logs under self.dir (a new
    temporary folder unless workdir is given)."""

    def __init__(self, proxy="nginx", workdir=None):
        if proxy not in ("nginx", "caddy"):
            raise ValueError(proxy)
        self.proxy = proxy
        self.dir = workdir or tempfile.mkdtemp(prefix=f"baton-{proxy}-")
        os.makedirs(self.dir, exist_ok=True)
        self.processes = []  # (name, Popen), in start order

    def log(self, name):
        return os.path.join(self.dir, name)

    def start(self, timeout=15):
        busy = [port for port in (PROXY_PORT, APP_PORT) if port_in_use(port)]
        if busy:
            raise RuntimeError(f"port(s) {', '.join(map(str, busy))} already in use on 127.0.0.1: "
                               "stop whatever runs there (another Scripts/demo-app?) first")
        self._spawn("app", ["python3", os.path.join(REPO, "Demo/app/app.py"), "--port", str(APP_PORT)], "app.log")
        self._wait(lambda: port_in_use(APP_PORT), "the sample app", timeout)
        if self.proxy == "nginx":
            if os.geteuid() == 0:
                # A root master runs its workers as `nobody`; nginx hands them the temp
                # folders, but they must be able to pass through this (0700) one and
                # every folder above it, or any body over 16 KiB fails with a 500.
                os.chmod(self.dir, 0o711)
                closed = [d for d in ancestors(self.dir) if not os.stat(d).st_mode & 0o001]
                if closed:
                    raise RuntimeError(f"nginx's workers (user nobody) cannot reach their temp folders under {self.dir}: "
                                       f"{closed[0]} is not searchable by others; use a prefix under {tempfile.gettempdir()}")
            self._spawn("nginx", [NGINX, "-p", self.dir + "/", "-c", os.path.join(REPO, "Demo/nginx/nginx.conf"),
                                  "-e", self.log("error.log")], "nginx.out")
        else:
            home = self.log("caddy-home")
            env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home + "/config", XDG_DATA_HOME=home + "/data")
            self._spawn("caddy", [CADDY, "run", "--config", os.path.join(REPO, "Demo/caddy/Caddyfile"),
                                  "--adapter", "caddyfile"], "caddy.log", env=env)
        self._wait(lambda: answers_http(PROXY_PORT), self.proxy, timeout)

    def _spawn(self, name, argv, logname, env=None):
        out = open(self.log(logname), "ab")
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=self.dir, env=env, start_new_session=True)
        out.close()
        self.processes.append((name, process))

    def _wait(self, condition, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            for name, process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with status {process.returncode}; logs in {self.dir}:\n"
                                       + self.tail())
            time.sleep(0.05)
        raise RuntimeError(f"{what} did not start within {timeout} s; logs in {self.dir}:\n" + self.tail())

    def tail(self, lines=15):
        text = []
        for name in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, name)
            if os.path.isfile(path) and name.endswith((".log", ".out")):
                with open(path, errors="replace") as f:
                    text.append(f"--- {name}\n" + "".join(f.readlines()[-lines:]))
        return "\n".join(text)

    def dead(self):
        """Names of started processes that have exited."""
        return [name for name, process in self.processes if process.poll() is not None]

    def stop(self):
        """Stops the proxy, then the app (SIGTERM, then SIGKILL after 10 s): only the
        processes this object started, by their PIDs."""
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    # Its own process group (start_new_session): nginx's workers too.
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.processes = []

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

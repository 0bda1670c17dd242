"""Start and drive a real scholia process.

Server(tmpdir, extra_args=[...], env={...}) starts `scholia serve` on a free
port of 127.0.0.1 and waits for /healthz. It collects stderr into
`server.log_path` so tests can grep the logs (for example to prove that no
password appears there).

With SCHOLIA_TEST_DB=pg in the environment, each Server gets a fresh
database of its own on a throwaway PostgreSQL cluster (tests/integration/
pg.py, one cluster per test process, removed at exit) instead of a SQLite
file: `server.db` is then its postgresql:// URL.
"""
import atexit
import glob
import http.client
import json
import os
import signal
import socket
import subprocess
import time

from wsclient import Client
import pg

SOURCE = os.environ.get("SCHOLIA_SOURCE_DIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("SCHOLIA_BIN", os.path.join(SOURCE, "build", "scholia"))

FAST_ENV = {
    # cheap Argon2id for tests; production defaults are libsodium INTERACTIVE
    "SCHOLIA_PWHASH_OPS": "1",
    "SCHOLIA_PWHASH_MEM": "8192",
    # never the host's /etc/scholia/scholia.conf: a test says what it wants
    "SCHOLIA_CONFIG": "/dev/null",
}


_cluster = None


def pg_cluster():
    """The test process's PostgreSQL cluster, started on first use."""
    global _cluster
    if _cluster is None:
        _cluster = pg.Cluster().start()
        atexit.register(_cluster.stop)
    return _cluster


def on_postgresql():
    return os.environ.get("SCHOLIA_TEST_DB") == "pg"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, tmpdir, extra_args=None, env=None, content=None,
                 db=None):
        self.tmpdir = str(tmpdir)
        if db:
            self.db = db  # another node on the same database
        elif on_postgresql():
            self.db = pg_cluster().createdb()
        else:
            self.db = os.path.join(self.tmpdir, "scholia.db")
        self.port = free_port()
        self.extra_args = list(extra_args or [])
        # every test client comes from 127.0.0.1: the per-address limit
        # and the unauthenticated lifetime are off unless a test sets them
        # (tests/integration/test_review2_net.py does)
        for flag in ("--max-connections-per-address", "--auth-timeout"):
            if flag not in self.extra_args:
                self.extra_args += [flag, "0"]
        self.env = dict(env or {})
        self.content = content if content is not None else os.path.join(SOURCE, "content")
        self.proc = None
        self.log_path = os.path.join(self.tmpdir, "server.log")
        self._log = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def ws_url(self):
        return "ws://127.0.0.1:%d/ws" % self.port

    def cmd(self, *args, input=None, check=True, env=None):
        """Runs another scholia sub-command on the same database."""
        e = dict(os.environ)
        e.update(FAST_ENV)
        e.update(self.env)
        e.update(env or {})
        r = subprocess.run([BIN] + list(args) + ["--db", self.db],
                           input=input, capture_output=True, text=True,
                           env=e, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("scholia %s failed (%d): %s%s" %
                                 (args, r.returncode, r.stdout, r.stderr))
        return r

    def start(self, wait=True):
        e = dict(os.environ)
        e.update(FAST_ENV)
        e.update(self.env)
        self._log = open(self.log_path, "ab")
        args = [BIN, "serve", "--db", self.db, "--host", "127.0.0.1",
                "--port", str(self.port), "--web", os.path.join(SOURCE, "web"),
                "--content", self.content] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=self._log,
                                     env=e)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %d:\n%s" %
                                     (self.proc.returncode, self.log()))
            try:
                status, _, _ = self.http("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.proc.kill()  # leave no server behind for the next test
        self.proc.wait()
        raise AssertionError("server did not become ready:\n" + self.log())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None
        return self.proc.returncode if self.proc else None

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                       "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")

    def assert_clean_exit(self):
        """After stop(): the server left with 0 (graceful shutdown) and no
        sanitizer report in its log (the ASan/UBSan test run relies on
        this to catch leaks and errors found at exit)."""
        log = self.log()
        for mark in self.SANITIZER_MARKS:
            assert mark not in log, "sanitizer report in server log:\n" + log[-6000:]
        assert self.proc.returncode == 0, \
            "server exited with %s:\n%s" % (self.proc.returncode, log[-3000:])

    def database_files(self):
        """Files holding the database's bytes as stored: the SQLite file
        with its -wal and -shm, or on PostgreSQL a plain pg_dump of it."""
        if on_postgresql():
            path = os.path.join(self.tmpdir, "dump.sql")
            pg_cluster().dump(self.db, path)
            return [path]
        return [p for p in glob.glob(self.db + "*") if os.path.isfile(p)]

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        self.start()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def http(self, method, path, body=None, headers=None, raw=False):
        """Returns (status, headers dict with lower-case names, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        if not raw:
            try:
                payload = payload.decode()
            except UnicodeDecodeError:
                pass
        return r.status, hdrs, payload

    def client(self, **kw):
        """A connected WebSocket JSON-RPC client (see wsclient.Client)."""
        return Client(self.ws_url, **kw)

    def call_from(self, addr, method, params):
        """One JSON-RPC call on a fresh WebSocket bound to a local address
        (127.0.0.x: the server sees another peer); returns the response."""
        import asyncio
        import websockets

        async def go():
            ws = await websockets.connect(self.ws_url, local_addr=(addr, 0),
                                          subprotocols=["scholia.v1"],
                                          ping_interval=None)
            try:
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1,
                                          "method": method,
                                          "params": params}))
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
                    if msg.get("id") == 1:
                        return msg
            finally:
                await ws.close()
        return asyncio.run(go())

    def create_account(self, handle, password):
        """An account made by the admin command (not signed in)."""
        self.cmd("admin", "create-account", "--handle", handle,
                 input=password + "\n")

    # ---- conveniences used by many tests ----
    _n = 0

    def new_account(self, prefix="user", admin=False, password="correct horse battery"):
        """Creates an account through the admin command and logs it in.
        Returns a connected, authenticated Client with .account set."""
        Server._n += 1
        handle = "%s%d_%d" % (prefix, Server._n, os.getpid() % 1000)
        args = ["admin", "create-account", "--handle", handle]
        if admin:
            args.append("--admin")
        self.cmd(*args, input=password + "\n")
        c = self.client()
        r = c.call("auth.login", {"handle": handle, "password": password})
        c.account = r["account"]
        c.token = r["token"]
        c.handle = handle
        c.password = password
        return c

"""A throwaway PostgreSQL cluster for tests (Debian's postgresql package).

Cluster() runs initdb into a temporary folder, starts the server with
pg_ctl on a free port of 127.0.0.1 (trust authentication on loopback, no
Unix socket outside the folder) and removes everything in stop(). When the
tests run as root, the PostgreSQL programs run as the `postgres` user
(initdb refuses root) through `runuser -u postgres --`, and the folder is
owned by that user.

    c = Cluster(); c.start()
    url = c.createdb()          # postgresql://postgres@127.0.0.1:PORT/db1
    ...
    c.stop()

As a program (python3 tests/integration/pg.py) it starts a cluster, prints
its URL and waits for Ctrl-C: handy to try scholia by hand.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def bindir():
    """The folder of initdb and pg_ctl (the newest installed version), or
    None when PostgreSQL is not installed."""
    env = os.environ.get("SCHOLIA_PG_BIN")
    if env:
        return env
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if
                   p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def available():
    return bindir() is not None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    def __init__(self):
        self.bin = bindir()
        if not self.bin:
            raise RuntimeError("PostgreSQL is not installed "
                               "(scripts/install-deps.sh --test)")
        self.root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="scholia-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.user = "postgres" if self.root else os.environ.get(
            "USER", "postgres")
        self.started = False
        self._n = 0
        if self.root:
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args, check=True, timeout=120):
        cmd = list(args)
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, cwd=self.dir)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def start(self):
        self._run(os.path.join(self.bin, "initdb"), "-D", self.data,
                  "-U", self.user, "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        self._pg_ctl("start")
        self.started = True
        return self

    def url(self, db="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (self.user, self.port, db)

    def createdb(self, name=None):
        """A new, empty database; returns its URL."""
        self._n += 1
        name = name or "scholia%d_%d" % (os.getpid(), self._n)
        self._run(os.path.join(self.bin, "createdb"), "-h", "127.0.0.1",
                  "-p", str(self.port), "-U", self.user, name)
        return self.url(name)

    def psql(self, db, sql):
        """Runs sql in database db; returns its output (unaligned)."""
        r = self._run(os.path.join(self.bin, "psql"), "-h", "127.0.0.1",
                      "-p", str(self.port), "-U", self.user, "-d", db,
                      "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)
        return r.stdout

    def dump(self, url, path):
        """A plain-SQL pg_dump of the database at url into path."""
        r = self._run(os.path.join(self.bin, "pg_dump"), "--dbname", url)
        with open(path, "w") as f:
            f.write(r.stdout)

    def log(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()
        except OSError:
            return ""

    def _pg_ctl(self, action, *more):
        # -l: the server's output goes to a file, never to our pipes
        opts = ("-c listen_addresses=127.0.0.1 -p %d "
                "-c unix_socket_directories='%s' -c fsync=off "
                "-c full_page_writes=off -c max_connections=200"
                % (self.port, self.dir))
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                  "-l", os.path.join(self.dir, "log"), "-o", opts,
                  "-w", "-t", "60", *more, action)

    def restart(self):
        """Stops the server (fast: connections are cut) and starts it
        again on the same data and port."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self):
        if self.started:
            self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                      "-m", "immediate", "-w", "stop", check=False)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    c = Cluster().start()
    print(c.createdb("scholia"), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()

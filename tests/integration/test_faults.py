"""Disk and database faults (issue 9, item 2).

Each fault must give a clear log line and either a clear RPC error (-32603
with a message) or a refusal to start (exit code 3 with a message on
stderr): never a crash, a hang without end, or a silently lost write.

- full disk: the database lives on a 2 MiB tmpfs when this runs as root and
  `mount` works; otherwise the file size is capped with RLIMIT_FSIZE (and
  SIGXFSZ ignored, see docs/security.md: without that the kernel kills the
  process on the first write past the limit);
- read-only database: a tmpfs remounted read-only as root, else chmod 0444
  on the file and 0555 on its folder;
- locked database: another process holds BEGIN EXCLUSIVE for a while;
- corrupt database: a garbage header, and garbage written over pages.

Each test runs its own short-lived server (the faults need their own files).
"""
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import pytest

from harness import FAST_ENV, BIN, SOURCE, Server


def _can_mount():
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    d = tempfile.mkdtemp(prefix="scholia-mnt-")
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d],
                           capture_output=True)
        if r.returncode != 0:
            return False
        subprocess.run(["umount", d], check=True)
        return True
    finally:
        os.rmdir(d)


# SCHOLIA_TEST_NO_MOUNT=1 exercises the fallbacks on a machine that mounts
CAN_MOUNT = _can_mount() and not os.environ.get("SCHOLIA_TEST_NO_MOUNT")
NOBODY = 65534


class FaultServer(Server):
    """A Server whose database may live elsewhere and whose process may get
    resource limits (preexec)."""

    def __init__(self, tmpdir, db=None, preexec=None, **kw):
        super().__init__(tmpdir, **kw)
        if db:
            self.db = db
        self.preexec = preexec

    def start(self, wait=True):
        e = dict(os.environ)
        e.update(FAST_ENV)
        e.update(self.env)
        self._log = open(self.log_path, "ab")
        args = [BIN, "serve", "--db", self.db, "--host", "127.0.0.1",
                "--port", str(self.port), "--web", os.path.join(SOURCE, "web"),
                "--content", self.content] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=self._log,
                                     env=e, preexec_fn=self.preexec)
        if wait:
            self.wait_ready()

    def cmd(self, *args, input=None, check=True, env=None):
        e = dict(os.environ)
        e.update(FAST_ENV)
        e.update(self.env)
        e.update(env or {})
        r = subprocess.run([BIN] + list(args) + ["--db", self.db],
                           input=input, capture_output=True, text=True,
                           env=e, timeout=120, preexec_fn=self.preexec)
        if check and r.returncode != 0:
            raise AssertionError("scholia %s failed (%d): %s%s" %
                                 (args, r.returncode, r.stdout, r.stderr))
        return r

    def start_expecting_refusal(self, timeout=60):
        self.start(wait=False)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(signal.SIGKILL)
            raise AssertionError("the server neither started nor refused:\n"
                                 + self.log())
        self.stop()
        return rc


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs",
                    path], check=True)


def umount(path):
    subprocess.run(["umount", "-l", path], check=False)


def world(srv):
    c = srv.new_account("fault")
    book = c.call("book.list", {})["items"][0]["id"]
    chapter = c.call("book.toc", {"book": book})["parts"][0]["chapters"][0]["id"]
    circle = c.call("circle.create", {"name": "Faults", "book": book})["id"]
    return c, circle, chapter


def post(c, circle, chapter, body):
    return c.request("annotation.create", {
        "circle": circle, "chapter": chapter, "target": None,
        "visibility": "circle", "body": body})


def test_full_disk_answers_32603_and_loses_nothing(tmp_path):
    mnt = str(tmp_path / "mnt")
    if CAN_MOUNT:
        mount_tmpfs(mnt, "2m")
        preexec = None
    else:
        os.makedirs(mnt)

        def preexec():
            # an ignored SIGXFSZ makes write() fail with EFBIG instead
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))
    srv = FaultServer(tmp_path, db=os.path.join(mnt, "scholia.db"),
                      preexec=preexec,
                      env={"SCHOLIA_POSTS_PER_MINUTE": "1000000"})
    try:
        srv.start()
        c, circle, chapter = world(srv)
        acked = {}
        err = None
        for i in range(400):
            body = ("word%d " % i) * 1200
            r = post(c, circle, chapter, body)
            if "error" in r:
                err = r["error"]
                break
            acked[r["result"]["id"]] = body
        assert err is not None, "2 MiB never filled up"
        assert acked, "the disk was full before the first post"
        assert err["code"] == -32603 and err["message"]
        assert srv.proc.poll() is None, "the server died on a full disk"
        # "commit failed: database or disk is full (disk full)" on a full
        # file system, "... disk I/O error" when write() fails with EFBIG
        assert "commit failed: " in srv.log()
        if CAN_MOUNT:
            assert "disk full" in srv.log()
        # the server still answers, and every acknowledged write is intact
        assert c.call("server.info", {})["version"]
        for aid, body in acked.items():
            a = c.call("annotation.get", {"annotation": aid})
            assert a["body"] == body
        if CAN_MOUNT:
            # space comes back: writing works again without a restart
            subprocess.run(["mount", "-o", "remount,size=64m", mnt],
                           check=True)
            r = post(c, circle, chapter, "after more space")
            assert "result" in r, r
        c.close()
        assert srv.stop() == 0
        # and the file is sound
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM annotations").fetchone()[0] \
            >= len(acked)
        db.close()
    finally:
        srv.stop()
        if CAN_MOUNT:
            umount(mnt)


def _as_nobody():
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def test_read_only_database_refuses_to_start(tmp_path):
    base = str(tmp_path)
    preexec = None
    if not CAN_MOUNT and os.geteuid() == 0:
        # root ignores file modes: every process of this test runs as
        # nobody, in a folder nobody can reach
        base = tempfile.mkdtemp(prefix="scholia-ro-")
        os.chmod(base, 0o755)
        preexec = _as_nobody
    mnt = os.path.join(base, "mnt")
    os.makedirs(mnt)
    if CAN_MOUNT:
        mount_tmpfs(mnt, "16m")
    if preexec:
        os.chown(mnt, NOBODY, NOBODY)
    srv = FaultServer(base, db=os.path.join(mnt, "scholia.db"),
                      preexec=preexec)
    try:
        srv.start()
        c, circle, chapter = world(srv)
        handle, password = c.handle, c.password
        c.close()
        assert srv.stop() == 0
        if CAN_MOUNT:
            subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        else:
            os.chmod(srv.db, 0o444)
            os.chmod(mnt, 0o555)
        rc = srv.start_expecting_refusal()
        assert rc == 3, srv.log()[-2000:]
        assert "is not a usable database" in srv.log()
        # writable again: it starts and the data is all there
        if CAN_MOUNT:
            subprocess.run(["mount", "-o", "remount,rw", mnt], check=True)
        else:
            os.chmod(mnt, 0o755)
            os.chmod(srv.db, 0o644)
        srv.start()
        c = srv.client()
        c.call("auth.login", {"handle": handle, "password": password})
        assert c.call("circle.get", {"circle": circle})["name"] == "Faults"
        c.close()
    finally:
        srv.stop()
        if CAN_MOUNT:
            umount(mnt)
        if base != str(tmp_path):
            shutil.rmtree(base, ignore_errors=True)


def test_locked_database_delays_then_answers_without_loss(tmp_path):
    srv = FaultServer(tmp_path)
    try:
        srv.start()
        c, circle, chapter = world(srv)
        db = sqlite3.connect(srv.db, isolation_level=None, timeout=0)
        db.execute("BEGIN EXCLUSIVE")
        try:
            c.send_text(json.dumps({
                "jsonrpc": "2.0", "id": 9, "method": "circle.update",
                "params": {"circle": circle, "name": "Renamed"}}))
            # the loop itself is not blocked: static files are served
            status, _, _ = srv.http("GET", "/")
            assert status == 200
            # hold the lock past the 5 s busy_timeout
            deadline = time.time() + 15
            while "database is locked" not in srv.log():
                assert time.time() < deadline, "no log line for the lock"
                time.sleep(0.1)
        finally:
            db.execute("ROLLBACK")
            db.close()
        r = c.recv_json(timeout=60)
        assert srv.proc.poll() is None
        name = c.call("circle.get", {"circle": circle})["name"]
        if "result" in r:
            assert r["id"] == 9 and r["result"]["name"] == "Renamed"
            assert name == "Renamed"
        else:
            # gave up waiting: a clear error, and nothing was written
            assert r["error"]["code"] == -32603
            assert r["error"]["message"] == "the database is unavailable"
            assert name == "Faults"
        # afterwards everything works
        r = post(c, circle, chapter, "after the lock")
        assert "result" in r, r
        c.close()
        assert srv.stop() == 0
    finally:
        srv.stop()


def _garbage_header(path):
    with open(path, "r+b") as f:
        f.write(b"this is not sqlite " * 20)


def _garbage_pages(path):
    n = os.path.getsize(path)
    with open(path, "r+b") as f:
        for off in range(4096 * 3, n, 4096 * 2):
            f.seek(off + 100)
            f.write(b"\xde\xad\xbe\xef" * 150)


@pytest.mark.parametrize("corrupt,why", [
    (_garbage_header, "file is not a database"),
    (_garbage_pages, "malformed"),
])
def test_corrupt_database_refuses_to_start(tmp_path, corrupt, why):
    srv = FaultServer(tmp_path)
    try:
        srv.start()
        c, circle, chapter = world(srv)
        c.close()
        assert srv.stop() == 0
        corrupt(srv.db)
        rc = srv.start_expecting_refusal()
        assert rc == 3, srv.log()[-2000:]
        log = srv.log()
        assert "is not a usable database" in log and why in log
        # the other sub-commands refuse it the same way
        r = srv.cmd("migrate", "--status", check=False)
        assert r.returncode == 3
        assert "not a usable database" in r.stderr
    finally:
        srv.stop()

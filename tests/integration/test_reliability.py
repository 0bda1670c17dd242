"""Durability under crashes and shutdown (issue 9, item 1).

Several rounds of: concurrent writers post annotations and replies over real
WebSockets (each keeping a few requests in flight) and record every write
the server acknowledged; the server is killed with SIGKILL at a random
moment; it restarts on the same database; then

- every acknowledged annotation and reply is there, with its body intact
  (annotation.get by a member of the circle), and
- nothing half-exists (checked in the database with sqlite3, or psql in
  the PostgreSQL pass): every
  annotation and reply row has its *.created event, and every event about an
  annotation or reply names a row that exists.

A last round stops the server with SIGTERM under the same load: every client
is closed with 1001, the process exits 0, and after a restart every
acknowledged write is there too.
"""
import json
import random
import signal
import sqlite3
import threading
import time

import pytest

import harness
from harness import Server
from pipeline import PipelinedWriter

WRITERS = 4
IN_FLIGHT = 4
ROUNDS = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("durability"),
                 extra_args=["--durability", "full"],
                 env={"SCHOLIA_POSTS_PER_MINUTE": "1000000"})
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def world(make_world):
    w = make_world(owner="owner", circle_name="Durable")
    w.chapter = w.chapters[0]
    w.writers = []
    for i in range(WRITERS):
        c = w.join("writer")
        w.writers.append({"handle": c.handle, "token": c.token})
        c.close()
    w.owner_token = w.owner.token
    w.owner.close()
    w.annotations = {}   # id -> body (acknowledged)
    w.replies = {}       # id -> (annotation id, body) (acknowledged)
    w.lock = threading.Lock()
    return w


def resumed(server, token):
    c = server.client()
    c.call("auth.resume", {"token": token})
    return c


class Writer(PipelinedWriter):
    """Posts until its connection closes, IN_FLIGHT requests at a time,
    recording what was acknowledged in the world (w.annotations,
    w.replies)."""

    def __init__(self, server, w, who, tag):
        super().__init__(resumed(server, w.writers[who]["token"]),
                         w.circle, w.chapter, IN_FLIGHT)
        self.w, self.tag = w, "%s-%d" % (tag, who)
        self.close_code = None
        self.acked = 0

    def body(self, rid):
        return "%s-%d %s" % (self.tag, self.n, "é✓ " * (self.n % 5))

    def pick_thread(self, rid):
        return random.choice(self.mine)

    def acknowledged(self, kind, post_id, annotation, body):
        with self.w.lock:
            if kind == "annotation":
                self.w.annotations[post_id] = body
            else:
                self.w.replies[post_id] = (annotation, body)
        self.acked += 1

    def run(self):
        super().run()
        self.c.closed.wait(10)
        self.close_code = self.c.close_code


def run_writers(server, w, tag):
    writers = [Writer(server, w, i, tag) for i in range(WRITERS)]
    for t in writers:
        t.start()
    return writers


def wait_some_acks(writers, at_least, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sum(t.acked for t in writers) >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError("writers made no progress")


def check_acknowledged(server, w):
    c = resumed(server, w.owner_token)
    by_ann = {}
    for rid, (ann, body) in w.replies.items():
        by_ann.setdefault(ann, {})[rid] = body
    for aid, body in sorted(w.annotations.items()):
        a = c.call("annotation.get", {"annotation": aid})
        assert a["body"] == body, (aid, a["body"], body)
        assert a["circle"] == w.circle and not a["deleted"]
        got = {r["id"]: r["body"] for r in a["replies"]}
        for rid, rbody in by_ann.get(aid, {}).items():
            assert got.get(rid) == rbody, (aid, rid, got.get(rid), rbody)
    c.close()


class _PgRows:
    """The part of sqlite3's connection used below, over psql (the
    PostgreSQL pass: harness.on_postgresql())."""

    def __init__(self, url):
        self.name = url.rsplit("/", 1)[1]

    def execute(self, sql):
        out = harness.pg_cluster().psql(self.name, sql)
        rows = [tuple(int(v) if v.lstrip("-").isdigit() else v
                      for v in line.split("|"))
                for line in out.splitlines() if line]

        class Cursor(list):
            def fetchall(self):
                return list(self)

            def fetchone(self):
                return self[0] if self else None
        return Cursor(rows)

    def close(self):
        pass


def check_nothing_half_exists(server):
    if harness.on_postgresql():
        db = _PgRows(server.db)
    else:
        db = sqlite3.connect("file:%s?mode=ro" % server.db, uri=True)
    try:
        if not harness.on_postgresql():
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = db.execute(
            "SELECT id FROM annotations a WHERE NOT EXISTS (SELECT 1 FROM "
            "events e WHERE e.item_kind = 'annotation' AND e.item_id = a.id "
            "AND e.type = 'annotation.created')").fetchall()
        assert orphans == [], "annotations without their event: %r" % orphans
        orphans = db.execute(
            "SELECT id FROM replies r WHERE NOT EXISTS (SELECT 1 FROM "
            "events e WHERE e.item_kind = 'reply' AND e.item_id = r.id "
            "AND e.type = 'reply.created')").fetchall()
        assert orphans == [], "replies without their event: %r" % orphans
        ghosts = db.execute(
            "SELECT seq, type, item_id FROM events e WHERE "
            "(e.item_kind = 'annotation' AND NOT EXISTS (SELECT 1 FROM "
            "annotations a WHERE a.id = e.item_id)) OR "
            "(e.item_kind = 'reply' AND NOT EXISTS (SELECT 1 FROM replies r "
            "WHERE r.id = e.item_id))").fetchall()
        assert ghosts == [], "events about rows that do not exist: %r" % ghosts
        # per-circle seq has no holes and no duplicates
        for circle, n, lo, hi in db.execute(
                "SELECT circle, count(*), min(seq), max(seq) FROM events "
                "GROUP BY circle"):
            assert n == hi - lo + 1, (circle, n, lo, hi)
        return db.execute("SELECT count(*) FROM annotations").fetchone()[0]
    finally:
        db.close()


def test_sigkill_rounds_lose_no_acknowledged_write(server, world):
    rng = random.Random()
    for rnd in range(ROUNDS):
        writers = run_writers(server, world, "k%d" % rnd)
        wait_some_acks(writers, 8)
        time.sleep(rng.uniform(0.0, 0.8))
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(30)
        for t in writers:
            t.join(40)
            assert not t.is_alive()
            assert t.failure is None, t.failure
        server.stop()
        # nothing half-exists in the file the crash left behind
        check_nothing_half_exists(server)
        server.start()
        check_acknowledged(server, world)
    assert len(world.annotations) >= 8 * ROUNDS // 2
    assert world.replies, "no reply was acknowledged in any round"
    rows = check_nothing_half_exists(server)
    assert rows >= len(world.annotations)
    print("acknowledged %d annotations, %d replies; %d annotation rows" %
          (len(world.annotations), len(world.replies), rows))


def _logins_in_flight(server, handle, password, n=6):
    """Sends n auth.login calls (Argon2id on the worker pool) and does not
    wait: they are in flight when the server is told to stop."""
    c = server.client()
    for i in range(n):
        c.send_text(json.dumps({"jsonrpc": "2.0", "id": 1000 + i,
                                "method": "auth.login",
                                "params": {"handle": handle,
                                           "password": password}}))
    return c


def test_sigterm_under_load_closes_1001_exits_0_and_keeps_writes(server, world):
    writers = run_writers(server, world, "t")
    wait_some_acks(writers, 8)
    # deferred work (password hashing) in flight must not stall the exit
    pending = _logins_in_flight(server, world.writers[0]["handle"],
                                "correct horse battery")
    server.proc.send_signal(signal.SIGTERM)
    rc = server.proc.wait(30)
    assert rc == 0, server.log()[-2000:]
    for t in writers:
        t.join(40)
        assert not t.is_alive()
        assert t.failure is None, t.failure
    assert [t.close_code for t in writers] == [1001] * WRITERS
    assert pending.closed.wait(10) and pending.close_code == 1001
    server.stop()
    check_nothing_half_exists(server)
    server.start()
    check_acknowledged(server, world)
    # and the server is fully usable again
    c = resumed(server, world.writers[0]["token"])
    a = c.call("annotation.create", {"circle": world.circle,
                                     "chapter": world.chapter,
                                     "target": None, "visibility": "circle",
                                     "body": "after the restart"})
    assert c.call("annotation.get", {"annotation": a["id"]})["body"] == \
        "after the restart"
    c.close()

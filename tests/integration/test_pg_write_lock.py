"""Two nodes on one PostgreSQL database writing into two circles at once
(issue 22): no call fails with a deadlock.

Each node's executor commits a batch of calls as one transaction, and a
post takes its circle's circle_seq row until COMMIT. Two nodes whose
batches took the rows of circles X and Y in opposite orders deadlocked;
PostgreSQL broke each cycle after deadlock_timeout (1 s) by failing a
statement of one batch, and the client got -32603 "the database is busy"
(found by tests/bench/run with BENCH_PG=2). Write transactions now take
one advisory lock at BEGIN (store/pg.c), so they run one at a time across
nodes: no call fails and no node logs a deadlock. (Without the lock this
test failed in each of two runs with 48-odd busy errors.)

Runs in the integration_pg pass only (SCHOLIA_TEST_DB=pg).
"""
import json
import threading

import pytest

import harness
from conftest import build_world
from harness import Server

pytestmark = pytest.mark.skipif(
    not harness.on_postgresql(),
    reason="PostgreSQL pass only (SCHOLIA_TEST_DB=pg)")

WRITERS_PER_NODE = 16
POSTS_EACH = 16  # under the 20 posts a minute per member (SPEC §5)
FULL = ["--durability", "full"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # durability full: each COMMIT waits for its sync, so the batches of
    # the two nodes overlap as they do under load
    srv = Server(tmp_path_factory.mktemp("node_a"), extra_args=FULL)
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def node_b(server, tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("node_b"), db=server.db,
                 extra_args=FULL)
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


def test_writers_on_two_nodes_into_two_circles_never_deadlock(server,
                                                              node_b):
    w = build_world(server)
    other = w.owner.call("circle.create", {"name": "Second",
                                           "book": w.book})["id"]
    circles = (w.circle, other)

    def member(node, prefix):
        c = node.new_account(prefix)
        for circle in circles:
            code = w.owner.call("circle.invite", {"circle": circle,
                                                  "role": "member"})["code"]
            c.call("circle.join", {"code": code})
        return c

    writers = ([(member(server, "la"), k) for k in range(WRITERS_PER_NODE)] +
               [(member(node_b, "lb"), k) for k in range(WRITERS_PER_NODE)])
    ch = w.chapters[0]
    errors, done, lock = [], [], threading.Lock()
    start = threading.Barrier(len(writers))

    def write(c, k):
        """Sends all its posts at once (pipelined), so that every batch of
        the node's executor holds calls of several writers, on both
        circles, then reads the replies."""
        start.wait()
        ids = {}
        for i in range(POSTS_EACH):
            # writers alternate the circles out of step with each other,
            # so a batch takes both circles' rows, in either order
            rid = 900000 + i
            ids[rid] = i
            c.send_text(json.dumps({
                "jsonrpc": "2.0", "id": rid, "method": "annotation.create",
                "params": {"circle": circles[(i + k) % 2], "chapter": ch,
                           "body": "%s %d" % (c.handle, i),
                           "visibility": "circle", "target": None}}))
        while ids:
            try:
                m = c.recv_json(timeout=60)
            except Exception as e:  # reported below
                with lock:
                    errors.append(repr(e))
                return
            if not isinstance(m, dict) or m.get("id") not in ids:
                continue
            del ids[m["id"]]
            with lock:
                if "error" in m:
                    errors.append(m["error"])
                else:
                    done.append(m["result"]["id"])

    threads = [threading.Thread(target=write, args=wf) for wf in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # a deadlock PostgreSQL broke (the store retries the call, so the
    # client may never see it) shows in the nodes' logs
    for node in (server, node_b):
        with open(node.log_path, errors="replace") as f:
            assert "deadlock" not in f.read()
    assert len(set(done)) == len(writers) * POSTS_EACH
    # each circle's events have seq 1..n without a gap
    for circle in circles:
        r = w.owner.call("circle.subscribe", {"circle": circle,
                                              "since_seq": 0})
        seqs = [e["seq"] for e in r.get("events", [])]
        assert seqs == list(range(1, len(seqs) + 1))
    for c, _ in writers:
        c.close()

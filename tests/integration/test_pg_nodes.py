"""Two nodes on one PostgreSQL database (issue 22, item 2): seq order and
exactly-once delivery across nodes under concurrent writers on both, and
a listener that lost its connection catching up (net/fanout.c's delivery
gate, bus/listen.c's catch-up).

Runs in the integration_pg pass only (SCHOLIA_TEST_DB=pg, tests/
CMakeLists.txt); it starts its own cluster through harness.pg_cluster().
"""
import threading
import time

import pytest

import harness
from conftest import build_world
from harness import Server

pytestmark = pytest.mark.skipif(
    not harness.on_postgresql(),
    reason="PostgreSQL pass only (SCHOLIA_TEST_DB=pg)")

WRITERS_PER_NODE = 3
POSTS_EACH = 15  # under the 20 posts a minute per member (SPEC §5)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("node_a"))
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def node_b(server, tmp_path_factory):
    """A second node on the same database."""
    srv = Server(tmp_path_factory.mktemp("node_b"), db=server.db)
    srv.start()
    yield srv
    srv.stop()
    srv.assert_clean_exit()


@pytest.fixture(scope="module")
def world(server):
    return build_world(server)


def join(world, node, prefix):
    code = world.owner.call("circle.invite", {"circle": world.circle,
                                              "role": "member"})["code"]
    c = node.new_account(prefix)
    c.call("circle.join", {"code": code})
    return c


def subscribe(client, circle):
    r = client.call("circle.subscribe", {"circle": circle})
    return r["seq"]


def seq_events(client, circle, want, timeout):
    """The events of circle with a seq that client receives until it has
    want of them (or timeout), then whatever else arrives shortly."""
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        for ev in client.drain_events(0.2):
            if ev.get("circle") == circle and "seq" in ev:
                got.append(ev)
    got += [ev for ev in client.drain_events(0.5)
            if ev.get("circle") == circle and "seq" in ev]
    return got


def test_concurrent_writers_on_both_nodes_in_order_once_each(
        server, node_b, world):
    """Writers on both nodes post into one circle at once; every
    subscriber on both nodes gets every event exactly once, seq rising by
    one from the seq its subscribe answered."""
    writers = ([join(world, server, "wa") for _ in range(WRITERS_PER_NODE)]
               + [join(world, node_b, "wb")
                  for _ in range(WRITERS_PER_NODE)])
    subs = [join(world, node, "s%s" % name)
            for node, name in ((server, "a"), (server, "a"),
                               (node_b, "b"), (node_b, "b"))]
    starts = [subscribe(c, world.circle) for c in subs]
    ch = world.chapters[0]
    ids, lock, errors = set(), threading.Lock(), []

    def write(c):
        try:
            for i in range(POSTS_EACH):
                a = c.call("annotation.create", {
                    "circle": world.circle, "chapter": ch,
                    "body": "%s %d" % (c.handle, i),
                    "visibility": "circle", "target": None})
                with lock:
                    ids.add(a["id"])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(c,)) for c in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    total = len(writers) * POSTS_EACH
    assert len(ids) == total
    for c, start in zip(subs, starts):
        evs = seq_events(c, world.circle, total, timeout=30)
        seqs = [e["seq"] for e in evs]
        assert seqs == list(range(start + 1, start + 1 + len(seqs))), (
            c.handle, start, seqs)
        created = {e["data"]["id"] for e in evs
                   if e["type"] == "annotation.created"}
        assert created == ids, (c.handle, len(created), total)
    for c in writers + subs:
        c.close()


def test_listener_catches_up_after_losing_its_connection(server, node_b,
                                                        world):
    """The listeners' connections are cut; what node A stores meanwhile
    still reaches a subscriber on node B once its listener is back."""
    reader = join(world, node_b, "lb")
    writer = join(world, server, "la")
    start = subscribe(reader, world.circle)
    cluster = harness.pg_cluster()
    db = server.db.rsplit("/", 1)[1]
    killed = cluster.psql(
        db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        " AND pid <> pg_backend_pid()").split()
    assert killed and all(k == "t" for k in killed), killed
    ch = world.chapters[0]
    ids = [writer.call("annotation.create", {
        "circle": world.circle, "chapter": ch, "body": "meanwhile %d" % i,
        "visibility": "circle", "target": None})["id"] for i in range(3)]
    evs = seq_events(reader, world.circle, 3, timeout=15)
    assert [e["seq"] for e in evs] == [start + 1, start + 2, start + 3], evs
    assert [e["data"]["id"] for e in evs] == ids
    # and live delivery goes on over the new connection
    a = writer.call("annotation.create", {
        "circle": world.circle, "chapter": ch, "body": "after",
        "visibility": "circle", "target": None})
    evs = seq_events(reader, world.circle, 1, timeout=10)
    assert [(e["seq"], e["data"]["id"]) for e in evs] == [(start + 4,
                                                          a["id"])]
    reader.close()
    writer.close()
